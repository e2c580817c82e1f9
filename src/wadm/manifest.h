// The application manifest model: an OAM `core.oam.dev/v1beta1` `Application` as wadm v0.4-v0.10
// read it (v1-and-wadm.md 5.2; wadm `src/model/mod.rs`, `oam/`, `test/data/`), parsed from YAML or
// JSON into typed structs and validated.
//
// Owned by src/wadm. Pure functions over values; thread-safe. Parsing untrusted input never
// throws and never crashes: every problem is an Error (kInvalidArgument) whose message names it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.h"

namespace wc::wadm {

/// The only accepted `apiVersion` and `kind`.
inline constexpr std::string_view kOamApiVersion = "core.oam.dev/v1beta1";
inline constexpr std::string_view kApplicationKind = "Application";
/// Annotation keys of `metadata.annotations` read by the model.
inline constexpr std::string_view kVersionAnnotation = "version";
inline constexpr std::string_view kDescriptionAnnotation = "description";
/// The version word reserved for "the newest": refused as a manifest's own version.
inline constexpr std::string_view kLatestVersion = "latest";
/// Weight of a spread that gives none (wadm's default).
inline constexpr std::uint32_t kDefaultSpreadWeight = 100;
/// Bounds we enforce (ours): replicas of one scaler, a spread's weight, a manifest's size.
inline constexpr std::uint32_t kMaxReplicas = 10000;
inline constexpr std::uint32_t kMaxSpreadWeight = 1000000;
inline constexpr std::size_t kMaxManifestBytes = 1 << 20;

/// A component's type (`type:`).
enum class ComponentType { kActor, kCapability };
/// A trait's type (`traits[].type`).
enum class TraitType { kSpreadScaler, kDaemonScaler, kLinkdef };

/// "actor" / "capability".
std::string_view component_type_name(ComponentType type);
/// "spreadscaler" / "daemonscaler" / "linkdef".
std::string_view trait_type_name(TraitType type);

/// One named share of a scaler: hosts whose labels contain every `requirements` pair.
struct Spread {
  std::string name;
  std::map<std::string, std::string> requirements;
  /// 1..kMaxSpreadWeight; kDefaultSpreadWeight when the manifest gives none.
  std::uint32_t weight = kDefaultSpreadWeight;
};

/// Properties of `spreadscaler` and `daemonscaler` (`replicas`, or wadm v0.10's `instances`).
/// spreadscaler: `replicas` in total, split over `spread` by weight. daemonscaler: `replicas` on
/// every host matching a spread (every host when `spread` is empty).
struct ScalerProperties {
  std::uint32_t replicas = 0;
  std::vector<Spread> spread;
};

/// Properties of `linkdef`: the target component's name and the link values.
struct LinkdefProperties {
  std::string target;
  std::map<std::string, std::string> values;
};

/// One trait. `scaler` is meaningful for the two scalers, `linkdef` for linkdef.
struct Trait {
  TraitType type = TraitType::kSpreadScaler;
  ScalerProperties scaler;
  LinkdefProperties linkdef;
};

/// One component: an actor (`image`) or a capability provider (`image`, `contract`,
/// `link_name`, `config`).
struct Component {
  std::string name;
  ComponentType type = ComponentType::kActor;
  std::string image;
  /// Capability only: contract id (required) and link name ("default" when absent).
  std::string contract;
  std::string link_name;
  /// Capability only: provider configuration as given, a JSON string or object; null if none.
  nlohmann::json config;
  std::vector<Trait> traits;
};

/// A validated manifest.
struct Manifest {
  std::string name;
  /// `metadata.annotations.version` (required, never "latest").
  std::string version;
  /// `metadata.annotations.description`, "" when absent.
  std::string description;
  std::map<std::string, std::string> annotations;
  std::vector<Component> components;
  /// The document as JSON (YAML converted), what `model.get` hands back.
  nlohmann::json document;
};

/// Parses `text`, JSON when its first non-blank character is `{`, YAML otherwise, then validates
/// it (manifest_from_json). Errors (kInvalidArgument) start with errors::kUnableToParse for
/// text that is neither (as wadm's do), else name the first problem found: a missing or empty
/// image, contract or name, duplicate component names or actor images, an unknown component or
/// trait type, a `latest` or missing version, a linkdef whose target is not a capability component
/// of the manifest, bad replicas or weights. Bodies above kMaxManifestBytes are refused.
Result<Manifest> parse_manifest(std::string_view text);

/// Converts YAML text (one document) to JSON. Plain scalars become numbers, booleans or null
/// when they read as such (YAML 1.2 core schema), quoted scalars stay strings. Aliases are
/// expanded up to a node budget (refuses "billion laughs"); nesting deeper than 64 is refused.
Result<nlohmann::json> yaml_to_json(std::string_view text);

/// Builds and validates a manifest from its JSON document (the rules of parse_manifest).
Result<Manifest> manifest_from_json(const nlohmann::json& document);

/// True when `name` is a valid model name: 1..128 characters of `[A-Za-z0-9_-]` (wadm's
/// `^[-\w]+$`, ASCII only here: it is also a NATS subject token and a KV key part).
bool is_valid_model_name(std::string_view name);

}  // namespace wc::wadm

// Typed, validated dashboard form submissions (the JSON bodies of the POST API), with the
// validation messages the person sees (messages.h; original texts from control-interface.md 7.2).
//
// Owned by src/web. Pure functions over nlohmann::json; thread-safe. Every parse_* returns
// kInvalidArgument with exactly one message (the first problem found, in field order) on bad
// input and never throws. Numbers may arrive as JSON numbers or decimal strings (HTML forms and
// multipart fields send strings).
#pragma once

#include <cstddef>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "common/error.h"

namespace wc::web {

/// Largest uploaded actor module, bytes (original: "must be under 16000000 bytes").
inline constexpr std::size_t kMaxActorUpload = 16'000'000;
/// Largest uploaded provider archive, bytes (original: 64.0 MB).
inline constexpr std::size_t kMaxProviderUpload = 64'000'000;

/// "Start actor from OCI reference": `{"actor_ref", "count", "host_id"}`; host_id "" = any host
/// (auction.actor).
struct StartActorForm {
  std::string actor_ref;
  int count = 1;
  std::string host_id;
};
/// actor_ref required (messages::kEnterOciReference); count >= 1 (kReplicasAtLeastOne, default
/// 1 when absent); host_id optional.
Result<StartActorForm> parse_start_actor(const nlohmann::json& body);

/// "Start actor from uploaded file": multipart fields `count`, `host_id` (the file is checked
/// by check_actor_upload()).
Result<StartActorForm> parse_upload_actor(const nlohmann::json& fields);
/// File part checks: empty → kPleaseSelectFile, larger than kMaxActorUpload → kUploadTooLarge.
Status check_actor_upload(std::size_t size);

/// "Start actor from file with hot reload": `{"path", "count", "host_id"}`.
struct HotReloadForm {
  std::string path;
  int count = 1;
  std::string host_id;
};
/// path must be absolute (kEnterAbsolutePath); count >= 1; host_id required (kSelectHost: file
/// references only work on a host of this machine, so "any host" is not offered).
Result<HotReloadForm> parse_hot_reload(const nlohmann::json& body);

/// "Scale actor": `{"host_id", "actor_id", "actor_ref", "count"}`; count is the desired total.
struct ScaleForm {
  std::string host_id;
  std::string actor_id;
  std::string actor_ref;
  int count = 0;
};
/// host_id (kSelectHost) and actor_id (kSelectActor) required; count >= 0
/// (kReplicasAtLeastZero); actor_ref optional ("" = the running instances' reference).
Result<ScaleForm> parse_scale(const nlohmann::json& body);

/// "Start provider from OCI reference": `{"provider_ref", "link_name", "configuration",
/// "host_id"}`.
struct StartProviderForm {
  std::string provider_ref;
  std::string link_name = "default";
  std::string configuration;
  std::string host_id;
};
/// provider_ref required (kEnterOciReference); link_name defaults to `default`.
Result<StartProviderForm> parse_start_provider(const nlohmann::json& body);
/// Multipart fields of "Start provider from file" (no provider_ref).
Result<StartProviderForm> parse_upload_provider(const nlohmann::json& fields);
/// File part checks: empty → kPleaseSelectProviderFile, too large → kProviderTooLarge.
Status check_provider_upload(std::size_t size);

/// "Stop provider": `{"host_id", "provider_id", "link_name", "contract_id"}`.
struct StopProviderForm {
  std::string host_id;
  std::string provider_id;
  std::string link_name = "default";
  std::string contract_id;
};
/// host_id and provider_id required.
Result<StopProviderForm> parse_stop_provider(const nlohmann::json& body);

/// "Define link": `{"actor_id", "provider_id", "link_name", "contract_id", "values"}` where
/// values is the original's `KEY1=VAL1,KEY2=VAL2` text (or a JSON object of strings).
struct LinkForm {
  std::string actor_id;
  std::string provider_id;
  std::string link_name = "default";
  std::string contract_id;
  std::map<std::string, std::string> values;
};
/// actor_id (kSelectActorToLink), provider_id (kSelectProviderToLink), contract_id
/// (kEnterContractId) required; link_name defaults to `default`; values parsed by
/// parse_link_values().
Result<LinkForm> parse_link(const nlohmann::json& body);
/// "Delete link": actor_id, contract_id, link_name (all required).
Result<LinkForm> parse_delete_link(const nlohmann::json& body);
/// Splits `K1=V1,K2=V2` on `,` then on the first `=` (original rule); blank entries are
/// skipped; an entry without `=` or with an empty key fails with kBadLinkValues.
Result<std::map<std::string, std::string>> parse_link_values(const std::string& text);

/// Renders values back as `K1=V1,K2=V2` (keys in order), the original's "copy values" text.
std::string format_link_values(const std::map<std::string, std::string>& values);

}  // namespace wc::web

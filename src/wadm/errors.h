// Client-visible texts of the declarative-application service (src/wadm): the messages its API
// replies carry. Texts that wadm clients match on (the washboard UI, wash) keep wadm's wording
// (wadm v0.4-v0.10 `src/server/handlers.rs`); the others are ours.
//
// Owned by src/wadm. Constants only; thread-safe.
#pragma once

#include <string_view>

namespace wc::wadm::errors {

/// Prefix of every put refused because the body is neither YAML nor JSON, or is not a valid
/// manifest: "Unable to parse manifest: <why>" (wadm's prefix).
inline constexpr std::string_view kUnableToParse = "Unable to parse manifest: ";
/// A manifest whose version is the reserved word `latest` (wadm's text).
inline constexpr std::string_view kLatestVersion =
    "A manifest with a version latest is not allowed in wadm";
/// Prefix, followed by the component name (wadm's text).
inline constexpr std::string_view kDuplicateComponent = "Duplicate component name in manifest: ";
/// Prefix, followed by the image reference (wadm's text).
inline constexpr std::string_view kDuplicateImage = "Duplicate image reference in manifest: ";
/// "Manifest version <v> already exists" (wadm's text): a put of a version already stored.
inline constexpr std::string_view kVersionExistsPrefix = "Manifest version ";
inline constexpr std::string_view kVersionExistsSuffix = " already exists";
/// "Model with the name <name> not found" (wadm's text).
inline constexpr std::string_view kModelNotFoundPrefix = "Model with the name ";
inline constexpr std::string_view kModelNotFoundSuffix = " not found";
/// A storage failure (JetStream unavailable, repeated write conflicts): wadm's text.
inline constexpr std::string_view kStorageError = "Internal storage error";
/// The answer of `model.deploy` from a `wasmcloud wadm --no-reconcile` (issue #16: said honestly
/// instead of pretending to deploy).
inline constexpr std::string_view kNoReconciler =
    "Deploy refused: reconciler not available in this wasmcloud wadm (started with "
    "--no-reconcile; models can be stored, read, listed and deleted, nothing is placed on the "
    "lattice)";

}  // namespace wc::wadm::errors

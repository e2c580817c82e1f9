// OCI manifest and image-index parsing (claims-oci-par.md 4.7 step 1, 4.8): the pure step of a
// pull between the registry's manifest body and the blob requests that follow.
//
// Owned by src/oci; used by the registry client (client.h). Pure functions over untrusted
// bytes; thread-safe; nothing throws. Failure texts are those a pull reports (after
// errors::kFetchBytesPrefix).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace wc::oci {

/// One content descriptor of a manifest (`config`, a `layers` entry, an index entry).
struct Descriptor {
  std::string media_type;  ///< `mediaType`; empty when absent or not a string
  std::string digest;      ///< `digest` (required)
  std::int64_t size = -1;  ///< `size`; -1 when absent or not an integer
};

/// A manifest body as parsed: an image manifest (`config` and `layers`), or an image index /
/// manifest list reduced to the entry for this platform.
struct ParsedManifest {
  /// Set when the body is an index (it has `manifests`): the descriptor of the entry whose
  /// `platform` names this host's Go-style os and architecture (e.g. linux / amd64); the
  /// client fetches that manifest next. `config` and `layers` are then empty.
  std::optional<Descriptor> platform_manifest;
  Descriptor config;               ///< image manifest's `config`
  std::vector<Descriptor> layers;  ///< image manifest's `layers`, in order
};

/// Parses a manifest body (4.7 step 1, 4.8). `allow_index` false (a manifest reached through
/// an index) refuses a nested index. Errors: kInvalidArgument "Failed to parse manifest: ..."
/// (not a JSON object, missing config or layers, a descriptor without digest);
/// kUnsupported errors::kUnsupportedSchemaPrefix (schemaVersion not 2),
/// errors::kUnsupportedMediaTypePrefix (a top-level mediaType other than the OCI / Docker
/// manifest or Docker manifest list), "Failed to parse manifest: nested image index";
/// kNotFound errors::kNoPlatformMatch (an index without an entry for this platform). Layer
/// media types are not checked here (the client does, after the size limit).
Result<ParsedManifest> parse_manifest(std::string_view body, bool allow_index);

}  // namespace wc::oci

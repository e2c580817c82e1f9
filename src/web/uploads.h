// Uploads from the dashboard's file pickers (control-interface.md 7.2 "From File"): an actor
// module or a provider archive posted as multipart form data is checked, pushed to the
// dashboard's registry under a reference derived from its content, then started through
// Actions as if that reference had been typed in. Owned by the Dashboard (src/web).
// Thread-safety: as Actions (no state of its own; any HTTP worker may call it).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "oci/client.h"
#include "web/actions.h"
#include "web/state.h"

namespace wc::web {

/// One uploaded file of a multipart form: its client-side name and its bytes.
struct UploadedFile {
  std::string filename;
  std::string content;
};

/// Lower-case letters and digits, other runs as one `-`, no trailing `-`; "upload" when nothing
/// is left (an OCI repository path component from a file name).
std::string repo_component(std::string_view s);

/// The first 12 characters of `hash`, lower-cased (an OCI tag component).
std::string short_hash(std::string_view hash);

/// Actor and provider uploads (see the file comment).
class Uploads {
 public:
  /// `actions` starts what was pushed and names the registry; both references must outlive
  /// the Uploads.
  Uploads(Actions& actions, LatticeState& state) : actions_(actions), state_(state) {}

  /// Form fields `count`, `host_id` (strings, forms.h parse_upload_actor) and the module:
  /// size check, claims (400 messages::kClaimsRefusedPrefix), push to
  /// `{registry}/dashboard/{subject lower-cased}:r{revision}-{short hash}`, then start. The
  /// reply's `actor_ref` is the pushed reference.
  Reply upload_actor(const nlohmann::json& fields, const UploadedFile& file);
  /// Form fields `link_name`, `configuration`, `host_id` and the archive: size check, push to
  /// `{registry}/dashboard/providers/{repo_component(file stem)}:u{first 12 of sha256}`, then
  /// start.
  Reply upload_provider(const nlohmann::json& fields, const UploadedFile& file);

 private:
  /// Pushes an uploaded artifact to `ref` (messages::kRegistryPushFailedPrefix on failure).
  Status push(const std::string& ref, std::span<const std::uint8_t> data, oci::ArtifactKind kind);

  Actions& actions_;
  LatticeState& state_;
};

}  // namespace wc::web

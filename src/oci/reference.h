// OCI image references: parsing per the docker/distribution grammar that oci-distribution 0.9.4
// uses, with Docker Hub defaults (claims-oci-par.md 4.3), plus the small string helpers of 4.5
// (scheme stripping, the credential server of a reference) and 4.9 (cache file name).
// Pure functions over values; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace wc::oci {

/// A parsed reference. `registry` is the resolved registry ("docker.io" for Docker Hub,
/// otherwise host[:port] as written); `repository` has `library/` prepended for official Docker
/// Hub images; `tag` is "latest" when neither tag nor digest was given (4.3), and empty when only
/// a digest was given; `digest` is "algo:hex" or empty.
struct Reference {
  std::string registry;
  std::string repository;
  std::string tag;
  std::string digest;
  bool tag_implicit = false;  ///< true when `tag` is the defaulted "latest"

  /// The host to contact: "registry-1.docker.io" for "docker.io", else `registry` (4.3).
  [[nodiscard]] std::string http_host() const;
  /// What the manifest URL ends with: the digest if present, else the tag (4.3, 4.7 step 1).
  [[nodiscard]] std::string manifest_ref() const;
  /// "registry/repository[:tag][@digest]" (the implicit tag is written out).
  [[nodiscard]] std::string to_string() const;
};

/// Parses `text` as `[domain "/"] path [":" tag] ["@" digest]` (4.3). The text is taken as is
/// (the host lowercases before calling, 4.2). With `strip_scheme`, a leading `oci://`,
/// `http://` or `https://` is removed first (the host itself does not do this, 4.1).
/// Errors (kInvalidArgument, messages from errors.h, verbatim as the reference's):
/// `invalid reference format`, `repository name must have at least one component`,
/// `repository name must not be more than 255 characters`, `invalid checksum digest format`,
/// `invalid checksum digest length`, `unsupported digest algorithm`.
Result<Reference> parse_reference(std::string_view text, bool strip_scheme = false);

/// Removes one leading `bindle://`, `oci://`, `http://` or `https://` (4.5).
std::string_view strip_scheme(std::string_view text);

/// A pull reference with a leading `oci://`, `https://` or `http://` (any case) removed, as users
/// paste them (wasmCloud #776, wash #219); other text is returned unchanged. Ours: the 0.63 host
/// refuses these with "invalid reference format" (4.1; see docs/ARCHITECTURE.md "Deviations from
/// 0.63"). The scheme chooses nothing: the registry is contacted as 4.4 says. `http://` is
/// accepted only when the registry's HTTP host (4.3, e.g. "127.0.0.1:5000") is in
/// `allowed_insecure`; otherwise kPermissionDenied errors::http_scheme_not_allowed(host). A
/// reference that does not parse after `http://` gives the parse error (4.3).
Result<std::string> strip_pull_scheme(std::string_view reference,
                                      const std::vector<std::string>& allowed_insecure);

/// The credential-map key of a reference or server string (4.5 step 1, control-interface
/// 3.1.3): scheme stripped, cut at the first `/`, case kept. "https://localhost:5000/x" ->
/// "localhost:5000"; "echo:0.3.4" -> "echo:0.3.4".
std::string credential_server(std::string_view text);

/// ASCII lowercase copy.
std::string to_lower(std::string_view text);

/// Cache base name of a reference (4.9): lowercased, each ':', '/', '.' replaced by '_'.
/// "localhost:5000/echo:0.3.4" -> "localhost_5000_echo_0_3_4" (then ".bin" / ".digest").
std::string cache_name(std::string_view reference);

}  // namespace wc::oci

// Texts of the OCI client that clients and tests match on (claims-oci-par.md 4.2-4.11), in one
// place. Messages the host returns are the reference's verbatim; texts marked "new" are ours.
// Plain constants; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace wc::oci::errors {

// --- 4.2 pre-checks and 4.11 CLI guards --------------------------------------------------------

/// Host refusal of a reference ending in `:latest` (4.2 step 2, 4.10).
inline constexpr std::string_view kLatestProhibited =
    "Fetching images tagged 'latest' is currently prohibited in this host. This option can be "
    "overridden with WASMCLOUD_OCI_ALLOW_LATEST";
/// `reg push` of tag latest without --allow-latest (4.11 step 2).
inline constexpr std::string_view kPushLatestProhibited =
    "Pushing artifacts with tag 'latest' is prohibited";
/// `reg pull` of tag latest without --allow-latest (4.11, wash's spelling kept).
inline constexpr std::string_view kPullLatestProhibited =
    "Pulling artifacts with tag 'latest' is prohibited. This can be overriden with the flag "
    "'--allow-latest'.";
/// `reg pull` of a reference without a tag (4.11).
inline constexpr std::string_view kPullMissingTag =
    "Registry URLs must have explicit tag. To default missing tags to 'latest', use the flag "
    "'--allow-latest'.";
/// `reg push` warning for localhost without --insecure (4.11 step 1; leading space is wash's).
inline constexpr std::string_view kLocalhostInsecureWarning =
    " Unless an SSL certificate has been installed, pushing to localhost without the --insecure "
    "option will fail";
/// `reg push` of something neither a wasm module nor a provider archive (4.11 step 3).
inline constexpr std::string_view kUnsupportedArtifact = "Unsupported artifact type";
/// `reg pull --digest` mismatch (4.11).
inline constexpr std::string_view kDigestDidNotMatch =
    "Image digest did not match provided digest, aborting";
/// Annotation without '=' (4.11 step 5).
inline constexpr std::string_view kBadAnnotation =
    "Constraints were not properly formatted. Ensure they are formatted as label=value";

// --- 4.3 reference grammar (returned verbatim, no prefix) --------------------------------------

inline constexpr std::string_view kInvalidReferenceFormat = "invalid reference format";
inline constexpr std::string_view kRepositoryTooLong =
    "repository name must not be more than 255 characters";
inline constexpr std::string_view kRepositoryNoComponent =
    "repository name must have at least one component";
inline constexpr std::string_view kInvalidDigestFormat = "invalid checksum digest format";
inline constexpr std::string_view kInvalidDigestLength = "invalid checksum digest length";
inline constexpr std::string_view kUnsupportedDigestAlgorithm = "unsupported digest algorithm";

// --- 4.7 / 4.9 / 4.10 pull -------------------------------------------------------------------

/// Prefix of every failure of a full pull (cache miss or digest changed).
inline constexpr std::string_view kFetchBytesPrefix = "Failed to fetch OCI bytes: ";
/// Prefix of a failed manifest check on a cache hit.
inline constexpr std::string_view kFetchManifestPrefix = "Failed to fetch OCI manifest: ";
/// 401 on a registry request; followed by the URL.
inline constexpr std::string_view kNotAuthorizedPrefix = "Not authorized: url ";
/// Token endpoint answered non-200; followed by its body (4.6 step 3).
inline constexpr std::string_view kAuthFailurePrefix = "Authentication failure: ";
/// Token endpoint body not a token JSON; followed by the parser's detail (4.6 step 3).
inline constexpr std::string_view kDecodeTokenPrefix = "Failed to decode registry token: ";
/// 4xx with an error envelope: "Registry error: url <url>, envelope: OCI API errors: [...]".
inline constexpr std::string_view kRegistryErrorPrefix = "Registry error: url ";
/// 5xx: "Server error: url <url>, code: <code>, message: <body>".
inline constexpr std::string_view kServerErrorPrefix = "Server error: url ";
/// Other 2xx than 200 on a manifest GET; followed by the status code and " instead".
inline constexpr std::string_view kSpecViolationPrefix =
    "OCI distribution spec violation: Expected HTTP Status 200 OK, got ";
inline constexpr std::string_view kUnsupportedSchemaPrefix = "Unsupported schema version: ";
inline constexpr std::string_view kUnsupportedMediaTypePrefix = "Unsupported media type: ";
inline constexpr std::string_view kNoPlatformMatch =
    "Image manifest not found: no entry found in image index manifest matching client's default "
    "platform";
inline constexpr std::string_view kNoLayers = "No layers to pull";
inline constexpr std::string_view kIncompatibleLayerPrefix = "Incompatible layer media type: ";
/// New text (4.7 recommendation): a blob whose SHA-256 differs from its descriptor digest.
inline constexpr std::string_view kBlobDigestMismatchPrefix = "blob digest mismatch for ";
/// New text: a blob whose length differs from its descriptor size.
inline constexpr std::string_view kBlobSizeMismatchPrefix = "blob size mismatch for ";
/// New text: a manifest fetched by digest whose SHA-256 differs from that digest.
inline constexpr std::string_view kManifestDigestMismatchPrefix = "manifest digest mismatch for ";
/// New text: the bytes of a response exceeded the client's limit.
inline constexpr std::string_view kResponseTooLarge = "registry response too large";
/// New text, prefix of an artifact above the pull's size limit (PullOptions::max_bytes), either
/// declared so by its manifest (refused before any layer is downloaded) or found so while
/// streaming a layer without a declared size. Code kResourceExhausted.
inline constexpr std::string_view kArtifactTooLargePrefix = "artifact too large: ";

/// "artifact too large: <what>, more than the limit of <limit> bytes[ (raise it with
/// <setting>)]", e.g. what = "the manifest declares 10737418240 bytes".
inline std::string artifact_too_large(std::string_view what, std::uint64_t limit,
                                      std::string_view setting) {
  std::string out = std::string(kArtifactTooLargePrefix) + std::string(what) +
                    ", more than the limit of " + std::to_string(limit) + " bytes";
  if (!setting.empty()) out += " (raise it with " + std::string(setting) + ")";
  return out;
}

// --- scheme-prefixed references and plain-HTTP registries (ours, not the reference's) -------

/// The allowed-insecure setting named in the two texts below (4.4).
inline constexpr std::string_view kAllowedInsecureSetting = "WASMCLOUD_OCI_ALLOWED_INSECURE";

/// New text: an `http://` reference to a registry that is not in the allowed-insecure list
/// (4.4); no prefix, like the `:latest` refusal. Code kPermissionDenied.
inline std::string http_scheme_not_allowed(std::string_view registry) {
  return "plain HTTP refused for http:// reference: registry " + std::string(registry) +
         " is not in the allowed-insecure list (" + std::string(kAllowedInsecureSetting) + ")";
}

/// New text appended to a TLS failure whose cause is a registry answering plain HTTP (OpenSSL
/// "wrong version number"): "; the registry at <host> speaks plain HTTP and is not in the
/// allowed-insecure list (WASMCLOUD_OCI_ALLOWED_INSECURE)".
inline std::string plain_http_registry_hint(std::string_view host) {
  return "; the registry at " + std::string(host) +
         " speaks plain HTTP and is not in the allowed-insecure list (" +
         std::string(kAllowedInsecureSetting) + ")";
}

// --- 4.11 push -------------------------------------------------------------------------------

inline constexpr std::string_view kEmptyBlob = "cannot push a blob without data";

// --- 4.1 / 4.12 dispatch -----------------------------------------------------------------------

inline constexpr std::string_view kBindleUnsupported =
    "Bindle references are not supported by this host";

}  // namespace wc::oci::errors

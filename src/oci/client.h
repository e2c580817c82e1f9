// OCI distribution client over libcurl: pull an actor or provider artifact (claims-oci-par.md
// 4.2-4.9) and push one as `wash reg push` does (4.11). Thread-safety: a Client holds only
// immutable options; every call builds its own CURL handles, so one Client may be used from
// several threads at once. The free function `pull()` uses a process-wide default Client.
// Credentials never appear in log lines or error messages.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/encoding.h"
#include "common/error.h"
#include "oci/credentials.h"
#include "oci/reference.h"

namespace wc::oci {

/// Media types (4.8).
namespace media {
inline constexpr std::string_view kOciManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view kDockerManifest =
    "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr std::string_view kDockerManifestList =
    "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr std::string_view kOciIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view kActorLayer = "application/vnd.module.wasm.content.layer.v1+wasm";
inline constexpr std::string_view kProviderLayer =
    "application/vnd.wasmcloud.provider.archive.layer.v1+par";
inline constexpr std::string_view kLegacyLayer = "application/vnd.oci.image.layer.v1.tar";
inline constexpr std::string_view kActorConfig = "application/vnd.wasmcloud.actor.archive.config";
inline constexpr std::string_view kProviderConfig =
    "application/vnd.wasmcloud.provider.archive.config";
/// The exact Accept header of manifest and blob GETs (4.7 step 1).
inline constexpr std::string_view kManifestAccept =
    "application/vnd.docker.distribution.manifest.v2+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json, "
    "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json";
}  // namespace media

/// Transport options shared by every request of a Client.
struct ClientOptions {
  /// PEM CA bundle for HTTPS; empty = the system CA store (4.4).
  std::string ca_file;
  /// TCP+TLS connect timeout per request.
  std::chrono::milliseconds connect_timeout{5000};
  /// Whole-request timeout for small requests (/v2/, manifests, tokens, upload control).
  std::chrono::milliseconds request_timeout{30000};
  /// Whole-request timeout for blob transfers (per blob or per chunk).
  std::chrono::milliseconds blob_timeout{300000};
  /// Largest accepted manifest / token / config-blob body, bytes.
  std::size_t max_manifest_bytes = 4u << 20;
  /// Largest accepted artifact when PullOptions::max_bytes is 0, bytes (layers are also bounded
  /// by their descriptor size).
  std::size_t max_blob_bytes = 512u << 20;
};

/// How a pull treats a warm cache (4.9).
enum class CachePolicy {
  kNone,        ///< never read nor write the cache
  kRevalidate,  ///< the reference's behaviour: check the manifest digest, re-pull on change;
                ///< an unreachable registry fails even with a warm cache
  kOfflineOk,   ///< as kRevalidate, but when the registry cannot be reached (transport error)
                ///< the cached bytes are returned (not reference behaviour; for CLIs/tests)
};

/// Progress of one pull's download: `received` layer bytes so far, of `total` (the sum of the
/// layer sizes the manifest declares; 0 when it declares none).
using PullProgress = std::function<void(std::uint64_t received, std::uint64_t total)>;

/// Options of one pull. The first four are what the host passes (4.2-4.5).
struct PullOptions {
  /// WASMCLOUD_OCI_ALLOW_LATEST: when false a reference ending in ":latest" is refused (4.2).
  bool allow_latest = false;
  /// WASMCLOUD_OCI_ALLOWED_INSECURE split on ',' (no trimming): registries (HTTP host incl.
  /// port, e.g. "127.0.0.1:5000") contacted over plain HTTP; all others over HTTPS (4.4).
  std::vector<std::string> allowed_insecure;
  /// The host's credential map (4.5); not owned, may be null (= empty map).
  const CredentialStore* credentials = nullptr;
  /// Cache directory; empty = `$TMPDIR` (or /tmp) + "/wasmcloud_ocicache" (4.9).
  std::string cache_dir;
  /// Explicit Basic credentials (CLI `--user/--password`); when set they win over `credentials`.
  std::optional<BasicAuth> basic;
  /// Consult OCI_REGISTRY* when the map has no entry (4.5 step 2).
  bool use_env_credentials = true;
  CachePolicy cache = CachePolicy::kRevalidate;
  /// Largest artifact accepted, bytes (all layers together); 0 = ClientOptions::max_blob_bytes.
  /// A manifest declaring more is refused before any blob is downloaded; a layer without a
  /// declared size is cut off at the limit; a cached file above it is pulled again. Errors:
  /// kResourceExhausted errors::artifact_too_large (prefixed errors::kFetchBytesPrefix).
  std::size_t max_bytes = 0;
  /// The setting that raises `max_bytes`, named in the too-large error (e.g.
  /// "WASMCLOUD_MAX_ACTOR_SIZE"); empty = none named.
  std::string max_bytes_setting;
  /// Called on the pulling thread once with (0, total) when the manifest has been read and the
  /// artifact is within the limit (before any layer is requested), then after each piece of
  /// layer data written (curl's buffer, up to 16 KiB). Not called when the cached artifact is
  /// served. May be empty; must be cheap (throttle output yourself) and must not throw.
  PullProgress progress;
};

/// What a pull returns.
struct PullResult {
  Bytes bytes;              ///< the artifact (concatenated layers, 4.7 step 5)
  std::string digest;       ///< manifest digest "sha256:<hex>"
  std::string media_type;   ///< media type of the (first) layer; empty on a cache hit
  bool from_cache = false;  ///< true when the bytes came from the cache file
  std::string cache_path;   ///< the `.bin` file written or read; empty with CachePolicy::kNone
};

/// Kind of artifact being pushed; selects the layer and config media types (4.8).
enum class ArtifactKind { kActor, kProvider };

/// Options of one push (4.11).
struct PushOptions {
  ArtifactKind kind = ArtifactKind::kActor;
  /// Config blob bytes; empty = the 2 bytes "{}".
  Bytes config;
  /// Manifest annotations (the manifest always has an `annotations` object).
  std::map<std::string, std::string> annotations;
  /// Allow tag "latest" (explicit or implicit); else kPermissionDenied kPushLatestProhibited.
  bool allow_latest = false;
  /// Registries contacted over plain HTTP (as PullOptions::allowed_insecure).
  std::vector<std::string> allowed_insecure;
  /// Basic credentials (used as 4.6 says: only when the registry challenges).
  std::optional<BasicAuth> basic;
  /// Upload chunk size in bytes (4.11 step 8).
  std::size_t chunk_size = 4u << 20;
};

/// What a push returns.
struct PushResult {
  std::string manifest_digest;  ///< "sha256:<hex>" of the canonical manifest bytes
  std::string manifest;         ///< the canonical manifest JSON that was PUT
};

/// Registry client. Errors of pull(): kInvalidArgument (reference syntax, verbatim text),
/// kPermissionDenied (":latest" refused with errors::kLatestProhibited, 401 / token failure),
/// kNotFound (missing tag or repository, 404), kUnavailable (cannot connect, TLS failure, 5xx),
/// kDeadlineExceeded (timeout), kDataLoss (blob or manifest digest/size mismatch), kUnsupported
/// (manifest or layer media type), kResourceExhausted (artifact above PullOptions::max_bytes),
/// kPermissionDenied errors::http_scheme_not_allowed (an `http://` reference to a registry not
/// allowed insecure, no prefix); every registry-side failure text is prefixed
/// errors::kFetchBytesPrefix, or errors::kFetchManifestPrefix for the cache-hit manifest check.
class Client {
 public:
  explicit Client(ClientOptions options = {});

  /// Pulls `reference` (lowercased first, 4.2) per 4.2-4.9: pre-checks, auth handshake,
  /// manifest (+ index platform pick), config, layers with digest and size verification, cache.
  /// A leading `oci://`, `https://` or `http://` is removed first (strip_pull_scheme, ours).
  /// Layers stream into a temporary file next to the cache file while being hashed (memory
  /// stays bounded by the 16 KiB transfer buffer until the verified artifact is read back);
  /// nothing is written to the cache unless every blob verified. Size limit: PullOptions::
  /// max_bytes. A TLS failure against a registry answering plain HTTP carries
  /// errors::plain_http_registry_hint.
  [[nodiscard]] Result<PullResult> pull(std::string_view reference,
                                        const PullOptions& options) const;

  /// Pushes `artifact` to `reference` (lowercased first) per 4.11: chunked blob uploads (layer
  /// then config), canonical OCI manifest PUT. Errors as pull (prefix-free texts), plus
  /// kInvalidArgument errors::kEmptyBlob for an empty artifact and kPermissionDenied
  /// errors::kPushLatestProhibited.
  [[nodiscard]] Result<PushResult> push(std::string_view reference,
                                        std::span<const uint8_t> artifact,
                                        const PushOptions& options) const;

  /// The options this client was built with.
  [[nodiscard]] const ClientOptions& options() const { return options_; }

 private:
  ClientOptions options_;
};

/// Pull with a process-wide default Client (ClientOptions{}); thread-safe.
Result<PullResult> pull(std::string_view reference, const PullOptions& options);

/// The canonical manifest JSON `wash reg push` writes (4.11 step 6) for a layer and a config.
std::string build_manifest(ArtifactKind kind, std::span<const uint8_t> layer,
                           std::span<const uint8_t> config,
                           const std::map<std::string, std::string>& annotations);

/// The default cache directory: `$TMPDIR` or /tmp, + "/wasmcloud_ocicache" (4.9).
std::string default_cache_dir();

/// True when `text` is the sha256 digest of `data` ("sha256:<64 lowercase hex>").
bool digest_matches(std::string_view digest, std::span<const uint8_t> data);

}  // namespace wc::oci

// Pull (claims-oci-par.md 4.2-4.9): reference checks, credentials, manifest resolution (index
// platform pick), config and layer blobs with size and digest verification, and the cache
// (cache.h). The HTTP side is transport.h.
#include <array>
#include <cstdint>
#include <cstdio>
#include <filesystem>

#include <sodium.h>
#include <spdlog/spdlog.h>

#include "common/encoding.h"
#include "oci/cache.h"
#include "oci/client.h"
#include "oci/errors.h"
#include "oci/manifest.h"
#include "oci/transport.h"

namespace wc::oci {
namespace {

using namespace detail;  // transport.h, cache.h

// A manifest as the registry sent it, and its digest (Docker-Content-Digest, else computed).
struct Manifest {
  std::string body;
  std::string digest;
};

// GET a manifest (4.7 step 1): status mapping and digest.
Result<Manifest> get_manifest(const Session& s, const ClientOptions& opts, const std::string& ref) {
  HttpRequest req;
  req.url = s.base() + "/v2/" + s.repository() + "/manifests/" + ref;
  req.headers = {"Accept: " + std::string(media::kManifestAccept)};
  req.timeout = opts.request_timeout;
  req.max_body = opts.max_manifest_bytes;
  auto r = s.request(req);
  if (!r) return fail(r.error());
  if (r->status != 200) return fail(registry_error(req.url, *r));
  Manifest m{std::move(r->body), r->header("docker-content-digest")};
  const std::string computed = oci_digest(as_bytes(m.body));
  if (ref.starts_with("sha256:") && computed != ref)
    return fail(Code::kDataLoss, std::string(errors::kManifestDigestMismatchPrefix) + ref);
  if (m.digest.empty()) m.digest = computed;
  return m;
}

// A parsed image manifest plus the digest the pull reports (4.7 step 1).
struct ImageManifest {
  Descriptor config;
  std::vector<Descriptor> layers;
  std::string digest;
};

Result<ImageManifest> resolve_manifest(const Session& s, const ClientOptions& opts,
                                       const std::string& ref, int depth = 0) {
  auto m = get_manifest(s, opts, ref);
  if (!m) return fail(m.error());
  auto parsed = parse_manifest(m->body, depth == 0);
  if (!parsed) return fail(parsed.error());
  if (parsed->platform_manifest) {
    const Descriptor& d = *parsed->platform_manifest;
    auto inner = resolve_manifest(s, opts, d.digest, depth + 1);
    if (!inner) return inner;
    inner->digest = d.digest;
    return inner;
  }
  return ImageManifest{std::move(parsed->config), std::move(parsed->layers), m->digest};
}

HttpRequest blob_request(const Session& s, const ClientOptions& opts, const Descriptor& d) {
  HttpRequest req;
  req.url = s.base() + "/v2/" + s.repository() + "/blobs/" + d.digest;
  req.headers = {"Accept: " + std::string(media::kManifestAccept)};
  req.follow_redirects = true;
  req.timeout = opts.blob_timeout;
  return req;
}

// GET the (small) config blob into memory, at most ClientOptions::max_manifest_bytes; require
// 200, verify size and digest (4.7 step 2 and recommendation).
Result<std::string> get_config_blob(const Session& s, const ClientOptions& opts,
                                    const Descriptor& d) {
  if (!d.digest.starts_with("sha256:"))
    return fail(Code::kUnsupported,
                std::string(errors::kUnsupportedDigestAlgorithm) + ": " + d.digest);
  HttpRequest req = blob_request(s, opts, d);
  req.max_body = opts.max_manifest_bytes;
  if (d.size >= 0 && static_cast<std::uint64_t>(d.size) > req.max_body)
    return fail(Code::kResourceExhausted, std::string(errors::kResponseTooLarge));
  if (d.size >= 0 && static_cast<std::size_t>(d.size) < req.max_body)
    req.max_body = static_cast<std::size_t>(d.size) + 1;  // one more byte detects an overlong blob
  auto r = s.request(req);
  if (!r) {
    if (r.error().code == Code::kResourceExhausted && d.size >= 0)
      return fail(Code::kDataLoss, std::string(errors::kBlobSizeMismatchPrefix) + d.digest);
    return fail(r.error());
  }
  if (r->status != 200) return fail(registry_error(req.url, *r));
  if (d.size >= 0 && r->body.size() != static_cast<std::size_t>(d.size))
    return fail(Code::kDataLoss, std::string(errors::kBlobSizeMismatchPrefix) + d.digest);
  if (!digest_matches(d.digest, as_bytes(r->body)))
    return fail(Code::kDataLoss, std::string(errors::kBlobDigestMismatchPrefix) + d.digest);
  return std::move(r->body);
}

// GET one layer blob and append it to `sink.file`, hashing on the way (4.7 steps 4-5 and
// recommendation): require 200, at most the declared size (else blob size mismatch) or, without
// one, at most `budget` bytes (else artifact too large); verify size and digest.
Status stream_layer(const Session& s, const ClientOptions& opts, const Descriptor& d,
                    std::FILE* file, std::uint64_t budget, std::uint64_t limit,
                    std::string_view setting, const PullProgress* progress,
                    std::uint64_t progress_base, std::uint64_t progress_total) {
  if (!d.digest.starts_with("sha256:"))
    return fail(Code::kUnsupported,
                std::string(errors::kUnsupportedDigestAlgorithm) + ": " + d.digest);
  BlobSink sink;
  sink.file = file;
  sink.progress = progress;
  sink.progress_base = progress_base;
  sink.progress_total = progress_total;
  sink.limit =
      d.size >= 0 ? std::min<std::uint64_t>(static_cast<std::uint64_t>(d.size), budget) : budget;
  crypto_hash_sha256_init(&sink.sha);
  HttpRequest req = blob_request(s, opts, d);
  req.max_body = 64u << 10;  // head of an error page
  req.sink = &sink;
  auto r = s.request(req);
  if (!r) {
    if (r.error().code == Code::kResourceExhausted) {
      if (d.size >= 0)
        return fail(Code::kDataLoss, std::string(errors::kBlobSizeMismatchPrefix) + d.digest);
      return fail(Code::kResourceExhausted,
                  errors::artifact_too_large("the registry sent more", limit, setting));
    }
    return fail(r.error());
  }
  if (r->status != 200) return fail(registry_error(req.url, *r));
  if (d.size >= 0 && sink.written != static_cast<std::uint64_t>(d.size))
    return fail(Code::kDataLoss, std::string(errors::kBlobSizeMismatchPrefix) + d.digest);
  std::array<std::uint8_t, crypto_hash_sha256_BYTES> sum{};
  crypto_hash_sha256_final(&sink.sha, sum.data());
  if (d.digest != "sha256:" + hex_lower(sum))
    return fail(Code::kDataLoss, std::string(errors::kBlobDigestMismatchPrefix) + d.digest);
  return ok();
}

bool accepted_layer(std::string_view mt) {
  return mt == media::kActorLayer || mt == media::kProviderLayer || mt == media::kLegacyLayer;
}

// The full pull of 4.7 (steps 1-5) on an authenticated session: the layers are concatenated
// into `out` (an open, empty temporary file). At most `limit` bytes in all; a manifest declaring
// more is refused before the config or any layer is requested.
Result<ImageManifest> full_pull(const Session& s, const ClientOptions& opts, const Reference& ref,
                                std::FILE* out, std::uint64_t limit, std::string_view setting,
                                const PullProgress& progress) {
  auto m = resolve_manifest(s, opts, ref.manifest_ref());
  if (!m) return fail(m.error());
  std::uint64_t declared = 0;  // saturating sum of the declared layer sizes
  for (const auto& l : m->layers) {
    if (l.size < 0) continue;
    const auto size = static_cast<std::uint64_t>(l.size);
    declared = size > UINT64_MAX - declared ? UINT64_MAX : declared + size;
  }
  if (declared > limit)
    return fail(
        Code::kResourceExhausted,
        errors::artifact_too_large("the manifest declares " + std::to_string(declared) + " bytes",
                                   limit, setting));
  if (progress) progress(0, declared);
  auto config = get_config_blob(s, opts, m->config);
  if (!config) return fail(config.error());
  if (m->layers.empty()) return fail(Code::kInvalidArgument, std::string(errors::kNoLayers));
  for (const auto& l : m->layers)
    if (!accepted_layer(l.media_type))
      return fail(Code::kUnsupported, std::string(errors::kIncompatibleLayerPrefix) + l.media_type);
  std::uint64_t written = 0;
  for (const auto& l : m->layers) {
    if (auto st = stream_layer(s, opts, l, out, limit - written, limit, setting, &progress, written,
                               declared);
        !st)
      return fail(st.error());
    written = static_cast<std::uint64_t>(std::ftell(out));
  }
  if (std::fflush(out) != 0)
    return fail(Code::kUnavailable, "cannot write the downloaded blob to a temporary file");
  return std::move(*m);
}

}  // namespace

Result<PullResult> Client::pull(std::string_view given, const PullOptions& options) const {
  auto bare = strip_pull_scheme(given, options.allowed_insecure);
  if (!bare) return fail(bare.error());
  const std::string_view reference = *bare;
  const std::uint64_t limit = options.max_bytes ? options.max_bytes : options_.max_blob_bytes;
  const std::string lower = to_lower(reference);
  if (!options.allow_latest && lower.ends_with(":latest"))
    return fail(Code::kPermissionDenied, std::string(errors::kLatestProhibited));
  auto ref = parse_reference(lower);
  if (!ref) return fail(ref.error());
  if (ref->tag_implicit) spdlog::warn("OCI reference {} has no tag; fetching tag 'latest'", lower);

  std::optional<BasicAuth> basic = options.basic;
  if (!basic) {
    EnvCredentials env;
    if (options.use_env_credentials) env = EnvCredentials::from_environment();
    const EnvCredentials* envp = options.use_env_credentials ? &env : nullptr;
    if (options.credentials)
      basic = options.credentials->resolve_oci(reference, envp);
    else if (envp)
      basic = envp->match(reference);
  }

  Session session(options_, scheme_for(*ref, options.allowed_insecure) + ref->http_host(),
                  ref->repository);
  PullResult result;
  std::optional<CacheFiles> files;  // with a cache policy other than kNone
  std::string temp_dir;
  if (options.cache != CachePolicy::kNone) {
    const std::string dir = options.cache_dir.empty() ? default_cache_dir() : options.cache_dir;
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    temp_dir = dir;
    files = cache_files(dir, lower);
    result.cache_path = files->bin;

    const CacheProbe probe = probe_cache(*files, limit);
    if (probe == CacheProbe::kTooLarge)
      spdlog::info("cached artifact for {} exceeds the size limit; pulling again", lower);
    if (probe == CacheProbe::kPresent) {
      // Cache hit (4.9): authenticate, fetch the manifest only, compare digests.
      auto serve_cached = [&]() -> Result<PullResult> {
        auto cached = read_cached(*files);
        if (!cached) return fail(cached.error());
        result.bytes = std::move(cached->bytes);
        result.digest = std::move(cached->digest);
        result.from_cache = true;
        return result;
      };
      Result<Manifest> manifest = fail(Code::kInternal, "unreached");
      if (auto a = session.authenticate(basic, false); !a)
        manifest = fail(a.error());
      else
        manifest = get_manifest(session, options_, ref->manifest_ref());
      if (!manifest) {
        if (options.cache == CachePolicy::kOfflineOk && is_transport(manifest.error())) {
          spdlog::warn("registry for {} unreachable; using the cached artifact", lower);
          return serve_cached();
        }
        return fail(prefixed(errors::kFetchManifestPrefix, manifest.error()));
      }
      const auto stored = cached_digest(*files);
      if (!manifest->digest.empty() && stored && *stored == manifest->digest) return serve_cached();
      spdlog::info("cached artifact for {} is stale; pulling again", lower);
    }
  }

  if (!session.has_token()) {
    if (auto a = session.authenticate(basic, false); !a)
      return fail(prefixed(errors::kFetchBytesPrefix, a.error()));
  }
  if (temp_dir.empty()) {
    std::error_code ec;
    temp_dir = std::filesystem::temp_directory_path(ec).string();
    if (ec || temp_dir.empty()) temp_dir = "/tmp";
  }
  // The layers stream into a temporary file (bounded memory); it becomes the cache file only
  // after every blob verified.
  TempFile temp(temp_name(temp_dir + "/" + cache_name(lower) + ".bin"));
  if (!temp.get())
    return fail(Code::kUnavailable, std::string(errors::kFetchBytesPrefix) +
                                        "cannot create temporary file " + temp.path());
  auto pulled = full_pull(session, options_, *ref, temp.get(), limit, options.max_bytes_setting,
                          options.progress);
  if (!pulled) return fail(prefixed(errors::kFetchBytesPrefix, pulled.error()));
  const ImageManifest& manifest = *pulled;
  if (!temp.close())
    return fail(Code::kUnavailable, std::string(errors::kFetchBytesPrefix) +
                                        "cannot write temporary file " + temp.path());
  auto bytes = read_file(temp.path());
  if (!bytes) return fail(prefixed(errors::kFetchBytesPrefix, bytes.error()));
  if (files) store_cached(*files, temp.path(), manifest.digest);
  result.bytes = std::move(*bytes);
  result.digest = manifest.digest;
  result.media_type = manifest.layers.front().media_type;
  return result;
}

}  // namespace wc::oci

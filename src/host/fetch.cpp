// Host::Impl, artifact fetching (control-interface 3.1.1, claims-oci-par 4.1): file:// (when
// allowed), bindle:// refused, else an OCI pull with the host's registry settings, credentials,
// cache and size limits, logging its progress. The actor supervisor and the provider glue fetch
// through it (ActorSupervisorDeps::fetch).
#include <chrono>
#include <cstdint>
#include <filesystem>

#include <spdlog/spdlog.h>

#include "common/encoding.h"
#include "host/errors.h"
#include "host/host_impl.h"
#include "oci/client.h"
#include "oci/errors.h"

namespace wc::host {
namespace {

/// Logs a pull's progress (issue #17.5): the size once the manifest gives it, then at most one
/// line per 5 s while layer bytes arrive. Lives on the pulling thread for one pull.
class PullLog {
 public:
  PullLog(const char* kind, const std::string& ref) : kind_(kind), ref_(ref) {}

  void operator()(std::uint64_t received, std::uint64_t total) {
    const auto now = std::chrono::steady_clock::now();
    if (!manifest_seen_) {
      manifest_seen_ = true;
      last_ = now;
      if (total > 0)
        spdlog::info("Downloading {} '{}': {} bytes", kind_, ref_, total);
      else
        spdlog::info("Downloading {} '{}' (size not declared by the manifest)", kind_, ref_);
      return;
    }
    if (now - last_ < std::chrono::seconds(5)) return;
    last_ = now;
    if (total > 0)
      spdlog::info("Downloading {} '{}': {} of {} bytes ({}%)", kind_, ref_, received, total,
                   received * 100 / total);
    else
      spdlog::info("Downloading {} '{}': {} bytes so far", kind_, ref_, received);
  }

 private:
  const char* kind_;
  const std::string& ref_;
  bool manifest_seen_ = false;
  std::chrono::steady_clock::time_point last_;
};

}  // namespace

Result<Bytes> Host::Impl::fetch_artifact(const std::string& ref, bool provider) {
  const std::uint64_t limit = provider ? cfg.max_provider_size : cfg.max_actor_size;
  const char* setting = provider ? "WASMCLOUD_MAX_PROVIDER_SIZE" : "WASMCLOUD_MAX_ACTOR_SIZE";
  const char* kind = provider ? "provider" : "actor";
  if (starts_with(ref, "file://")) {
    if (!cfg.allow_file_load)
      return fail(Code::kPermissionDenied, std::string(provider ? errors::kProviderFileLoadDisabled
                                                                : errors::kActorFileLoadDisabled));
    std::error_code ec;
    const auto size = std::filesystem::file_size(ref.substr(7), ec);
    if (!ec && size > limit)
      return fail(Code::kResourceExhausted,
                  oci::errors::artifact_too_large("the file has " + std::to_string(size) + " bytes",
                                                  limit, setting));
    if (!ec) spdlog::info("Loading {} from '{}' ({} bytes)", kind, ref, size);
    return read_file(ref.substr(7));
  }
  if (starts_with(ref, "bindle://"))
    return fail(Code::kUnsupported, std::string(oci::errors::kBindleUnsupported));
  oci::PullOptions o;
  o.allow_latest = cfg.allow_latest;
  o.allowed_insecure = cfg.allowed_insecure;
  o.credentials = &creds;
  o.cache_dir = cfg.oci_cache_dir;
  o.max_bytes = limit;
  o.max_bytes_setting = setting;
  oci::ClientOptions co;
  co.ca_file = cfg.oci_ca_file;  // empty = system CA store
  PullLog progress(kind, ref);
  o.progress = [&progress](std::uint64_t received, std::uint64_t total) {
    progress(received, total);
  };
  spdlog::info("Pulling {} '{}'", kind, ref);
  const auto t0 = std::chrono::steady_clock::now();
  auto r = oci::Client(co).pull(ref, o);
  if (!r) return fail(r.error());
  if (r->from_cache) {
    spdlog::info("Pulled {} '{}' from the cache ({} bytes, {} unchanged)", kind, ref,
                 r->bytes.size(), r->digest);
  } else {
    spdlog::info(
        "Pulled {} '{}' ({} bytes, {}) in {} ms", kind, ref, r->bytes.size(), r->digest,
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
            .count());
  }
  return std::move(r->bytes);
}

}  // namespace wc::host

// Push (claims-oci-par.md 4.11): the canonical manifest `wash reg push` writes, chunked blob
// uploads (layer, then config) and the manifest PUT. The HTTP side is transport.h.
#include <algorithm>

#include <nlohmann/json.hpp>

#include "common/encoding.h"
#include "oci/auth.h"
#include "oci/client.h"
#include "oci/errors.h"
#include "oci/transport.h"

namespace wc::oci {
namespace {

using namespace detail;  // transport.h
using nlohmann::json;

// One blob upload (4.11 step 8): chunked, falling back to monolithic on an unexpected 2xx.
Status upload_blob(const Session& s, const ClientOptions& opts, std::span<const uint8_t> blob,
                   std::size_t chunk_size) {
  if (blob.empty()) return fail(Code::kInvalidArgument, std::string(errors::kEmptyBlob));
  const std::string digest = oci_digest(blob);
  const std::string start_url = s.base() + "/v2/" + s.repository() + "/blobs/uploads/";
  auto start = [&]() -> Result<std::string> {
    HttpRequest post;
    post.method = "POST";
    post.url = start_url;
    post.send_body = true;
    post.headers = {"Content-Type:"};
    post.timeout = opts.request_timeout;
    auto r = s.request(post);
    if (!r) return fail(r.error());
    if (r->status != 202 || r->header("location").empty())
      return fail(registry_error(post.url, *r));
    return s.resolve(r->header("location"));
  };
  auto with_digest = [&](const std::string& loc) {
    return loc + (loc.find('?') == std::string::npos ? "?" : "&") + "digest=" + url_encode(digest);
  };
  auto monolithic = [&]() -> Status {
    auto loc = start();
    if (!loc) return fail(loc.error());
    HttpRequest put;
    put.method = "PUT";
    put.url = with_digest(*loc);
    put.send_body = true;
    put.body = blob;
    put.headers = {"Content-Type: application/octet-stream"};
    put.timeout = opts.blob_timeout;
    auto r = s.request(put);
    if (!r) return fail(r.error());
    if (r->status != 201) return fail(registry_error(put.url, *r));
    return ok();
  };

  auto loc = start();
  if (!loc) return fail(loc.error());
  std::string location = *loc;
  for (std::size_t off = 0; off < blob.size(); off += chunk_size) {
    const std::size_t n = std::min(chunk_size, blob.size() - off);
    HttpRequest patch;
    patch.method = "PATCH";
    patch.url = location;
    patch.send_body = true;
    patch.body = blob.subspan(off, n);
    patch.headers = {"Content-Range: " + std::to_string(off) + "-" + std::to_string(off + n - 1),
                     "Content-Type: application/octet-stream"};
    patch.timeout = opts.blob_timeout;
    auto r = s.request(patch);
    if (!r) return fail(r.error());
    if (r->status == 202 && !r->header("location").empty()) {
      location = s.resolve(r->header("location"));
      continue;
    }
    if (r->status >= 200 && r->status < 300) return monolithic();
    return fail(registry_error(patch.url, *r));
  }
  HttpRequest put;
  put.method = "PUT";
  put.url = with_digest(location);
  put.send_body = true;
  put.headers = {"Content-Type:"};
  put.timeout = opts.request_timeout;
  auto r = s.request(put);
  if (!r) return fail(r.error());
  if (r->status == 201) return ok();
  if (r->status >= 200 && r->status < 300) return monolithic();
  return fail(registry_error(put.url, *r));
}

}  // namespace

std::string build_manifest(ArtifactKind kind, std::span<const uint8_t> layer,
                           std::span<const uint8_t> config,
                           const std::map<std::string, std::string>& annotations) {
  json ann = json::object();
  for (const auto& [k, v] : annotations) ann[k] = v;
  const bool actor = kind == ArtifactKind::kActor;
  json m = {
      {"schemaVersion", 2},
      {"config",
       {{"mediaType", actor ? media::kActorConfig : media::kProviderConfig},
        {"digest", oci_digest(config)},
        {"size", config.size()}}},
      {"layers", json::array({{{"mediaType", actor ? media::kActorLayer : media::kProviderLayer},
                               {"digest", oci_digest(layer)},
                               {"size", layer.size()}}})},
      {"annotations", ann},
  };
  return m.dump();  // std::map-backed objects: keys sorted bytewise, no whitespace
}

Result<PushResult> Client::push(std::string_view reference, std::span<const uint8_t> artifact,
                                const PushOptions& options) const {
  const std::string lower = to_lower(reference);
  auto ref = parse_reference(lower);
  if (!ref) return fail(ref.error());
  if (ref->tag == "latest" && !options.allow_latest)
    return fail(Code::kPermissionDenied, std::string(errors::kPushLatestProhibited));
  if (artifact.empty()) return fail(Code::kInvalidArgument, std::string(errors::kEmptyBlob));
  static constexpr std::uint8_t kEmptyConfig[] = {'{', '}'};
  std::span<const uint8_t> config =
      options.config.empty() ? std::span<const uint8_t>(kEmptyConfig) : std::span(options.config);
  PushResult out;
  out.manifest = build_manifest(options.kind, artifact, config, options.annotations);
  out.manifest_digest = oci_digest(as_bytes(out.manifest));

  Session session(options_, scheme_for(*ref, options.allowed_insecure) + ref->http_host(),
                  ref->repository);
  if (auto a = session.authenticate(options.basic, true); !a) return fail(a.error());
  const std::size_t chunk = options.chunk_size == 0 ? (4u << 20) : options.chunk_size;
  if (auto u = upload_blob(session, options_, artifact, chunk); !u) return fail(u.error());
  if (auto u = upload_blob(session, options_, config, chunk); !u) return fail(u.error());

  HttpRequest put;
  put.method = "PUT";
  put.url = session.base() + "/v2/" + ref->repository + "/manifests/" + ref->manifest_ref();
  put.send_body = true;
  put.body = as_bytes(out.manifest);
  put.headers = {"Content-Type: " + std::string(media::kOciManifest)};
  put.timeout = options_.request_timeout;
  auto r = session.request(put);
  if (!r) return fail(r.error());
  if (r->status != 201) return fail(registry_error(put.url, *r));
  return out;
}

}  // namespace wc::oci

// OCI registry client over libcurl (claims-oci-par.md 4.2-4.11). One CURL easy handle per
// request; no shared mutable state besides the one-time curl_global_init.
#include "oci/client.h"

#include <curl/curl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <thread>

#include <sodium.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "common/json.h"
#include "oci/auth.h"
#include "oci/errors.h"
#include "oci/manifest.h"

namespace wc::oci {
namespace {

using nlohmann::json;

std::once_flag g_curl_once;
bool g_curl_ok = false;

Status ensure_curl() {
  std::call_once(g_curl_once,
                 [] { g_curl_ok = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK; });
  if (!g_curl_ok) return fail(Code::kInternal, "libcurl initialisation failed");
  return ok();
}

// Where a 2xx body goes instead of HttpResponse::body: appended to `file` and hashed, at most
// `limit` bytes (one blob streamed to disk, 4.7 steps 2-5).
struct BlobSink {
  std::FILE* file = nullptr;
  std::uint64_t limit = 0;
  std::uint64_t written = 0;
  crypto_hash_sha256_state sha{};
  bool io_error = false;
  const PullProgress* progress = nullptr;  ///< not owned; called after each write
  std::uint64_t progress_base = 0;         ///< bytes of earlier layers (progress `received`)
  std::uint64_t progress_total = 0;        ///< declared size of all layers (progress `total`)
};

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  std::vector<std::string> headers;
  std::span<const std::uint8_t> body;
  bool send_body = false;  // PATCH/PUT/POST: send `body` (possibly empty, Content-Length: 0)
  bool follow_redirects = false;
  std::chrono::milliseconds timeout{30000};
  std::size_t max_body = 4u << 20;  // in-memory body; with `sink`, the head of an error page
  BlobSink* sink = nullptr;         // not owned; 2xx bodies go there
};

struct HttpResponse {
  long status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // lowercased names; repeated ones joined ", "
  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
};

struct Transfer {
  CURL* handle;
  HttpResponse* resp;
  std::size_t max_body;
  BlobSink* sink = nullptr;
  bool too_large = false;
};

size_t on_body(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t len = size * n;
  if (t->sink) {
    long status = 0;
    curl_easy_getinfo(t->handle, CURLINFO_RESPONSE_CODE, &status);
    if (status >= 200 && status < 300) {
      BlobSink& k = *t->sink;
      if (k.written + len > k.limit) {
        t->too_large = true;
        return 0;  // aborts the transfer
      }
      if (std::fwrite(data, 1, len, k.file) != len) {
        k.io_error = true;
        return 0;
      }
      crypto_hash_sha256_update(&k.sha, reinterpret_cast<const unsigned char*>(data), len);
      k.written += len;
      if (k.progress != nullptr && *k.progress)
        (*k.progress)(k.progress_base + k.written, k.progress_total);
      return len;
    }
  }
  if (t->resp->body.size() + len > t->max_body) {
    long status = 0;
    curl_easy_getinfo(t->handle, CURLINFO_RESPONSE_CODE, &status);
    if (status >= 200 && status < 300) {
      t->too_large = true;
      return 0;  // aborts the transfer
    }
    // An error page: keep its head for the message, drop the rest.
    t->resp->body.append(data, std::min(len, t->max_body - t->resp->body.size()));
    return len;
  }
  t->resp->body.append(data, len);
  return len;
}

size_t on_header(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t len = size * n;
  std::string_view line(data, len);
  if (line.starts_with("HTTP/")) {  // a new response (redirect, 100-continue): start over
    t->resp->headers.clear();
    return len;
  }
  std::size_t colon = line.find(':');
  if (colon == std::string_view::npos) return len;
  std::string name = to_lower(line.substr(0, colon));
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' '))
    value.remove_suffix(1);
  std::string& slot = t->resp->headers[name];
  if (!slot.empty()) slot += ", ";
  slot += value;
  return len;
}

Result<HttpResponse> send(const ClientOptions& opts, const HttpRequest& req) {
  if (auto s = ensure_curl(); !s) return fail(s.error());
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), curl_easy_cleanup);
  if (!curl) return fail(Code::kInternal, "curl_easy_init failed");
  CURL* h = curl.get();
  HttpResponse resp;
  Transfer transfer{h, &resp, req.max_body, req.sink};
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_slist* headers = nullptr;
  for (const auto& line : req.headers) headers = curl_slist_append(headers, line.c_str());
  headers = curl_slist_append(headers, "Expect:");  // no 100-continue round trip
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> header_guard(headers,
                                                                           curl_slist_free_all);
  curl_easy_setopt(h, CURLOPT_URL, req.url.c_str());
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &transfer);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(opts.connect_timeout.count()));
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(req.timeout.count()));
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  if (req.follow_redirects) {
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(h, CURLOPT_MAXREDIRS, 10L);
    // Custom Authorization headers are not forwarded to another host (libcurl >= 7.58).
    curl_easy_setopt(h, CURLOPT_UNRESTRICTED_AUTH, 0L);
  }
  if (!opts.ca_file.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, opts.ca_file.c_str());
  if (req.method == "GET") {
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
  } else {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req.method.c_str());
  }
  if (req.send_body) {
    static const char kEmpty[] = "";
    curl_easy_setopt(h, CURLOPT_POSTFIELDS,
                     req.body.empty() ? kEmpty : reinterpret_cast<const char*>(req.body.data()));
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
  }
  CURLcode rc = curl_easy_perform(h);
  if (transfer.too_large)
    return fail(Code::kResourceExhausted, std::string(errors::kResponseTooLarge));
  if (req.sink && req.sink->io_error)
    return fail(Code::kUnavailable, "cannot write the downloaded blob to a temporary file");
  if (rc != CURLE_OK) {
    std::string detail = errbuf[0] ? errbuf : curl_easy_strerror(rc);
    // A plain-HTTP registry answering a TLS ClientHello (OpenSSL: "wrong version number").
    if (rc == CURLE_SSL_CONNECT_ERROR && req.url.starts_with("https://") &&
        detail.find("wrong version number") != std::string::npos) {
      const std::string_view rest = std::string_view(req.url).substr(8);
      detail += errors::plain_http_registry_hint(rest.substr(0, rest.find('/')));
    }
    Code code = rc == CURLE_OPERATION_TIMEDOUT ? Code::kDeadlineExceeded : Code::kUnavailable;
    return fail(code, "error sending request for url (" + req.url + "): " + detail);
  }
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp.status);
  return resp;
}

// Maps a non-success registry answer to the reference's texts (4.7 step 1).
Error registry_error(const std::string& url, const HttpResponse& r) {
  if (r.status == 401)
    return {Code::kPermissionDenied, std::string(errors::kNotAuthorizedPrefix) + url};
  if (r.status >= 200 && r.status < 300)
    return {Code::kUnavailable,
            std::string(errors::kSpecViolationPrefix) + std::to_string(r.status) + " instead"};
  if (r.status >= 400 && r.status < 500) {
    Code code = r.status == 404   ? Code::kNotFound
                : r.status == 403 ? Code::kPermissionDenied
                : r.status == 429 ? Code::kUnavailable
                                  : Code::kInvalidArgument;
    std::string envelope;
    try {
      json j = json::parse(r.body);
      std::string joined;
      for (const auto& e : j.at("errors")) {
        if (!joined.empty()) joined += "\n";
        joined += "OCI API error: " + json_string(e, "message");
      }
      envelope = "OCI API errors: [" + joined + "]";
    } catch (const std::exception& e) {
      envelope = e.what();
    }
    return {code, std::string(errors::kRegistryErrorPrefix) + url + ", envelope: " + envelope};
  }
  std::string body = r.body.substr(0, 1024);
  return {Code::kUnavailable, std::string(errors::kServerErrorPrefix) + url +
                                  ", code: " + std::to_string(r.status) + ", message: " + body};
}

Error prefixed(std::string_view prefix, Error e) {
  e.message = std::string(prefix) + e.message;
  return e;
}

bool is_transport(const Error& e) {
  return (e.code == Code::kUnavailable || e.code == Code::kDeadlineExceeded) &&
         e.message.starts_with("error sending request");
}

// One authenticated conversation with one registry (4.6).
class Session {
 public:
  Session(const ClientOptions& opts, std::string base, std::string repository)
      : opts_(opts), base_(std::move(base)), repo_(std::move(repository)) {}

  /// The handshake of 4.6; `push` asks for pull,push scope.
  Status authenticate(const std::optional<BasicAuth>& basic, bool push) {
    auth_.clear();
    HttpRequest probe;
    probe.url = base_ + "/v2/";
    probe.headers = {"Accept: */*"};
    probe.timeout = opts_.request_timeout;
    auto r = send(opts_, probe);
    if (!r) return fail(r.error());
    const std::string www = r->header("www-authenticate");
    if (www.empty()) return ok();
    for (const Challenge& ch : parse_www_authenticate(www)) {
      if (to_lower(ch.scheme) != "bearer") continue;
      auto realm = ch.params.find("realm");
      if (realm == ch.params.end()) continue;
      auto service = ch.params.find("service");
      HttpRequest tok;
      tok.url =
          token_url(realm->second, service == ch.params.end() ? "" : service->second, repo_, push);
      tok.timeout = opts_.request_timeout;
      tok.max_body = opts_.max_manifest_bytes;
      if (basic) tok.headers.push_back(basic_header(*basic));
      auto t = send(opts_, tok);
      if (!t) return fail(t.error());
      if (t->status != 200)
        return fail(Code::kPermissionDenied, std::string(errors::kAuthFailurePrefix) + t->body);
      auto token = parse_token_response(t->body);
      if (!token) return fail(token.error());
      auth_ = "Authorization: Bearer " + *token;
      bearer_ = true;
      return ok();
    }
    if (basic) auth_ = basic_header(*basic);
    return ok();
  }

  bool has_token() const { return bearer_; }
  const std::string& base() const { return base_; }
  const std::string& repository() const { return repo_; }

  Result<HttpResponse> request(HttpRequest req) const {
    if (!auth_.empty()) req.headers.push_back(auth_);
    return send(opts_, req);
  }

  /// A Location header value made absolute (4.11 step 8).
  std::string resolve(const std::string& location) const {
    if (location.starts_with("http://") || location.starts_with("https://")) return location;
    if (location.starts_with("/")) return base_ + location;
    return base_ + "/" + location;
  }

 private:
  static std::string basic_header(const BasicAuth& b) {
    return "Authorization: Basic " + base64_encode(as_bytes(b.username + ":" + b.password));
  }
  const ClientOptions& opts_;
  std::string base_, repo_, auth_;
  bool bearer_ = false;
};

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

// A name beside `path` unique to this process, thread and call.
std::string temp_name(const std::string& path) {
  static std::atomic<unsigned> counter{0};
  return path + ".tmp." + std::to_string(::getpid()) + "." +
         std::to_string(std::hash<std::thread::id>{}(std::this_thread::get_id())) + "." +
         std::to_string(counter++);
}

// A temporary file opened for writing, closed and removed on destruction unless released.
class TempFile {
 public:
  explicit TempFile(std::string path)
      : path_(std::move(path)), file_(std::fopen(path_.c_str(), "wb")) {}
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  ~TempFile() {
    close();
    std::error_code ec;
    std::filesystem::remove(path_, ec);
  }
  std::FILE* get() const { return file_; }
  const std::string& path() const { return path_; }
  bool close() {
    bool good = true;
    if (file_) good = std::fclose(file_) == 0;
    file_ = nullptr;
    return good;
  }

 private:
  std::string path_;
  std::FILE* file_;
};

// Writes `data` to `path` through a uniquely named temp file and rename (atomic for readers).
Status atomic_write(const std::string& path, std::string_view data) {
  const std::string tmp = temp_name(path);
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return fail(Code::kUnavailable, "cannot create cache file " + tmp);
    out.write(data.data(), static_cast<std::streamsize>(data.size()));
    out.flush();
    if (!out) {
      std::error_code ec;
      std::filesystem::remove(tmp, ec);
      return fail(Code::kUnavailable, "cannot write cache file " + tmp);
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::filesystem::remove(tmp, ec);
    return fail(Code::kUnavailable, "cannot rename cache file to " + path);
  }
  return ok();
}

std::optional<std::string> read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
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

std::string scheme_for(const Reference& ref, const std::vector<std::string>& insecure) {
  const std::string host = ref.http_host();
  for (const auto& h : insecure)
    if (h == host) return "http://";
  return "https://";
}

}  // namespace

bool digest_matches(std::string_view digest, std::span<const uint8_t> data) {
  return digest == oci_digest(data);
}

std::string default_cache_dir() {
  const char* tmp = std::getenv("TMPDIR");
  std::string base = tmp && *tmp ? tmp : "/tmp";
  while (base.size() > 1 && base.back() == '/') base.pop_back();
  return base + "/wasmcloud_ocicache";
}

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

Client::Client(ClientOptions options) : options_(std::move(options)) {}

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
  std::string bin_path, digest_path, temp_dir;
  if (options.cache != CachePolicy::kNone) {
    const std::string dir = options.cache_dir.empty() ? default_cache_dir() : options.cache_dir;
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    temp_dir = dir;
    const std::string base = dir + "/" + cache_name(lower);
    bin_path = base + ".bin";
    digest_path = base + ".digest";
    result.cache_path = bin_path;

    const bool cached = std::filesystem::exists(bin_path, ec);
    const bool cached_too_large = cached && std::filesystem::file_size(bin_path, ec) > limit;
    if (cached_too_large)
      spdlog::info("cached artifact for {} exceeds the size limit; pulling again", lower);
    if (cached && !cached_too_large && !ec) {
      // Cache hit (4.9): authenticate, fetch the manifest only, compare digests.
      auto serve_cached = [&]() -> Result<PullResult> {
        auto bytes = read_file(bin_path);
        if (!bytes) return fail(bytes.error());
        result.bytes = std::move(*bytes);
        result.digest = read_text(digest_path).value_or("");
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
      const auto cached_digest = read_text(digest_path);
      if (!manifest->digest.empty() && cached_digest && *cached_digest == manifest->digest)
        return serve_cached();
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
  if (options.cache != CachePolicy::kNone) {
    std::error_code ec;
    std::filesystem::rename(temp.path(), bin_path, ec);
    if (ec) {
      spdlog::warn("OCI cache write failed: cannot rename {} to {}", temp.path(), bin_path);
    } else if (!manifest.digest.empty()) {
      if (auto d = atomic_write(digest_path, manifest.digest); !d)
        spdlog::warn("OCI cache write failed: {}", d.error().message);
    }
  }
  result.bytes = std::move(*bytes);
  result.digest = manifest.digest;
  result.media_type = manifest.layers.front().media_type;
  return result;
}

namespace {

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

Result<PullResult> pull(std::string_view reference, const PullOptions& options) {
  static const Client client;
  return client.pull(reference, options);
}

}  // namespace wc::oci

// The HTTP side of the OCI client (see transport.h): libcurl requests, registry error texts,
// the authentication handshake.
#include "oci/transport.h"

#include <curl/curl.h>

#include <algorithm>
#include <memory>
#include <mutex>

#include <nlohmann/json.hpp>

#include "common/encoding.h"
#include "common/json.h"
#include "oci/auth.h"
#include "oci/errors.h"

namespace wc::oci::detail {
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

// The state of one transfer the curl callbacks see.
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

}  // namespace

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

std::string scheme_for(const Reference& ref, const std::vector<std::string>& insecure) {
  const std::string host = ref.http_host();
  for (const auto& h : insecure)
    if (h == host) return "http://";
  return "https://";
}

namespace {

std::string basic_header(const BasicAuth& b) {
  return "Authorization: Basic " + base64_encode(as_bytes(b.username + ":" + b.password));
}

}  // namespace

Status Session::authenticate(const std::optional<BasicAuth>& basic, bool push) {
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

Result<HttpResponse> Session::request(HttpRequest req) const {
  if (!auth_.empty()) req.headers.push_back(auth_);
  return send(opts_, req);
}

std::string Session::resolve(const std::string& location) const {
  if (location.starts_with("http://") || location.starts_with("https://")) return location;
  if (location.starts_with("/")) return base_ + location;
  return base_ + "/" + location;
}

}  // namespace wc::oci::detail

// The HTTP side of the OCI client (claims-oci-par.md 4.4, 4.6, 4.7 step 1): one libcurl request
// (send), the mapping of a registry's non-success answer to the reference's error texts, and the
// authenticated conversation with one registry (Session). Owned by src/oci, internal to wc_oci
// (pull.cpp and push.cpp use it; tests/oci/transport_test.cpp tests it). Each send() builds its
// own CURL easy handle; the only shared state is the one-time curl_global_init, so every
// function may be called from several threads at once. A Session is used by one thread.
// Credentials never appear in error messages.
#pragma once

#include <sodium.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "oci/client.h"
#include "oci/credentials.h"
#include "oci/reference.h"

namespace wc::oci::detail {

/// Where a 2xx body goes instead of HttpResponse::body: appended to `file` and hashed, at most
/// `limit` bytes (one blob streamed to disk, 4.7 steps 2-5). Filled by send(); the caller
/// initialises `sha` (crypto_hash_sha256_init) and reads `written`, `sha` and `io_error`.
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

/// One HTTP request.
struct HttpRequest {
  std::string method = "GET";
  std::string url;
  std::vector<std::string> headers;  ///< whole header lines, "Name: value"
  std::span<const std::uint8_t> body;
  bool send_body = false;  ///< PATCH/PUT/POST: send `body` (possibly empty, Content-Length: 0)
  bool follow_redirects = false;
  std::chrono::milliseconds timeout{30000};
  std::size_t max_body = 4u << 20;  ///< in-memory body; with `sink`, the head of an error page
  BlobSink* sink = nullptr;         ///< not owned; 2xx bodies go there
};

/// One HTTP response (the last one when redirects were followed).
struct HttpResponse {
  long status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  ///< lowercased names; repeated ones joined ", "
  /// The value of header `name` (lowercase), "" when absent.
  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
};

/// Performs `req` with `opts`' connect timeout and CA file (http and https only). Any status is
/// a response. Errors: kResourceExhausted errors::kResponseTooLarge (a 2xx body above max_body
/// or the sink's limit), kUnavailable (cannot connect, TLS failure — with
/// errors::plain_http_registry_hint when an https URL met a plain-HTTP server — or the sink's
/// file cannot be written), kDeadlineExceeded (timeout); transport texts start with
/// "error sending request for url (<url>): ".
Result<HttpResponse> send(const ClientOptions& opts, const HttpRequest& req);

/// A registry's non-success answer `r` to `url` in the reference's texts (4.7 step 1): 401
/// kPermissionDenied kNotAuthorizedPrefix; other 4xx kRegistryErrorPrefix with the OCI error
/// envelope (404 kNotFound, 403 kPermissionDenied, 429 kUnavailable, else kInvalidArgument);
/// an unexpected 2xx kUnavailable kSpecViolationPrefix; anything else kUnavailable
/// kServerErrorPrefix with the first 1024 bytes of the body.
Error registry_error(const std::string& url, const HttpResponse& r);

/// `e` with `prefix` put before its message.
Error prefixed(std::string_view prefix, Error e);

/// True when `e` is a transport failure of send() (the registry could not be reached), not an
/// answer of the registry.
bool is_transport(const Error& e);

/// "http://" when `ref`'s HTTP host is one of `insecure` (4.4), else "https://".
std::string scheme_for(const Reference& ref, const std::vector<std::string>& insecure);

/// One authenticated conversation with one registry and repository (4.6).
class Session {
 public:
  /// `base` is scheme + HTTP host ("https://reg.io"); `opts` must outlive the session.
  Session(const ClientOptions& opts, std::string base, std::string repository)
      : opts_(opts), base_(std::move(base)), repo_(std::move(repository)) {}

  /// The handshake of 4.6: probes `/v2/`; on a Bearer challenge fetches a token (with `basic`
  /// when given; `push` asks for pull,push scope), else uses `basic` as is. Errors: those of
  /// send(), kPermissionDenied errors::kAuthFailurePrefix (token endpoint not 200), token
  /// decoding errors.
  Status authenticate(const std::optional<BasicAuth>& basic, bool push);

  /// True once authenticate() obtained a bearer token.
  bool has_token() const { return bearer_; }
  /// Scheme + HTTP host.
  const std::string& base() const { return base_; }
  /// The repository path.
  const std::string& repository() const { return repo_; }

  /// send() with the session's Authorization header added.
  Result<HttpResponse> request(HttpRequest req) const;

  /// A Location header value made absolute against base() (4.11 step 8).
  std::string resolve(const std::string& location) const;

 private:
  const ClientOptions& opts_;
  std::string base_, repo_, auth_;
  bool bearer_ = false;
};

}  // namespace wc::oci::detail

// Link configuration of a wasmcloud:httpserver link (actor-rpc-providers.md 7.1): how one link
// definition's values select the listen address, timeouts, size limit, CORS and TLS. One rule
// for both servers of the contract: the httpserver provider (providers/httpserver) and the
// host's builtin HTTP server (src/host/builtin_http.h).
//
// Owned by src/httpd. Pure functions; thread-safe.
//
// Link values (keys case-insensitive): `config_b64` (base64 of a JSON object) or `config_json`
// (a JSON object) first; then `address` ("ip:port") and `port` (binds 127.0.0.1:port) override
// the address. JSON keys: `address`, `timeout_ms`, `max_content_len` ("10m", "512k", "1g" or a
// plain number of bytes), `cors` {`allowed_origins`, `allowed_headers`, `allowed_methods`,
// `exposed_headers`, `max_age_secs`}, `tls` {`cert_file`, `priv_key_file`}, and (ours)
// `threads` (HTTP worker threads of this link).
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/error.h"
#include "rpc/messages.h"

namespace wc::httpd {

/// Default listen address when a link gives none.
inline constexpr std::string_view kDefaultHost = "127.0.0.1";
inline constexpr int kDefaultPort = 8000;
/// Default request body limit (10 MiB).
inline constexpr std::size_t kDefaultMaxContentLen = 10u << 20;

struct CorsConfig {
  std::vector<std::string> allowed_origins;  ///< empty = CORS headers off; "*" = any origin
  std::vector<std::string> allowed_headers;
  std::vector<std::string> allowed_methods;
  std::vector<std::string> exposed_headers;
  std::optional<std::uint64_t> max_age_secs;
};

struct TlsConfig {
  std::string cert_file;      ///< PEM certificate chain
  std::string priv_key_file;  ///< PEM private key
};

/// Settings of one link's HTTP server.
struct HttpConfig {
  std::string host = std::string(kDefaultHost);
  int port = kDefaultPort;
  /// Time to wait for the actor's answer; nullopt = host data default_rpc_timeout_ms.
  std::optional<std::chrono::milliseconds> timeout;
  std::size_t max_content_len = kDefaultMaxContentLen;
  CorsConfig cors;
  std::optional<TlsConfig> tls;
  /// HTTP worker threads of the provider (each serves one keep-alive connection at a time);
  /// 0 = default. The builtin server ignores it (its event loops serve every connection).
  std::size_t threads = 0;
};

/// Parses "10m"-style sizes: digits with an optional k/m/g suffix (powers of 1024, case-
/// insensitive, optional trailing 'b'). Errors: kInvalidArgument.
Result<std::size_t> parse_size(std::string_view text);

/// Parses "ip:port" (also "[v6]:port"). Errors: kInvalidArgument.
Status parse_address(std::string_view text, std::string& host, int& port);

/// A response header (name, value).
using HeaderPair = std::pair<std::string, std::string>;

/// CORS headers for a response to a request from `origin` ("" = no Origin header): empty when
/// CORS is off (no allowed origins) or the origin is not allowed; else
/// Access-Control-Allow-Origin (the origin) and Access-Control-Expose-Headers when configured.
std::vector<HeaderPair> cors_response_headers(const CorsConfig& cors, std::string_view origin);

/// The answer to a CORS preflight (OPTIONS with Origin and Access-Control-Request-Method), which
/// the server gives itself (status 204): the response headers above plus Allow-Methods,
/// Allow-Headers and Max-Age as configured. nullopt when CORS is off or the request is not a
/// preflight (the actor answers it).
std::optional<std::vector<HeaderPair>> cors_preflight(const CorsConfig& cors,
                                                      std::string_view method,
                                                      std::string_view origin,
                                                      bool has_request_method);

/// The settings of a link (see the file comment). Errors: kInvalidArgument naming the value.
Result<HttpConfig> parse_link_config(const rpc::LinkDefinition& ld);

}  // namespace wc::httpd

// Link configuration of the httpserver provider (contract wasmcloud:httpserver): how one link
// definition's values select the listen address, timeouts, size limit, CORS and TLS.
//
// Owned by providers/httpserver. Pure functions; thread-safe.
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
#include <vector>

#include "common/error.h"
#include "sdk/link.h"

namespace wc::httpserver {

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
  /// HTTP worker threads (each serves one keep-alive connection at a time); 0 = default.
  std::size_t threads = 0;
};

/// Parses "10m"-style sizes: digits with an optional k/m/g suffix (powers of 1024, case-
/// insensitive, optional trailing 'b'). Errors: kInvalidArgument.
Result<std::size_t> parse_size(std::string_view text);

/// Parses "ip:port" (also "[v6]:port"). Errors: kInvalidArgument.
Status parse_address(std::string_view text, std::string& host, int& port);

/// The settings of a link (see the file comment). Errors: kInvalidArgument naming the value.
Result<HttpConfig> parse_link_config(const provider::LinkDefinition& ld);

}  // namespace wc::httpserver

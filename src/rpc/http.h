// The msgpack payloads of the wasmcloud:httpserver contract (actor-rpc-providers.md 7.2):
// HttpRequest, the argument of `HttpServer.HandleRequest`, and HttpResponse, its result. One
// codec for every party that speaks the contract: the httpserver provider, the host's builtin
// HTTP server, tests and tools.
//
// Owned by src/rpc (the wire layer). Plain values and pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "common/encoding.h"
#include "common/error.h"

namespace wc::rpc {

/// Operation name the contract invokes on the linked actor.
inline constexpr std::string_view kHttpHandleRequest = "HttpServer.HandleRequest";

/// Header map of 7.2: name -> values.
using HttpHeaderMap = std::map<std::string, std::vector<std::string>>;

/// HttpRequest of 7.2.
struct HttpRequest {
  std::string method;
  std::string path;
  std::string query_string;
  HttpHeaderMap header;
  Bytes body;
};

/// HttpResponse of 7.2.
struct HttpResponse {
  std::uint16_t status_code = 200;
  HttpHeaderMap header;
  Bytes body;
};

/// msgpack map `{method, path, queryString, header, body (bin)}` in that key order (the Rust
/// SDK's declaration order; vector A.1).
Bytes encode_http_request(const HttpRequest& req);
/// Decodes HttpResponse; missing members take the SDK defaults (200, {}, empty). Errors:
/// kInvalidArgument "Deserialization error: ..." (not a map, `statusCode` outside 100-999,
/// malformed header or body).
Result<HttpResponse> decode_http_response(std::span<const std::uint8_t> bytes);
/// Decodes HttpRequest (tests, tools). Errors as above.
Result<HttpRequest> decode_http_request(std::span<const std::uint8_t> bytes);
/// Encodes HttpResponse `{statusCode, header, body (bin)}`.
Bytes encode_http_response(const HttpResponse& resp);

}  // namespace wc::rpc

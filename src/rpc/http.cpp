// HttpRequest / HttpResponse codec (see http.h).
#include "rpc/http.h"

#include <utility>

#include "rpc/msgpack.h"

namespace wc::rpc {

namespace serde = mp::serde;

namespace {

void write_headers(serde::Writer& w, const HttpHeaderMap& h) {
  w.map(static_cast<std::uint32_t>(h.size()));
  for (const auto& [name, values] : h) {
    w.str(name).array(static_cast<std::uint32_t>(values.size()));
    for (const auto& v : values) w.str(v);
  }
}

Result<HttpHeaderMap> read_headers(const msgpack::object& map) {
  HttpHeaderMap out;
  const auto* h = serde::find(map, "header");
  if (h == nullptr) return out;
  if (h->type != msgpack::type::MAP) return fail(serde::decode_error("`header` must be a map"));
  for (std::uint32_t i = 0; i < h->via.map.size; ++i) {
    auto name = serde::as_string(h->via.map.ptr[i].key, "header");
    if (!name) return fail(name.error());
    const auto& v = h->via.map.ptr[i].val;
    if (v.type == msgpack::type::ARRAY) {
      auto values = serde::as_string_array(v, "header");
      if (!values) return fail(values.error());
      out[*name] = std::move(*values);
    } else {
      auto value = serde::as_string(v, "header");  // tolerate a single string
      if (!value) return fail(value.error());
      out[*name] = {std::move(*value)};
    }
  }
  return out;
}

/// Reads the `header` and `body` members HttpRequest and HttpResponse share (absent = empty).
Status read_header_and_body(const msgpack::object& map, HttpHeaderMap& header, Bytes& body) {
  auto headers = read_headers(map);
  if (!headers) return fail(headers.error());
  header = std::move(*headers);
  if (const auto* b = serde::find(map, "body")) {
    auto bytes = serde::as_bytes(*b, "body");
    if (!bytes) return fail(bytes.error());
    body = std::move(*bytes);
  }
  return ok();
}

/// Parses a payload that must be a map: "Deserialization error: <what>: expected a map".
Result<msgpack::object_handle> parse_map(std::span<const std::uint8_t> bytes,
                                         std::string_view what) {
  auto h = serde::parse(bytes);
  if (!h) return fail(h.error());
  if (h->get().type != msgpack::type::MAP) {
    return fail(serde::decode_error(std::string(what) + ": expected a map"));
  }
  return h;
}

}  // namespace

Bytes encode_http_request(const HttpRequest& req) {
  serde::Writer w;
  w.map(5);
  w.str("method").str(req.method);
  w.str("path").str(req.path);
  w.str("queryString").str(req.query_string);
  w.str("header");
  write_headers(w, req.header);
  w.str("body").bin(req.body);
  return w.bytes();
}

Bytes encode_http_response(const HttpResponse& resp) {
  serde::Writer w;
  w.map(3);
  w.str("statusCode").uint64(resp.status_code);
  w.str("header");
  write_headers(w, resp.header);
  w.str("body").bin(resp.body);
  return w.bytes();
}

Result<HttpResponse> decode_http_response(std::span<const std::uint8_t> bytes) {
  auto h = parse_map(bytes, "HttpResponse");
  if (!h) return fail(h.error());
  const auto& o = h->get();
  HttpResponse r;
  if (const auto* s = serde::find(o, "statusCode")) {
    auto code = serde::as_uint(*s, "statusCode");
    if (!code) return fail(code.error());
    if (*code < 100 || *code > 999) return fail(serde::decode_error("`statusCode` out of range"));
    r.status_code = static_cast<std::uint16_t>(*code);
  }
  if (auto st = read_header_and_body(o, r.header, r.body); !st) return fail(st.error());
  return r;
}

Result<HttpRequest> decode_http_request(std::span<const std::uint8_t> bytes) {
  auto h = parse_map(bytes, "HttpRequest");
  if (!h) return fail(h.error());
  const auto& o = h->get();
  HttpRequest r;
  for (auto [key, dst] : {std::pair{"method", &r.method}, std::pair{"path", &r.path},
                          std::pair{"queryString", &r.query_string}}) {
    auto s = serde::string_or(o, key);
    if (!s) return fail(s.error());
    *dst = std::move(*s);
  }
  if (auto st = read_header_and_body(o, r.header, r.body); !st) return fail(st.error());
  return r;
}

}  // namespace wc::rpc

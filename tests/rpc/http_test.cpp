// HttpRequest / HttpResponse codec of the wasmcloud:httpserver contract (rpc/http.h): vectors
// A.1 and B.1, defaults and refusals.
#include "rpc/http.h"

#include <gtest/gtest.h>

#include <string>

#include "common/encoding.h"
#include "rpc/msgpack.h"
#include "rpc/vectors.h"

namespace wc::rpc {
namespace {

namespace serde = mp::serde;

Bytes unhex(std::string_view h) {
  Bytes out;
  for (std::size_t i = 0; i + 1 < h.size(); i += 2) {
    out.push_back(static_cast<std::uint8_t>(std::stoi(std::string(h.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

TEST(HttpMessagesTest, RequestMatchesVectorA1) {
  HttpRequest r{"GET", "/foo/bar", "x=1", {{"accept", {"*/*"}}}, Bytes{'h', 'e', 'l', 'l', 'o'}};
  EXPECT_EQ(hex_lower(encode_http_request(r)), rpc::vectors::kA1Payload);
  auto back = decode_http_request(unhex(rpc::vectors::kA1Payload));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->query_string, "x=1");
}

TEST(HttpMessagesTest, DecodesVectorB1Response) {
  auto r = decode_http_response(unhex(rpc::vectors::kB1HttpResponse));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status_code, 200);
  EXPECT_EQ(
      to_string(r->body),
      R"({"body":[104,101,108,108,111],"method":"GET","path":"/foo/bar","query_string":"x=1"})");
}

TEST(HttpMessagesTest, ResponseDefaultsAndErrors) {
  auto r = decode_http_response(Bytes{0x80});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status_code, 200);
  EXPECT_FALSE(decode_http_response(Bytes{0x01}));
  EXPECT_FALSE(decode_http_response(Bytes{0x81, 0xaa}));
  serde::Writer w;
  w.map(1).str("statusCode").str("oops");
  EXPECT_FALSE(decode_http_response(w.bytes()));
}

}  // namespace
}  // namespace wc::rpc

// JWT encoding, decoding and validation (spec 2.1, 2.7, 2.8).
#include "wascap/jwt.h"

#include <gtest/gtest.h>

#include "helpers.h"
#include "wascap/errors.h"

namespace wc::wascap {
namespace {

using namespace testing;  // NOLINT

constexpr std::int64_t kNow = 1700000000;

TEST(Jwt, HeaderSegmentIsExact) {
  const std::string token = encode_jwt("{}", account());
  EXPECT_EQ(token.substr(0, token.find('.')), "eyJ0eXAiOiJqd3QiLCJhbGciOiJFZDI1NTE5In0");
  EXPECT_EQ(token.find('='), std::string::npos);
}

TEST(Jwt, SignClaimsJsonKeepsOrderAndVerifies) {
  nlohmann::ordered_json j;
  j["jti"] = "x";
  j["iat"] = 1;
  j["iss"] = std::string(kK2Account);
  j["sub"] = "abc";
  const std::string token = sign_claims_json(j, account());
  auto d = decode_jwt(token);
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(d->payload,
            R"({"jti":"x","iat":1,"iss":")" + std::string(kK2Account) + R"(","sub":"abc"})");
  auto v = validate_jwt(token, kNow);
  ASSERT_TRUE(v) << v.error().message;
  EXPECT_TRUE(v->signature_valid);
  EXPECT_FALSE(v->expired);
  EXPECT_EQ(v->expires_human, "never");
  EXPECT_EQ(v->not_before_human, "immediately");
}

TEST(Jwt, TwoSegmentsIsInvalidFormat) {
  auto d = decode_jwt("abc.def");
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().message, errors::kInvalidTokenFormat);
  EXPECT_FALSE(validate_jwt("abc.def", kNow));
}

TEST(Jwt, FourSegmentsIsInvalidFormat) {
  auto d = decode_jwt("a.b.c.d");
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().message, errors::kInvalidTokenFormat);
}

TEST(Jwt, MalformedBase64Payload) {
  auto d = decode_jwt("eyJ0eXAiOiJqd3QiLCJhbGciOiJFZDI1NTE5In0.e$J9.AAAA");
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().message.rfind(errors::kDecodeError, 0), 0u) << d.error().message;
}

TEST(Jwt, PayloadNotUtf8) {
  const std::string bad = "{\"a\":\"\xff\"}";
  auto d = decode_jwt("x." + base64url_encode(as_bytes(bad)) + ".x");
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().message.rfind(errors::kUtf8Error, 0), 0u) << d.error().message;
}

TEST(Jwt, MalformedJsonPayload) {
  auto d = decode_jwt("x." + base64url_encode(as_bytes("{\"jti\":")) + ".x");
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().message.rfind(errors::kSerializationError, 0), 0u) << d.error().message;
}

TEST(Jwt, DeeplyNestedJsonIsRefused) {
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  auto d = decode_jwt("x." + base64url_encode(as_bytes(deep)) + ".x");
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().message.rfind(errors::kSerializationError, 0), 0u);
}

TEST(Jwt, PayloadNotAnObject) {
  auto d = decode_jwt("x." + base64url_encode(as_bytes("[1]")) + ".x");
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().message.rfind(errors::kSerializationError, 0), 0u);
}

TEST(Jwt, SignatureSegmentNotBase64) {
  std::string token = raw_token(kJwtHeader, tiny_payload(), account());
  token += "$";
  auto v = validate_jwt(token, kNow);
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().message.rfind(errors::kDecodeError, 0), 0u);
}

TEST(Jwt, WrongAlgorithm) {
  auto v =
      validate_jwt(raw_token(R"({"typ":"jwt","alg":"HS256"})", tiny_payload(), account()), kNow);
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().message, errors::kInvalidAlgorithm);
}

TEST(Jwt, WrongType) {
  auto v =
      validate_jwt(raw_token(R"({"typ":"JWT","alg":"Ed25519"})", tiny_payload(), account()), kNow);
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().message, errors::kInvalidHeader);
}

TEST(Jwt, EmptyIssuer) {
  auto v = validate_jwt(raw_token(kJwtHeader, tiny_payload("", ""), account()), kNow);
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().message, errors::kMissingIssuer);
}

TEST(Jwt, EmptySubject) {
  auto v = validate_jwt(
      raw_token(kJwtHeader,
                R"({"jti":"a","iat":1,"iss":")" + std::string(kK2Account) + R"(","sub":""})",
                account()),
      kNow);
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().message, errors::kMissingSubject);
}

TEST(Jwt, IssuerIsASeed) {
  auto v = validate_jwt(raw_token(kJwtHeader, tiny_payload("", kK2AccountSeed), account()), kNow);
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().message,
            "Encryption error: Invalid byte prefix: Not a valid public key prefix: 144");
}

TEST(Jwt, ForgedSignatureIsReportedNotFailed) {
  // Signed by another account while claiming K2 as issuer.
  const KeyPair other = KeyPair::generate(KeyType::kAccount);
  auto v = validate_jwt(raw_token(kJwtHeader, tiny_payload(), other), kNow);
  ASSERT_TRUE(v) << v.error().message;
  EXPECT_FALSE(v->signature_valid);
}

TEST(Jwt, ExpiryAndNotBefore) {
  auto v = validate_jwt(raw_token(kJwtHeader,
                                  tiny_payload("\"exp\":" + std::to_string(kNow - 30000) +
                                               ",\"nbf\":" + std::to_string(kNow + 86400) + ","),
                                  account()),
                        kNow);
  ASSERT_TRUE(v) << v.error().message;
  EXPECT_TRUE(v->signature_valid);
  EXPECT_TRUE(v->expired);
  EXPECT_TRUE(v->cannot_use_yet);
  EXPECT_EQ(v->expires_human, "8h ago");
  EXPECT_EQ(v->not_before_human, "in 1day");
}

TEST(Jwt, NegativeExpiryIsASerializationError) {
  auto v = validate_jwt(raw_token(kJwtHeader, tiny_payload("\"exp\":-5,"), account()), kNow);
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().message.rfind(errors::kSerializationError, 0), 0u);
}

TEST(Jwt, HumanRelativeTime) {
  EXPECT_EQ(human_relative_time(kNow - 30000, kNow), "8h ago");
  EXPECT_EQ(human_relative_time(kNow + 86400, kNow), "in 1day");
  EXPECT_EQ(human_relative_time(kNow + 31 * 86400, kNow), "in 1month 13h 26m 24s");
  EXPECT_EQ(human_relative_time(kNow, kNow), "in 0s");
  EXPECT_EQ(human_relative_time(kNow - 59, kNow), "59s ago");
  EXPECT_EQ(human_relative_time(kNow + 125, kNow), "in 2m");
  EXPECT_EQ(human_relative_time(kNow + 2 * 86400 + 5, kNow), "in 2days");
}

TEST(Jwt, NewJtiIs22Base62) {
  const std::string a = new_jti();
  EXPECT_EQ(a.size(), 22u);
  for (char c : a) EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c))) << a;
  EXPECT_NE(a, new_jti());
}

}  // namespace
}  // namespace wc::wascap

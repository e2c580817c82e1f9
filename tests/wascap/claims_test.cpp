// Actor and provider claims: signing vectors (spec 6.4), validation order and texts (spec 2.7),
// derived values (2.8), call aliases (2.3), friendly names (3.4).
#include "wascap/claims.h"

#include <gtest/gtest.h>

#include <cctype>

#include "helpers.h"
#include "wascap/errors.h"

namespace wc::wascap {
namespace {

using namespace testing;  // NOLINT

constexpr std::int64_t kNow = 1700000000;

constexpr std::string_view kTinyPayload =
    R"({"jti":"0123456789abcdefghijkl","iat":1700000000,"iss":"ADLVVGABQKYQVN6VJP7NHSLEA45A5YLS6PNKMIZFV4BBU2HXA5IRVRTU","sub":"MAB2CB576PHBBPQ5ODORRZ2LYCMWPZGWGCN2KDK7DXOIMZASKUY3RLXP","wascap":{"name":"tiny","hash":"968E98ACD3E2898569441C1769845BC3AD79616458FFCD1CCE35FADB48FF7381","tags":[],"caps":["wasmcloud:httpserver"],"rev":1,"ver":"0.1.0","prov":false},"wascap_revision":3})";

constexpr std::string_view kTinyJwt =
    "eyJ0eXAiOiJqd3QiLCJhbGciOiJFZDI1NTE5In0."
    "eyJqdGkiOiIwMTIzNDU2Nzg5YWJjZGVmZ2hpamtsIiwiaWF0IjoxNzAwMDAwMDAwLCJpc3MiOiJBRExWVkdBQlFLWVFWTj"
    "ZWSlA3TkhTTEVBNDVBNVlMUzZQTktNSVpGVjRCQlUySFhBNUlSVlJUVSIsInN1YiI6Ik1BQjJDQjU3NlBIQkJQUTVPRE9S"
    "UloyTFlDTVdQWkdXR0NOMktESzdEWE9JTVpBU0tVWTNSTFhQIiwid2FzY2FwIjp7Im5hbWUiOiJ0aW55IiwiaGFzaCI6Ij"
    "k2OEU5OEFDRDNFMjg5ODU2OTQ0MUMxNzY5ODQ1QkMzQUQ3OTYxNjQ1OEZGQ0QxQ0NFMzVGQURCNDhGRjczODEiLCJ0YWdz"
    "IjpbXSwiY2FwcyI6WyJ3YXNtY2xvdWQ6aHR0cHNlcnZlciJdLCJyZXYiOjEsInZlciI6IjAuMS4wIiwicHJvdiI6ZmFsc2"
    "V9LCJ3YXNjYXBfcmV2aXNpb24iOjN9."
    "uGX8yHBlUO3nG4l4hAPCBzEIyC_KV2kpYwz0A_HjxsTIOvztlXAjn1NK-amrvx1vYi8xVlxHIHQxTeS--O7RCA";

SignOptions tiny_options() {
  SignOptions o;
  o.name = "tiny";
  o.caps = {"wasmcloud:httpserver"};
  o.rev = 1;
  o.ver = "0.1.0";
  o.jti = "0123456789abcdefghijkl";
  o.now = kNow;
  return o;
}

Bytes signed_tiny() {
  return sign_module(tiny_module(), account(), module_key(), tiny_options())->module;
}

TEST(Claims, SignsTinyModuleByteForByte) {
  auto s = sign_module(tiny_module(), account(), module_key(), tiny_options());
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_EQ(serialize_actor_claims(s->claims), kTinyPayload);
  EXPECT_EQ(s->token, kTinyJwt);
  EXPECT_EQ(s->token.size(), 627u);
  EXPECT_EQ(s->module.size(), 658u);
  EXPECT_EQ(hex_lower(sha256(s->module)),
            "bfa8df41c90729a9e18b6f0079a77add6614fc53a174fd29b200157258cf2de7");
  const Bytes head = from_hex(
      "0061736d0100000001040160000000"
      "81050d");
  EXPECT_TRUE(std::equal(head.begin(), head.end(), s->module.begin()));

  auto e = extract_claims(s->module, kNow);
  ASSERT_TRUE(e) << e.error().message;
  EXPECT_EQ(effective_revision(e->claims), 1);
  EXPECT_EQ(e->claims.sub, kK1Module);
  EXPECT_EQ(e->claims.iss, kK2Account);
  EXPECT_EQ(e->claims.hash, kTinyHash);
  EXPECT_EQ(e->computed_hash, kTinyHash);
  EXPECT_EQ(e->claims.wascap_revision, 3u);
  EXPECT_EQ(e->token, kTinyJwt);
}

TEST(Claims, SigningPaddedModuleUsesMinimalHash) {
  auto s = sign_module(from_hex("0061736d0100000001848080800001600000"), account(), module_key(),
                       tiny_options());
  ASSERT_TRUE(s);
  EXPECT_EQ(s->claims.hash, kTinyHash);
  EXPECT_EQ(s->token, kTinyJwt);
  EXPECT_TRUE(extract_claims(s->module, kNow));
}

TEST(Claims, ResigningReplacesTheOldToken) {
  const Bytes once = signed_tiny();
  SignOptions o = tiny_options();
  o.rev = 2;
  auto twice = sign_module(once, account(), module_key(), o);
  ASSERT_TRUE(twice);
  EXPECT_EQ(twice->module.size(), once.size());
  auto e = extract_claims(twice->module, kNow);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->claims.rev, 2);
}

TEST(Claims, TamperedCodeWithRevision3IsRefused) {
  Bytes m = signed_tiny();
  const Bytes x = {0x00, 0x02, 0x01, 0x78};
  m.insert(m.begin() + 14, x.begin(), x.end());
  ASSERT_EQ(m.size(), 662u);
  EXPECT_EQ(hex_lower(sha256(m)),
            "2dae2de9bafc9f4357c55149695723fb29689b54e5971e7f19901d49a321e540");
  auto e = extract_claims(m, kNow);
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().message, "Failed to extract claims from module: Invalid module hash");
  EXPECT_EQ(e.error().code, Code::kPermissionDenied);
}

TEST(Claims, TamperedCodeWithoutRevisionPassesTheGate) {
  Bytes m = tiny_with_token(raw_token(kJwtHeader, tiny_payload("", kK2Account, ""), account()));
  const Bytes x = {0x00, 0x02, 0x01, 0x78};
  m.insert(m.begin() + 14, x.begin(), x.end());
  auto e = extract_claims(m, kNow);
  ASSERT_TRUE(e) << e.error().message;
  EXPECT_NE(e->computed_hash, e->claims.hash);
}

TEST(Claims, EmptyFile) {
  auto e = extract_claims(Bytes{}, kNow);
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().message.rfind("Failed to extract claims from module: I/O error: ", 0), 0u)
      << e.error().message;
}

TEST(Claims, NotWasm) {
  const std::string text = "this is not a webassembly module";
  auto e = extract_claims(as_bytes(text), kNow);
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().message,
            "Failed to extract claims from module: I/O error: magic header not detected");
}

TEST(Claims, EveryTruncationOfASignedModuleFails) {
  const Bytes m = signed_tiny();
  for (std::size_t n = 0; n < m.size(); ++n) {
    auto e = extract_claims(std::span(m).first(n), kNow);
    ASSERT_FALSE(e) << n;
    if (n == 8 || n == 14) {
      EXPECT_EQ(e.error().message, errors::kNoClaims) << n;
    } else {
      EXPECT_EQ(e.error().message.rfind("Failed to extract claims from module: I/O error: ", 0), 0u)
          << n << ": " << e.error().message;
    }
  }
}

TEST(Claims, ModuleWithoutJwtSection) {
  auto e = extract_claims(tiny_module(), kNow);
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().message, "No claims found in source module");
  EXPECT_EQ(e.error().code, Code::kNotFound);
}

TEST(Claims, BadSignature) {
  const KeyPair other = KeyPair::generate(KeyType::kAccount);
  auto e = extract_claims(tiny_with_token(raw_token(kJwtHeader, tiny_payload(), other)), kNow);
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().message, "Invalid signature on module token");
}

TEST(Claims, TruncatedSignatureIsABadSignature) {
  std::string token = std::string(kTinyJwt);
  token.resize(token.size() - 2);  // 84 characters = 63 bytes
  auto e = extract_claims(tiny_with_token(token), kNow);
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().message, "Invalid signature on module token");
}

TEST(Claims, UserKeyIssuerIsRefusedByTheHostAndTheSigner) {
  // Spec 2.6 lets the reference host accept any issuer type; ours requires an Account key
  // (issue #11.1: keys reaching subjects and paths are checked) ...
  const KeyPair user = KeyPair::generate(KeyType::kUser);
  auto e = extract_claims(
      tiny_with_token(raw_token(kJwtHeader, tiny_payload("", user.public_key()), user)), kNow);
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().code, Code::kPermissionDenied);
  EXPECT_EQ(e.error().message,
            std::string(errors::kValidatePrefix) + std::string(errors::kActorIssuerNotAccount));
  // ... `claims inspect` still reads it ...
  auto r = read_module_claims(
      tiny_with_token(raw_token(kJwtHeader, tiny_payload("", user.public_key()), user)), kNow);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->claims.iss[0], 'U');
  // ... and our signer (like wash) only signs with an account.
  auto s = sign_module(tiny_module(), user, module_key(), tiny_options());
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().message, errors::kIssuerNotAccount);
  auto s2 = sign_module(tiny_module(), account(), account(), tiny_options());
  ASSERT_FALSE(s2);
  EXPECT_EQ(s2.error().message, errors::kSubjectNotModule);
}

// Issue #11.1: the actor key becomes a NATS subject token and a metadata key; a subject that
// is not a canonical Module key is refused even when validly signed.
TEST(Claims, SubjectMustBeAModuleKey) {
  std::string lower(kK1Module);
  for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  const std::string service = KeyPair::generate(KeyType::kService).public_key();
  for (const std::string& sub : {std::string("M/../../x"), std::string("M*.>"), service, lower,
                                 std::string(kK1Module) + "x", std::string("Mxyz")}) {
    std::string payload = tiny_payload();
    payload.replace(payload.find(kK1Module), kK1Module.size(), sub);
    auto e = extract_claims(tiny_with_token(raw_token(kJwtHeader, payload, account())), kNow);
    ASSERT_FALSE(e) << sub;
    EXPECT_EQ(e.error().code, Code::kPermissionDenied) << sub;
    EXPECT_EQ(e.error().message,
              std::string(errors::kValidatePrefix) + std::string(errors::kActorSubjectNotModule))
        << sub;
  }
  EXPECT_TRUE(
      extract_claims(tiny_with_token(raw_token(kJwtHeader, tiny_payload(), account())), kNow));
}

TEST(Claims, UserKeyIssuerWithAccountSignatureIsABadSignature) {
  // A user key in `iss` but signed by the account: the signature does not verify (claims
  // inspect shows it); the host refuses the issuer type first.
  const KeyPair user = KeyPair::generate(KeyType::kUser);
  const Bytes m =
      tiny_with_token(raw_token(kJwtHeader, tiny_payload("", user.public_key()), account()));
  auto r = read_module_claims(m, kNow);
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->validation.signature_valid);
  auto e = extract_claims(m, kNow);
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().message,
            std::string(errors::kValidatePrefix) + std::string(errors::kActorIssuerNotAccount));
}

TEST(Claims, Expired) {
  auto e = extract_claims(
      tiny_with_token(raw_token(kJwtHeader, tiny_payload("\"exp\":1690000000,"), account())), kNow);
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().message, "Claims token expired");
}

TEST(Claims, ExpiredWithBadSignatureReportsExpiry) {
  const KeyPair other = KeyPair::generate(KeyType::kAccount);
  auto e = extract_claims(
      tiny_with_token(raw_token(kJwtHeader, tiny_payload("\"exp\":1690000000,"), other)), kNow);
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().message, "Claims token expired");
}

TEST(Claims, NotYetValid) {
  auto e = extract_claims(
      tiny_with_token(raw_token(kJwtHeader, tiny_payload("\"nbf\":1800000000,"), account())), kNow);
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().message, "Claims token cannot be used yet");
  // read_module_claims reports it without failing (what `claims inspect` shows).
  auto r = read_module_claims(
      tiny_with_token(raw_token(kJwtHeader, tiny_payload("\"nbf\":1800000000,"), account())), kNow);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->validation.cannot_use_yet);
  EXPECT_EQ(not_before_human(r->claims, kNow), r->validation.not_before_human);
}

TEST(Claims, SignedWithExpiryAndNotBeforeDays) {
  SignOptions o = tiny_options();
  o.expires_in_days = 2;
  o.not_before_days = 1;
  auto s = sign_module(tiny_module(), account(), module_key(), o);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->claims.exp, static_cast<std::uint64_t>(kNow + 2 * 86400));
  EXPECT_EQ(s->claims.nbf, static_cast<std::uint64_t>(kNow + 86400));
  EXPECT_EQ(serialize_actor_claims(s->claims).rfind("{\"exp\":1700172800,\"jti\"", 0), 0u);
  auto e = extract_claims(s->module, kNow);
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().message, "Claims token cannot be used yet");
  EXPECT_TRUE(extract_claims(s->module, kNow + 86400 + 10));
  EXPECT_EQ(extract_claims(s->module, kNow + 3 * 86400).error().message, "Claims token expired");
}

TEST(Claims, MalformedBase64InToken) {
  const std::string token = "eyJ0eXAiOiJqd3QiLCJhbGciOiJFZDI1NTE5In0.not*base64.AAAA";
  auto e = extract_claims(tiny_with_token(token), kNow);
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().message.rfind("Failed to extract claims from module: Decode error: ", 0), 0u)
      << e.error().message;
}

TEST(Claims, MalformedJsonInToken) {
  auto e =
      extract_claims(tiny_with_token(raw_token(kJwtHeader, "{\"jti\":\"a\",", account())), kNow);
  ASSERT_FALSE(e);
  EXPECT_EQ(
      e.error().message.rfind("Failed to extract claims from module: Serialization error: ", 0), 0u)
      << e.error().message;
}

TEST(Claims, TokenNotThreeSegments) {
  auto e = extract_claims(tiny_with_token("abc.def"), kNow);
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().message,
            "Failed to extract claims from module: JWT error: invalid token format");
}

TEST(Claims, MissingHashField) {
  const std::string payload = R"({"jti":"a","iat":1,"iss":")" + std::string(kK2Account) +
                              R"(","sub":")" + std::string(kK1Module) +
                              R"(","wascap":{"name":"x"}})";
  auto e = extract_claims(tiny_with_token(raw_token(kJwtHeader, payload, account())), kNow);
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().message,
            "Failed to extract claims from module: Serialization error: missing field `hash`");
}

TEST(Claims, WrongTypeIat) {
  const std::string payload = R"({"jti":"a","iat":"1","iss":")" + std::string(kK2Account) +
                              R"(","sub":")" + std::string(kK1Module) +
                              R"(","wascap":{"hash":"x"}})";
  auto e = extract_claims(tiny_with_token(raw_token(kJwtHeader, payload, account())), kNow);
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().message.find("Serialization error: invalid type for field `iat`"),
            std::string::npos);
}

TEST(Claims, NoWascapObject) {
  const std::string payload = R"({"jti":"a","iat":1,"iss":")" + std::string(kK2Account) +
                              R"(","sub":")" + std::string(kK1Module) + R"("})";
  auto e = extract_claims(tiny_with_token(raw_token(kJwtHeader, payload, account())), kNow);
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().message,
            "Failed to extract claims from module: Invalid JWT algorithm. WASCAP only supports "
            "Ed25519");
}

TEST(Claims, WrongHeaderAlgorithm) {
  auto e = extract_claims(
      tiny_with_token(raw_token(R"({"typ":"jwt","alg":"none"})", tiny_payload(), account())), kNow);
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().message,
            "Failed to validate claims token: Invalid JWT algorithm. WASCAP only supports Ed25519");
}

TEST(Claims, IssuerWithBadChecksum) {
  std::string iss(kK2Account);
  iss[10] = iss[10] == 'A' ? 'B' : 'A';
  auto e = extract_claims(tiny_with_token(raw_token(kJwtHeader, tiny_payload("", iss), account())),
                          kNow);
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().message, "Failed to validate claims token: Encryption error: " +
                                   std::string(errors::kChecksumMismatch));
}

TEST(Claims, EffectiveRevisionFallsBackToIat) {
  ActorClaims c;
  c.iat = 1631625045;
  EXPECT_EQ(effective_revision(c), 1631625045);
  c.rev = 0;
  EXPECT_EQ(effective_revision(c), 1631625045);
  c.rev = 4;
  EXPECT_EQ(effective_revision(c), 4);
  EXPECT_EQ(expires_human(c, kNow), "never");
  EXPECT_EQ(not_before_human(c, kNow), "immediately");
}

TEST(Claims, CallAliases) {
  EXPECT_TRUE(validate_call_alias("wasmcloud/ponger"));
  EXPECT_TRUE(validate_call_alias("a_b1"));
  EXPECT_EQ(validate_call_alias("").error().message, errors::kCallAliasEmpty);
  EXPECT_EQ(validate_call_alias(kK1Module).error().message, errors::kCallAliasIsKey);
  EXPECT_EQ(validate_call_alias("Bad-Alias").error().message, errors::kCallAliasInvalid);
  EXPECT_EQ(normalize_call_alias("  My Actor-v1.2\xc3\xa9 "), "my_actor_v1_2");
}

TEST(Claims, FriendlyNamesAndLabels) {
  EXPECT_EQ(capability_friendly_name("wasmcloud:keyvalue"), "K/V Store");
  EXPECT_EQ(capability_friendly_name("wasmcloud:builtin:numbergen"), "Number Generation");
  EXPECT_EQ(capability_friendly_name(""), "");
  EXPECT_EQ(capability_friendly_name("acme:thing"), "acme:thing");
  EXPECT_EQ(key_label("ACOJ"), "Account");
  EXPECT_EQ(key_label("MBCF"), "Module");
  EXPECT_EQ(key_label("VAQV"), "<Unknown>");
}

// --- Provider claims (spec 2.10, 6.4.4) ------------------------------------------------------

constexpr std::string_view kProviderPayload =
    R"({"jti":"providervector00000000","iat":1700000000,"iss":"ADLVVGABQKYQVN6VJP7NHSLEA45A5YLS6PNKMIZFV4BBU2HXA5IRVRTU","sub":"VAQVF6GRTN4R2JCFGJBOCXZOVNWLPT72PNVF5UYAS6LA4BUYQHNRFYJK","wascap":{"name":"Test Provider","capid":"wasmcloud:testing","vendor":"wasmCloud","rev":1,"ver":"0.1.0","target_hashes":{"x86_64-linux":"8A46262E9EFCB3C966CEE5663FD15474C546F9A3BF6410BAB4C53728AC1F593A"}},"wascap_revision":3})";

ProviderClaims provider_vector() {
  const std::array<std::uint8_t, 32> seed = [] {
    std::array<std::uint8_t, 32> s{};
    s.fill(0x42);
    return s;
  }();
  auto service = KeyPair::from_raw_seed(KeyType::kService, seed);
  ProviderClaims c;
  c.jti = "providervector00000000";
  c.iat = 1700000000;
  c.iss = std::string(kK2Account);
  c.sub = service->public_key();
  c.name = "Test Provider";
  c.capid = "wasmcloud:testing";
  c.vendor = "wasmCloud";
  c.rev = 1;
  c.ver = "0.1.0";
  c.target_hashes["x86_64-linux"] = hex_upper(sha256(as_bytes("#!/bin/sh\necho provider\n")));
  c.wascap_revision = 3;
  return c;
}

TEST(ProviderClaims, VectorByteForByte) {
  auto service = KeyPair::from_seed("SVAEEQSCIJBEEQSCIJBEEQSCIJBEEQSCIJBEEQSCIJBEEQSCIJBEEQV75U");
  ASSERT_TRUE(service);
  EXPECT_EQ(service->public_key(), "VAQVF6GRTN4R2JCFGJBOCXZOVNWLPT72PNVF5UYAS6LA4BUYQHNRFYJK");
  const ProviderClaims c = provider_vector();
  EXPECT_EQ(serialize_provider_claims(c), kProviderPayload);
  const std::string token = sign_provider_claims(c, account());
  EXPECT_EQ(
      token.substr(token.rfind('.') + 1),
      "1OBXL2QfZk6OXn-Q1Ktv29OeHLdhzgFKLHtTyI7jMhOGlMwecV_ayATa3stnsXZH1vO2GG0UdLsuOhErF59UCQ");
  auto v = verify_provider_token(token, kNow);
  ASSERT_TRUE(v) << v.error().message;
  EXPECT_EQ(v->capid, "wasmcloud:testing");
  EXPECT_EQ(v->target_hashes.at("x86_64-linux"),
            "8A46262E9EFCB3C966CEE5663FD15474C546F9A3BF6410BAB4C53728AC1F593A");
  EXPECT_EQ(v->rev, 1);
}

TEST(ProviderClaims, BadSignature) {
  const std::string token =
      sign_provider_claims(provider_vector(), KeyPair::generate(KeyType::kAccount));
  EXPECT_TRUE(decode_provider_token(token));
  auto v = verify_provider_token(token, kNow);
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().message, errors::kInvalidProviderSignature);
}

TEST(ProviderClaims, ExpiredAndNotYetValid) {
  ProviderClaims c = provider_vector();
  c.exp = kNow - 1;
  EXPECT_EQ(verify_provider_token(sign_provider_claims(c, account()), kNow).error().message,
            errors::kProviderTokenExpired);
  c.exp.reset();
  c.nbf = kNow + 100;
  EXPECT_EQ(verify_provider_token(sign_provider_claims(c, account()), kNow).error().message,
            errors::kProviderTokenNotYetValid);
}

TEST(ProviderClaims, NameNullAndSchema) {
  ProviderClaims c = provider_vector();
  c.name.reset();
  c.config_schema = nlohmann::json::parse(R"({"type":"object"})");
  const std::string json = serialize_provider_claims(c);
  EXPECT_NE(json.find(R"("wascap":{"name":null,"capid")"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("config_schema":{"type":"object"}})"), std::string::npos) << json;
  auto d = decode_provider_token(sign_provider_claims(c, account()));
  ASSERT_TRUE(d);
  EXPECT_FALSE(d->name);
  ASSERT_TRUE(d->config_schema);
  EXPECT_EQ((*d->config_schema)["type"], "object");
}

TEST(ProviderClaims, MissingTargetHashes) {
  const std::string payload =
      R"({"jti":"a","iat":1,"iss":"A","sub":"V","wascap":{"capid":"c","vendor":"v"}})";
  auto d = decode_provider_token(raw_token(kJwtHeader, payload, account()));
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().message, "Serialization error: missing field `target_hashes`");
}

}  // namespace
}  // namespace wc::wascap

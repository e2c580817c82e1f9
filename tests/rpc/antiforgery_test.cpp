// Anti-forgery token: section 10 tokens reproduced byte for byte from the fixed seed, and every
// validation failure of 3.5 with its exact text, in order.
#include "rpc/antiforgery.h"

#include <gtest/gtest.h>

#include <array>
#include <set>
#include <vector>

#include "rpc/errors.h"
#include "vectors.h"
#include "wascap/errors.h"
#include "wascap/jwt.h"

namespace wc::rpc {
namespace {

Bytes unhex(std::string_view h) {
  Bytes out;
  for (std::size_t i = 0; i + 1 < h.size(); i += 2) {
    out.push_back(static_cast<std::uint8_t>(std::stoi(std::string(h.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

const char* kEcho = "MBCFOPM6JW2APJLXJD3Z5O4CN7CPYJ2B4FTKLJUR5YR5MITIU7HD3WD5";
const char* kHttp = "VAG3QITQQ2ODAOWB5TTQSDJ53XK3SHBEIFNK4AYJ5RKAX2UNSCAPHA5M";
const char* kKvCounter = "MCFMFDWFHGKELOXPCNCDXKK5OFLHBVEWRAOXR5JSQUD2TOFRE3DFPM7E";
const char* kRedis = "VAZVC4RX54J2NVCMCW7BPCAHGGG5XZXDBXFUMDUXGESTMQEJLC3YVZWB";
const char* kHost = "NDT7CYVBBPWFLGX6UGK6JXHIJNUVNDK5FSYJMPVUI3AGQXRLC7ZPBTGN";
const char* kClusterPk = "CB43KVROR7TFJ6KAPCYRF2FJROTZAH4FHLTJLPWX4DRZCC5NASLGJXUH";
const char* kClusterSeed = "SCAACAQDAQCQMBYIBEFAWDANBYHRAEISCMKBKFQXDAMRUGY4DUPB6IFMDY";
constexpr std::int64_t kIat = 1700000000;
const char* kJti = "Hk7Zq2VbN1c9Xy4TuW8eRm";

wascap::KeyPair cluster_key() {
  std::array<std::uint8_t, 32> seed{};
  for (std::size_t i = 0; i < 32; ++i) seed[i] = static_cast<std::uint8_t>(i + 1);
  auto kp = wascap::KeyPair::from_raw_seed(wascap::KeyType::kCluster, seed);
  EXPECT_TRUE(kp.has_value());
  return *kp;
}

SignOptions opts(std::string id) {
  SignOptions o;
  o.id = std::move(id);
  o.jti = kJti;
  o.iat = kIat;
  return o;
}

Invocation make_a() {
  auto inv =
      make_invocation(cluster_key(), provider_entity(kHttp, "wasmcloud:httpserver", "default"),
                      actor_entity(kEcho), "HttpServer.HandleRequest", unhex(vectors::kA1Payload),
                      kHost, opts("7c5e7f1a2b3c4d5e8f90a1b2c3d4e5f6"));
  EXPECT_TRUE(inv.has_value());
  return *inv;
}

Invocation make_c() {
  auto kp = cluster_key();
  auto inv = make_invocation(kp, actor_entity(kKvCounter),
                             provider_entity(kRedis, "wasmcloud:keyvalue", "default"),
                             "KeyValue.Increment", unhex(vectors::kC1Payload), kp.public_key(),
                             opts("b5a3e0f4-1c2d-4e6f-8a9b-0c1d2e3f4a5b"));
  EXPECT_TRUE(inv.has_value());
  return *inv;
}

const std::vector<std::string> kIssuers = {kClusterPk};

/// Validates and returns the failure reason ("" on success).
std::string reason(const Invocation& inv, std::int64_t now = kIat,
                   const std::vector<std::string>& issuers = kIssuers) {
  auto st = validate_invocation(inv, issuers, now);
  if (st) return "";
  EXPECT_EQ(st.error().code, Code::kPermissionDenied);
  return st.error().message;
}

/// Signs arbitrary claims JSON with the vector cluster key (for tokens our producer never makes).
std::string token_with_claims(const std::string& claims_json,
                              const wascap::KeyPair& kp = cluster_key()) {
  return wascap::encode_jwt(claims_json, kp);
}

std::string vector_a_claims_with(const std::string& extra_before_wascap) {
  std::string c(vectors::kAClaimsJson);
  auto pos = c.find("\"wascap\":");
  return c.substr(0, pos) + extra_before_wascap + c.substr(pos);
}

// --- Keys and vectors -------------------------------------------------------------------------

TEST(AntiForgeryVectors, ClusterSeedAndPublicKey) {
  auto kp = cluster_key();
  EXPECT_EQ(kp.public_key(), kClusterPk);
  EXPECT_EQ(kp.seed(), kClusterSeed);
}

TEST(AntiForgeryVectors, HostKeyFromSeedBytes) {
  std::array<std::uint8_t, 32> seed{};
  for (std::size_t i = 0; i < 32; ++i) seed[i] = static_cast<std::uint8_t>(0x21 + i);
  auto kp = wascap::KeyPair::from_raw_seed(wascap::KeyType::kServer, seed);
  ASSERT_TRUE(kp.has_value());
  EXPECT_EQ(kp->public_key(), kHost);
}

TEST(AntiForgeryVectors, VectorAClaimsJson) {
  EXPECT_EQ(
      invocation_claims_json(kJti, kIat, kClusterPk, "7c5e7f1a2b3c4d5e8f90a1b2c3d4e5f6",
                             std::string("wasmbus://") + kEcho + "/HttpServer.HandleRequest",
                             std::string("wasmbus://wasmcloud/httpserver/default/") + kHttp,
                             "1785EB6ED2DFE432F26982FD45D397353D65283A3E4C92F83BC761077DFC6352"),
      vectors::kAClaimsJson);
}

TEST(AntiForgeryVectors, VectorATokenByteForByte) {
  Invocation inv = make_a();
  EXPECT_EQ(inv.encoded_claims.size(), 765u);
  EXPECT_EQ(inv.encoded_claims, vectors::kAToken);
}

TEST(AntiForgeryVectors, VectorCTokenByteForByte) {
  Invocation inv = make_c();
  EXPECT_EQ(inv.encoded_claims.size(), 759u);
  EXPECT_EQ(inv.encoded_claims, vectors::kCToken);
}

TEST(AntiForgeryVectors, VectorAFullInvocationBytes) {
  EXPECT_EQ(hex_lower(encode_invocation(make_a(), EntityOrder::kSdk)), vectors::kA3Invocation);
}

TEST(AntiForgeryVectors, VectorCFullInvocationBytes) {
  EXPECT_EQ(hex_lower(encode_invocation(make_c(), EntityOrder::kHost)), vectors::kC3Invocation);
}

TEST(AntiForgeryVectors, VectorAIsAccepted) {
  auto inv = decode_invocation(unhex(vectors::kA3Invocation));
  ASSERT_TRUE(inv.has_value());
  EXPECT_EQ(reason(*inv), "");
}

TEST(AntiForgeryVectors, VectorCIsAcceptedWithClusterKeyAsHostId) {
  auto inv = decode_invocation(unhex(vectors::kC3Invocation));
  ASSERT_TRUE(inv.has_value());
  EXPECT_EQ(reason(*inv), "");
}

TEST(AntiForgery, AcceptedWhenIssuerIsAmongSeveral) {
  std::vector<std::string> issuers = {"CXOTHER", kClusterPk};
  EXPECT_EQ(reason(make_a(), kIat, issuers), "");
}

TEST(AntiForgery, FreshIdsAndRoundTrip) {
  auto kp = cluster_key();
  Bytes payload(5000, 7);
  auto inv = make_invocation(kp, actor_entity(kKvCounter), actor_entity(kEcho), "Actor.Call",
                             payload, kp.public_key());
  ASSERT_TRUE(inv.has_value());
  EXPECT_EQ(inv->id.size(), 36u);
  EXPECT_EQ(inv->id[14], '4');
  EXPECT_EQ(inv->content_length, 5000u);
  auto decoded = decode_invocation(encode_invocation(*inv));
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(reason(*decoded, wascap::now_seconds()), "");
  auto other = make_invocation(kp, actor_entity(kKvCounter), actor_entity(kEcho), "Actor.Call",
                               payload, kp.public_key());
  EXPECT_NE(other->id, inv->id);
  EXPECT_NE(other->encoded_claims, inv->encoded_claims);
}

TEST(AntiForgery, FreshTokenIdsAre22Base62CharactersAndDiffer) {
  // make_invocation draws the invocation id and the token id from one random buffer (#14.2):
  // the jti keeps wascap's form, 22 characters of [0-9A-Za-z], and is fresh per call.
  auto kp = cluster_key();
  const std::string alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  std::set<std::string> jtis, ids;
  std::set<char> used;
  for (int i = 0; i < 200; ++i) {
    auto inv = make_invocation(kp, actor_entity(kKvCounter), actor_entity(kEcho), "Actor.Call",
                               Bytes{1, 2, 3}, kp.public_key());
    ASSERT_TRUE(inv.has_value());
    TokenFacts facts;
    ASSERT_TRUE(validate_invocation(*inv, std::vector<std::string>{kp.public_key()},
                                    wascap::now_seconds(), &facts));
    ASSERT_EQ(facts.jti.size(), 22u);
    EXPECT_EQ(facts.jti.find_first_not_of(alphabet), std::string::npos) << facts.jti;
    EXPECT_EQ(facts.sub, inv->id);
    EXPECT_EQ(inv->id.size(), 36u);
    EXPECT_EQ(inv->id[14], '4');
    EXPECT_NE(std::string("89ab").find(inv->id[19]), std::string::npos) << inv->id;
    jtis.insert(facts.jti);
    ids.insert(inv->id);
    used.insert(facts.jti.begin(), facts.jti.end());
  }
  EXPECT_EQ(jtis.size(), 200u);
  EXPECT_EQ(ids.size(), 200u);
  // 4,400 characters: every one of the 62 appears (each misses with probability ~1e-31).
  EXPECT_EQ(used.size(), 62u);
}

TEST(AntiForgery, PayloadAboveChunkThresholdIsNotSupportedYet) {
  auto kp = cluster_key();
  auto inv = make_invocation(kp, actor_entity(kKvCounter), actor_entity(kEcho), "Actor.Call",
                             Bytes(kHostChunkThreshold + 1, 0), kp.public_key());
  ASSERT_FALSE(inv.has_value());
  EXPECT_EQ(inv.error().code, Code::kUnsupported);
  EXPECT_EQ(inv.error().message, errors::kChunkingUnsupported);
  auto at = make_invocation(kp, actor_entity(kKvCounter), actor_entity(kEcho), "Actor.Call",
                            Bytes(kHostChunkThreshold, 0), kp.public_key());
  EXPECT_TRUE(at.has_value());
}

TEST(AntiForgery, ChunkingCallerSignsTheFullPayloadThenClearsMsg) {
  auto kp = cluster_key();
  SignOptions o;
  o.chunk_threshold = SIZE_MAX;
  auto inv = make_invocation(kp, actor_entity(kKvCounter), actor_entity(kEcho), "Actor.Call",
                             Bytes(kHostChunkThreshold + 1000, 3), kp.public_key(), o);
  ASSERT_TRUE(inv.has_value());
  inv->msg.clear();  // the payload now travels in the object store
  EXPECT_TRUE(is_chunked(*inv));
  EXPECT_EQ(inv->content_length, kHostChunkThreshold + 1000);
  EXPECT_EQ(reason(*inv, wascap::now_seconds()), "");
}

TEST(AntiForgery, MessageWrapping) {
  EXPECT_EQ(anti_forgery_message(errors::kUnknownIssuer),
            "Anti-forgery check failed: Issuer of this invocation is not among the list of valid "
            "issuers");
}

// --- Step 2: malformed tokens -----------------------------------------------------------------

TEST(AntiForgeryStep2, TokenWithTwoSegments) {
  Invocation inv = make_a();
  inv.encoded_claims = "abc.def";
  EXPECT_EQ(reason(inv), wascap::errors::kInvalidTokenFormat);
}

TEST(AntiForgeryStep2, EmptyToken) {
  Invocation inv = make_a();
  inv.encoded_claims = "";
  EXPECT_EQ(reason(inv), wascap::errors::kInvalidTokenFormat);
}

TEST(AntiForgeryStep2, GarbageBase64) {
  Invocation inv = make_a();
  inv.encoded_claims = "!!!.???.***";
  EXPECT_EQ(reason(inv).rfind(wascap::errors::kDecodeError, 0), 0u) << reason(inv);
}

TEST(AntiForgeryStep2, WrongAlgorithm) {
  Invocation inv = make_a();
  auto dot = inv.encoded_claims.find('.');
  inv.encoded_claims =
      base64url_encode(as_bytes(R"({"typ":"jwt","alg":"HS256"})")) + inv.encoded_claims.substr(dot);
  EXPECT_EQ(reason(inv), wascap::errors::kInvalidAlgorithm);
}

TEST(AntiForgeryStep2, WrongType) {
  Invocation inv = make_a();
  auto dot = inv.encoded_claims.find('.');
  inv.encoded_claims = base64url_encode(as_bytes(R"({"typ":"JWS","alg":"Ed25519"})")) +
                       inv.encoded_claims.substr(dot);
  EXPECT_EQ(reason(inv), wascap::errors::kInvalidHeader);
}

TEST(AntiForgeryStep2, EmptyIssuer) {
  Invocation inv = make_a();
  std::string c(vectors::kAClaimsJson);
  c.replace(c.find(kClusterPk), 56, "");
  inv.encoded_claims = token_with_claims(c);
  EXPECT_EQ(reason(inv), wascap::errors::kMissingIssuer);
}

TEST(AntiForgeryStep2, IssuerIsNotAKey) {
  Invocation inv = make_a();
  std::string c(vectors::kAClaimsJson);
  c.replace(c.find(kClusterPk), 56, "CNOTAKEY");
  inv.encoded_claims = token_with_claims(c);
  EXPECT_EQ(reason(inv).rfind(wascap::errors::kEncryptionError, 0), 0u) << reason(inv);
}

TEST(AntiForgeryStep2, WascapWithoutHash) {
  Invocation inv = make_a();
  std::string c(vectors::kAClaimsJson);
  auto pos = c.find(",\"hash\"");
  c.erase(pos, c.find('}', pos) - pos);
  inv.encoded_claims = token_with_claims(c);
  EXPECT_EQ(reason(inv), "Serialization error: missing field `hash`");
}

// --- Steps 3-11 -------------------------------------------------------------------------------

TEST(AntiForgerySteps, ExpiredToken) {
  Invocation inv = make_a();
  inv.encoded_claims = token_with_claims(vector_a_claims_with("\"exp\":1600000000,"));
  EXPECT_EQ(reason(inv), errors::kTokenExpired);
}

TEST(AntiForgerySteps, ExpiryIsCheckedBeforeTheSignature) {
  Invocation inv = make_a();
  inv.encoded_claims = token_with_claims(vector_a_claims_with("\"exp\":1600000000,"));
  char& c = inv.encoded_claims[inv.encoded_claims.size() - 10];
  c = c == 'A' ? 'B' : 'A';
  EXPECT_EQ(reason(inv), errors::kTokenExpired);
}

TEST(AntiForgerySteps, NotExpiredYet) {
  Invocation inv = make_a();
  inv.encoded_claims = token_with_claims(vector_a_claims_with("\"exp\":1800000000,"));
  EXPECT_EQ(reason(inv), "");
}

TEST(AntiForgerySteps, SignatureByAnotherKey) {
  Invocation inv = make_a();
  // Same claims (iss still the vector key) signed by a different cluster key.
  inv.encoded_claims = token_with_claims(std::string(vectors::kAClaimsJson),
                                         wascap::KeyPair::generate(wascap::KeyType::kCluster));
  EXPECT_EQ(reason(inv), errors::kSignatureInvalid);
}

TEST(AntiForgerySteps, TamperedClaimsSegment) {
  Invocation inv = make_a();
  std::string c(vectors::kAClaimsJson);
  c.replace(c.find("1700000000"), 10, "1700000001");
  auto signed_other = token_with_claims(c);
  // Graft the tampered payload onto the original signature.
  auto p1 = signed_other.find('.');
  auto p2 = signed_other.rfind('.');
  auto q2 = inv.encoded_claims.rfind('.');
  inv.encoded_claims = signed_other.substr(0, p2) + inv.encoded_claims.substr(q2);
  (void)p1;
  EXPECT_EQ(reason(inv), errors::kSignatureInvalid);
}

TEST(AntiForgerySteps, NotBeforeInTheFuture) {
  Invocation inv = make_a();
  inv.encoded_claims = token_with_claims(vector_a_claims_with("\"nbf\":1800000000,"));
  EXPECT_EQ(reason(inv), errors::kNotYetValid);
}

TEST(AntiForgerySteps, NoWascapMetadata) {
  Invocation inv = make_a();
  std::string c(vectors::kAClaimsJson);
  auto pos = c.find(",\"wascap\":");
  c = c.substr(0, pos) + "}";
  inv.encoded_claims = token_with_claims(c);
  EXPECT_EQ(reason(inv), errors::kNoWascap);
}

TEST(AntiForgerySteps, HashMismatchNamesBothHashes) {
  Invocation inv = make_a();
  inv.msg.push_back(0x00);
  std::string computed = invocation_hash(inv.origin.url(), target_url(inv.target, inv.operation),
                                         inv.operation, inv.msg);
  EXPECT_EQ(reason(inv),
            "Invocation hash does not match signed claims hash "
            "(1785EB6ED2DFE432F26982FD45D397353D65283A3E4C92F83BC761077DFC6352 / " +
                computed + ")");
}

TEST(AntiForgerySteps, EmptyMsgSkipsTheHashCheck) {
  Invocation inv = make_a();
  inv.msg.clear();  // chunked: payload travels in the object store
  EXPECT_EQ(reason(inv), "");
}

TEST(AntiForgerySteps, InvalidHostId) {
  Invocation inv = make_a();
  inv.host_id = "bogus";
  EXPECT_EQ(reason(inv), "Invalid host ID on invocation: 'bogus'");
}

TEST(AntiForgerySteps, EmptyHostId) {
  Invocation inv = make_a();
  inv.host_id = "";
  EXPECT_EQ(reason(inv), "Invalid host ID on invocation: ''");
}

TEST(AntiForgerySteps, ShortHostIdStartingWithNPasses) {
  Invocation inv = make_a();
  inv.host_id = "Nshort";
  EXPECT_EQ(reason(inv), "");
}

TEST(AntiForgerySteps, Any56CharacterHostIdPasses) {
  Invocation inv = make_a();
  inv.host_id = std::string(56, 'x');
  EXPECT_EQ(reason(inv), "");
}

TEST(AntiForgerySteps, UnknownIssuer) {
  std::vector<std::string> issuers = {"CSOMEONEELSE"};
  EXPECT_EQ(reason(make_a(), kIat, issuers), errors::kUnknownIssuer);
}

TEST(AntiForgerySteps, NoIssuersAtAll) {
  EXPECT_EQ(reason(make_a(), kIat, {}), errors::kUnknownIssuer);
}

TEST(AntiForgerySteps, TargetUrlMismatch) {
  Invocation inv = make_a();
  inv.msg.clear();  // skip the hash, which would catch the change first
  inv.operation = "HttpServer.Other";
  EXPECT_EQ(reason(inv), errors::kTargetUrlMismatch);
}

TEST(AntiForgerySteps, TargetChangeWithPayloadIsCaughtByTheHash) {
  Invocation inv = make_a();
  inv.target = actor_entity(kKvCounter);
  EXPECT_EQ(reason(inv).rfind(errors::kHashMismatchPrefix, 0), 0u);
}

TEST(AntiForgerySteps, OriginUrlMismatch) {
  Invocation inv = make_a();
  inv.msg.clear();
  inv.origin.link_name = "other";
  EXPECT_EQ(reason(inv), errors::kOriginUrlMismatch);
}

TEST(AntiForgerySteps, TargetKeyIsNotComparedWithTheReceiver) {
  // 3.5: the reference test suite sends provider-targeted invocations to an actor subject.
  auto kp = cluster_key();
  auto inv = make_invocation(
      kp, actor_entity("system"), provider_entity(kHttp, "wasmcloud:httpserver", "default"),
      "HttpServer.HandleRequest", Bytes{0xa5, 'h', 'e', 'l', 'l', 'o'}, kp.public_key());
  ASSERT_TRUE(inv.has_value());
  EXPECT_EQ(reason(*inv, wascap::now_seconds()), "");
}

}  // namespace
}  // namespace wc::rpc

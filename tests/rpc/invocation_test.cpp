// Invocation / InvocationResponse msgpack codec: spec section 10 vectors byte for byte, round
// trips, and malformed input (every truncation, wrong types, missing fields, garbage).
#include "rpc/invocation.h"

#include <gtest/gtest.h>

#include <random>

#include "rpc/errors.h"
#include "vectors.h"

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
const char* kCluster = "CB43KVROR7TFJ6KAPCYRF2FJROTZAH4FHLTJLPWX4DRZCC5NASLGJXUH";

Invocation vector_a() {
  Invocation inv;
  inv.origin = provider_entity(kHttp, "wasmcloud:httpserver", "default");
  inv.target = actor_entity(kEcho);
  inv.operation = "HttpServer.HandleRequest";
  inv.msg = unhex(vectors::kA1Payload);
  inv.id = "7c5e7f1a2b3c4d5e8f90a1b2c3d4e5f6";
  inv.encoded_claims = std::string(vectors::kAToken);
  inv.host_id = kHost;
  inv.content_length = 74;
  return inv;
}

Invocation vector_c() {
  Invocation inv;
  inv.origin = actor_entity(kKvCounter);
  inv.target = provider_entity(kRedis, "wasmcloud:keyvalue", "default");
  inv.operation = "KeyValue.Increment";
  inv.msg = unhex(vectors::kC1Payload);
  inv.id = "b5a3e0f4-1c2d-4e6f-8a9b-0c1d2e3f4a5b";
  inv.encoded_claims = std::string(vectors::kCToken);
  inv.host_id = kCluster;
  inv.content_length = 28;
  return inv;
}

void expect_decode_fails(const Bytes& b) {
  auto r = decode_invocation(b);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Code::kInvalidArgument);
  EXPECT_EQ(r.error().message, errors::kDeserializeInvocation);
}

// --- msgpack writer for hand-made malformed inputs ---------------------------------------------

struct Mp {
  Bytes b;
  Mp& map(std::uint8_t n) { return byte(static_cast<std::uint8_t>(0x80 | n)); }
  Mp& arr(std::uint8_t n) { return byte(static_cast<std::uint8_t>(0x90 | n)); }
  Mp& str(std::string_view s) {
    if (s.size() < 32) {
      byte(static_cast<std::uint8_t>(0xa0 | s.size()));
    } else {
      byte(0xd9).byte(static_cast<std::uint8_t>(s.size()));
    }
    b.insert(b.end(), s.begin(), s.end());
    return *this;
  }
  Mp& bin(std::string_view s) {
    byte(0xc4).byte(static_cast<std::uint8_t>(s.size()));
    b.insert(b.end(), s.begin(), s.end());
    return *this;
  }
  Mp& byte(std::uint8_t x) {
    b.push_back(x);
    return *this;
  }
  Mp& nil() { return byte(0xc0); }
  Mp& entity(std::string_view key, std::string_view contract, std::string_view link) {
    return map(3)
        .str("public_key")
        .str(key)
        .str("contract_id")
        .str(contract)
        .str("link_name")
        .str(link);
  }
};

/// A valid invocation map with one field replaced (or dropped when `value` is empty) by raw
/// msgpack bytes.
Bytes invocation_with(std::string_view field, const Bytes& value, bool drop = false) {
  const char* fields[] = {"origin", "target",         "operation", "msg",
                          "id",     "encoded_claims", "host_id"};
  Mp m;
  m.map(drop ? 6 : 7);
  for (const char* f : fields) {
    if (f == field) {
      if (drop) continue;
      m.str(f);
      m.b.insert(m.b.end(), value.begin(), value.end());
      continue;
    }
    m.str(f);
    std::string_view name(f);
    if (name == "origin" || name == "target") {
      m.entity(kEcho, "", "");
    } else if (name == "msg") {
      m.bin("hi");
    } else {
      m.str("x");
    }
  }
  return m.b;
}

// --- URLs and hash (3.1, 3.4) -----------------------------------------------------------------

TEST(BusUrl, ActorKeyGivesShortUrl) {
  EXPECT_EQ(actor_entity(kEcho).url(), std::string("wasmbus://") + kEcho);
}

TEST(BusUrl, ProviderUrlHasContractAndLink) {
  EXPECT_EQ(provider_entity(kHttp, "wasmcloud:httpserver", "default").url(),
            std::string("wasmbus://wasmcloud/httpserver/default/") + kHttp);
}

TEST(BusUrl, ContractAndLinkAreNormalised) {
  EXPECT_EQ(provider_entity("VX", "Wasmcloud:Key Value", "My Link").url(),
            "wasmbus://wasmcloud/key_value/my_link/VX");
}

TEST(BusUrl, LowerCaseMKeyIsAnActorUrl) { EXPECT_EQ(actor_entity("mabc").url(), "wasmbus://mabc"); }

TEST(BusUrl, NonActorKeyWithoutContractGivesFourSlashes) {
  EXPECT_EQ(actor_entity("system").url(), "wasmbus:////system");
}

TEST(BusUrl, TargetUrlAppendsOperation) {
  EXPECT_EQ(target_url(actor_entity(kEcho), "HttpServer.HandleRequest"),
            std::string("wasmbus://") + kEcho + "/HttpServer.HandleRequest");
}

TEST(BusUrl, EntityActorRule) {
  EXPECT_TRUE(actor_entity(kEcho).is_actor());
  EXPECT_TRUE(provider_entity(kHttp, "wasmcloud:httpserver", "").is_actor());
  EXPECT_FALSE(provider_entity(kHttp, "wasmcloud:httpserver", "default").is_actor());
}

TEST(InvocationHash, VectorA) {
  auto origin = provider_entity(kHttp, "wasmcloud:httpserver", "default").url();
  auto target = target_url(actor_entity(kEcho), "HttpServer.HandleRequest");
  EXPECT_EQ(invocation_hash(origin, target, "HttpServer.HandleRequest", unhex(vectors::kA1Payload)),
            "1785EB6ED2DFE432F26982FD45D397353D65283A3E4C92F83BC761077DFC6352");
}

TEST(InvocationHash, VectorC) {
  auto origin = actor_entity(kKvCounter).url();
  auto target =
      target_url(provider_entity(kRedis, "wasmcloud:keyvalue", "default"), "KeyValue.Increment");
  EXPECT_EQ(invocation_hash(origin, target, "KeyValue.Increment", unhex(vectors::kC1Payload)),
            "BD6E0A6DB1B0E5F1CF1C7D1FC3197EC3F2B529BB9785ECCD488F801077DAE05B");
}

// --- Vectors (section 10) ---------------------------------------------------------------------

TEST(InvocationVectors, VectorAEncodesByteForByteInSdkOrder) {
  Bytes enc = encode_invocation(vector_a(), EntityOrder::kSdk);
  EXPECT_EQ(enc.size(), 1247u);
  EXPECT_EQ(hex_lower(enc), vectors::kA3Invocation);
}

TEST(InvocationVectors, VectorCEncodesByteForByteInHostOrder) {
  Bytes enc = encode_invocation(vector_c(), EntityOrder::kHost);
  EXPECT_EQ(enc.size(), 1191u);
  EXPECT_EQ(hex_lower(enc), vectors::kC3Invocation);
}

TEST(InvocationVectors, VectorADecodes) {
  auto r = decode_invocation(unhex(vectors::kA3Invocation));
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(*r, vector_a());
}

TEST(InvocationVectors, VectorCDecodes) {
  auto r = decode_invocation(unhex(vectors::kC3Invocation));
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(*r, vector_c());
  EXPECT_FALSE(is_chunked(*r));
}

TEST(ResponseVectors, VectorB2ReferenceEncoding) {
  InvocationResponse resp;
  resp.msg = unhex(vectors::kB1HttpResponse);
  resp.invocation_id = "7c5e7f1a2b3c4d5e8f90a1b2c3d4e5f6";
  resp.instance_id = "4a6e2f8c-3b1d-4c5e-9f70-1a2b3c4d5e6f";
  resp.content_length = 113;
  Bytes enc = encode_response(resp, ResponseStyle::kHostReference);
  EXPECT_EQ(enc.size(), 234u);
  EXPECT_EQ(hex_lower(enc), vectors::kB2Response);
}

TEST(ResponseVectors, VectorB2RecommendedEncodingDiffersOnlyAtOffset119) {
  InvocationResponse resp;
  resp.msg = unhex(vectors::kB1HttpResponse);
  resp.invocation_id = "7c5e7f1a2b3c4d5e8f90a1b2c3d4e5f6";
  resp.instance_id = "4a6e2f8c-3b1d-4c5e-9f70-1a2b3c4d5e6f";
  resp.content_length = 113;
  Bytes expected = unhex(vectors::kB2Response);
  expected[119] = 0xc4;
  EXPECT_EQ(encode_response(resp, ResponseStyle::kHost), expected);
}

TEST(ResponseVectors, VectorB2DecodesWithStrOrBinMsg) {
  Bytes ref = unhex(vectors::kB2Response);
  Bytes rec = ref;
  rec[119] = 0xc4;
  for (const Bytes& b : {ref, rec}) {
    auto r = decode_response(b);
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->msg, unhex(vectors::kB1HttpResponse));
    EXPECT_EQ(r->invocation_id, "7c5e7f1a2b3c4d5e8f90a1b2c3d4e5f6");
    EXPECT_EQ(r->instance_id, "4a6e2f8c-3b1d-4c5e-9f70-1a2b3c4d5e6f");
    EXPECT_EQ(r->content_length, 113u);
    EXPECT_FALSE(r->failed());
  }
}

TEST(ResponseVectors, VectorC4SdkEncoding) {
  InvocationResponse resp;
  resp.msg = {0x05};
  resp.invocation_id = "b5a3e0f4-1c2d-4e6f-8a9b-0c1d2e3f4a5b";
  resp.content_length = 1;
  Bytes enc = encode_response(resp, ResponseStyle::kSdk);
  EXPECT_EQ(enc.size(), 76u);
  EXPECT_EQ(hex_lower(enc), vectors::kC4Response);
  auto r = decode_response(enc);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(*r, resp);
}

// --- Round trips ------------------------------------------------------------------------------

TEST(InvocationRoundTrip, LargeAndEmptyPayloadsBothOrders) {
  for (std::size_t size : {0u, 1u, 31u, 32u, 255u, 256u, 65535u, 65536u, 200000u}) {
    Invocation inv = vector_c();
    inv.msg.assign(size, 0xAB);
    inv.content_length = size;
    for (auto order : {EntityOrder::kHost, EntityOrder::kSdk}) {
      auto r = decode_invocation(encode_invocation(inv, order));
      ASSERT_TRUE(r.has_value()) << size;
      EXPECT_EQ(*r, inv);
    }
  }
}

TEST(InvocationRoundTrip, WithoutContentLength) {
  Invocation inv = vector_a();
  inv.content_length.reset();
  Bytes enc = encode_invocation(inv);
  EXPECT_EQ(enc[0], 0x87);  // map(7)
  auto r = decode_invocation(enc);
  ASSERT_TRUE(r.has_value());
  EXPECT_FALSE(r->content_length.has_value());
}

TEST(InvocationRoundTrip, ChunkedWhenContentLengthExceedsMsg) {
  Invocation inv = vector_c();
  inv.msg.clear();
  inv.content_length = 1000000;
  auto r = decode_invocation(encode_invocation(inv));
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(is_chunked(*r));
}

TEST(ResponseRoundTrip, ErrorResponseAllStyles) {
  InvocationResponse resp;
  resp.invocation_id = "id";
  resp.error = "Anti-forgery check failed: x";
  resp.instance_id = "inst";
  for (auto style : {ResponseStyle::kHost, ResponseStyle::kHostReference, ResponseStyle::kSdk}) {
    auto r = decode_response(encode_response(resp, style));
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(*r, resp);
    EXPECT_TRUE(r->failed());
  }
}

TEST(ResponseRoundTrip, EmptyErrorStillMeansFailure) {
  InvocationResponse resp;
  resp.error = "";
  auto r = decode_response(encode_response(resp));
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->failed());
}

// --- Lenient decoding (0.2) -------------------------------------------------------------------

TEST(InvocationDecode, AcceptsMsgAsStr) {
  Bytes b = invocation_with("msg", Mp().str("hello").b);
  auto r = decode_invocation(b);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(to_string(r->msg), "hello");
}

TEST(InvocationDecode, AcceptsMsgAsArrayOfBytes) {
  Bytes b = invocation_with("msg", Mp().arr(3).byte(1).byte(2).byte(0xcc).byte(255).b);
  auto r = decode_invocation(b);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->msg, (Bytes{1, 2, 255}));
}

TEST(InvocationDecode, AcceptsAnyKeyOrderAndIgnoresUnknownKeys) {
  Mp m;
  m.map(10)
      .str("host_id")
      .str(kHost)
      .str("traceContext")
      .map(1)
      .str("a")
      .str("b")
      .str("msg")
      .bin("abc")
      .str("unknown")
      .arr(2)
      .nil()
      .nil()
      .str("encoded_claims")
      .str("tok")
      .str("id")
      .str("i")
      .str("target")
      .map(4)
      .str("link_name")
      .str("default")
      .str("extra")
      .nil()
      .str("contract_id")
      .str("wasmcloud:keyvalue")
      .str("public_key")
      .str(kRedis)
      .str("operation")
      .str("Op.Do")
      .str("origin")
      .entity(kEcho, "", "")
      .str("content_length")
      .byte(0xcd)
      .byte(0x00)
      .byte(0x03);  // uint16 3
  auto r = decode_invocation(m.b);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->target, provider_entity(kRedis, "wasmcloud:keyvalue", "default"));
  EXPECT_EQ(r->content_length, 3u);
  EXPECT_EQ(r->operation, "Op.Do");
}

TEST(InvocationDecode, NilContentLengthIsAbsent) {
  Mp m;
  m.b = invocation_with("msg", Mp().bin("x").b);
  m.b[0] = 0x88;
  m.str("content_length").nil();
  auto r = decode_invocation(m.b);
  ASSERT_TRUE(r.has_value());
  EXPECT_FALSE(r->content_length.has_value());
}

TEST(InvocationDecode, TrailingBytesAreIgnored) {
  Bytes b = unhex(vectors::kC3Invocation);
  b.push_back(0xc1);
  EXPECT_TRUE(decode_invocation(b).has_value());
}

TEST(ResponseDecode, NotRunningReplyShapeWithEmptyArrayMsg) {
  Mp m;
  m.map(2).str("msg").arr(0).str("error").str(
      "Invocation received for actor MX that is not running");
  auto r = decode_response(m.b);
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->msg.empty());
  EXPECT_TRUE(r->failed());
  EXPECT_FALSE(r->invocation_id.has_value());
}

TEST(ResponseDecode, EmptyMapIsAnEmptySuccess) {
  auto r = decode_response(Bytes{0x80});
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->msg.empty());
  EXPECT_FALSE(r->failed());
}

// --- Malformed input: every case a test -------------------------------------------------------

TEST(InvocationMalformed, EveryTruncationOfVectorAFails) {
  Bytes full = unhex(vectors::kA3Invocation);
  for (std::size_t n = 0; n < full.size(); ++n) {
    Bytes prefix(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n));
    auto r = decode_invocation(prefix);
    ASSERT_FALSE(r.has_value()) << "prefix length " << n;
    EXPECT_EQ(r.error().message, errors::kDeserializeInvocation);
  }
}

TEST(InvocationMalformed, EveryTruncationOfVectorCFails) {
  Bytes full = unhex(vectors::kC3Invocation);
  for (std::size_t n = 0; n < full.size(); ++n) {
    Bytes prefix(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n));
    ASSERT_FALSE(decode_invocation(prefix).has_value()) << "prefix length " << n;
  }
}

TEST(ResponseMalformed, EveryTruncationOfVectorB2Fails) {
  Bytes full = unhex(vectors::kB2Response);
  for (std::size_t n = 0; n < full.size(); ++n) {
    Bytes prefix(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n));
    auto r = decode_response(prefix);
    ASSERT_FALSE(r.has_value()) << "prefix length " << n;
    EXPECT_EQ(r.error().message, errors::kDeserializeResponse);
  }
}

TEST(InvocationMalformed, RandomGarbageNeverCrashes) {
  std::mt19937 rng(12345);
  for (int i = 0; i < 20000; ++i) {
    Bytes b(rng() % 64);
    for (auto& x : b) x = static_cast<std::uint8_t>(rng());
    (void)decode_invocation(b);
    (void)decode_response(b);
  }
  SUCCEED();
}

TEST(InvocationMalformed, SingleByteFlipsOfVectorANeverCrash) {
  Bytes full = unhex(vectors::kA3Invocation);
  for (std::size_t i = 0; i < full.size(); i += 3) {
    Bytes b = full;
    b[i] ^= 0xFF;
    (void)decode_invocation(b);
  }
  SUCCEED();
}

TEST(InvocationMalformed, TopLevelNotAMap) { expect_decode_fails(Mp().arr(0).b); }
TEST(InvocationMalformed, TopLevelInteger) { expect_decode_fails(Bytes{0x2a}); }
TEST(InvocationMalformed, EmptyInput) { expect_decode_fails(Bytes{}); }
TEST(InvocationMalformed, ReservedByte) { expect_decode_fails(Bytes{0xc1}); }
TEST(InvocationMalformed, EmptyMap) { expect_decode_fails(Bytes{0x80}); }

TEST(InvocationMalformed, HugeArrayHeaderIsRejectedWithoutAllocating) {
  expect_decode_fails(Bytes{0xdd, 0xff, 0xff, 0xff, 0xff});
}

TEST(InvocationMalformed, HugeMapHeaderIsRejectedWithoutAllocating) {
  expect_decode_fails(Bytes{0xdf, 0xff, 0xff, 0xff, 0xff});
}

TEST(InvocationMalformed, HugeBinLengthIsRejected) {
  expect_decode_fails(invocation_with("msg", Bytes{0xc6, 0xff, 0xff, 0xff, 0xff, 1, 2}));
}

TEST(InvocationMalformed, DeepNestingIsRejected) {
  Bytes b(1000, 0x91);  // array(1) nested 1000 times
  b.push_back(0x00);
  expect_decode_fails(invocation_with("msg", b));
}

TEST(InvocationMalformed, MissingOrigin) {
  expect_decode_fails(invocation_with("origin", {}, true));
}
TEST(InvocationMalformed, MissingTarget) {
  expect_decode_fails(invocation_with("target", {}, true));
}
TEST(InvocationMalformed, MissingOperation) {
  expect_decode_fails(invocation_with("operation", {}, true));
}
TEST(InvocationMalformed, MissingMsg) { expect_decode_fails(invocation_with("msg", {}, true)); }
TEST(InvocationMalformed, MissingId) { expect_decode_fails(invocation_with("id", {}, true)); }
TEST(InvocationMalformed, MissingEncodedClaims) {
  expect_decode_fails(invocation_with("encoded_claims", {}, true));
}
TEST(InvocationMalformed, MissingHostId) {
  expect_decode_fails(invocation_with("host_id", {}, true));
}

TEST(InvocationMalformed, NilRequiredField) {
  expect_decode_fails(invocation_with("operation", Mp().nil().b));
}

TEST(InvocationMalformed, OriginIsAString) {
  expect_decode_fails(invocation_with("origin", Mp().str(kEcho).b));
}

TEST(InvocationMalformed, EntityMissingLinkName) {
  expect_decode_fails(invocation_with(
      "target", Mp().map(2).str("public_key").str(kEcho).str("contract_id").str("").b));
}

TEST(InvocationMalformed, EntityKeyIsAnInteger) {
  expect_decode_fails(invocation_with("origin", Mp().map(3)
                                                    .str("public_key")
                                                    .byte(0x01)
                                                    .str("contract_id")
                                                    .str("")
                                                    .str("link_name")
                                                    .str("")
                                                    .b));
}

TEST(InvocationMalformed, OperationIsAnInteger) {
  expect_decode_fails(invocation_with("operation", Bytes{0x07}));
}

TEST(InvocationMalformed, OperationIsBinary) {
  expect_decode_fails(invocation_with("operation", Mp().bin("Op.Do").b));
}

TEST(InvocationMalformed, MsgIsAnInteger) {
  expect_decode_fails(invocation_with("msg", Bytes{0x01}));
}

TEST(InvocationMalformed, MsgIsAMap) { expect_decode_fails(invocation_with("msg", Bytes{0x80})); }

TEST(InvocationMalformed, MsgArrayElementAbove255) {
  expect_decode_fails(invocation_with("msg", Bytes{0x91, 0xcd, 0x01, 0x00}));
}

TEST(InvocationMalformed, MsgArrayElementNegative) {
  expect_decode_fails(invocation_with("msg", Bytes{0x91, 0xff}));
}

TEST(InvocationMalformed, MsgArrayElementString) {
  expect_decode_fails(invocation_with("msg", Mp().arr(1).str("a").b));
}

TEST(InvocationMalformed, ContentLengthNegative) {
  Mp m;
  m.b = invocation_with("msg", Mp().bin("x").b);
  m.b[0] = 0x88;
  m.str("content_length").byte(0xff);  // -1
  expect_decode_fails(m.b);
}

TEST(InvocationMalformed, ContentLengthString) {
  Mp m;
  m.b = invocation_with("msg", Mp().bin("x").b);
  m.b[0] = 0x88;
  m.str("content_length").str("12");
  expect_decode_fails(m.b);
}

TEST(InvocationMalformed, ContentLengthFloat) {
  Mp m;
  m.b = invocation_with("msg", Mp().bin("x").b);
  m.b[0] = 0x88;
  m.str("content_length").byte(0xcb);
  for (int i = 0; i < 8; ++i) m.byte(0);
  expect_decode_fails(m.b);
}

TEST(InvocationMalformed, DuplicateField) {
  Mp m;
  m.b = invocation_with("msg", Mp().bin("x").b);
  m.b[0] = 0x88;
  m.str("operation").str("Other.Op");
  expect_decode_fails(m.b);
}

TEST(InvocationMalformed, MapCountLargerThanContent) {
  Bytes b = invocation_with("msg", Mp().bin("x").b);
  b[0] = 0x89;  // claims 9 pairs, has 7
  expect_decode_fails(b);
}

TEST(ResponseMalformed, NotAMap) {
  auto r = decode_response(Mp().str("oops").b);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Code::kInvalidArgument);
  EXPECT_EQ(r.error().message, errors::kDeserializeResponse);
}

TEST(ResponseMalformed, ErrorIsAnInteger) {
  EXPECT_FALSE(decode_response(Mp().map(1).str("error").byte(0x01).b).has_value());
}

TEST(ResponseMalformed, MsgIsBoolean) {
  EXPECT_FALSE(decode_response(Mp().map(1).str("msg").byte(0xc3).b).has_value());
}

TEST(ResponseMalformed, ContentLengthNegative) {
  EXPECT_FALSE(decode_response(Mp().map(1).str("content_length").byte(0xe0).b).has_value());
}

TEST(ResponseMalformed, InvocationIdIsBinary) {
  EXPECT_FALSE(decode_response(Mp().map(1).str("invocation_id").bin("x").b).has_value());
}

TEST(ResponseHelpers, SuccessReplyReproducesVectorB) {
  auto r =
      success_response("7c5e7f1a2b3c4d5e8f90a1b2c3d4e5f6", "4a6e2f8c-3b1d-4c5e-9f70-1a2b3c4d5e6f",
                       unhex(vectors::kB1HttpResponse));
  EXPECT_EQ(hex_lower(encode_response(r, ResponseStyle::kHostReference)), vectors::kB2Response);
}

TEST(ResponseHelpers, FailureReplies) {
  auto run = failure_response("id", "inst", "guest error", true);
  EXPECT_TRUE(run.failed());
  EXPECT_EQ(run.content_length, 0u);
  EXPECT_TRUE(run.msg.empty());
  auto check = failure_response("", "inst", "Failed to deserialize invocation", false);
  EXPECT_FALSE(check.content_length.has_value());
  EXPECT_EQ(check.invocation_id, "");
}

TEST(ResponseHelpers, NotRunningReply) {
  auto r = not_running_response("MX");
  EXPECT_EQ(r.error, "Invocation received for actor MX that is not running");
  EXPECT_FALSE(r.invocation_id.has_value());
  EXPECT_FALSE(r.instance_id.has_value());
  auto back = decode_response(encode_response(r));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, r);
}

TEST(Thresholds, TimeoutForLargePayloads) {
  EXPECT_EQ(rpc_timeout_for(921600, kDefaultRpcTimeout), kDefaultRpcTimeout);
  EXPECT_EQ(rpc_timeout_for(921601, kDefaultRpcTimeout), kLargePayloadTimeout);
}

}  // namespace
}  // namespace wc::rpc

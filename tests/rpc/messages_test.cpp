// Provider payloads: link definition msgpack (10.5 vector), health request/response, shutdown.
#include "rpc/messages.h"

#include <gtest/gtest.h>

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

LinkDefinition kv_redis() {
  LinkDefinition ld;
  ld.id = "124AD321267D17B4C40AC52B13C4D8EA9D21D69C7F1EB17E136E067D0F93EF71";
  ld.actor_id = "MCFMFDWFHGKELOXPCNCDXKK5OFLHBVEWRAOXR5JSQUD2TOFRE3DFPM7E";
  ld.provider_id = "VAZVC4RX54J2NVCMCW7BPCAHGGG5XZXDBXFUMDUXGESTMQEJLC3YVZWB";
  ld.link_name = "default";
  ld.contract_id = "wasmcloud:keyvalue";
  ld.values = {{"URL", "redis://127.0.0.1:6379"}};
  return ld;
}

TEST(Linkdef, Vector105ByteForByte) {
  Bytes enc = encode_linkdef(kv_redis());
  EXPECT_EQ(enc.size(), 291u);
  EXPECT_EQ(hex_lower(enc), vectors::kLinkdefKvRedis);
}

TEST(Linkdef, Vector105Decodes) {
  auto ld = decode_linkdef(unhex(vectors::kLinkdefKvRedis));
  ASSERT_TRUE(ld.has_value()) << ld.error().message;
  EXPECT_EQ(*ld, kv_redis());
}

TEST(Linkdef, EmptyValuesIsAnEmptyMap) {
  LinkDefinition ld = kv_redis();
  ld.values.clear();
  Bytes enc = encode_linkdef(ld);
  EXPECT_EQ(enc.back(), 0x80);
  auto back = decode_linkdef(enc);
  ASSERT_TRUE(back.has_value());
  EXPECT_TRUE(back->values.empty());
}

TEST(Linkdef, EveryTruncationFails) {
  Bytes full = unhex(vectors::kLinkdefKvRedis);
  for (std::size_t n = 0; n < full.size(); ++n) {
    Bytes prefix(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n));
    ASSERT_FALSE(decode_linkdef(prefix).has_value()) << n;
  }
}

TEST(Linkdef, MissingActorIdFails) {
  // map(1) {"id": "x"}
  Bytes b = {0x81, 0xa2, 'i', 'd', 0xa1, 'x'};
  auto r = decode_linkdef(b);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Code::kInvalidArgument);
}

TEST(Linkdef, NonStringValueFails) {
  Bytes full = unhex(vectors::kLinkdefKvRedis);
  // Replace the value of "URL" (fixstr 22 at the end) with the integer 1.
  Bytes b(full.begin(), full.end() - 23);
  b.push_back(0x01);
  EXPECT_FALSE(decode_linkdef(b).has_value());
}

TEST(Linkdef, NotAMapFails) { EXPECT_FALSE(decode_linkdef(Bytes{0x90}).has_value()); }

TEST(Linkdef, JsonShapeAndRoundTrip) {
  auto j = linkdef_to_json(kv_redis());
  EXPECT_EQ(j, nlohmann::json::parse(
                   R"({"id": "124AD321267D17B4C40AC52B13C4D8EA9D21D69C7F1EB17E136E067D0F93EF71",
                       "actor_id": "MCFMFDWFHGKELOXPCNCDXKK5OFLHBVEWRAOXR5JSQUD2TOFRE3DFPM7E",
                       "provider_id": "VAZVC4RX54J2NVCMCW7BPCAHGGG5XZXDBXFUMDUXGESTMQEJLC3YVZWB",
                       "link_name": "default", "contract_id": "wasmcloud:keyvalue",
                       "values": {"URL": "redis://127.0.0.1:6379"}})"));
  auto back = linkdef_from_json(j);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, kv_redis());
}

TEST(Linkdef, JsonWithoutIdAndNullValues) {
  auto ld = linkdef_from_json(nlohmann::json::parse(
      R"({"actor_id": "M", "provider_id": "V", "link_name": "l", "contract_id": "c", "values": null})"));
  ASSERT_TRUE(ld.has_value());
  EXPECT_EQ(ld->id, "");
  EXPECT_TRUE(ld->values.empty());
}

TEST(Linkdef, JsonMissingProviderFails) {
  EXPECT_FALSE(linkdef_from_json(nlohmann::json::parse(
                                     R"({"actor_id": "M", "link_name": "l", "contract_id": "c"})"))
                   .has_value());
}

TEST(Linkdef, JsonNonStringValueFails) {
  EXPECT_FALSE(
      linkdef_from_json(
          nlohmann::json::parse(
              R"({"actor_id": "M", "provider_id": "V", "link_name": "l", "contract_id": "c", "values": {"a": 1}})"))
          .has_value());
}

TEST(Health, RequestBodies) {
  EXPECT_EQ(hex_lower(kHealthRequest), "81ab706c616365686f6c646572c3");
  EXPECT_EQ(hex_lower(kActorHealthRequest), "80");
}

TEST(Health, ResponseVector) {
  EXPECT_EQ(hex_lower(encode_health_response({true, std::nullopt})), "81a76865616c746879c3");
  auto r = decode_health_response(unhex("81a76865616c746879c3"));
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->healthy);
  EXPECT_FALSE(r->message.has_value());
}

TEST(Health, ResponseWithMessageRoundTrip) {
  auto r = decode_health_response(encode_health_response({false, "redis down"}));
  ASSERT_TRUE(r.has_value());
  EXPECT_FALSE(r->healthy);
  EXPECT_EQ(r->message, "redis down");
}

TEST(Health, NilMessageIsAbsent) {
  // {"healthy": true, "message": nil}
  Bytes b = unhex("82a76865616c746879c3a76d657373616765c0");
  auto r = decode_health_response(b);
  ASSERT_TRUE(r.has_value());
  EXPECT_FALSE(r->message.has_value());
}

TEST(Health, MissingHealthyFails) { EXPECT_FALSE(decode_health_response(Bytes{0x80}).has_value()); }

TEST(Health, HealthyNotBoolFails) {
  EXPECT_FALSE(decode_health_response(unhex("81a76865616c74687901")).has_value());
}

TEST(Health, GarbageFails) {
  EXPECT_FALSE(decode_health_response(Bytes{}).has_value());
  EXPECT_FALSE(decode_health_response(Bytes{0xc1}).has_value());
  EXPECT_FALSE(decode_health_response(Bytes{0x81, 0xa7}).has_value());
}

TEST(Shutdown, RequestJson) {
  EXPECT_EQ(shutdown_request_json("NDT7CYVBBPWFLGX6UGK6JXHIJNUVNDK5FSYJMPVUI3AGQXRLC7ZPBTGN"),
            R"({"host_id":"NDT7CYVBBPWFLGX6UGK6JXHIJNUVNDK5FSYJMPVUI3AGQXRLC7ZPBTGN"})");
}

}  // namespace
}  // namespace wc::rpc

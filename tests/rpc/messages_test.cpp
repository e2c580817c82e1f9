// Provider payloads: link definition msgpack (10.5 vector), health request/response, shutdown.
#include "rpc/messages.h"

#include <gtest/gtest.h>

#include <functional>

#include "rpc/msgpack.h"

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

// --- The one `values` rule (messages.h): absent / null -> {}, {} -> {}, mistyped -> error; the
// same for the msgpack and the JSON decoder.

/// msgpack linkdef map with the four required fields and, when `values` is set, a last member
/// `values` written by it.
Bytes linkdef_msgpack_with(const std::function<void(mp::Writer&)>& values) {
  mp::Writer w;
  w.map(values ? 5 : 4);
  w.str("actor_id").str("M").str("provider_id").str("V");
  w.str("link_name").str("default").str("contract_id").str("wasmcloud:keyvalue");
  if (values) values(w.str("values"));
  return w.bytes();
}

nlohmann::json linkdef_json_with_values(const nlohmann::json* values) {
  nlohmann::json j = {
      {"actor_id", "M"}, {"provider_id", "V"}, {"link_name", "default"}, {"contract_id", "c"}};
  if (values != nullptr) j["values"] = *values;
  return j;
}

TEST(LinkdefValuesRule, MsgpackAbsentIsEmpty) {
  auto ld = decode_linkdef(linkdef_msgpack_with(nullptr));
  ASSERT_TRUE(ld.has_value()) << ld.error().message;
  EXPECT_TRUE(ld->values.empty());
  EXPECT_EQ(ld->id, "");
}

TEST(LinkdefValuesRule, MsgpackNilIsEmpty) {
  auto ld = decode_linkdef(linkdef_msgpack_with([](mp::Writer& w) { w.nil(); }));
  ASSERT_TRUE(ld.has_value()) << ld.error().message;
  EXPECT_TRUE(ld->values.empty());
}

TEST(LinkdefValuesRule, MsgpackEmptyMapIsEmpty) {
  auto ld = decode_linkdef(linkdef_msgpack_with([](mp::Writer& w) { w.map(0); }));
  ASSERT_TRUE(ld.has_value()) << ld.error().message;
  EXPECT_TRUE(ld->values.empty());
}

TEST(LinkdefValuesRule, MsgpackNotAMapFails) {
  auto r = decode_linkdef(linkdef_msgpack_with([](mp::Writer& w) { w.str("PORT=8080"); }));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Code::kInvalidArgument);
  EXPECT_EQ(r.error().message, "link definition: `values` is not a map");
}

TEST(LinkdefValuesRule, MsgpackNonStringValueFails) {
  auto r =
      decode_linkdef(linkdef_msgpack_with([](mp::Writer& w) { w.map(1).str("PORT").int64(8080); }));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message, "link definition: `values` must map strings to strings");
}

TEST(LinkdefValuesRule, JsonAbsentIsEmpty) {
  auto ld = linkdef_from_json(linkdef_json_with_values(nullptr));
  ASSERT_TRUE(ld.has_value()) << ld.error().message;
  EXPECT_TRUE(ld->values.empty());
}

TEST(LinkdefValuesRule, JsonNullIsEmpty) {
  const nlohmann::json null_value = nullptr;
  auto ld = linkdef_from_json(linkdef_json_with_values(&null_value));
  ASSERT_TRUE(ld.has_value()) << ld.error().message;
  EXPECT_TRUE(ld->values.empty());
}

TEST(LinkdefValuesRule, JsonEmptyObjectIsEmpty) {
  const nlohmann::json empty = nlohmann::json::object();
  auto ld = linkdef_from_json(linkdef_json_with_values(&empty));
  ASSERT_TRUE(ld.has_value()) << ld.error().message;
  EXPECT_TRUE(ld->values.empty());
}

TEST(LinkdefValuesRule, JsonNotAnObjectFails) {
  for (const auto& v : {nlohmann::json("PORT=8080"), nlohmann::json::array({"a"}),
                        nlohmann::json(false), nlohmann::json(0)}) {
    auto r = linkdef_from_json(linkdef_json_with_values(&v));
    ASSERT_FALSE(r.has_value()) << v.dump();
    EXPECT_EQ(r.error().message, "link definition: `values` is not a map") << v.dump();
  }
}

TEST(LinkdefValuesRule, JsonNonStringValueFails) {
  const nlohmann::json v = {{"PORT", 8080}};
  auto r = linkdef_from_json(linkdef_json_with_values(&v));
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message, "link definition: `values` must map strings to strings");
}

TEST(LinkdefValuesRule, EncodersAlwaysWriteValuesAndId) {
  LinkDefinition ld;
  ld.actor_id = "M";
  ld.provider_id = "V";
  ld.link_name = "default";
  ld.contract_id = "c";
  // map(6) ... "values" map(0): the Rust SDK requires the key (actor-rpc-providers.md 6.1).
  const Bytes enc = encode_linkdef(ld);
  EXPECT_EQ(enc.front(), 0x86);
  EXPECT_EQ(enc.back(), 0x80);
  const auto j = linkdef_to_json(ld);
  EXPECT_EQ(j.at("values"), nlohmann::json::object());
  EXPECT_EQ(j.at("id"), "");
}

TEST(LinkdefFields, NullRequiredFieldIsMissing) {
  auto j = linkdef_json_with_values(nullptr);
  j["provider_id"] = nullptr;
  auto r = linkdef_from_json(j);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message, "link definition: missing field `provider_id`");
  mp::Writer w;
  w.map(4).str("actor_id").str("M").str("provider_id").nil();
  w.str("link_name").str("default").str("contract_id").str("c");
  auto m = decode_linkdef(w.bytes());
  ASSERT_FALSE(m.has_value());
  EXPECT_EQ(m.error().message, "link definition: missing field `provider_id`");
}

TEST(LinkdefFields, MistypedIdFailsInBothCodecs) {
  auto j = linkdef_json_with_values(nullptr);
  j["id"] = 5;
  auto r = linkdef_from_json(j);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message, "link definition: `id` is not a string");
  mp::Writer w;
  w.map(5).str("actor_id").str("M").str("provider_id").str("V");
  w.str("link_name").str("default").str("contract_id").str("c").str("id").int64(5);
  auto m = decode_linkdef(w.bytes());
  ASSERT_FALSE(m.has_value());
  EXPECT_EQ(m.error().message, "link definition: `id` is not a string");
}

TEST(LinkdefFields, UnknownKeysAreIgnored) {
  auto j = linkdef_json_with_values(nullptr);
  j["extra"] = {1, 2};
  EXPECT_TRUE(linkdef_from_json(j).has_value());
}

TEST(Health, JsonFormRoundTrip) {
  EXPECT_EQ(health_response_to_json({true, std::nullopt}).dump(), R"({"healthy":true})");
  auto r = health_response_from_json(health_response_to_json({false, "redis down"}).dump());
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(*r, (HealthCheckResponse{false, "redis down"}));
}

TEST(Health, JsonFormErrors) {
  EXPECT_EQ(health_response_from_json("not json").error().message,
            "health check response: expected a JSON object");
  EXPECT_EQ(health_response_from_json("{}").error().message,
            "health check response: missing field `healthy`");
  EXPECT_EQ(health_response_from_json(R"({"healthy":1})").error().message,
            "health check response: `healthy` is not a bool");
  EXPECT_EQ(health_response_from_json(R"({"healthy":true,"message":2})").error().message,
            "health check response: `message` is not a string");
  auto nil_message = health_response_from_json(R"({"healthy":true,"message":null})");
  ASSERT_TRUE(nil_message.has_value());
  EXPECT_FALSE(nil_message->message.has_value());
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

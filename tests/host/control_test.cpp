#include "host/control.h"

#include <gtest/gtest.h>

#include "host/errors.h"
#include "lattice/topics.h"

namespace wc::host {
namespace {

TEST(Control, AckShape) {
  EXPECT_EQ(ack_json(true), R"({"accepted":true,"error":""})");
  EXPECT_EQ(ack_json(false, "x"), R"({"accepted":false,"error":"x"})");
}

// Found by fuzz/control_fuzzer: a `stop` body with a byte that is not UTF-8 gave a parse error
// quoting it, and ack_json threw (type_error 316), so the host never answered the request.
TEST(Control, AckOfNonUtf8ErrorTextIsValidJson) {
  auto r = parse_stop_host("{\xa2new_actor_ref\":1}");
  ASSERT_FALSE(r);
  std::string ack;
  ASSERT_NO_THROW(ack = ack_json(false, r.error().message));
  auto j = nlohmann::json::parse(ack);
  EXPECT_FALSE(j["accepted"].get<bool>());
  EXPECT_EQ(j["error"].get<std::string>().rfind(errors::kUnableToParseStopHost, 0), 0u);
  EXPECT_NE(j["error"].get<std::string>().find("\xef\xbf\xbd"), std::string::npos);  // U+FFFD
  EXPECT_EQ(ack_json(false, "a\xff"), "{\"accepted\":false,\"error\":\"a\xef\xbf\xbd\"}");
}

TEST(Control, ScaleSeedRequest) {
  auto r = parse_scale_actor(
      R"({"actor_id":"MBCFOPM6JW2APJLXJD3Z5O4CN7CPYJ2B4FTKLJUR5YR5MITIU7HD3WD5","actor_ref":"127.0.0.1:5000/echo:0.3.4","count":1})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->actor_id, "MBCFOPM6JW2APJLXJD3Z5O4CN7CPYJ2B4FTKLJUR5YR5MITIU7HD3WD5");
  EXPECT_EQ(r->actor_ref, "127.0.0.1:5000/echo:0.3.4");
  EXPECT_EQ(r->count, 1);
}

TEST(Control, ScalePresentRuleAcceptsEmptyAndZero) {
  auto r = parse_scale_actor(R"({"actor_id":"","actor_ref":"","count":0})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->count, 0);
}

TEST(Control, ScaleMissingCount) {
  auto r = parse_scale_actor(R"({"actor_id":"M","actor_ref":"x"})");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, errors::kInvalidScaleActor);
}

TEST(Control, ScaleMissingActorId) {
  EXPECT_FALSE(parse_scale_actor(R"({"actor_ref":"x","count":1})"));
}

TEST(Control, ScaleNullRef) {
  EXPECT_FALSE(parse_scale_actor(R"({"actor_id":"M","actor_ref":null,"count":1})"));
}

TEST(Control, ScaleMalformedJson) {
  EXPECT_FALSE(parse_scale_actor("{not json"));
  EXPECT_FALSE(parse_scale_actor(""));
  EXPECT_FALSE(parse_scale_actor("[1,2]"));
}

TEST(Control, ScaleNegativeCount) {
  EXPECT_FALSE(parse_scale_actor(R"({"actor_id":"M","actor_ref":"x","count":-1})"));
}

TEST(Control, CountOverTheHostLimitIsRefusedWithItsText) {
  auto scale = parse_scale_actor(R"({"actor_id":"M","actor_ref":"x","count":2147483647})");
  ASSERT_FALSE(scale);
  EXPECT_EQ(scale.error().message, errors::kTooManyInstances);
  auto la = parse_launch_actor(R"({"actor_ref":"x","count":10001})");
  ASSERT_FALSE(la);
  EXPECT_EQ(la.error().message, errors::kTooManyInstances);
  auto at_limit = parse_scale_actor(R"({"actor_id":"M","actor_ref":"x","count":10000})");
  ASSERT_TRUE(at_limit);
  EXPECT_EQ(at_limit->count, 10000);
}

TEST(Control, ScaleCountWrongType) {
  EXPECT_FALSE(parse_scale_actor(R"({"actor_id":"M","actor_ref":"x","count":"1"})"));
}

TEST(Control, LaunchActorDefaults) {
  auto r = parse_launch_actor(R"({"actor_ref":"r"})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->count, 1);
  EXPECT_TRUE(r->annotations.empty());
  auto zero = parse_launch_actor(R"({"actor_ref":"r","count":0,"annotations":{"a":"b"}})");
  ASSERT_TRUE(zero);
  EXPECT_EQ(zero->count, 1);
  EXPECT_EQ(zero->annotations.at("a"), "b");
}

TEST(Control, LaunchActorMissingRef) {
  auto r = parse_launch_actor(R"({"count":1})");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, errors::kInvalidLaunchActor);
}

TEST(Control, StopActor) {
  auto r = parse_stop_actor(R"({"actor_ref":"MKEY","count":0})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->actor_id, "MKEY");
  EXPECT_EQ(parse_stop_actor(R"({"actor_ref":"MKEY"})").error().message, errors::kInvalidStopActor);
  EXPECT_FALSE(parse_stop_actor(R"({"actor_ref":"MKEY","count":-2})"));
  EXPECT_FALSE(parse_stop_actor(R"({"actor_ref":false,"count":1})"));
}

TEST(Control, UpdateActor) {
  EXPECT_TRUE(parse_update_actor(R"({"new_actor_ref":"x"})"));
  EXPECT_EQ(parse_update_actor("{}").error().message, errors::kInvalidUpdateActor);
}

TEST(Control, StopProviderNeeds56Chars) {
  EXPECT_EQ(
      parse_stop_provider(
          R"({"provider_ref":"wasmcloud.azurecr.io/httpserver:0.16.0","link_name":"default"})")
          .error()
          .message,
      errors::kInvalidStopProvider);
  EXPECT_TRUE(parse_stop_provider(
      R"({"provider_ref":"VAG3QITQQ2ODAOWB5TTQSDJ53XK3SHBEIFNK4AYJ5RKAX2UNSCAPHA5M","link_name":"default"})"));
}

TEST(Control, StartProvider) {
  EXPECT_EQ(parse_start_provider(R"({"provider_ref":"x"})").error().message,
            errors::kInvalidStartProvider);
}

TEST(Control, StopHost) {
  EXPECT_TRUE(parse_stop_host(R"({"timeout":5})"));
  auto bad = parse_stop_host("");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message.rfind(errors::kUnableToParseStopHost, 0), 0u);
}

TEST(Control, LinkdefPutComputesId) {
  auto r = parse_linkdef_put(
      R"({"actor_id":"MBCFOPM6JW2APJLXJD3Z5O4CN7CPYJ2B4FTKLJUR5YR5MITIU7HD3WD5","provider_id":"VAG3QITQQ2ODAOWB5TTQSDJ53XK3SHBEIFNK4AYJ5RKAX2UNSCAPHA5M","contract_id":"wasmcloud:httpserver","link_name":"default","values":{"address":"0.0.0.0:8080"},"id":"ignored"})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->id, "EC986307FC72C45DBA4699F5AD52702B09800138ACA24BC53339B929423947B6");
  EXPECT_EQ(r->values.at("address"), "0.0.0.0:8080");
  auto j = linkdef_json(*r);
  EXPECT_EQ(j.size(), 6u);
}

TEST(Control, LinkdefPutMissingProvider) {
  EXPECT_EQ(parse_linkdef_put(R"({"actor_id":"M","contract_id":"c","link_name":"default"})")
                .error()
                .message,
            errors::kInvalidLinkdefPut);
}

// linkdefs.put follows the wire layer's one `values` rule (rpc/messages.h; control-interface.md
// 2.4.4): absent, null and {} give {}, a non-object or a non-string value is refused.
nlohmann::json linkdef_put_body(const nlohmann::json* values) {
  nlohmann::json j = {
      {"actor_id", "M"}, {"provider_id", "V"}, {"contract_id", "c"}, {"link_name", "l"}};
  if (values != nullptr) j["values"] = *values;
  return j;
}

TEST(Control, LinkdefPutValuesAbsentNullOrEmptyIsEmpty) {
  const nlohmann::json null_value = nullptr, empty = nlohmann::json::object();
  for (const nlohmann::json* v :
       {static_cast<const nlohmann::json*>(nullptr), &null_value, &empty}) {
    auto r = parse_linkdef_put(linkdef_put_body(v).dump());
    ASSERT_TRUE(r) << (v ? v->dump() : "absent") << ": " << r.error().message;
    EXPECT_TRUE(r->values.empty());
    EXPECT_EQ(linkdef_json(*r).at("values"), nlohmann::json::object());
  }
}

TEST(Control, LinkdefPutMistypedValuesAreRefused) {
  for (const nlohmann::json& v : {nlohmann::json("a=b"), nlohmann::json::array({"a"}),
                                  nlohmann::json(false), nlohmann::json{{"a", 1}}}) {
    auto r = parse_linkdef_put(linkdef_put_body(&v).dump());
    ASSERT_FALSE(r) << v.dump();
    EXPECT_EQ(r.error().message, errors::kInvalidLinkdefPut) << v.dump();
  }
}

TEST(Control, LinkdefPutIgnoresAnyId) {
  nlohmann::json body = linkdef_put_body(nullptr);
  body["id"] = 42;  // ignored and recomputed, whatever its type (2.4.4)
  auto r = parse_linkdef_put(body.dump());
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->id, lattice::topics::linkdef_id("M", "c", "l"));
}

TEST(Control, LinkdefDel) {
  EXPECT_TRUE(parse_linkdef_del(R"({"actor_id":"M","contract_id":"c","link_name":"default"})"));
  EXPECT_EQ(parse_linkdef_del(R"({"actor_id":"M"})").error().message, errors::kInvalidLinkdefDel);
}

TEST(Control, Auctions) {
  auto a = parse_actor_auction(R"({"actor_ref":"r","constraints":{"zone":"us-east-1"}})");
  ASSERT_TRUE(a);
  EXPECT_TRUE(labels_satisfy({{"zone", "us-east-1"}, {"x", "y"}}, a->constraints));
  EXPECT_FALSE(labels_satisfy({{"zone", "us-west-1"}}, a->constraints));
  EXPECT_EQ(parse_actor_auction("{}").error().message, errors::kInvalidActorAuction);
  auto p = parse_provider_auction(R"({"provider_ref":"r"})");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->link_name, "default");
  EXPECT_EQ(parse_provider_auction("nope").error().message, errors::kInvalidProviderAuction);
}

TEST(Control, TopicParsing) {
  auto t = parse_control_topic("wasmbus.ctl.default.cmd.NHOST.scale", "wasmbus.ctl", "default");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->kind, "cmd");
  EXPECT_EQ(t->host, "NHOST");
  EXPECT_EQ(t->op, "scale");
  auto p = parse_control_topic("custom.ctl.prefix.blue.ping.hosts", "custom.ctl.prefix", "blue");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->kind, "ping");
  EXPECT_FALSE(parse_control_topic("wasmbus.ctl.other.ping.hosts", "wasmbus.ctl", "default"));
  EXPECT_FALSE(parse_control_topic("wasmbus.ctl.default.cmd", "wasmbus.ctl", "default"));
}

// --- Size and length limits (ours; the original had none: a 10 MB actor_ref was acknowledged) ---

using nlohmann::json;

TEST(ControlLimits, RequestSize) {
  EXPECT_TRUE(check_request_size(0));
  EXPECT_TRUE(check_request_size(kMaxControlRequestBytes));
  auto big = check_request_size(kMaxControlRequestBytes + 1);
  ASSERT_FALSE(big);
  EXPECT_EQ(big.error().message,
            errors::request_too_large(kMaxControlRequestBytes + 1, kMaxControlRequestBytes));
}

TEST(ControlLimits, ReferencesLongerThanOciAllowsAreRefusedByName) {
  const std::string at_limit(kMaxReferenceLength, 'r');
  const std::string over(kMaxReferenceLength + 1, 'r');
  EXPECT_TRUE(parse_launch_actor(json{{"actor_ref", at_limit}}.dump()));
  auto la = parse_launch_actor(json{{"actor_ref", over}}.dump());
  ASSERT_FALSE(la);
  EXPECT_EQ(la.error().message, errors::field_too_long("actor_ref", kMaxReferenceLength));
  auto sc = parse_scale_actor(json{{"actor_id", "M"}, {"actor_ref", over}, {"count", 1}}.dump());
  ASSERT_FALSE(sc);
  EXPECT_EQ(sc.error().message, errors::field_too_long("actor_ref", kMaxReferenceLength));
  auto up = parse_update_actor(json{{"new_actor_ref", over}}.dump());
  ASSERT_FALSE(up);
  EXPECT_EQ(up.error().message, errors::field_too_long("new_actor_ref", kMaxReferenceLength));
  auto lp = parse_start_provider(json{{"provider_ref", over}, {"link_name", "default"}}.dump());
  ASSERT_FALSE(lp);
  EXPECT_EQ(lp.error().message, errors::field_too_long("provider_ref", kMaxReferenceLength));
  auto aa = parse_actor_auction(json{{"actor_ref", over}}.dump());
  ASSERT_FALSE(aa);
  EXPECT_EQ(aa.error().message, errors::field_too_long("actor_ref", kMaxReferenceLength));
  auto pa = parse_provider_auction(json{{"provider_ref", over}}.dump());
  ASSERT_FALSE(pa);
  EXPECT_EQ(pa.error().message, errors::field_too_long("provider_ref", kMaxReferenceLength));
}

TEST(ControlLimits, IdentifiersAreBounded) {
  const std::string over(kMaxIdentifierLength + 1, 'M');
  auto sc = parse_scale_actor(json{{"actor_id", over}, {"actor_ref", "r"}, {"count", 1}}.dump());
  ASSERT_FALSE(sc);
  EXPECT_EQ(sc.error().message, errors::field_too_long("actor_id", kMaxIdentifierLength));
  auto sa = parse_stop_actor(json{{"actor_ref", over}, {"count", 1}}.dump());
  ASSERT_FALSE(sa);
  EXPECT_EQ(sa.error().message, errors::field_too_long("actor_ref", kMaxIdentifierLength));
  auto lp = parse_start_provider(json{{"provider_ref", "r"}, {"link_name", over}}.dump());
  ASSERT_FALSE(lp);
  EXPECT_EQ(lp.error().message, errors::field_too_long("link_name", kMaxIdentifierLength));
  auto ld = parse_linkdef_put(json{
      {"actor_id", "M"},
      {"provider_id", "V"},
      {"contract_id", over},
      {"link_name", "default"}}.dump());
  ASSERT_FALSE(ld);
  EXPECT_EQ(ld.error().message, errors::field_too_long("contract_id", kMaxIdentifierLength));
  auto del = parse_linkdef_del(
      json{{"actor_id", over}, {"contract_id", "c"}, {"link_name", "default"}}.dump());
  ASSERT_FALSE(del);
  EXPECT_EQ(del.error().message, errors::field_too_long("actor_id", kMaxIdentifierLength));
}

TEST(ControlLimits, ProviderLinkNameMustBeOneSubjectToken) {
  // The link name ends the provider's RPC subject: "a.>" would widen its subscription.
  for (const char* bad : {"a.>", ">", "*", "x.y", "two words", "tab\there"}) {
    auto lp = parse_start_provider(json{{"provider_ref", "r"}, {"link_name", bad}}.dump());
    ASSERT_FALSE(lp) << bad;
    EXPECT_EQ(lp.error().message, errors::kLinkNameNotSubjectToken) << bad;
  }
  auto ok = parse_start_provider(json{{"provider_ref", "r"}, {"link_name", "my-link_2"}}.dump());
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->link_name, "my-link_2");
}

TEST(ControlLimits, AnnotationsAreBounded) {
  json ok_ann = json::object();
  for (std::size_t i = 0; i < kMaxAnnotations; ++i) ok_ann["k" + std::to_string(i)] = "v";
  EXPECT_TRUE(parse_launch_actor(json{{"actor_ref", "r"}, {"annotations", ok_ann}}.dump()));
  json many = ok_ann;
  many["one-more"] = "v";
  auto r = parse_launch_actor(json{{"actor_ref", "r"}, {"annotations", many}}.dump());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, errors::too_many_entries("annotations", kMaxAnnotations));
  auto long_value = parse_launch_actor(json{
      {"actor_ref", "r"}, {"annotations", {{"k", std::string(kMaxAnnotationValueLength + 1, 'v')}}}}
                                           .dump());
  ASSERT_FALSE(long_value);
  EXPECT_EQ(long_value.error().message,
            errors::field_too_long("annotations", kMaxAnnotationValueLength));
  auto long_key =
      parse_stop_actor(json{{"actor_ref", "M"},
                            {"count", 1},
                            {"annotations", {{std::string(kMaxIdentifierLength + 1, 'k'), "v"}}}}
                           .dump());
  ASSERT_FALSE(long_key);
  EXPECT_EQ(long_key.error().message, errors::field_too_long("annotations", kMaxIdentifierLength));
  auto lp = parse_start_provider(
      json{{"provider_ref", "r"}, {"link_name", "default"}, {"annotations", many}}.dump());
  ASSERT_FALSE(lp);
  EXPECT_EQ(lp.error().message, errors::too_many_entries("annotations", kMaxAnnotations));
}

TEST(ControlLimits, LinkValuesAreBounded) {
  auto put = [](const json& values) {
    return parse_linkdef_put(json{
        {"actor_id", "M"},
        {"provider_id", "V"},
        {"contract_id", "c"},
        {"link_name", "default"},
        {"values", values}}.dump());
  };
  EXPECT_TRUE(put({{"address", std::string(kMaxLinkValueLength, 'a')}}));
  auto long_value = put({{"address", std::string(kMaxLinkValueLength + 1, 'a')}});
  ASSERT_FALSE(long_value);
  EXPECT_EQ(long_value.error().message, errors::field_too_long("values", kMaxLinkValueLength));
  json many = json::object();
  for (std::size_t i = 0; i <= kMaxLinkValues; ++i) many["k" + std::to_string(i)] = "v";
  auto r = put(many);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, errors::too_many_entries("values", kMaxLinkValues));
}

}  // namespace
}  // namespace wc::host

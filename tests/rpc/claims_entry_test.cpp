// Claims entries (rpc/claims_entry.h): the CLAIMS_* value of control-interface.md 5.3 and the
// entries of `get.claims` (2.4.2).
#include "rpc/claims_entry.h"

#include <gtest/gtest.h>

namespace wc::rpc {
namespace {

ClaimsEntry echo_actor() {
  ClaimsEntry c;
  c.sub = "MBCFOPM6JW2APJLXJD3Z5O4CN7CPYJ2B4FTKLJUR5YR5MITIU7HD3WD5";
  c.iss = "ACOJJN6WUP4ODD75XEBKKTCCUJJCY5ZKQ56XVKYK4BEJWGVAOOQHZMCW";
  c.name = "Echo";
  c.caps = "wasmcloud:httpserver";
  c.rev = "4";
  c.version = "0.3.4";
  return c;
}

TEST(ClaimsEntry, ActorJsonShape) {
  EXPECT_EQ(
      claims_entry_to_json(echo_actor()),
      nlohmann::json::parse(R"({"sub":"MBCFOPM6JW2APJLXJD3Z5O4CN7CPYJ2B4FTKLJUR5YR5MITIU7HD3WD5",
              "iss":"ACOJJN6WUP4ODD75XEBKKTCCUJJCY5ZKQ56XVKYK4BEJWGVAOOQHZMCW","name":"Echo",
              "call_alias":"","caps":"wasmcloud:httpserver","tags":"","rev":"4",
              "version":"0.3.4","contract_id":""})"));
}

TEST(ClaimsEntry, UnsetVersionIsNullAndSchemaOnlyWhenSet) {
  ClaimsEntry c = echo_actor();
  c.version.reset();
  auto j = claims_entry_to_json(c);
  EXPECT_TRUE(j.at("version").is_null());
  EXPECT_FALSE(j.contains("config_schema"));
  c.config_schema = R"({"type":"object"})";
  EXPECT_EQ(claims_entry_to_json(c).at("config_schema"), R"({"type":"object"})");
}

TEST(ClaimsEntry, RoundTrip) {
  ClaimsEntry c = echo_actor();
  c.config_schema = "{}";
  auto back = claims_entry_from_json(claims_entry_to_json(c));
  ASSERT_TRUE(back.has_value()) << back.error().message;
  EXPECT_EQ(*back, c);
}

TEST(ClaimsEntry, NullAndAbsentFieldsTakeDefaults) {
  auto c =
      claims_entry_from_json(nlohmann::json::parse(R"({"sub":"MX","name":null,"version":null})"));
  ASSERT_TRUE(c.has_value()) << c.error().message;
  EXPECT_EQ(c->name, "");
  EXPECT_EQ(c->iss, "");
  EXPECT_EQ(c->rev, "0");
  EXPECT_FALSE(c->version.has_value());
  EXPECT_FALSE(c->config_schema.has_value());
}

TEST(ClaimsEntry, MissingSubFails) {
  for (const char* text : {R"({})", R"({"sub":null})", R"({"sub":""})"}) {
    auto c = claims_entry_from_json(nlohmann::json::parse(text));
    ASSERT_FALSE(c.has_value()) << text;
    EXPECT_EQ(c.error().message, "claims entry: missing field `sub`") << text;
  }
}

TEST(ClaimsEntry, MistypedFieldFails) {
  auto c = claims_entry_from_json(nlohmann::json::parse(R"({"sub":"MX","rev":4})"));
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().code, Code::kInvalidArgument);
  EXPECT_EQ(c.error().message, "claims entry: `rev` is not a string");
  EXPECT_FALSE(claims_entry_from_json(nlohmann::json::array()).has_value());
}

}  // namespace
}  // namespace wc::rpc

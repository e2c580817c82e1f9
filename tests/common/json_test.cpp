// Lenient JSON member reads (src/common/json.h, issue #12.1): a null, absent or mistyped member
// yields the fallback where nlohmann's value(key, default) throws type_error.
#include "common/json.h"

#include <gtest/gtest.h>

namespace wc {
namespace {

using nlohmann::json;

TEST(LenientJson, NlohmannValueThrowsOnNullMember) {
  // The trap these helpers exist for.
  const json j = json::parse(R"({"message":null})");
  EXPECT_THROW((void)j.value("message", std::string()), json::type_error);
}

TEST(LenientJson, StringMember) {
  const json j = json::parse(R"({"s":"text","n":null,"i":3,"o":{},"a":[]})");
  EXPECT_EQ(json_string(j, "s"), "text");
  EXPECT_EQ(json_string(j, "n", "fb"), "fb");
  EXPECT_EQ(json_string(j, "i", "fb"), "fb");
  EXPECT_EQ(json_string(j, "o", "fb"), "fb");
  EXPECT_EQ(json_string(j, "a"), "");
  EXPECT_EQ(json_string(j, "missing", "fb"), "fb");
  EXPECT_EQ(json_string(json(nullptr), "s", "fb"), "fb");
  EXPECT_EQ(json_string(json::array({1}), "s", "fb"), "fb");
  EXPECT_EQ(json_string(json("s"), "s", "fb"), "fb");
}

TEST(LenientJson, IntMember) {
  const json j = json::parse(
      R"({"i":-7,"u":10074,"big":18446744073709551615,"f":1.5,"s":"3","n":null,"b":true})");
  EXPECT_EQ(json_int(j, "i", 0), -7);
  EXPECT_EQ(json_int(j, "u", 0), 10074);
  EXPECT_EQ(json_int(j, "big", 1), 1);
  EXPECT_EQ(json_int(j, "f", 1), 1);
  EXPECT_EQ(json_int(j, "s", 1), 1);
  EXPECT_EQ(json_int(j, "n", 1), 1);
  EXPECT_EQ(json_int(j, "b", 1), 1);
  EXPECT_EQ(json_int(j, "missing", 2), 2);
  EXPECT_EQ(json_int(json(nullptr), "i", 2), 2);
}

TEST(LenientJson, BoolMemberAndMember) {
  const json j = json::parse(R"({"t":true,"n":null,"s":"true"})");
  EXPECT_TRUE(json_bool(j, "t", false));
  EXPECT_FALSE(json_bool(j, "n", false));
  EXPECT_TRUE(json_bool(j, "s", true));
  EXPECT_FALSE(json_bool(json::array(), "t", false));
  ASSERT_NE(json_member(j, "n"), nullptr);
  EXPECT_TRUE(json_member(j, "n")->is_null());
  EXPECT_EQ(json_member(j, "missing"), nullptr);
  EXPECT_EQ(json_member(json(5), "t"), nullptr);
}

}  // namespace
}  // namespace wc

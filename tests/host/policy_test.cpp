#include "host/policy.h"

#include <gtest/gtest.h>

#include "host/errors.h"

namespace wc::host {
namespace {

using nlohmann::json;

TEST(Policy, DisabledPermits) {
  int calls = 0;
  PolicyManager pm("", std::chrono::milliseconds(10), json::object(),
                   [&](auto&, auto&, auto) -> Result<std::string> {
                     ++calls;
                     return std::string("{}");
                   });
  auto d = pm.evaluate("start_actor", PolicyManager::default_source(), json::object());
  EXPECT_TRUE(d.permitted);
  EXPECT_EQ(d.message, errors::kPolicyDisabled);
  EXPECT_EQ(calls, 0);
}

TEST(Policy, TimeoutDenies) {
  PolicyManager pm("p", std::chrono::milliseconds(10), json::object(),
                   [](auto&, auto&, auto) -> Result<std::string> {
                     return fail(Code::kDeadlineExceeded, "timeout");
                   });
  auto d = pm.evaluate("start_actor", json::object(), json::object());
  EXPECT_FALSE(d.permitted);
  EXPECT_EQ(d.message, errors::kPolicyTimedOut);
}

TEST(Policy, NoRespondersDenies) {
  PolicyManager pm("p", std::chrono::milliseconds(10), json::object(),
                   [](auto&, auto&, auto) -> Result<std::string> {
                     return fail(Code::kUnavailable, "no responders");
                   });
  EXPECT_EQ(pm.evaluate("a", json::object(), json::object()).message, errors::kPolicyNoResponders);
}

TEST(Policy, UndecodableDenies) {
  PolicyManager pm("p", std::chrono::milliseconds(10), json::object(),
                   [](auto&, auto&, auto) -> Result<std::string> {
                     return std::string(R"({"message":"no permitted key"})");
                   });
  auto d = pm.evaluate("a", json::object(), json::object());
  EXPECT_FALSE(d.permitted);
  EXPECT_EQ(d.message, errors::kPolicyDecodeFailed);
}

TEST(Policy, DecisionsCachedAndOverridable) {
  int calls = 0;
  json seen;
  PolicyManager pm(
      "p", std::chrono::milliseconds(10), json{{"publicKey", "NHOST"}},
      [&](auto& subject, auto& body, auto) -> Result<std::string> {
        ++calls;
        EXPECT_EQ(subject, "p");
        seen = json::parse(body);
        return json{{"permitted", true}, {"message", "ok"}, {"requestId", "r1"}}.dump();
      });
  json src{{"publicKey", "M1"}}, tgt{{"publicKey", "M2"}};
  EXPECT_TRUE(pm.evaluate("perform_invocation", src, tgt).permitted);
  EXPECT_TRUE(pm.evaluate("perform_invocation", src, tgt).permitted);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(seen["action"], "perform_invocation");
  EXPECT_EQ(seen["host"]["publicKey"], "NHOST");
  EXPECT_EQ(pm.apply_change(R"({"request_id":"r1","permitted":false,"message":"revoked"})"),
            R"({"success":true})");
  auto d = pm.evaluate("perform_invocation", src, tgt);
  EXPECT_FALSE(d.permitted);
  EXPECT_EQ(d.message, "revoked");
  EXPECT_EQ(pm.apply_change("garbage"), R"({"success":false})");
}

// The wasmCloud example policy service answers `"message": null`; every field of a decision may be
// null or absent. A permit stays a permit; the message becomes "", the request id the host's own.
TEST(Policy, NullOrAbsentFieldsDecodeLeniently) {
  json sent;
  PolicyManager pm("p", std::chrono::milliseconds(10), json::object(),
                   [&](auto&, auto& body, auto) -> Result<std::string> {
                     sent = json::parse(body);
                     return std::string(R"({"permitted":true,"message":null,"requestId":null})");
                   });
  auto d = pm.evaluate("start_actor", json::object(), json{{"publicKey", "M1"}});
  EXPECT_TRUE(d.permitted);
  EXPECT_EQ(d.message, "");
  EXPECT_EQ(d.request_id, sent["requestId"]);

  PolicyManager absent("p", std::chrono::milliseconds(10), json::object(),
                       [](auto&, auto&, auto) -> Result<std::string> {
                         return std::string(R"({"permitted":false})");
                       });
  auto a = absent.evaluate("start_actor", json::object(), json::object());
  EXPECT_FALSE(a.permitted);
  EXPECT_EQ(a.message, "");
  EXPECT_FALSE(a.request_id.empty());

  // Fields of the wrong type are treated as absent rather than failing the decision.
  PolicyManager odd("p", std::chrono::milliseconds(10), json::object(),
                    [](auto&, auto&, auto) -> Result<std::string> {
                      return std::string(R"({"permitted":true,"message":42,"requestId":[1]})");
                    });
  auto o = odd.evaluate("start_actor", json::object(), json::object());
  EXPECT_TRUE(o.permitted);
  EXPECT_EQ(o.message, "");
  EXPECT_FALSE(o.request_id.empty());
}

// Without a boolean `permitted` there is no decision: denied (fail closed), never a throw.
TEST(Policy, NullPermittedDeniesAsUndecodable) {
  PolicyManager pm("p", std::chrono::milliseconds(10), json::object(),
                   [](auto&, auto&, auto) -> Result<std::string> {
                     return std::string(R"({"permitted":null,"message":null,"requestId":null})");
                   });
  auto d = pm.evaluate("start_actor", json::object(), json::object());
  EXPECT_FALSE(d.permitted);
  EXPECT_EQ(d.message, errors::kPolicyDecodeFailed);
}

// A policy change (8.4) with a null or absent message still applies (message "").
TEST(Policy, ChangeWithNullMessageApplies) {
  PolicyManager pm(
      "p", std::chrono::milliseconds(10), json::object(),
      [](auto&, auto&, auto) -> Result<std::string> {
        return json{{"permitted", true}, {"message", "ok"}, {"requestId", "r1"}}.dump();
      });
  json src{{"publicKey", "M1"}}, tgt{{"publicKey", "M2"}};
  ASSERT_TRUE(pm.evaluate("perform_invocation", src, tgt).permitted);
  EXPECT_EQ(pm.apply_change(R"({"request_id":"r1","permitted":false,"message":null})"),
            R"({"success":true})");
  auto d = pm.evaluate("perform_invocation", src, tgt);
  EXPECT_FALSE(d.permitted);
  EXPECT_EQ(d.message, "");
  EXPECT_EQ(pm.apply_change(R"({"request_id":"r1","permitted":true})"), R"({"success":true})");
  EXPECT_TRUE(pm.evaluate("perform_invocation", src, tgt).permitted);
  EXPECT_EQ(pm.apply_change(R"({"request_id":"r1","permitted":null})"), R"({"success":false})");
}

}  // namespace
}  // namespace wc::host

// The actions' reply helpers and registry rules (src/web/actions.h) without a lattice. The
// actions themselves (control requests against a scripted host): server_test.cpp.
#include <gtest/gtest.h>

#include "web/actions.h"

namespace wc::web {
namespace {

TEST(Replies, AcceptedAndRefusedShapes) {
  auto a = accepted(nlohmann::json{{"host_id", "N1"}});
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.body, (nlohmann::json{{"host_id", "N1"}, {"accepted", true}, {"error", ""}}));
  auto r = refused(400, "bad");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.body, (nlohmann::json{{"accepted", false}, {"error", "bad"}}));
}

TEST(Replies, LatticeFailuresInTheOriginalsWords) {
  EXPECT_EQ(lattice_failure({Code::kUnavailable, "x"}, "none", "late").body["error"], "none");
  EXPECT_EQ(lattice_failure({Code::kDeadlineExceeded, "x"}, "none", "late").body["error"], "late");
  auto other = lattice_failure({Code::kInvalidArgument, "not an ack"}, "none", "late");
  EXPECT_EQ(other.status, 502);
  EXPECT_EQ(other.body["error"], "not an ack");
}

TEST(Registries, LoopbackAddresses) {
  EXPECT_TRUE(is_loopback_registry("127.0.0.1:5000"));
  EXPECT_TRUE(is_loopback_registry("127.1.2.3"));
  EXPECT_TRUE(is_loopback_registry("localhost:5000"));
  EXPECT_TRUE(is_loopback_registry("[::1]:5000"));
  EXPECT_FALSE(is_loopback_registry("registry.io:5000"));
  EXPECT_FALSE(is_loopback_registry("10.0.0.1:5000"));
}

TEST(Registries, PlainHttpForAllowedAndLoopbackOnes) {
  EXPECT_EQ(insecure_registries("127.0.0.1:5000", {"reg.lan:5000"}, "reg.io/echo:1"),
            (std::vector<std::string>{"reg.lan:5000", "127.0.0.1:5000"}));
  EXPECT_EQ(insecure_registries("reg.io", {}, "localhost:5001/echo:1"),
            (std::vector<std::string>{"localhost:5001"}));
  EXPECT_TRUE(insecure_registries("reg.io", {}, "reg.io/echo:1").empty());
  EXPECT_TRUE(insecure_registries("reg.io", {}, "not a reference").empty());
}

}  // namespace
}  // namespace wc::web

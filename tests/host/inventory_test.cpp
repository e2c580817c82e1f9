#include "host/inventory.h"

#include <gtest/gtest.h>

#include "host/errors.h"

namespace wc::host {
namespace {

TEST(ScalePlan, NothingWhenEqual) {
  EXPECT_EQ(plan_scale(2, "r", "r", 2).kind, ScalePlan::Kind::kNothing);
}

TEST(ScalePlan, StopsDifference) {
  auto p = plan_scale(3, "r", "", 1);
  EXPECT_EQ(p.kind, ScalePlan::Kind::kStop);
  EXPECT_EQ(p.count, 2);
}

TEST(ScalePlan, StartsFromRequestedRef) {
  auto p = plan_scale(0, "", "reg/echo:1", 3);
  EXPECT_EQ(p.kind, ScalePlan::Kind::kStart);
  EXPECT_EQ(p.count, 3);
  EXPECT_EQ(p.reference, "reg/echo:1");
}

TEST(ScalePlan, FallsBackToRunningRef) {
  auto p = plan_scale(1, "reg/echo:1", "", 3);
  EXPECT_EQ(p.kind, ScalePlan::Kind::kStart);
  EXPECT_EQ(p.count, 2);
  EXPECT_EQ(p.reference, "reg/echo:1");
}

TEST(ScalePlan, ErrorWithoutRef) {
  auto p = plan_scale(0, "", "", 3);
  EXPECT_EQ(p.kind, ScalePlan::Kind::kError);
  EXPECT_EQ(p.error, errors::kScaleWithoutReference);
}

// Filter first, then take `count` of the matches (ours; OTP took the first `count` instances and
// then filtered, so a stop with annotations could halt nothing while matches were running).
TEST(StopSelection, FilterThenCount) {
  std::vector<InstanceInfo> v(4);
  v[0].annotations = {};
  v[1].annotations = {{"foo", "bar"}};
  v[2].annotations = {{"foo", "baz"}};
  v[3].annotations = {{"foo", "bar"}, {"x", "y"}};
  // The reported case: one instance without annotations first, one matching after it.
  EXPECT_EQ(select_instances_to_stop(v, 1, {{"foo", "bar"}}), (std::vector<std::size_t>{1}));
  EXPECT_EQ(select_instances_to_stop(v, 2, {{"foo", "bar"}}), (std::vector<std::size_t>{1, 3}));
  EXPECT_EQ(select_instances_to_stop(v, 5, {{"foo", "bar"}}), (std::vector<std::size_t>{1, 3}));
  // count 0 = every match.
  EXPECT_EQ(select_instances_to_stop(v, 0, {{"foo", "bar"}}), (std::vector<std::size_t>{1, 3}));
  EXPECT_EQ(select_instances_to_stop(v, 0, {{"foo", "bar"}, {"x", "y"}}),
            (std::vector<std::size_t>{3}));
  EXPECT_TRUE(select_instances_to_stop(v, 0, {{"foo", "nope"}}).empty());
  // Empty filter: the first `count` instances in registry order, or all.
  EXPECT_EQ(select_instances_to_stop(v, 2, {}), (std::vector<std::size_t>{0, 1}));
  EXPECT_EQ(select_instances_to_stop(v, 0, {}), (std::vector<std::size_t>{0, 1, 2, 3}));
  EXPECT_TRUE(select_instances_to_stop({}, 3, {{"foo", "bar"}}).empty());
}

TEST(Inventory, Shapes) {
  HostFacts f;
  f.host_id = "NHOST";
  f.issuer = "CKEY";
  f.friendly_name = "quiet-lake-1";
  f.labels = {{"hostcore.os", "linux"}};
  f.uptime_seconds = 182;
  f.cluster_issuers = {"C1", "C2"};
  f.lattice_prefix = "default";
  ActorInfo a{"MKEY", "Echo", {{"i1", {{"k", "v"}}, "reg/echo:1", 4}, {"i2", {}, "reg/echo:1", 4}}};
  auto inv = inventory_json(f, {a});
  EXPECT_EQ(inv["host_id"], "NHOST");
  EXPECT_EQ(inv["actors"][0]["image_ref"], "reg/echo:1");
  EXPECT_EQ(inv["actors"][0]["instances"].size(), 2u);
  EXPECT_EQ(inv["actors"][0]["instances"][0]["revision"], 4);
  EXPECT_TRUE(inv["providers"].is_array());
  auto ping = ping_reply_json(f);
  EXPECT_EQ(ping["cluster_issuers"], "C1,C2");
  EXPECT_EQ(ping["uptime_human"], "3 minutes, 2 seconds");
  EXPECT_TRUE(ping["js_domain"].is_null());
  EXPECT_EQ(ping["version"], "0.63.2");
  auto hb = heartbeat_json(f, {a});
  EXPECT_EQ(hb["actors"]["MKEY"], 2);
}

}  // namespace
}  // namespace wc::host

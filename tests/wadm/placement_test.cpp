// Unit tests of the placement math (src/wadm/placement.h): the weighted split and its
// remainder rule, label matching, placement on hosts, daemonscalers, unsatisfiable spreads.
#include "wadm/placement.h"

#include <gtest/gtest.h>

#include <numeric>
#include <vector>

namespace wc::wadm {
namespace {

Spread spread(std::string name, std::map<std::string, std::string> req, std::uint32_t weight) {
  return Spread{std::move(name), std::move(req), weight};
}

/// Five hosts labelled as wadm's end-to-end tests labelled theirs (v1-and-wadm.md 5.4).
std::vector<HostLabels> e2e_hosts() {
  return {{"NE1", {{"region", "us-brooks-east"}}},
          {"NE2", {{"region", "us-brooks-east"}}},
          {"NW1", {{"region", "us-taylor-west"}}},
          {"NW2", {{"region", "us-taylor-west"}}},
          {"NM1", {{"region", "moon"}, {"tier", "gold"}}}};
}

std::vector<std::uint32_t> shares_of(const ScalerProperties& p) {
  std::vector<std::uint32_t> out;
  for (const auto& s : split_replicas(p)) out.push_back(s.replicas);
  return out;
}

TEST(SplitReplicas, WeightedFiveAtFortyFortyTwenty) {
  ScalerProperties p{5, {spread("east", {}, 40), spread("west", {}, 40), spread("moon", {}, 20)}};
  auto s = split_replicas(p);
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s[0].spread, "east");
  EXPECT_EQ(shares_of(p), (std::vector<std::uint32_t>{2, 2, 1}));
}

TEST(SplitReplicas, RemaindersGoToLargestRemainderThenFirstDeclared) {
  // 4 at 1/1/1: 1 each, one left; equal remainders -> the first declared.
  EXPECT_EQ(shares_of({4, {spread("a", {}, 1), spread("b", {}, 1), spread("c", {}, 1)}}),
            (std::vector<std::uint32_t>{2, 1, 1}));
  // 3 at 20/40/40: exact shares 0.6/1.2/1.2 -> floors 0/1/1, the remainder to `a` (0.6).
  EXPECT_EQ(shares_of({3, {spread("a", {}, 20), spread("b", {}, 40), spread("c", {}, 40)}}),
            (std::vector<std::uint32_t>{1, 1, 1}));
  // 7 at 50/30/20 -> 3.5/2.1/1.4 -> floors 3/2/1, one left to `a` (largest remainder 0.5).
  EXPECT_EQ(shares_of({7, {spread("a", {}, 50), spread("b", {}, 30), spread("c", {}, 20)}}),
            (std::vector<std::uint32_t>{4, 2, 1}));
  // 2 at 40/40 (complex.yaml's echo has two spreads of 40 for 5): 5 -> 3/2.
  EXPECT_EQ(shares_of({5, {spread("east", {}, 40), spread("west", {}, 40)}}),
            (std::vector<std::uint32_t>{3, 2}));
}

TEST(SplitReplicas, SumIsAlwaysTheReplicasAndDeterministic) {
  for (std::uint32_t r = 0; r < 60; ++r) {
    ScalerProperties p{
        r, {spread("a", {}, 7), spread("b", {}, 100), spread("c", {}, 13), spread("d", {}, 1)}};
    auto s = shares_of(p);
    EXPECT_EQ(std::accumulate(s.begin(), s.end(), 0u), r) << r;
    EXPECT_EQ(s, shares_of(p));
  }
}

TEST(SplitReplicas, NoSpreadIsOneDefaultSpread) {
  auto s = split_replicas({4, {}});
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].spread, "default");
  EXPECT_EQ(s[0].replicas, 4u);
}

TEST(HostMatches, EveryRequirementMustHoldWithTheSameValue) {
  std::map<std::string, std::string> labels{{"region", "moon"}, {"tier", "gold"}};
  EXPECT_TRUE(host_matches({}, labels));
  EXPECT_TRUE(host_matches({{"region", "moon"}}, labels));
  EXPECT_TRUE(host_matches({{"region", "moon"}, {"tier", "gold"}}, labels));
  EXPECT_FALSE(host_matches({{"region", "mars"}}, labels));
  EXPECT_FALSE(host_matches({{"region", "moon"}, {"zone", "a"}}, labels));
  EXPECT_FALSE(host_matches({{"region", "moon"}}, {}));
}

TEST(PlaceSpreadscaler, WeightedSpreadOverLabelledHosts) {
  ScalerProperties p{5,
                     {spread("eastcoast", {{"region", "us-brooks-east"}}, 40),
                      spread("westcoast", {{"region", "us-taylor-west"}}, 40),
                      spread("the-moon", {{"region", "moon"}}, 20)}};
  auto hosts = e2e_hosts();
  auto placed = place_spreadscaler(p, hosts);
  ASSERT_TRUE(placed.has_value()) << placed.error().message;
  ASSERT_EQ(placed->size(), 3u);
  EXPECT_EQ((*placed)[0].replicas, 2u);
  ASSERT_EQ((*placed)[0].hosts.size(), 2u);
  EXPECT_EQ((*placed)[0].hosts[0].host_id, "NE1");
  EXPECT_EQ((*placed)[0].hosts[0].replicas, 1u);
  EXPECT_EQ((*placed)[0].hosts[1].host_id, "NE2");
  EXPECT_EQ((*placed)[1].replicas, 2u);
  EXPECT_EQ((*placed)[1].hosts[1].host_id, "NW2");
  ASSERT_EQ((*placed)[2].hosts.size(), 1u);
  EXPECT_EQ((*placed)[2].hosts[0].host_id, "NM1");
  EXPECT_EQ((*placed)[2].hosts[0].replicas, 1u);
}

TEST(PlaceSpreadscaler, RoundRobinInHostIdOrderAndZeroHostsLeftOut) {
  std::vector<HostLabels> hosts{{"H3", {}}, {"H1", {}}, {"H2", {}}};
  auto four = place_spreadscaler({4, {}}, hosts);
  ASSERT_TRUE(four.has_value());
  ASSERT_EQ((*four)[0].hosts.size(), 3u);
  EXPECT_EQ((*four)[0].hosts[0].host_id, "H1");
  EXPECT_EQ((*four)[0].hosts[0].replicas, 2u);
  EXPECT_EQ((*four)[0].hosts[2].host_id, "H3");
  EXPECT_EQ((*four)[0].hosts[2].replicas, 1u);
  auto one = place_spreadscaler({1, {}}, hosts);
  ASSERT_TRUE(one.has_value());
  ASSERT_EQ((*one)[0].hosts.size(), 1u);
  EXPECT_EQ((*one)[0].hosts[0].host_id, "H1");
  auto none = place_spreadscaler({0, {spread("x", {{"region", "nowhere"}}, 1)}}, hosts);
  ASSERT_TRUE(none.has_value()) << "nothing to place is never unsatisfiable";
  EXPECT_TRUE((*none)[0].hosts.empty());
}

TEST(PlaceSpreadscaler, UnsatisfiableSpreadNamesTheUnmetRequirement) {
  auto hosts = e2e_hosts();
  auto r = place_spreadscaler({3,
                               {spread("east", {{"region", "us-brooks-east"}}, 50),
                                spread("mars", {{"region", "mars"}}, 50)}},
                              hosts);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().code, Code::kNotFound);
  EXPECT_EQ(r.error().message, "spread 'mars' cannot be placed: no host has label region=mars");
  // Each label exists on some host, never together.
  auto both = place_spreadscaler(
      {1, {spread("mix", {{"region", "us-brooks-east"}, {"tier", "gold"}}, 1)}}, hosts);
  ASSERT_FALSE(both.has_value());
  EXPECT_EQ(both.error().message,
            "spread 'mix' cannot be placed: no host has all of the labels region=us-brooks-east, "
            "tier=gold");
  auto empty = place_spreadscaler({1, {}}, std::span<const HostLabels>());
  ASSERT_FALSE(empty.has_value());
  EXPECT_EQ(empty.error().message, "spread 'default' cannot be placed: no hosts in the lattice");
}

TEST(PlaceSpreadscaler, ProviderCapOfOnePerHost) {
  auto hosts = e2e_hosts();
  auto ok = place_spreadscaler({2, {spread("east", {{"region", "us-brooks-east"}}, 1)}}, hosts, 1);
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ((*ok)[0].hosts.size(), 2u);
  auto r = place_spreadscaler({3, {spread("east", {{"region", "us-brooks-east"}}, 1)}}, hosts, 1);
  ASSERT_FALSE(r.has_value());
  EXPECT_EQ(r.error().message,
            "spread 'east' cannot be placed: it needs 3 hosts matching region=us-brooks-east (at "
            "most 1 per host), found 2");
}

TEST(PlaceDaemonscaler, ReplicasOnEveryMatchingHost) {
  auto hosts = e2e_hosts();
  auto all = place_daemonscaler({2, {}}, hosts);
  ASSERT_TRUE(all.has_value());
  ASSERT_EQ((*all)[0].hosts.size(), 5u);
  EXPECT_EQ((*all)[0].replicas, 10u);
  for (const auto& h : (*all)[0].hosts) EXPECT_EQ(h.replicas, 2u);
  auto west = place_daemonscaler({1, {spread("west", {{"region", "us-taylor-west"}}, 100)}}, hosts);
  ASSERT_TRUE(west.has_value());
  ASSERT_EQ((*west)[0].hosts.size(), 2u);
  EXPECT_EQ((*west)[0].hosts[0].host_id, "NW1");
  EXPECT_EQ((*west)[0].hosts[1].host_id, "NW2");
  auto moon = place_daemonscaler({1, {spread("dark-side", {{"side", "dark"}}, 100)}}, hosts);
  ASSERT_FALSE(moon.has_value());
  EXPECT_EQ(moon.error().message,
            "spread 'dark-side' cannot be placed: no host has label side=dark");
  auto capped = place_daemonscaler({2, {}}, hosts, 1);
  ASSERT_FALSE(capped.has_value());
  EXPECT_EQ(capped.error().code, Code::kInvalidArgument);
}

}  // namespace
}  // namespace wc::wadm

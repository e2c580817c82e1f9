// LatticeStateWriter and the wadm_state merges (host/lattice_state.h) against an in-memory
// key-value map: the record shapes the v1 lattice client and wadm read, two hosts sharing the
// keys, removal on stop, coalescing of fast changes into few writes.
#include "host/lattice_state.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <thread>

namespace wc::host {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

HostStateView view_of(const std::string& host, const std::string& component, std::uint64_t count,
                      const std::string& provider) {
  HostStateView v;
  v.host_id = host;
  v.friendly_name = "fn-" + host;
  v.version = "0.63.2";
  v.last_seen = "2026-12-07T22:00:00.000000Z";
  v.labels = {{"zone", "a"}};
  v.uptime_seconds = 5;
  if (count > 0) {
    v.components.push_back(
        {component, "Echo", "ACCOUNT", "localhost:5000/echo:0.3", {{{{"k", "v"}}, count}}});
  }
  if (!provider.empty())
    v.providers.push_back({provider, "HTTP", "ACCOUNT", "localhost:5000/http:0.1", {{"a", "b"}}});
  return v;
}

TEST(WadmStateMerge, HostRecordHasEveryFieldTheClientReads) {
  HostStateView v = view_of("NHOST1", "echo", 2, "httpserver");
  json m = json::parse(merge_hosts(std::nullopt, "NHOST1", &v));
  ASSERT_TRUE(m.contains("NHOST1"));
  const json& h = m["NHOST1"];
  EXPECT_EQ(h["id"], "NHOST1");
  EXPECT_EQ(h["friendly_name"], "fn-NHOST1");
  EXPECT_EQ(h["labels"], (json{{"zone", "a"}}));
  EXPECT_EQ(h["components"], (json{{"echo", 2}}));
  EXPECT_EQ(h["providers"], (json::array({json{{"provider_id", "httpserver"},
                                               {"provider_ref", "localhost:5000/http:0.1"},
                                               {"annotations", {{"a", "b"}}}}})));
  EXPECT_EQ(h["uptime_seconds"], 5);
  EXPECT_EQ(h["version"], "0.63.2");
  EXPECT_EQ(h["last_seen"], "2026-12-07T22:00:00.000000Z");
  // No providers: still an (empty) array, the client throws without it.
  HostStateView bare = view_of("NHOST1", "echo", 0, "");
  m = json::parse(merge_hosts(std::nullopt, "NHOST1", &bare));
  EXPECT_EQ(m["NHOST1"]["providers"], json::array());
  EXPECT_EQ(m["NHOST1"]["components"], json::object());
}

TEST(WadmStateMerge, TwoHostsKeepEachOthersEntriesAndRemovalTakesOnlyOne) {
  HostStateView a = view_of("NA", "echo", 1, "httpserver");
  HostStateView b = view_of("NB", "echo", 3, "");
  std::string hosts = merge_hosts(std::nullopt, "NA", &a);
  hosts = merge_hosts(hosts, "NB", &b);
  EXPECT_EQ(json::parse(hosts).size(), 2u);
  std::string comps = merge_components(std::nullopt, "NA", &a);
  comps = merge_components(comps, "NB", &b);
  json c = json::parse(comps);
  EXPECT_EQ(c["echo"]["id"], "echo");
  EXPECT_EQ(c["echo"]["name"], "Echo");
  EXPECT_EQ(c["echo"]["issuer"], "ACCOUNT");
  EXPECT_EQ(c["echo"]["reference"], "localhost:5000/echo:0.3");
  EXPECT_EQ(c["echo"]["instances"]["NA"],
            (json::array({json{{"annotations", {{"k", "v"}}}, {"count", 1}}})));
  EXPECT_EQ(c["echo"]["instances"]["NB"][0]["count"], 3);
  std::string provs = merge_providers(std::nullopt, "NA", &a);
  provs = merge_providers(provs, "NB", &b);
  json p = json::parse(provs);
  EXPECT_EQ(p["httpserver"]["hosts"], (json{{"NA", "Running"}}));
  EXPECT_EQ(p["httpserver"]["reference"], "localhost:5000/http:0.1");

  // NA stops: its parts go, NB's stay; a provider on no host is dropped.
  hosts = merge_hosts(hosts, "NA", nullptr);
  EXPECT_EQ(json::parse(hosts),
            (json{{"NB", json::parse(merge_hosts(std::nullopt, "NB", &b))["NB"]}}));
  c = json::parse(merge_components(comps, "NA", nullptr));
  EXPECT_FALSE(c["echo"]["instances"].contains("NA"));
  EXPECT_TRUE(c["echo"]["instances"].contains("NB"));
  p = json::parse(merge_providers(provs, "NA", nullptr));
  EXPECT_FALSE(p.contains("httpserver"));
  // NB scales to 0: the component has no instances left and goes too.
  HostStateView b0 = view_of("NB", "echo", 0, "");
  c = json::parse(merge_components(c.dump(), "NB", &b0));
  EXPECT_FALSE(c.contains("echo"));
}

TEST(WadmStateMerge, HostsNotSeenSinceTheThresholdArePrunedWithTheirParts) {
  HostStateView dead = view_of("NDEAD", "echo", 1, "p");
  dead.last_seen = "2026-12-07T21:00:00.000000Z";
  HostStateView alive = view_of("NALIVE", "echo", 2, "");
  alive.last_seen = "2026-12-07T21:59:00.000000Z";
  HostStateView wadm = view_of("NWADM", "x", 1, "");
  std::string hosts = merge_hosts(std::nullopt, "NDEAD", &dead);
  hosts = merge_hosts(hosts, "NALIVE", &alive);
  json m = json::parse(hosts);
  m["NWADM"] = json::parse(merge_hosts(std::nullopt, "NWADM", &wadm))["NWADM"];
  m["NWADM"]["last_seen"] = "2020-01-01T00:00:00Z";  // another writer's format: never pruned
  std::string comps =
      merge_components(merge_components(std::nullopt, "NDEAD", &dead), "NALIVE", &alive);
  std::string provs = merge_providers(std::nullopt, "NDEAD", &dead);

  HostStateView me = view_of("NME", "echo", 1, "");
  std::set<std::string> pruned;
  json after =
      json::parse(merge_hosts(m.dump(), "NME", &me, "2026-12-07T21:55:00.000000Z", &pruned));
  EXPECT_EQ(pruned, std::set<std::string>{"NDEAD"});
  EXPECT_FALSE(after.contains("NDEAD"));
  EXPECT_TRUE(after.contains("NALIVE"));
  EXPECT_TRUE(after.contains("NWADM"));
  EXPECT_TRUE(after.contains("NME"));
  json c = json::parse(merge_components(comps, "NME", &me, pruned));
  EXPECT_FALSE(c["echo"]["instances"].contains("NDEAD"));
  EXPECT_TRUE(c["echo"]["instances"].contains("NALIVE"));
  EXPECT_TRUE(c["echo"]["instances"].contains("NME"));
  json p = json::parse(merge_providers(provs, "NME", &me, pruned));
  EXPECT_FALSE(p.contains("p"));
  // Without a threshold nothing else is touched.
  pruned.clear();
  after = json::parse(merge_hosts(m.dump(), "NME", &me, "", &pruned));
  EXPECT_TRUE(after.contains("NDEAD"));
  EXPECT_TRUE(pruned.empty());
}

TEST(WadmStateMerge, GarbageCurrentValueIsReplaced) {
  HostStateView v = view_of("NA", "echo", 1, "");
  for (const char* cur : {"not json", "[1,2]", "\"s\""}) {
    json m = json::parse(merge_hosts(std::string(cur), "NA", &v));
    EXPECT_TRUE(m.contains("NA")) << cur;
    json c = json::parse(merge_components(std::string(cur), "NA", &v));
    EXPECT_TRUE(c.contains("echo")) << cur;
  }
  // A foreign entry of the wrong shape is dropped rather than crashing the merge.
  json c = json::parse(merge_components(std::string(R"({"x":5,"y":{"instances":3}})"), "NA", &v));
  EXPECT_FALSE(c.contains("x"));
  EXPECT_FALSE(c.contains("y"));
}

TEST(WadmStateMerge, ViewGroupsInstancesByAnnotations) {
  HostFacts f;
  f.host_id = "NH";
  f.friendly_name = "h";
  f.uptime_seconds = 9;
  ActorInfo a;
  a.public_key = "MKEY";
  a.instances = {
      {"i1", {{"x", "1"}}, "ref", 0}, {"i2", {{"x", "1"}}, "ref", 0}, {"i3", {}, "ref", 0}};
  ProviderInfo p;
  p.public_key = "VKEY";
  p.link_name = "default";
  p.image_ref = "pref";
  auto v = make_host_state_view(
      f, {a}, {p}, "0.63.2", std::chrono::system_clock::time_point{},
      [](const std::string& k) { return k == "MKEY" ? std::string("echo") : k; },
      [](const std::string& k, const std::string& l) { return k + "/" + l; },
      [](const std::string& k) -> std::optional<json> {
        return json{{"name", "N-" + k}, {"iss", "ISS"}};
      });
  ASSERT_EQ(v.components.size(), 1u);
  EXPECT_EQ(v.components[0].id, "echo");
  EXPECT_EQ(v.components[0].name, "N-MKEY");
  EXPECT_EQ(v.components[0].issuer, "ISS");
  ASSERT_EQ(v.components[0].groups.size(), 2u);
  EXPECT_EQ(v.components[0].groups[0].second, 2u);
  EXPECT_EQ(v.components[0].groups[1].second, 1u);
  ASSERT_EQ(v.providers.size(), 1u);
  EXPECT_EQ(v.providers[0].id, "VKEY/default");
  EXPECT_EQ(v.last_seen, "1970-01-01T00:00:00.000000Z");
}

/// An in-memory bucket; `delay` slows every modify down.
struct FakeBucket {
  std::mutex mu;
  std::map<std::string, std::string> values;
  std::chrono::milliseconds delay{0};
  std::atomic<int> calls{0};
  std::atomic<bool> fail{false};
  StateModify modify() {
    return [this](const std::string& key, const auto& change) -> Status {
      ++calls;
      std::this_thread::sleep_for(delay);
      if (fail) return fail_status();
      std::lock_guard<std::mutex> lock(mu);
      std::optional<std::string> cur;
      if (auto it = values.find(key); it != values.end()) cur = it->second;
      auto next = change(cur);
      if (next)
        values[key] = *next;
      else
        values.erase(key);
      return {};
    };
  }
  static Status fail_status() { return wc::fail(Code::kUnavailable, "down"); }
  json get(const std::string& key) {
    std::lock_guard<std::mutex> lock(mu);
    auto it = values.find(key);
    return it == values.end() ? json() : json::parse(it->second);
  }
};

bool wait_for(const std::function<bool()>& cond, std::chrono::milliseconds t = 5s) {
  auto until = std::chrono::steady_clock::now() + t;
  while (std::chrono::steady_clock::now() < until) {
    if (cond()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return cond();
}

TEST(LatticeStateWriter, WritesOnStartAndRemovesOnStop) {
  FakeBucket b;
  std::atomic<std::uint64_t> count{1};
  LatticeStateDeps d;
  d.lattice = "lat";
  d.host_id = "NH";
  d.view = [&] { return view_of("NH", "echo", count, "p"); };
  d.modify = b.modify();
  LatticeStateWriter w(d);
  w.start();
  ASSERT_TRUE(wait_for([&] { return w.writes() >= 1; }));
  EXPECT_EQ(b.get("host_lat")["NH"]["components"]["echo"], 1);
  EXPECT_TRUE(b.get("component_lat").contains("echo"));
  EXPECT_TRUE(b.get("provider_lat").contains("p"));
  count = 4;
  w.changed();
  ASSERT_TRUE(wait_for([&] { return b.get("host_lat")["NH"]["components"]["echo"] == 4; }));
  w.remove_and_stop(2s);
  EXPECT_EQ(b.get("host_lat"), json::object());
  EXPECT_EQ(b.get("component_lat"), json::object());
  EXPECT_EQ(b.get("provider_lat"), json::object());
  const auto writes = w.writes();
  w.changed();  // after the removal: nothing more is written
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(w.writes(), writes);
  EXPECT_EQ(b.get("host_lat"), json::object());
}

TEST(LatticeStateWriter, CoalescesFastChangesAndTheLatestStateWins) {
  FakeBucket b;
  b.delay = 20ms;
  std::atomic<std::uint64_t> count{1};
  LatticeStateDeps d;
  d.lattice = "lat";
  d.host_id = "NH";
  d.view = [&] { return view_of("NH", "echo", count, ""); };
  d.modify = b.modify();
  LatticeStateWriter w(d);
  w.start();
  const auto begin = std::chrono::steady_clock::now();
  for (std::uint64_t i = 1; i <= 1000; ++i) {
    count = i;
    w.changed();  // never blocks on the slow bucket
  }
  EXPECT_LT(std::chrono::steady_clock::now() - begin, 500ms);
  ASSERT_TRUE(wait_for([&] { return b.get("host_lat")["NH"]["components"]["echo"] == 1000; }));
  std::this_thread::sleep_for(150ms);
  // 1000 changes became a handful of writes (three keys each, one write in flight at a time).
  EXPECT_LE(w.writes(), 3u);
  EXPECT_EQ(b.calls.load() % 3, 0);
  w.stop();
}

TEST(LatticeStateWriter, RetriesAFailedWrite) {
  FakeBucket b;
  b.fail = true;
  LatticeStateDeps d;
  d.lattice = "lat";
  d.host_id = "NH";
  d.view = [&] { return view_of("NH", "echo", 1, ""); };
  d.modify = b.modify();
  d.retry_delay = 20ms;
  LatticeStateWriter w(d);
  w.start();
  ASSERT_TRUE(wait_for([&] { return b.calls.load() >= 3; }));
  EXPECT_EQ(w.writes(), 0u);
  b.fail = false;
  ASSERT_TRUE(wait_for([&] { return w.writes() >= 1; }));
  EXPECT_TRUE(b.get("host_lat").contains("NH"));
  w.stop();
}

}  // namespace
}  // namespace wc::host

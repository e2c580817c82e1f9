// LatticeState and InvocationMetrics: replies and events in, snapshot JSON out.
#include <gtest/gtest.h>

#include "web/state.h"

namespace wc::web {
namespace {

using nlohmann::json;

constexpr const char* kHost = "NHOSTAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
constexpr const char* kActor = "MACTORAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
constexpr const char* kProv = "VPROVAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

json event(const std::string& name, json data, const std::string& source = kHost) {
  return json{{"specversion", "1.0"},
              {"type", "com.wasmcloud.lattice." + name},
              {"source", source},
              {"id", "x"},
              {"time", "2026-01-01T00:00:00.000000Z"},
              {"datacontenttype", "application/json"},
              {"data", std::move(data)}};
}

json started(const std::string& ref = "127.0.0.1:5000/echo:0.3.4") {
  return event("actor_started", json{{"public_key", kActor},
                                     {"image_ref", ref},
                                     {"instance_id", "i"},
                                     {"annotations", json::object()},
                                     {"claims", json{{"name", "Echo"}, {"revision", 4}}}});
}

TEST(State, SnapshotHasEveryListWhenEmpty) {
  LatticeState s("default");
  auto j = s.snapshot();
  EXPECT_EQ(j["lattice"], "default");
  for (const char* k : {"hosts", "actors", "providers", "links", "claims"}) {
    ASSERT_TRUE(j[k].is_array()) << k;
    EXPECT_TRUE(j[k].empty()) << k;
  }
}

TEST(State, PingAddsAHostWithUptime) {
  LatticeState s("default");
  auto t0 = LatticeState::Clock::now();
  s.apply_ping(json{{"id", kHost},
                    {"friendly_name", "tiny-sky"},
                    {"labels", json{{"hostcore.os", "linux"}}},
                    {"uptime_seconds", 60},
                    {"lattice_prefix", "default"}},
               t0);
  auto j = s.snapshot(t0 + std::chrono::seconds(5));
  ASSERT_EQ(j["hosts"].size(), 1u);
  auto h = j["hosts"][0];
  EXPECT_EQ(h["id"], kHost);
  EXPECT_EQ(h["friendly_name"], "tiny-sky");
  EXPECT_EQ(h["labels"]["hostcore.os"], "linux");
  EXPECT_EQ(h["uptime_seconds"], 65);
  EXPECT_EQ(h["uptime_human"], "1m 5s");
  EXPECT_EQ(h["lattice_prefix"], "default");
}

TEST(State, PingWithoutIdIsIgnored) {
  LatticeState s("default");
  s.apply_ping(json{{"friendly_name", "x"}});
  s.apply_ping(json::array());
  EXPECT_TRUE(s.snapshot()["hosts"].empty());
}

TEST(State, ActorStartedAndStoppedCountInstances) {
  LatticeState s("default");
  s.apply_event(started());
  s.apply_event(started());
  auto j = s.snapshot();
  ASSERT_EQ(j["actors"].size(), 1u);
  auto a = j["actors"][0];
  EXPECT_EQ(a["id"], kActor);
  EXPECT_EQ(a["name"], "Echo");
  EXPECT_EQ(a["host_id"], kHost);
  EXPECT_EQ(a["count"], 2);
  EXPECT_EQ(a["image_ref"], "127.0.0.1:5000/echo:0.3.4");
  EXPECT_EQ(a["revision"], 4);
  EXPECT_EQ(s.actor_for_ref("127.0.0.1:5000/echo:0.3.4"), kActor);
  EXPECT_EQ(s.instances_on(kHost, kActor), 2);
  s.apply_event(event("actor_stopped", json{{"public_key", kActor}, {"instance_id", "i"}}));
  EXPECT_EQ(s.snapshot()["actors"][0]["count"], 1);
  s.apply_event(event("actor_stopped", json{{"public_key", kActor}, {"instance_id", "i"}}));
  EXPECT_TRUE(s.snapshot()["actors"].empty());
  EXPECT_TRUE(s.has_host(kHost));
}

TEST(State, HeartbeatReplacesActorCountsAndKeepsDetails) {
  LatticeState s("default");
  s.apply_event(started());
  s.apply_event(
      event("host_heartbeat",
            json{{"actors", json{{kActor, 3}}},
                 {"providers", json::array({json{{"public_key", kProv},
                                                 {"link_name", "default"},
                                                 {"contract_id", "wasmcloud:httpserver"}}})},
                 {"labels", json{{"a", "b"}}},
                 {"friendly_name", "fn"},
                 {"uptime_seconds", 10}}));
  auto j = s.snapshot();
  ASSERT_EQ(j["actors"].size(), 1u);
  EXPECT_EQ(j["actors"][0]["count"], 3);
  EXPECT_EQ(j["actors"][0]["image_ref"], "127.0.0.1:5000/echo:0.3.4");
  ASSERT_EQ(j["providers"].size(), 1u);
  EXPECT_EQ(j["providers"][0]["status"], "Awaiting");
  EXPECT_EQ(j["providers"][0]["contract_id"], "wasmcloud:httpserver");
  EXPECT_EQ(j["hosts"][0]["labels"]["a"], "b");
  s.apply_event(
      event("host_heartbeat", json{{"actors", json::object()}, {"providers", json::array()}}));
  EXPECT_TRUE(s.snapshot()["actors"].empty());
  EXPECT_TRUE(s.snapshot()["providers"].empty());
}

TEST(State, ProviderLifecycleAndHealth) {
  LatticeState s("default");
  json d{{"public_key", kProv},
         {"link_name", "default"},
         {"contract_id", "wasmcloud:httpserver"},
         {"image_ref", "r"},
         {"claims", json{{"name", "HTTP Server"}}}};
  s.apply_event(event("provider_started", d));
  EXPECT_EQ(s.snapshot()["providers"][0]["name"], "HTTP Server");
  s.apply_event(event("health_check_passed", d));
  EXPECT_EQ(s.snapshot()["providers"][0]["status"], "Healthy");
  s.apply_event(event("health_check_failed", d));
  EXPECT_EQ(s.snapshot()["providers"][0]["status"], "Unhealthy");
  s.apply_event(event("provider_stopped", d));
  EXPECT_TRUE(s.snapshot()["providers"].empty());
}

TEST(State, LinkdefSetAndDeleted) {
  LatticeState s("default");
  json d{{"id", "ABC"},
         {"actor_id", kActor},
         {"provider_id", kProv},
         {"link_name", "default"},
         {"contract_id", "wasmcloud:keyvalue"},
         {"values", json{{"URL", "x"}}}};
  s.apply_event(event("linkdef_set", d, "n/a"));
  s.apply_event(event("linkdef_set", d, "n/a"));  // idempotent (2.4.4 fan-out)
  auto links = s.snapshot()["links"];
  ASSERT_EQ(links.size(), 1u);
  EXPECT_EQ(links[0]["id"], "ABC");
  EXPECT_EQ(links[0]["values"]["URL"], "x");
  EXPECT_FALSE(s.has_host("n/a"));
  s.apply_event(event("linkdef_deleted", d, "n/a"));
  EXPECT_TRUE(s.snapshot()["links"].empty());
}

TEST(State, HostStartedAndStopped) {
  LatticeState s("default");
  s.apply_event(event("host_started", json{{"labels", json{{"k", "v"}}}, {"friendly_name", "h"}}));
  s.apply_event(started());
  EXPECT_EQ(s.snapshot()["hosts"][0]["friendly_name"], "h");
  s.apply_event(event("host_stopped", json{{"labels", json::object()}}));
  EXPECT_TRUE(s.snapshot()["hosts"].empty());
  EXPECT_TRUE(s.snapshot()["actors"].empty());
}

TEST(State, InventoryReplacesTheHostsRows) {
  LatticeState s("default");
  s.apply_event(started());
  s.apply_inventory(
      json{{"host_id", kHost},
           {"friendly_name", "inv"},
           {"labels", json::object()},
           {"actors", json::array({json{{"id", kActor},
                                        {"image_ref", "file:///tmp/e.wasm"},
                                        {"name", "Echo"},
                                        {"instances", json::array({json{{"revision", 7}}})}}})},
           {"providers", json::array()}});
  auto a = s.snapshot()["actors"][0];
  EXPECT_EQ(a["count"], 1);
  EXPECT_EQ(a["revision"], 7);
  EXPECT_EQ(a["image_ref"], "file:///tmp/e.wasm");
  EXPECT_EQ(s.actor_ref_on(kHost, kActor), "file:///tmp/e.wasm");
}

TEST(State, FailedEventsAreLoggedAsErrors) {
  LatticeState s("default");
  auto e = s.apply_event(
      event("actor_start_failed", json{{"actor_ref", "bad/ref:1"}, {"error", "no such tag"}}));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->level, "error");
  EXPECT_EQ(e->type, "actor_start_failed");
  EXPECT_NE(e->summary.find("no such tag"), std::string::npos);
  auto j = e->to_json();
  for (const char* k : {"seq", "time", "type", "source", "level", "summary", "data"})
    EXPECT_TRUE(j.contains(k)) << k;
}

TEST(State, EventsWithoutTypeAreIgnored) {
  LatticeState s("default");
  EXPECT_FALSE(s.apply_event(json{{"data", 1}}));
  EXPECT_FALSE(s.apply_event(json("x")));
  EXPECT_FALSE(s.apply_event(json{{"type", 5}}));
  auto v = s.version();
  auto e = s.apply_event(json{{"type", "com.wasmcloud.lattice.actor_started"}, {"data", "oops"}});
  ASSERT_TRUE(e);  // malformed data: logged only, the state is unchanged
  EXPECT_EQ(s.version(), v);
  EXPECT_TRUE(s.snapshot()["actors"].empty());
  EXPECT_TRUE(s.snapshot()["hosts"].empty());
}

TEST(State, ExpireDropsSilentHosts) {
  LatticeState s("default");
  auto t0 = LatticeState::Clock::now();
  s.apply_ping(json{{"id", kHost}}, t0);
  EXPECT_EQ(s.expire_hosts(std::chrono::seconds(30), t0 + std::chrono::seconds(10)), 0);
  EXPECT_EQ(s.expire_hosts(std::chrono::seconds(30), t0 + std::chrono::seconds(31)), 1);
  EXPECT_TRUE(s.snapshot()["hosts"].empty());
}

TEST(State, UptimeHuman) {
  EXPECT_EQ(uptime_human(0), "0s");
  EXPECT_EQ(uptime_human(3661), "1h 1m 1s");
  EXPECT_EQ(uptime_human(90061), "1d 1h 1m 1s");
}

json inv_event(bool ok, const std::string& dest, const std::string& source = "MCALLER",
               std::optional<double> ms = std::nullopt) {
  json d{{"source", json{{"public_key", source}}},
         {"dest", json{{"public_key", dest}}},
         {"operation", "HttpServer.HandleRequest"},
         {"bytes", 3}};
  if (ms) d["duration_ms"] = *ms;
  return event(ok ? "invocation_succeeded" : "invocation_failed", d);
}

TEST(Metrics, CountsPerActorAndSecond) {
  InvocationMetrics m(10);
  EXPECT_TRUE(m.record(inv_event(true, kActor), 100));
  EXPECT_TRUE(m.record(inv_event(true, kActor), 100));
  EXPECT_TRUE(m.record(inv_event(false, kActor), 101));
  auto j = m.snapshot(101);
  EXPECT_EQ(j["window_seconds"], 10);
  ASSERT_EQ(j["actors"].size(), 1u);
  auto a = j["actors"][0];
  EXPECT_EQ(a["id"], kActor);
  EXPECT_EQ(a["total"], 3);
  EXPECT_EQ(a["errors"], 1);
  ASSERT_EQ(a["per_second"].size(), 10u);
  EXPECT_EQ(a["per_second"][8], 2);
  EXPECT_EQ(a["per_second"][9], 1);
  EXPECT_EQ(a["errors_per_second"][9], 1);
  EXPECT_TRUE(a["latency_ms"][9].is_null());
}

TEST(Metrics, ProviderCallsCountForTheCallingActor) {
  InvocationMetrics m(5);
  EXPECT_TRUE(m.record(inv_event(true, kProv, kActor, 4.0), 50));
  EXPECT_TRUE(m.record(inv_event(true, kProv, kActor, 2.0), 50));
  auto a = m.snapshot(50)["actors"][0];
  EXPECT_EQ(a["id"], kActor);
  EXPECT_DOUBLE_EQ(a["latency_ms"][4].get<double>(), 3.0);
}

TEST(Metrics, OldBucketsLeaveTheWindow) {
  InvocationMetrics m(5);
  m.record(inv_event(true, kActor), 10);
  auto a = m.snapshot(20)["actors"][0];
  for (const auto& v : a["per_second"]) EXPECT_EQ(v, 0);
  EXPECT_EQ(a["total"], 1);
}

TEST(Metrics, OtherEventsAreNotRecorded) {
  InvocationMetrics m;
  auto v = m.version();
  EXPECT_FALSE(m.record(started(), 1));
  EXPECT_FALSE(m.record(json("x"), 1));
  EXPECT_FALSE(m.record(event("invocation_succeeded", json{{"operation", "x"}}), 1));
  EXPECT_EQ(m.version(), v);
}

// Issue #17.3: a 500 KB unbroken reference from any NATS client reached every page whole.
TEST(Caps, LongStringsAndKeysAreCutAtACharacterBoundary) {
  EXPECT_EQ(cap_texts(json("abcdef"), 4), json("abcd…"));
  EXPECT_EQ(cap_texts(json("abcd"), 4), json("abcd"));
  // "é" is two bytes: a cut inside it backs off to the character's start.
  EXPECT_EQ(cap_texts(json("aé"), 2), json("a…"));
  json nested{{std::string(10, 'k'), json::array({std::string(10, 'v'), 7, nullptr})},
              {"ok", true}};
  json capped = cap_texts(nested, 3);
  EXPECT_EQ(capped, (json{{"kkk…", json::array({"vvv…", 7, nullptr})}, {"ok", true}}));
}

TEST(Caps, EventsRepliesAndMetricsKeepAtMostTheCap) {
  const std::string huge(500 * 1024, 'A');
  LatticeState s("default");
  auto e = s.apply_event(event("actor_start_failed", json{{"actor_ref", huge}, {"error", huge}}));
  ASSERT_TRUE(e);
  EXPECT_EQ(e->data["actor_ref"].get<std::string>(), std::string(kMaxLatticeText, 'A') + "…");
  EXPECT_LT(e->summary.size(), 3 * kMaxLatticeText);
  EXPECT_EQ(e->summary.rfind("Actor start failed (AAAA", 0), 0u);
  s.apply_event(started(huge));
  s.apply_ping(json{{"id", kHost}, {"friendly_name", huge}, {"labels", json{{huge, huge}}}});
  s.apply_claims(json{{"claims", json::array({json{{"sub", kActor}, {"name", huge}}})}});
  s.apply_links(json{{"links", json::array({json{{"actor_id", kActor},
                                                 {"provider_id", kProv},
                                                 {"link_name", "default"},
                                                 {"contract_id", huge},
                                                 {"values", json{{"k", huge}}}}})}});
  s.apply_inventory(json{{"host_id", kHost},
                         {"actors", json::array({json{{"id", kActor},
                                                      {"image_ref", huge},
                                                      {"name", huge},
                                                      {"instances", json::array({json{}})}}})}});
  const std::string snap = s.snapshot().dump();
  EXPECT_LT(snap.size(), 20 * kMaxLatticeText);
  EXPECT_EQ(snap.find(std::string(kMaxLatticeText + 1, 'A')), std::string::npos);
  InvocationMetrics m;
  ASSERT_TRUE(m.record(event("invocation_succeeded",
                             json{{"dest", json{{"public_key", "M" + huge}}}, {"operation", "x"}}),
                       1));
  EXPECT_EQ(m.snapshot(1)["actors"][0]["id"].get<std::string>().size(),
            kMaxLatticeText + std::string("…").size());
}

}  // namespace
}  // namespace wc::web

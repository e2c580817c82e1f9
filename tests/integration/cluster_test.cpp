// Many hosts on a clustered NATS (issue #7): three nats-server processes routed together
// (tests/support/nats_cluster.h), three in-process wc::host::Host instances, each given all three
// server URLs with a different node first (its "own" node; no randomization), sharing the lattice
// metadata bucket LATTICEDATA_cluster (control-interface.md 5), which the first host creates with
// 3 replicas. The tests run in declaration order on one lattice and build on each other:
// replication, an actor on two hosts, auctions against labels, links and claims on every host,
// losing the NATS node a host is connected to, stopping a host, a host that joins late.
// A second suite runs a host against a JetStream domain (WASMCLOUD_JS_DOMAIN).
#include <gtest/gtest.h>

#include <spdlog/spdlog.h>

#include <atomic>
#include <cstdio>
#include <mutex>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "host/config.h"
#include "host/host.h"
#include "lattice/ctl_client.h"
#include "lattice/nats.h"
#include "lattice/topics.h"
#include "rpc/antiforgery.h"
#include "rpc/invocation.h"
#include "support/nats_cluster.h"
#include "wascap/nkeys.h"

namespace wc {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;
namespace topics = lattice::topics;

constexpr const char* kEcho = "MBCFOPM6JW2APJLXJD3Z5O4CN7CPYJ2B4FTKLJUR5YR5MITIU7HD3WD5";
constexpr const char* kHttpServer = "VAG3QITQQ2ODAOWB5TTQSDJ53XK3SHBEIFNK4AYJ5RKAX2UNSCAPHA5M";
constexpr const char* kLattice = "cluster";
const std::string kEchoRef = std::string("file://") + WC_FIXTURES_DIR + "/echo.wasm";

/// Comma-joined list, as WASMCLOUD_CTL_HOST takes several servers.
std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ",") + s;
  return out;
}

/// Milliseconds since `t0`.
double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

/// Polls `pred` every 20 ms until it holds or `timeout` passes.
bool eventually(const std::function<bool()>& pred, std::chrono::milliseconds timeout = 15s) {
  auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    if (pred()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return pred();
}

/// Host configuration as the environment would give it: every server of the cluster in
/// WASMCLOUD_{CTL,RPC,PROV_RPC}_HOST, `servers[0]` first (the host's own node).
host::HostConfig host_config(const std::vector<std::string>& servers, const std::string& zone,
                             const std::string& cluster_seed, const std::string& lattice,
                             const std::string& js_domain = {}) {
  std::map<std::string, std::string> env{{"WASMCLOUD_CTL_HOST", join(servers)},
                                         {"WASMCLOUD_RPC_HOST", join(servers)},
                                         {"WASMCLOUD_PROV_RPC_HOST", join(servers)},
                                         {"WASMCLOUD_LATTICE_PREFIX", lattice},
                                         {"WASMCLOUD_CLUSTER_SEED", cluster_seed},
                                         {"WASMCLOUD_ALLOW_FILE_LOAD", "true"},
                                         {"HOST_ZONE", zone}};
  if (!js_domain.empty()) env["WASMCLOUD_JS_DOMAIN"] = js_domain;
  auto cfg = host::load_config(env, "");
  cfg.native_tier = false;
  cfg.heartbeat_interval_ms = 1000;
  cfg.log_level = "warn";
  return cfg;
}

class LatticeOnNatsCluster : public ::testing::Test {
 protected:
  static inline std::unique_ptr<testing::NatsCluster> nats;
  static inline std::unique_ptr<host::Host> hosts[4];  // [3] joins late
  static inline std::optional<wascap::KeyPair> cluster;
  static inline std::unique_ptr<lattice::Connection> nc;
  static inline std::unique_ptr<lattice::CtlClient> ctl;
  static inline std::mutex ev_mu;
  static inline std::vector<json> evts;  // wasmbus.evt.cluster, arrival order
  static inline std::mutex rpc_mu;
  static inline std::vector<json> rpc_events;
  static inline lattice::Subscription events_sub, rpcevt_sub;
  static inline const std::string kZones[4] = {"a", "b", "c", "late"};
  static inline std::string link_id;

  static void SetUpTestSuite() {
    spdlog::set_level(spdlog::level::warn);
    auto t0 = std::chrono::steady_clock::now();
    nats = std::make_unique<testing::NatsCluster>(3);
    std::printf("3-node NATS cluster with JetStream meta leader ready in %.0f ms\n", ms_since(t0));
    cluster = wascap::KeyPair::generate(wascap::KeyType::kCluster);
    // The test client prefers node 2, which no echo-running host uses: queue-group members on
    // the publisher's own server would otherwise win every invocation.
    lattice::ConnectOptions o;
    o.servers = nats->urls_from(2);
    o.no_randomize = true;
    auto c = lattice::Connection::connect(o);
    ASSERT_TRUE(c) << c.error().message;
    nc = std::move(*c);
    ctl = std::make_unique<lattice::CtlClient>(*nc, kLattice, "wasmbus.ctl", 3s, 500ms);
    auto ev = nc->subscribe(std::string("wasmbus.evt.") + kLattice, [](lattice::Message m) {
      auto j = json::parse(m.text(), nullptr, false);
      if (j.is_discarded()) return;
      std::lock_guard lock(ev_mu);
      evts.push_back(std::move(j));
    });
    ASSERT_TRUE(ev);
    events_sub = std::move(*ev);
    auto rev = nc->subscribe(std::string("wasmbus.rpcevt.") + kLattice, [](lattice::Message m) {
      auto j = json::parse(m.text(), nullptr, false);
      if (j.is_discarded()) return;
      std::lock_guard lock(rpc_mu);
      rpc_events.push_back(std::move(j));
    });
    ASSERT_TRUE(rev);
    rpcevt_sub = std::move(*rev);
    ASSERT_TRUE(nc->flush());
    for (size_t i = 0; i < 3; ++i) start_host(i, i);
  }

  static void TearDownTestSuite() {
    events_sub.unsubscribe();
    rpcevt_sub.unsubscribe();
    for (auto& h : hosts) h.reset();
    ctl.reset();
    nc.reset();
    nats.reset();
  }

  /// Starts hosts[i] with every server URL, node `own` first.
  static void start_host(size_t i, size_t own) {
    auto t0 = std::chrono::steady_clock::now();
    auto h =
        host::Host::start(host_config(nats->urls_from(own), kZones[i], cluster->seed(), kLattice));
    ASSERT_TRUE(h) << h.error().message;
    hosts[i] = std::move(*h);
    std::printf("host %zu (node %zu first) started in %.0f ms\n", i, own, ms_since(t0));
  }

  static const std::string& id(size_t i) { return hosts[i]->host_id(); }

  /// JSON of a control request `{ctl}.{lattice}.{op}`; {"__error": ...} on failure.
  static json request(const std::string& op, const json& body = nullptr,
                      std::chrono::milliseconds timeout = 3s) {
    auto r = nc->request("wasmbus.ctl." + std::string(kLattice) + "." + op,
                         body.is_null() ? std::string() : body.dump(), timeout);
    if (!r) return json{{"__error", r.error().message}};
    return json::parse(r->text(), nullptr, false);
  }

  static size_t instances_on(size_t i, const std::string& key = kEcho) {
    auto inv = ctl->host_inventory(id(i));
    if (!inv) return 0;
    for (const auto& a : (*inv)["actors"])
      if (a["id"] == key) return a["instances"].size();
    return 0;
  }

  /// Scales echo on host i to n and waits for its inventory to show it.
  static void scale_echo(size_t i, int n) {
    auto ack = ctl->scale_actor(id(i), kEcho, kEchoRef, n);
    ASSERT_TRUE(ack) << ack.error().message;
    ASSERT_TRUE(ack->accepted) << ack->error;
    ASSERT_TRUE(eventually([&] { return instances_on(i) == static_cast<size_t>(n); }))
        << "host " << i << " did not reach " << n << " echo instances";
  }

  /// One signed HttpServer.HandleRequest to echo; true when it answered without error.
  static bool invoke_echo(std::chrono::milliseconds timeout = 2s) {
    json req{{"method", "GET"},
             {"path", "/"},
             {"queryString", ""},
             {"header", json::object()},
             {"body", json::binary({'h', 'i'})}};
    auto inv = rpc::make_invocation(
        *cluster, rpc::provider_entity(kHttpServer, "wasmcloud:httpserver", "default"),
        rpc::actor_entity(kEcho), "HttpServer.HandleRequest", json::to_msgpack(req),
        cluster->public_key());
    if (!inv) return false;
    auto r = nc->request(std::string("wasmbus.rpc.") + kLattice + "." + kEcho,
                         rpc::encode_invocation(*inv), timeout);
    if (!r) return false;
    auto resp = rpc::decode_response(r->data());
    return resp && !resp->error;
  }

  /// Sources (host ids) of invocation_succeeded events for echo from index `from` on.
  static std::multiset<std::string> answered_by(size_t from) {
    std::lock_guard lock(rpc_mu);
    std::multiset<std::string> out;
    for (size_t k = from; k < rpc_events.size(); ++k)
      if (rpc_events[k].value("type", "") == "com.wasmcloud.lattice.invocation_succeeded")
        out.insert(rpc_events[k].value("source", ""));
    return out;
  }
  static size_t rpc_mark() {
    std::lock_guard lock(rpc_mu);
    return rpc_events.size();
  }

  /// `$JS.API.STREAM.INFO.KV_LATTICEDATA_cluster` through the test client.
  static json stream_info(const std::string& js_domain = {}) {
    auto r = nc->request(topics::js_stream_info(topics::kv_stream(kLattice), js_domain), "", 3s);
    if (!r) return json{{"__error", r.error().message}};
    return json::parse(r->text(), nullptr, false);
  }

  /// Events of `type` (short name, e.g. "linkdef_set") at index >= `from` whose data satisfies
  /// `pred`.
  static std::vector<json> events(size_t from, const std::string& type,
                                  const std::function<bool(const json&)>& pred = {}) {
    std::lock_guard lock(ev_mu);
    std::vector<json> out;
    for (size_t k = from; k < evts.size(); ++k)
      if (evts[k].value("type", "") == "com.wasmcloud.lattice." + type &&
          (!pred || pred(evts[k]["data"])))
        out.push_back(evts[k]);
    return out;
  }
  /// Waits until at least `n` such events arrived; returns how many there are then.
  static size_t wait_events(size_t from, const std::string& type, size_t n,
                            const std::function<bool(const json&)>& pred = {},
                            std::chrono::milliseconds timeout = 10s) {
    eventually([&] { return events(from, type, pred).size() >= n; }, timeout);
    return events(from, type, pred).size();
  }
  static size_t ev_mark() {
    std::lock_guard lock(ev_mu);
    return evts.size();
  }
};

TEST_F(LatticeOnNatsCluster, MetadataBucketHasThreeReplicas) {
  // The first host created LATTICEDATA_cluster with min(3, servers) = 3 replicas; the others
  // found it. Every node holds a copy (leader + 2 replicas).
  auto info = stream_info();
  ASSERT_FALSE(info.contains("error")) << info.dump();
  ASSERT_FALSE(info.contains("__error")) << info.dump();
  EXPECT_EQ(info["config"]["num_replicas"], 3) << info.dump();
  EXPECT_EQ(info["config"]["max_msgs_per_subject"], 1);
  ASSERT_TRUE(info["cluster"].is_object()) << info.dump();
  EXPECT_FALSE(info["cluster"].value("leader", "").empty()) << info.dump();
  EXPECT_EQ(info["cluster"]["replicas"].size(), 2u) << info.dump();
}

TEST_F(LatticeOnNatsCluster, EveryHostAnswersPing) {
  auto pings = ctl->ping_hosts();
  ASSERT_TRUE(pings);
  std::set<std::string> ids;
  for (const auto& p : *pings) ids.insert(p.value("id", ""));
  EXPECT_EQ(ids, (std::set<std::string>{id(0), id(1), id(2)}));
}

TEST_F(LatticeOnNatsCluster, ActorOnTwoHostsAnswersFromBoth) {
  scale_echo(0, 1);
  scale_echo(1, 1);
  auto mark = rpc_mark();
  int ok = 0;
  for (int i = 0; i < 40; ++i) ok += invoke_echo() ? 1 : 0;
  EXPECT_EQ(ok, 40);
  ASSERT_TRUE(eventually([&] { return answered_by(mark).size() >= 40; }, 5s));
  auto by = answered_by(mark);
  // Each invocation went to one member of the actor's queue group, on either host.
  EXPECT_GT(by.count(id(0)), 0u);
  EXPECT_GT(by.count(id(1)), 0u);
  EXPECT_EQ(by.count(id(2)), 0u);
  std::printf("40 invocations answered: %zu by host 0 (node 0), %zu by host 1 (node 1)\n",
              by.count(id(0)), by.count(id(1)));
}

TEST_F(LatticeOnNatsCluster, AuctionsBidOnlyWhereLabelsMatch) {
  // Actor auction (control-interface 2.4.7): constraints are matched against host labels.
  auto all = ctl->auction_actor(kEchoRef);
  ASSERT_TRUE(all);
  EXPECT_EQ(all->size(), 3u);
  auto b = ctl->auction_actor(kEchoRef, {{"zone", "b"}});
  ASSERT_TRUE(b);
  ASSERT_EQ(b->size(), 1u);
  EXPECT_EQ((*b)[0]["host_id"], id(1));
  EXPECT_EQ((*b)[0]["actor_ref"], kEchoRef);
  EXPECT_EQ((*b)[0]["constraints"]["zone"], "b");
  auto two = ctl->auction_actor(kEchoRef, {{"zone", "b"}, {"hostcore.os", "linux"}});
  ASSERT_TRUE(two);
  ASSERT_EQ(two->size(), 1u);
  EXPECT_EQ((*two)[0]["host_id"], id(1));
  auto none = ctl->auction_actor(kEchoRef, {{"zone", "mars"}});
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
  auto mixed = ctl->auction_actor(kEchoRef, {{"zone", "b"}, {"hostcore.os", "plan9"}});
  ASSERT_TRUE(mixed);
  EXPECT_TRUE(mixed->empty());

  // Provider auction (2.4.8): same matching; no host runs the provider yet.
  const std::string pref = "file:///nonexistent/httpserver.par.gz";
  auto pall = ctl->auction_provider(pref, "default");
  ASSERT_TRUE(pall);
  EXPECT_EQ(pall->size(), 3u);
  auto pc = ctl->auction_provider(pref, "default", {{"zone", "c"}});
  ASSERT_TRUE(pc);
  ASSERT_EQ(pc->size(), 1u);
  EXPECT_EQ((*pc)[0]["host_id"], id(2));
  EXPECT_EQ((*pc)[0]["provider_ref"], pref);
  EXPECT_EQ((*pc)[0]["link_name"], "default");
  auto pnone = ctl->auction_provider(pref, "default", {{"zone", "mars"}});
  ASSERT_TRUE(pnone);
  EXPECT_TRUE(pnone->empty());
}

TEST_F(LatticeOnNatsCluster, LinkAndClaimsReachEveryHost) {
  auto mark = ev_mark();
  auto ack = ctl->advertise_link(kEcho, kHttpServer, "wasmcloud:httpserver", "default",
                                 {{"address", "0.0.0.0:8080"}});
  ASSERT_TRUE(ack && ack->accepted);
  link_id = topics::linkdef_id(kEcho, "wasmcloud:httpserver", "default");
  // The host that took the request announces it; the others learn it from the bucket watch and
  // announce it too: one linkdef_set per host.
  auto is_link = [](const json& d) { return d.value("id", "") == link_id; };
  EXPECT_EQ(wait_events(mark, "linkdef_set", 3, is_link), 3u);
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(events(mark, "linkdef_set", is_link).size(), 3u);
  auto claims = ctl->get_claims();
  ASSERT_TRUE(claims);
  bool found = false;
  for (const auto& c : (*claims)["claims"]) found = found || c["sub"] == kEcho;
  EXPECT_TRUE(found) << claims->dump();
}

TEST_F(LatticeOnNatsCluster, HostKeepsWorkingWhenItsNatsNodeDies) {
  // Host 0 is connected to node 0. Invocations run continuously from the test client (node 2)
  // while node 0 is SIGKILLed.
  std::atomic<bool> run{true};
  std::atomic<int> ok{0}, failed{0};
  std::thread load([&] {
    while (run) (invoke_echo(1s) ? ok : failed)++;
  });
  std::this_thread::sleep_for(300ms);
  const auto before = ok.load();
  auto t0 = std::chrono::steady_clock::now();
  nats->kill9(0);
  // Host 0 reconnects to node 1 (next in its list) and answers its inventory again.
  ASSERT_TRUE(eventually([&] { return static_cast<bool>(ctl->host_inventory(id(0))); }, 20s))
      << "host 0 did not come back; logs in " << nats->dir();
  const double reconnect_ms = ms_since(t0);
  // ... and takes invocations again. The mark is taken after the reconnect: an invocation host 0
  // ran just before the kill may have its event published late (then this wait ended at once,
  // before the load thread's request lost with node 0 had timed out).
  auto mark = rpc_mark();
  ASSERT_TRUE(eventually([&] { return answered_by(mark).count(id(0)) > 0; }, 20s));
  const double serving_ms = ms_since(t0);
  std::this_thread::sleep_for(500ms);
  run = false;
  load.join();
  std::printf(
      "node 0 killed: host 0 answers control after %.0f ms, invocations after %.0f ms; "
      "%d invocations succeeded, %d failed during the test window (%d before the kill)\n",
      reconnect_ms, serving_ms, ok.load(), failed.load(), before);
  EXPECT_GT(ok.load(), before);
  // In-flight requests on the dying node may be lost; everything else is served by host 1.
  EXPECT_LE(failed.load(), 3);
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(invoke_echo());

  // Metadata intact: the stream still has 3 replicas' worth of data on the surviving nodes.
  // (The stream may elect a new leader first if node 0 led it.)
  json info;
  auto t1 = std::chrono::steady_clock::now();
  ASSERT_TRUE(eventually(
      [&] {
        info = stream_info();
        return info.contains("state") && info["state"].contains("messages");
      },
      15s))
      << info.dump();
  std::printf("metadata stream info answered %.0f ms after the failover checks\n", ms_since(t1));
  EXPECT_GE(info["state"]["messages"].get<int>(), 3) << info.dump();  // claims, refmap, link
  auto links = ctl->get_links();
  ASSERT_TRUE(links);
  ASSERT_EQ((*links)["links"].size(), 1u) << links->dump();
  EXPECT_EQ((*links)["links"][0]["values"]["address"], "0.0.0.0:8080");
  // Every host (host 0 on node 1 now) still watches the bucket: a new link reaches all three.
  auto evm = ev_mark();
  auto ack = ctl->advertise_link(kEcho, kHttpServer, "wasmcloud:httpserver", "second", {});
  ASSERT_TRUE(ack && ack->accepted);
  const auto second = topics::linkdef_id(kEcho, "wasmcloud:httpserver", "second");
  auto is_second = [&](const json& d) { return d.value("id", "") == second; };
  EXPECT_EQ(wait_events(evm, "linkdef_set", 3, is_second, 15s), 3u);

  // Node 0 comes back (same store) and catches up.
  nats->restart(0);
  ASSERT_TRUE(nats->wait_ready(20s));
}

TEST_F(LatticeOnNatsCluster, StoppedHostsActorsLeaveTheLatticeView) {
  scale_echo(2, 1);
  auto mark = ev_mark();
  const std::string gone = id(2);
  hosts[2]->stop();
  auto from_gone = [&](const std::string& type) {
    std::vector<json> out;
    for (auto& e : events(mark, type))
      if (e.value("source", "") == gone) out.push_back(e);
    return out;
  };
  ASSERT_TRUE(eventually([&] { return !from_gone("host_stopped").empty(); }));
  EXPECT_EQ(from_gone("actor_stopped").size(), 1u);
  EXPECT_EQ(from_gone("actor_stopped")[0]["data"]["public_key"], kEcho);
  // Nobody answers for it any more; the others do, and only they send heartbeats.
  auto inv = ctl->host_inventory(gone);
  EXPECT_FALSE(inv);
  auto pings = ctl->ping_hosts();
  ASSERT_TRUE(pings);
  std::set<std::string> ids;
  for (const auto& p : *pings) ids.insert(p.value("id", ""));
  EXPECT_EQ(ids, (std::set<std::string>{id(0), id(1)}));
  auto beats = ev_mark();
  wait_events(beats, "host_heartbeat", 2);
  std::set<std::string> beating;
  for (auto& e : events(beats, "host_heartbeat")) beating.insert(e.value("source", ""));
  EXPECT_EQ(beating.count(gone), 0u);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(invoke_echo());
}

TEST_F(LatticeOnNatsCluster, LateJoinerLoadsLinksAndClaims) {
  // Host 3 joins on node 2 (where the stopped host was) and loads the bucket: it announces both
  // links it found (the running hosts already know them and stay quiet).
  auto mark = ev_mark();
  start_host(3, 2);
  auto is_link = [](const json& d) {
    return d.value("id", "") == link_id ||
           d.value("id", "") == topics::linkdef_id(kEcho, "wasmcloud:httpserver", "second");
  };
  EXPECT_EQ(wait_events(mark, "linkdef_set", 2, is_link), 2u);
  // With every other host stopped, host 3 alone answers lattice queries from its caches.
  hosts[0]->stop();
  hosts[1]->stop();
  auto claims = ctl->get_claims();
  ASSERT_TRUE(claims) << claims.error().message;
  bool found = false;
  for (const auto& c : (*claims)["claims"])
    if (c["sub"] == kEcho) {
      found = true;
      EXPECT_EQ(c["name"], "Echo");
    }
  EXPECT_TRUE(found) << claims->dump();
  auto links = ctl->get_links();
  ASSERT_TRUE(links);
  EXPECT_EQ((*links)["links"].size(), 2u) << links->dump();
  auto pings = ctl->ping_hosts();
  ASSERT_TRUE(pings);
  ASSERT_EQ(pings->size(), 1u);
  EXPECT_EQ((*pings)[0]["id"], id(3));
  EXPECT_EQ((*pings)[0]["labels"]["zone"], "late");
}

// ---------------------------------------------------------------- JetStream domain

TEST(JetStreamDomain, MetadataBucketUsesTheDomainApiPrefix) {
  spdlog::set_level(spdlog::level::warn);
  testing::NatsClusterOptions opts;
  opts.js_domain = "edge";
  testing::NatsCluster nats(1, opts);
  auto cluster = wascap::KeyPair::generate(wascap::KeyType::kCluster);
  auto h = host::Host::start(host_config({nats.url(0)}, "d", cluster.seed(), "dom", "edge"));
  ASSERT_TRUE(h) << h.error().message;
  lattice::ConnectOptions o;
  o.servers = {nats.url(0)};
  auto nc = lattice::Connection::connect(o);
  ASSERT_TRUE(nc);
  auto info = (*nc)->request(topics::js_stream_info("KV_LATTICEDATA_dom", "edge"), "", 3s);
  ASSERT_TRUE(info) << info.error().message;
  auto j = json::parse(info->text(), nullptr, false);
  EXPECT_EQ(j["config"]["name"], "KV_LATTICEDATA_dom") << info->text();
  EXPECT_EQ(j["config"]["num_replicas"], 1);  // single server
  lattice::CtlClient ctl(**nc, "dom");
  auto ack = ctl.advertise_link(kEcho, kHttpServer, "wasmcloud:httpserver", "default", {});
  ASSERT_TRUE(ack && ack->accepted);
  auto id = topics::linkdef_id(kEcho, "wasmcloud:httpserver", "default");
  auto got = (*nc)->request("$JS.edge.API.DIRECT.GET.KV_LATTICEDATA_dom",
                            json{{"last_by_subj", "$KV.LATTICEDATA_dom.LINKDEF_" + id}}.dump(), 3s);
  ASSERT_TRUE(got) << got.error().message;
  EXPECT_EQ(json::parse(got->text(), nullptr, false)["link_name"], "default") << got->text();
  auto ping = ctl.ping_hosts();
  ASSERT_TRUE(ping && ping->size() == 1u);
  EXPECT_EQ((*ping)[0]["js_domain"], "edge");
}

}  // namespace
}  // namespace wc

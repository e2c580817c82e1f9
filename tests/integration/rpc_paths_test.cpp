// The RPC path of a host against real nats-server processes, in-process hosts:
//   #12.3 control and RPC on different NATS servers: actor RPC (subscriptions, replies, host
//         calls) lives on the RPC server, the control server sees none of it;
//   #11.6 the same signed invocation sent twice runs once, the second reply is a clear error;
//   #12.8 a host call blocked 7 s (rpc timeout 10 s) succeeds: the execution budget counts only
//         guest time; a spinning guest is still stopped at a configured budget;
//   #11.5 an unusable native-code cache directory: the host starts, warns naming the directory,
//         serves on the interpreter and counts a failed native compile in /metrics.
//   #14.2 a known-fast actor's NATS invocation runs on the libnats delivery thread (no hand-off
//         to the RPC pool) once observed fast, a slow run sends the next ones back to the pool,
//         and messages arriving during an inline run wait for it (ActorSupervisor with a real
//         nats-server and RPC pool, the dispatcher replaced by a recording responder).
// The tests of one suite share its host and run in declaration order.
#include <gtest/gtest.h>

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <pthread.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include <httplib.h>
#include <msgpack.hpp>
#include <nlohmann/json.hpp>

#include "ctl_requests.h"
#include "event_log.h"
#include "host/actor_supervisor.h"
#include "host/bus.h"
#include "host/config.h"
#include "host/executor.h"
#include "host/fakes.h"
#include "host/host.h"
#include "lattice/nats.h"
#include "lattice/topics.h"
#include "rpc/antiforgery.h"
#include "rpc/errors.h"
#include "rpc/invocation.h"
#include "support/servers.h"
#include "wascap/claims.h"
#include "wascap/nkeys.h"
#include "wasm/tier.h"
#include "wasm_test_util.h"

namespace wc {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;
namespace topics = lattice::topics;

constexpr const char* kEcho = "MBCFOPM6JW2APJLXJD3Z5O4CN7CPYJ2B4FTKLJUR5YR5MITIU7HD3WD5";
constexpr const char* kKvCounter = "MCFMFDWFHGKELOXPCNCDXKK5OFLHBVEWRAOXR5JSQUD2TOFRE3DFPM7E";
constexpr const char* kHttpServer = "VAG3QITQQ2ODAOWB5TTQSDJ53XK3SHBEIFNK4AYJ5RKAX2UNSCAPHA5M";
constexpr const char* kLattice = "rpcpaths";

std::string fixture_ref(const std::string& name) {
  return std::string("file://") + WC_FIXTURES_DIR + "/" + name;
}

std::unique_ptr<lattice::Connection> connect(const std::string& url) {
  lattice::ConnectOptions o;
  o.servers = {url};
  auto c = lattice::Connection::connect(o);
  EXPECT_TRUE(c) << c.error().message;
  return c ? std::move(*c) : nullptr;
}

/// A host configured through the environment, as `wasmcloud host` would be.
host::HostConfig config_for(int ctl_port, int rpc_port, const std::string& cluster_seed,
                            std::map<std::string, std::string> extra = {}) {
  std::map<std::string, std::string> env{{"WASMCLOUD_CTL_HOST", "127.0.0.1"},
                                         {"WASMCLOUD_CTL_PORT", std::to_string(ctl_port)},
                                         {"WASMCLOUD_RPC_HOST", "127.0.0.1"},
                                         {"WASMCLOUD_RPC_PORT", std::to_string(rpc_port)},
                                         {"WASMCLOUD_PROV_RPC_HOST", "127.0.0.1"},
                                         {"WASMCLOUD_PROV_RPC_PORT", std::to_string(rpc_port)},
                                         {"WASMCLOUD_LATTICE_PREFIX", kLattice},
                                         {"WASMCLOUD_CLUSTER_SEED", cluster_seed},
                                         {"WASMCLOUD_ALLOW_FILE_LOAD", "true"}};
  for (auto& [k, v] : extra) env[k] = v;
  auto cfg = host::load_config(env, "");
  cfg.native_tier = false;
  cfg.log_level = "warn";
  return cfg;
}

/// Collects lattice events of kLattice on `nc`.
lattice::Subscription collect_events(lattice::Connection& nc, testing::EventLog& log,
                                     const std::string& subject) {
  auto sub = nc.subscribe(subject, [&log](lattice::Message m) {
    auto j = json::parse(m.text(), nullptr, false);
    if (!j.is_discarded()) log.add(std::move(j));
  });
  EXPECT_TRUE(sub) << sub.error().message;
  return sub ? std::move(*sub) : lattice::Subscription();
}

/// Scales `actor` from `ref` to 1 on `host_id` through the control connection `ctl` and waits
/// for actor_started.
void start_actor(lattice::Connection& ctl, testing::EventLog& events, const std::string& host_id,
                 const std::string& actor, const std::string& ref) {
  const auto mark = events.mark();
  auto ack = testing::host_cmd(ctl, host_id, "scale",
                               json{{"actor_id", actor}, {"actor_ref", ref}, {"count", 1}}.dump(),
                               kLattice);
  ASSERT_EQ(ack.value("accepted", false), true) << ack.dump();
  ASSERT_TRUE(events.wait(mark, "actor_started",
                          [&](const json& d) { return d.value("public_key", "") == actor; }))
      << "actor_started for " << actor;
}

/// Puts a link actor -> provider (wasmcloud:keyvalue, default) through `ctl`; waits for
/// linkdef_set.
void put_link(lattice::Connection& ctl, testing::EventLog& events, const std::string& actor,
              const std::string& provider) {
  const auto mark = events.mark();
  auto ack = testing::ctl_request(ctl, topics::ctl_linkdefs_put(kLattice),
                                  json{{"actor_id", actor},
                                       {"provider_id", provider},
                                       {"link_name", "default"},
                                       {"contract_id", "wasmcloud:keyvalue"},
                                       {"values", json::object()}}
                                      .dump());
  ASSERT_EQ(ack.value("accepted", false), true) << ack.dump();
  ASSERT_TRUE(events.wait(mark, "linkdef_set"));
}

/// An HttpServer.HandleRequest invocation of `actor` as the httpserver provider sends it.
rpc::Invocation http_invocation(const wascap::KeyPair& cluster, const std::string& actor,
                                const std::string& path) {
  auto inv = rpc::make_invocation(
      cluster, rpc::provider_entity(kHttpServer, "wasmcloud:httpserver", "default"),
      rpc::actor_entity(actor), "HttpServer.HandleRequest",
      wasm::testing::http_request("GET", path, "", ""), cluster.public_key());
  EXPECT_TRUE(inv) << inv.error().message;
  return *inv;
}

/// Sends `body` on wasmbus.rpc.{lattice}.{actor} over `nc` and decodes the reply.
Result<rpc::InvocationResponse> invoke(lattice::Connection& nc, const std::string& actor,
                                       const Bytes& body, std::chrono::milliseconds timeout = 10s) {
  auto reply = nc.request(topics::rpc_actor(kLattice, actor), body, timeout);
  if (!reply) return fail(reply.error());
  return rpc::decode_response(reply->data());
}

/// A keyvalue provider stand-in on the RPC server: answers KeyValue.Increment with the number
/// of increments so far (msgpack i32), after `delay`.
class FakeKeyValue {
 public:
  FakeKeyValue(lattice::Connection& nc, const std::string& key) : key_(key) {
    auto sub = nc.subscribe(topics::rpc_provider(kLattice, key, "default"),
                            [this, &nc](lattice::Message m) {
                              auto inv = rpc::decode_invocation(m.data());
                              if (!inv) return;
                              std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
                              int n = ++increments;
                              msgpack::sbuffer buf;
                              msgpack::pack(buf, n);
                              rpc::InvocationResponse resp;
                              resp.invocation_id = inv->id;
                              resp.msg.assign(buf.data(), buf.data() + buf.size());
                              resp.content_length = resp.msg.size();
                              (void)nc.respond(m, rpc::encode_response(resp));
                            });
    EXPECT_TRUE(sub) << sub.error().message;
    if (sub) sub_ = std::move(*sub);
    EXPECT_TRUE(nc.flush());
  }
  ~FakeKeyValue() { sub_.unsubscribe(); }
  const std::string& key() const { return key_; }

  std::atomic<int> increments{0};
  std::atomic<int> delay_ms{0};

 private:
  std::string key_;
  lattice::Subscription sub_;
};

/// {"counter":N} from kvcounter's HttpResponse, or -1.
int counter_of(const rpc::InvocationResponse& resp) {
  auto http = wasm::testing::decode_http_response(resp.msg);
  if (!http.decoded) return -1;
  auto j = json::parse(http.body, nullptr, false);
  return j.is_object() ? j.value("counter", -1) : -1;
}

// ------------------------------------------------------------------ control and RPC apart

class SplitConnections : public ::testing::Test {
 protected:
  static inline std::unique_ptr<testing::NatsServer> ctl_server, rpc_server;
  static inline std::unique_ptr<lattice::Connection> ctl_nc, rpc_nc;
  static inline std::unique_ptr<host::Host> host;
  static inline std::optional<wascap::KeyPair> cluster;
  static inline testing::EventLog events, rpc_events;
  static inline lattice::Subscription events_sub, rpc_events_sub, ctl_spy;
  static inline std::mutex spy_mu;
  static inline std::vector<std::string> ctl_rpc_subjects;  // wasmbus.rpc.> seen on ctl
  static inline std::unique_ptr<FakeKeyValue> kv;

  static void SetUpTestSuite() {
    ctl_server = std::make_unique<testing::NatsServer>();
    rpc_server = std::make_unique<testing::NatsServer>();
    ctl_nc = connect(ctl_server->url());
    rpc_nc = connect(rpc_server->url());
    ASSERT_TRUE(ctl_nc && rpc_nc);
    events_sub = collect_events(*ctl_nc, events, std::string("wasmbus.evt.") + kLattice);
    rpc_events_sub = collect_events(*ctl_nc, rpc_events, std::string("wasmbus.rpcevt.") + kLattice);
    // Anything of actor/provider RPC reaching the control server is recorded.
    auto spy = ctl_nc->subscribe("wasmbus.rpc.>", [](lattice::Message m) {
      std::lock_guard lock(spy_mu);
      ctl_rpc_subjects.emplace_back(m.subject());
    });
    ASSERT_TRUE(spy);
    ctl_spy = std::move(*spy);
    ASSERT_TRUE(ctl_nc->flush());
    kv = std::make_unique<FakeKeyValue>(
        *rpc_nc, wascap::KeyPair::generate(wascap::KeyType::kService).public_key());
    cluster = wascap::KeyPair::generate(wascap::KeyType::kCluster);
    auto h = host::Host::start(config_for(ctl_server->port(), rpc_server->port(), cluster->seed(),
                                          {{"WASMCLOUD_RPC_TIMEOUT_MS", "10000"}}));
    ASSERT_TRUE(h) << h.error().message;
    host = std::move(*h);
  }

  static void TearDownTestSuite() {
    host.reset();
    kv.reset();
    ctl_spy.unsubscribe();
    events_sub.unsubscribe();
    rpc_events_sub.unsubscribe();
    ctl_nc.reset();
    rpc_nc.reset();
    ctl_server.reset();
    rpc_server.reset();
  }

  static std::vector<std::string> spied() {
    std::lock_guard lock(spy_mu);
    return ctl_rpc_subjects;
  }
};

TEST_F(SplitConnections, ActorStartedThroughControlAnswersOnTheRpcServer) {
  ASSERT_TRUE(host);
  start_actor(*ctl_nc, events, host->host_id(), kEcho, fixture_ref("echo.wasm"));
  const auto mark = rpc_events.mark();
  auto resp =
      invoke(*rpc_nc, kEcho, rpc::encode_invocation(http_invocation(*cluster, kEcho, "/a")));
  ASSERT_TRUE(resp) << resp.error().message;
  ASSERT_FALSE(resp->error) << *resp->error;
  auto http = wasm::testing::decode_http_response(resp->msg);
  ASSERT_TRUE(http.decoded);
  EXPECT_EQ(http.status, 200);
  EXPECT_NE(http.body.find("\"path\":\"/a\""), std::string::npos) << http.body;
  // Events (rpc events included) stay on the control connection.
  EXPECT_TRUE(rpc_events.wait(mark, "invocation_succeeded"));
  // Nothing of the actor's RPC went to the control server.
  EXPECT_TRUE(spied().empty()) << spied().front();
}

TEST_F(SplitConnections, ControlServerHasNoActorSubscription) {
  ASSERT_TRUE(host);
  ctl_spy.unsubscribe();  // the spy would answer otherwise
  ASSERT_TRUE(ctl_nc->flush());
  auto resp =
      invoke(*ctl_nc, kEcho, rpc::encode_invocation(http_invocation(*cluster, kEcho, "/b")), 2s);
  ASSERT_FALSE(resp) << "the control server delivered an actor invocation";
}

TEST_F(SplitConnections, HostCallsGoToProvidersOnTheRpcServer) {
  ASSERT_TRUE(host);
  start_actor(*ctl_nc, events, host->host_id(), kKvCounter, fixture_ref("kvcounter.wasm"));
  put_link(*ctl_nc, events, kKvCounter, kv->key());
  auto resp = invoke(*rpc_nc, kKvCounter,
                     rpc::encode_invocation(http_invocation(*cluster, kKvCounter, "/c")));
  ASSERT_TRUE(resp) << resp.error().message;
  ASSERT_FALSE(resp->error) << *resp->error;
  EXPECT_EQ(counter_of(*resp), 1);
  EXPECT_EQ(kv->increments.load(), 1);
}

// #11.6: one signed invocation delivered twice runs once.
TEST_F(SplitConnections, ReplayedInvocationIsRefusedAndRunsOnce) {
  ASSERT_TRUE(host);
  const int before = kv->increments.load();
  const rpc::Invocation inv = http_invocation(*cluster, kKvCounter, "/replay");
  const Bytes body = rpc::encode_invocation(inv);
  auto first = invoke(*rpc_nc, kKvCounter, body);
  ASSERT_TRUE(first) << first.error().message;
  ASSERT_FALSE(first->error) << *first->error;
  auto second = invoke(*rpc_nc, kKvCounter, body);
  ASSERT_TRUE(second) << second.error().message;
  ASSERT_TRUE(second->error);
  EXPECT_EQ(*second->error, rpc::anti_forgery_message(rpc::errors::kReplayedInvocation));
  EXPECT_TRUE(second->msg.empty());
  // The envelope id is not signed: a replay under another id is still the same token.
  auto renamed = inv;
  renamed.id = "00000000-0000-4000-8000-000000000000";
  auto third_try = invoke(*rpc_nc, kKvCounter, rpc::encode_invocation(renamed));
  ASSERT_TRUE(third_try) << third_try.error().message;
  ASSERT_TRUE(third_try->error);
  EXPECT_EQ(*third_try->error, rpc::anti_forgery_message(rpc::errors::kReplayedInvocation));
  EXPECT_EQ(kv->increments.load(), before + 1);  // the actor ran once
  // A fresh invocation of the same call is accepted.
  auto third = invoke(*rpc_nc, kKvCounter,
                      rpc::encode_invocation(http_invocation(*cluster, kKvCounter, "/replay")));
  ASSERT_TRUE(third) << third.error().message;
  EXPECT_FALSE(third->error) << *third->error;
  EXPECT_EQ(kv->increments.load(), before + 2);
}

// #12.8: a provider taking 7 s under WASMCLOUD_RPC_TIMEOUT_MS=10000 is not cut by the budget.
TEST_F(SplitConnections, HostCallBlockedSevenSecondsSucceeds) {
  ASSERT_TRUE(host);
  kv->delay_ms = 7000;
  const auto t0 = std::chrono::steady_clock::now();
  auto resp = invoke(*rpc_nc, kKvCounter,
                     rpc::encode_invocation(http_invocation(*cluster, kKvCounter, "/slow")), 20s);
  kv->delay_ms = 0;
  ASSERT_TRUE(resp) << resp.error().message;
  ASSERT_FALSE(resp->error) << *resp->error;
  EXPECT_GT(counter_of(*resp), 0);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 7s);
}

// ------------------------------------------------------------------ budget of a spinning guest

TEST(ExecutionBudget, SpinningGuestIsStoppedAtTheConfiguredBudget) {
  testing::NatsServer nats;
  auto cluster = wascap::KeyPair::generate(wascap::KeyType::kCluster);
  // A signed actor that loops forever.
  auto code = wasm::testing::wat(wasm::testing::abi_guest("(loop $l (br $l)) (i32.const 1)"));
  wascap::SignOptions so;
  so.name = "spinner";
  so.caps = {"wasmcloud:httpserver"};
  auto module_key = wascap::KeyPair::generate(wascap::KeyType::kModule);
  auto signed_mod = wascap::sign_module(code, wascap::KeyPair::generate(wascap::KeyType::kAccount),
                                        module_key, so);
  ASSERT_TRUE(signed_mod) << signed_mod.error().message;
  const std::string dir = testing::make_temp_dir("wc-budget");
  const std::string path = dir + "/spinner.wasm";
  ASSERT_TRUE(write_file(path, signed_mod->module));

  auto h = host::Host::start(config_for(nats.port(), nats.port(), cluster.seed(),
                                        {{"WASMCLOUD_MAX_EXECUTION_TIME_MS", "1000"}}));
  ASSERT_TRUE(h) << h.error().message;
  auto nc = connect(nats.url());
  ASSERT_TRUE(nc);
  testing::EventLog events;
  auto sub = collect_events(*nc, events, std::string("wasmbus.evt.") + kLattice);
  ASSERT_TRUE(nc->flush());
  const std::string actor = module_key.public_key();
  start_actor(*nc, events, (*h)->host_id(), actor, "file://" + path);
  const auto t0 = std::chrono::steady_clock::now();
  auto resp =
      invoke(*nc, actor, rpc::encode_invocation(http_invocation(cluster, actor, "/spin")), 20s);
  const auto took = std::chrono::steady_clock::now() - t0;
  ASSERT_TRUE(resp) << resp.error().message;
  ASSERT_TRUE(resp->error);
  EXPECT_EQ(*resp->error, wasm::kTrapDeadline);
  EXPECT_GE(took, 900ms);
  EXPECT_LT(took, 5s);
  sub.unsubscribe();
  h->reset();
  std::filesystem::remove_all(dir);
}

// ------------------------------------------------------------------ unusable native cache

TEST(NativeCacheDir, UnusableDirectoryWarnsAndServesOnTheInterpreter) {
  testing::NatsServer nats;
  auto cluster = wascap::KeyPair::generate(wascap::KeyType::kCluster);
  const std::string dir = testing::make_temp_dir("wc-native-cache");
  const std::string file = dir + "/regular-file";
  std::ofstream(file) << "not a directory";
  const std::string cache = file + "/native";

  std::ostringstream captured;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(captured);
  sink->set_pattern("%l %v");
  spdlog::default_logger()->sinks().push_back(sink);
  struct Unhook {
    std::shared_ptr<spdlog::sinks::sink> s;
    ~Unhook() {
      auto& v = spdlog::default_logger()->sinks();
      v.erase(std::remove(v.begin(), v.end(), s), v.end());
    }
  } unhook{sink};

  auto cfg = config_for(nats.port(), nats.port(), cluster.seed());
  cfg.native_tier = true;
  cfg.native_cache_dir = cache;
  cfg.metrics_port = testing::free_port();
  auto h = host::Host::start(cfg);
  ASSERT_TRUE(h) << h.error().message;

  auto nc = connect(nats.url());
  ASSERT_TRUE(nc);
  testing::EventLog events;
  auto sub = collect_events(*nc, events, std::string("wasmbus.evt.") + kLattice);
  ASSERT_TRUE(nc->flush());
  start_actor(*nc, events, (*h)->host_id(), kEcho, fixture_ref("echo.wasm"));
  auto resp = invoke(*nc, kEcho, rpc::encode_invocation(http_invocation(cluster, kEcho, "/n")));
  ASSERT_TRUE(resp) << resp.error().message;
  ASSERT_FALSE(resp->error) << *resp->error;
  EXPECT_EQ(wasm::testing::decode_http_response(resp->msg).status, 200);

  sink->flush();
  const std::string logs = captured.str();
  const auto warn = logs.find("warning Native code cache unusable");
  ASSERT_NE(warn, std::string::npos) << logs;
  const std::string line = logs.substr(warn, logs.find('\n', warn) - warn);
  EXPECT_NE(line.find(cache), std::string::npos) << line;
  EXPECT_NE(line.find("Not a directory"), std::string::npos) << line;

  httplib::Client client("127.0.0.1", cfg.metrics_port);
  auto res = client.Get("/metrics");
  ASSERT_TRUE(res);
  EXPECT_NE(res->body.find("wasmcloud_native_compile_seconds_count{outcome=\"error\"} 1"),
            std::string::npos)
      << res->body;
  sub.unsubscribe();
  h->reset();
  std::filesystem::remove_all(dir);
}

// ------------------------------------------------------------------ inline NATS runs (#14.2)

/// An ActorSupervisor whose RPC subscription lives on a real nats-server, with a real RPC pool
/// ("wc-inlinepool" threads). The invocation runner records the thread's name and answers with
/// the request's payload; a payload "slow" sleeps 5 ms first, "hold" waits for release().
struct InlineRig {
  testing::NatsServer server;
  std::unique_ptr<lattice::Connection> host_nc, client;
  std::unique_ptr<host::ConnectionBus> bus;
  host::testing::FakeBus md_bus;
  host::testing::EventLog events;
  std::unique_ptr<host::MetadataCache> metadata;
  std::unique_ptr<host::PolicyManager> policy;
  host::Executor pool{2, "inlinepool"};
  std::unique_ptr<host::ActorSupervisor> sup;
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::pair<std::string, std::string>> ran;  // (payload, thread name)
  bool released = false;

  InlineRig() {
    host_nc = connect(server.url());
    client = connect(server.url());
    bus = std::make_unique<host::ConnectionBus>(*host_nc);
    host::MetadataCacheDeps md;
    md.ctl = &md_bus;
    md.rpc = &md_bus;
    md.post = [](std::function<void()>) { return true; };
    md.lattice_prefix = kLattice;
    metadata = std::make_unique<host::MetadataCache>(std::move(md));
    policy =
        std::make_unique<host::PolicyManager>("", std::chrono::milliseconds(100), json::object(),
                                              [](const std::string&, const std::string&,
                                                 std::chrono::milliseconds) -> Result<std::string> {
                                                return fail(Code::kUnavailable, "no policy");
                                              });
    host::ActorSupervisorDeps d;
    // 2 ms instead of the host's 200 µs: echo's runs must count as fast under TSan and on a
    // loaded CI machine too; "slow" sleeps 5 ms.
    d.inline_threshold = 2ms;
    d.rpc = bus.get();
    d.metadata = metadata.get();
    d.policy = policy.get();
    d.emit = events.emitter();
    d.load = [](const Bytes&, const std::string&) -> Result<std::shared_ptr<wasm::Module>> {
      return std::shared_ptr<wasm::Module>(std::make_shared<host::testing::FakeModule>());
    };
    d.post_rpc = [this](std::function<void()> task) { return pool.post(std::move(task)); };
    d.run = [this](const host::InvocationTarget&, const lattice::Message& m) {
      const std::string payload(m.text());
      if (payload == "slow") std::this_thread::sleep_for(5ms);
      if (payload == "hold") {
        std::unique_lock lock(mu);
        cv.wait_for(lock, 10s, [&] { return released; });
      }
      char name[16] = {0};
      pthread_getname_np(pthread_self(), name, sizeof name);
      {
        std::lock_guard lock(mu);
        ran.emplace_back(payload, name);
      }
      cv.notify_all();
      (void)host_nc->publish(m.reply(), payload);
    };
    d.reply_not_running = [](const std::string&, const lattice::Message&) {};
    d.host_id = "NHOST";
    d.lattice_prefix = kLattice;
    sup = std::make_unique<host::ActorSupervisor>(std::move(d));
  }
  ~InlineRig() {
    release();
    sup->stop_all();
    pool.shutdown();
  }

  void release() {
    {
      std::lock_guard lock(mu);
      released = true;
    }
    cv.notify_all();
  }
  /// Sends `payload` to echo and returns the reply text ("" on error).
  std::string call(const std::string& payload) {
    auto r = client->request(topics::rpc_actor(kLattice, kEcho), payload, 5s);
    return r ? std::string(r->text()) : "";
  }
  /// The name of the thread that ran the `i`-th invocation.
  std::string thread_of(std::size_t i) {
    std::lock_guard lock(mu);
    return i < ran.size() ? ran[i].second : "";
  }
  std::size_t runs() {
    std::lock_guard lock(mu);
    return ran.size();
  }
  /// Waits until no invocation of echo runs (the reply goes out before the run's slot and
  /// observation are recorded), so inline_stats() includes every answered call.
  void settle() {
    for (int i = 0; i < 5000 && sup->load_of(kEcho).first != 0; ++i)
      std::this_thread::sleep_for(1ms);
  }
};

bool on_pool(const std::string& thread_name) { return thread_name == "wc-inlinepool"; }

TEST(NatsInlineRuns, AKnownFastActorRunsOnTheDeliveryThreadAndAnswersFromThere) {
  InlineRig rig;
  auto echo = read_file(std::string(WC_FIXTURES_DIR) + "/echo.wasm");
  ASSERT_TRUE(echo);
  ASSERT_TRUE(rig.sup->start(*echo, "registry.test/echo:0.3.4", 1, {}));
  // Not yet observed: the first kInlineStreak invocations run on the pool.
  const auto streak = host::ActorSupervisor::kInlineStreak;
  for (std::uint32_t i = 0; i < streak; ++i) {
    ASSERT_EQ(rig.call("p" + std::to_string(i)), "p" + std::to_string(i));
    EXPECT_TRUE(on_pool(rig.thread_of(i))) << i << ": " << rig.thread_of(i);
  }
  // Then the delivery thread runs them (a run slower than the threshold on this shared
  // machine resets the streak, so allow a few rounds).
  std::size_t inline_at = 0;
  for (int i = 0; i < 10 * static_cast<int>(streak) && inline_at == 0; ++i) {
    const std::string p = "q" + std::to_string(i);
    ASSERT_EQ(rig.call(p), p);  // answered correctly wherever it ran
    if (!on_pool(rig.thread_of(rig.runs() - 1))) inline_at = rig.runs() - 1;
  }
  ASSERT_NE(inline_at, 0u) << "never ran on the delivery thread";
  rig.settle();
  EXPECT_GE(rig.sup->inline_stats(kEcho).inline_runs, 1u);
  EXPECT_GE(rig.sup->inline_stats(kEcho).pooled_runs, streak);
}

TEST(NatsInlineRuns, ASlowRunSendsTheNextOnesToThePoolAndLaterMessagesWaitForAnInlineRun) {
  InlineRig rig;
  auto echo = read_file(std::string(WC_FIXTURES_DIR) + "/echo.wasm");
  ASSERT_TRUE(echo);
  ASSERT_TRUE(rig.sup->start(*echo, "registry.test/echo:0.3.4", 2, {}));
  const auto streak = host::ActorSupervisor::kInlineStreak;
  auto until_inline = [&] {
    for (int i = 0; i < 20 * static_cast<int>(streak); ++i) {
      (void)rig.call("w");
      rig.settle();
      // The last one ran inline and was fast itself: the next one runs inline too.
      if (!on_pool(rig.thread_of(rig.runs() - 1)) &&
          rig.sup->inline_stats(kEcho).fast_streak >= streak)
        return true;
    }
    return false;
  };
  ASSERT_TRUE(until_inline());
  // A slow run on the delivery thread is the last one there: the next kInlineStreak run on the
  // pool.
  ASSERT_EQ(rig.call("slow"), "slow");
  rig.settle();
  EXPECT_EQ(rig.sup->inline_stats(kEcho).fast_streak, 0u);
  for (std::uint32_t i = 0; i < streak; ++i) {
    ASSERT_EQ(rig.call("a"), "a");
    EXPECT_TRUE(on_pool(rig.thread_of(rig.runs() - 1))) << i;
  }
  // Known fast again: "hold" runs on the delivery thread; messages sent meanwhile wait behind
  // it (they are not run) and are answered once it returns.
  ASSERT_TRUE(until_inline());
  const std::size_t before = rig.runs();
  std::string held;
  std::thread holder([&] { held = rig.call("hold"); });
  auto wait_runs = [&](std::size_t n) {
    std::unique_lock lock(rig.mu);
    return rig.cv.wait_for(lock, 5s, [&] { return rig.ran.size() >= n; });
  };
  std::vector<std::string> later(3);
  std::vector<std::thread> senders;
  // "hold" is running (not recorded until released); give it time to be picked up.
  std::this_thread::sleep_for(50ms);
  for (int i = 0; i < 3; ++i)
    senders.emplace_back([&, i] { later[i] = rig.call("later" + std::to_string(i)); });
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(rig.runs(), before) << "a message overtook the inline run";
  rig.release();
  holder.join();
  for (auto& t : senders) t.join();
  EXPECT_EQ(held, "hold");
  for (int i = 0; i < 3; ++i) EXPECT_EQ(later[i], "later" + std::to_string(i));
  ASSERT_TRUE(wait_runs(before + 4));
  EXPECT_FALSE(on_pool(rig.thread_of(before))) << "hold ran on " << rig.thread_of(before);
  for (std::size_t i = before + 1; i < before + 4; ++i)
    EXPECT_TRUE(on_pool(rig.thread_of(i))) << i << " ran on " << rig.thread_of(i);
}

}  // namespace
}  // namespace wc

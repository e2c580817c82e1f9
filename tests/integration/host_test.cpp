// The seed path end to end against real servers: a `wasmcloud host` process, nats-server and
// docker-registry (tests/support/servers.h), the real signed echo actor pushed with the OCI
// client. Control requests are sent as raw JSON exactly as the dashboard sends them.
// The tests share one host process and run in declaration order; each leaves no actor running.
#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include "common/encoding.h"
#include "event_log.h"
#include "host/errors.h"
#include "lattice/nats.h"
#include "lattice/topics.h"
#include "oci/client.h"
#include "oci/errors.h"
#include "rpc/antiforgery.h"
#include "rpc/errors.h"
#include "rpc/invocation.h"
#include "support/servers.h"
#include "wascap/claims.h"
#include "wascap/errors.h"
#include "wascap/nkeys.h"
#include "wascap/wasm_sections.h"

namespace wc {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

constexpr const char* kEcho = "MBCFOPM6JW2APJLXJD3Z5O4CN7CPYJ2B4FTKLJUR5YR5MITIU7HD3WD5";
constexpr const char* kHttpServer = "VAG3QITQQ2ODAOWB5TTQSDJ53XK3SHBEIFNK4AYJ5RKAX2UNSCAPHA5M";

Bytes from_hex(std::string_view hex) {
  Bytes out;
  std::string digits;
  for (char c : hex)
    if (std::isxdigit(static_cast<unsigned char>(c))) digits += c;
  for (size_t i = 0; i + 1 < digits.size(); i += 2)
    out.push_back(static_cast<uint8_t>(std::stoi(digits.substr(i, 2), nullptr, 16)));
  return out;
}

// actor-rpc-providers.md 10.2 A.1: HttpRequest GET /foo/bar?x=1, body "hello".
const Bytes kRequest = from_hex(
    "85 a6 6d 65 74 68 6f 64 a3 47 45 54 a4 70 61 74 68 a8 2f 66 6f 6f 2f 62 61 72 ab 71 75 65 72 "
    "79 53 74 72 69 6e 67 a3 78 3d 31 a6 68 65 61 64 65 72 81 a6 61 63 63 65 70 74 91 a3 2a 2f 2a "
    "a4 62 6f 64 79 c4 05 68 65 6c 6c 6f");
// 10.3 B.1: the echo actor's HttpResponse to it.
const Bytes kEchoResponse = from_hex(
    "83 aa 73 74 61 74 75 73 43 6f 64 65 cc c8 a6 68 65 61 64 65 72 80 a4 62 6f 64 79 c4 54 7b 22 "
    "62 6f 64 79 22 3a 5b 31 30 34 2c 31 30 31 2c 31 30 38 2c 31 30 38 2c 31 31 31 5d 2c 22 6d 65 "
    "74 68 6f 64 22 3a 22 47 45 54 22 2c 22 70 61 74 68 22 3a 22 2f 66 6f 6f 2f 62 61 72 22 2c 22 "
    "71 75 65 72 79 5f 73 74 72 69 6e 67 22 3a 22 78 3d 31 22 7d");

/// Collects every event on wasmbus.evt.default.
class HostSeedPath : public ::testing::Test {
 protected:
  static inline std::unique_ptr<testing::NatsServer> nats;
  static inline std::unique_ptr<testing::RegistryServer> registry;
  static inline std::unique_ptr<testing::ChildProcess> host_proc;
  static inline std::unique_ptr<lattice::Connection> nc;
  static inline std::unique_ptr<testing::EventLog> log;
  static inline lattice::Subscription events_sub;
  static inline std::optional<wascap::KeyPair> cluster, host_key;
  static inline std::string host_id, dir, echo_ref;
  static inline int dead_port = 0;
  static inline std::string updatable_key;
  static inline Bytes echo_bytes;

  static void push(const std::string& ref, const Bytes& bytes) {
    oci::PushOptions po;
    po.allowed_insecure = {registry->host()};
    auto r = oci::Client().push(ref, bytes, po);
    ASSERT_TRUE(r) << r.error().message;
  }

  static void SetUpTestSuite() {
    dir = testing::make_temp_dir("wc-host-it");
    nats = std::make_unique<testing::NatsServer>();
    registry = std::make_unique<testing::RegistryServer>();
    dead_port = testing::free_port();
    auto bytes = read_file(std::string(WC_FIXTURES_DIR) + "/echo.wasm");
    ASSERT_TRUE(bytes);
    echo_bytes = *bytes;
    echo_ref = registry->host() + "/echo:0.3.4";
    push(echo_ref, echo_bytes);
    push(registry->host() + "/echo:0.3.5", echo_bytes);
    for (const char* name : {"kvcounter", "kvcounter_unpriv_s", "randogenlogger_s"}) {
      auto b = read_file(std::string(WC_FIXTURES_DIR) + "/" + name + ".wasm");
      ASSERT_TRUE(b);
      push(registry->host() + "/" + name + ":1", *b);
    }
    auto unsigned_mod = wascap::strip_token_sections(echo_bytes);
    ASSERT_TRUE(unsigned_mod);
    push(registry->host() + "/unsigned:1", *unsigned_mod);
    // A token whose signature no longer matches its claims.
    auto token = wascap::find_token(echo_bytes);
    ASSERT_TRUE(token && *token);
    std::string bad = **token;
    char& ch = bad[bad.rfind('.') + 5];
    ch = ch == 'A' ? 'B' : 'A';
    auto forged = wascap::embed_token(*unsigned_mod, bad);
    ASSERT_TRUE(forged);
    push(registry->host() + "/forged:1", *forged);
    // A current (wascap_revision 3) signature over different code: the hash gate rejects it.
    wascap::SignOptions so;
    so.name = "rev3";
    so.caps = {"wasmcloud:httpserver"};
    auto signed3 =
        wascap::sign_module(*unsigned_mod, wascap::KeyPair::generate(wascap::KeyType::kAccount),
                            wascap::KeyPair::generate(wascap::KeyType::kModule), so);
    ASSERT_TRUE(signed3);
    // The same code signed by one module key at revisions 1 and 2 (live update).
    {
      auto account = wascap::KeyPair::generate(wascap::KeyType::kAccount);
      auto module = wascap::KeyPair::generate(wascap::KeyType::kModule);
      updatable_key = module.public_key();
      for (int rev : {1, 2}) {
        wascap::SignOptions o;
        o.name = "updatable";
        o.caps = {"wasmcloud:httpserver"};
        o.rev = rev;
        auto m = wascap::sign_module(*unsigned_mod, account, module, o);
        ASSERT_TRUE(m);
        push(registry->host() + "/updatable:" + std::to_string(rev), m->module);
      }
    }
    Bytes junk = {'x'};
    push(registry->host() + "/tampered:1",
         wascap::append_custom_section(signed3->module, "junk", junk));
    cluster = wascap::KeyPair::generate(wascap::KeyType::kCluster);
    host_key = wascap::KeyPair::generate(wascap::KeyType::kServer);
    host_id = host_key->public_key();
    start_host();

    lattice::ConnectOptions o;
    o.servers = {nats->url()};
    auto c = lattice::Connection::connect(o);
    ASSERT_TRUE(c) << c.error().message;
    nc = std::move(*c);
    log = std::make_unique<testing::EventLog>();
    auto sub = nc->subscribe("wasmbus.evt.default", [](lattice::Message m) {
      auto j = json::parse(m.text(), nullptr, false);
      if (!j.is_discarded()) log->add(std::move(j));
    });
    ASSERT_TRUE(sub);
    events_sub = std::move(*sub);
    ASSERT_TRUE(wait_host_up(20s)) << "host did not answer; log in " << dir;
  }

  static void start_host() {
    host_proc = std::make_unique<testing::ChildProcess>(
        std::vector<std::string>{std::string(WC_BINARY_DIR) + "/src/cli/wasmcloud", "host",
                                 "--nats-port", std::to_string(nats->port()), "--allowed-insecure",
                                 registry->host() + ",127.0.0.1:" + std::to_string(dead_port),
                                 "--no-native", "--log-level", "debug", "--oci-cache-dir",
                                 dir + "/oci", "--label", "zone=test"},
        dir + "/host.log",
        std::vector<std::string>{"WASMCLOUD_HOST_SEED=" + host_key->seed(),
                                 "WASMCLOUD_CLUSTER_SEED=" + cluster->seed()});
  }

  static void TearDownTestSuite() {
    events_sub.unsubscribe();
    if (host_proc) host_proc->stop(15);
    host_proc.reset();
    nc.reset();
    registry.reset();
    nats.reset();
    // The host's log and work files stay only for diagnosing a failure (one directory per test
    // process: ctest runs each test of this suite alone).
    if (::testing::UnitTest::GetInstance()->failed_test_count() == 0) testing::remove_temp_dir(dir);
  }

  static bool wait_host_up(std::chrono::milliseconds timeout) {
    auto until = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < until) {
      auto r = nc->request("wasmbus.ctl.default.get." + host_id + ".inv", "", 500ms);
      if (r) return true;
      std::this_thread::sleep_for(100ms);
    }
    return false;
  }

  static json request(const std::string& subject, const std::string& body,
                      std::chrono::milliseconds timeout = 3s) {
    auto r = nc->request(subject, body, timeout);
    if (!r) return json{{"__error", r.error().message}};
    return json::parse(r->text(), nullptr, false);
  }
  static json cmd(const std::string& op, const std::string& body) {
    return request("wasmbus.ctl.default.cmd." + host_id + "." + op, body);
  }
  static json inventory() { return request("wasmbus.ctl.default.get." + host_id + ".inv", ""); }
  static json scale(const std::string& ref, int count, const std::string& actor = kEcho) {
    return cmd("scale", json{{"actor_id", actor}, {"actor_ref", ref}, {"count", count}}.dump());
  }
  static size_t instances_of(const json& inv, const std::string& key = kEcho) {
    for (const auto& a : inv["actors"])
      if (a["id"] == key) return a["instances"].size();
    return 0;
  }

  /// A signed HttpServer.HandleRequest invocation from the httpserver provider entity.
  static Result<rpc::InvocationResponse> invoke(const wascap::KeyPair& signer,
                                                const Bytes& payload = kRequest) {
    auto inv = rpc::make_invocation(
        signer, rpc::provider_entity(kHttpServer, "wasmcloud:httpserver", "default"),
        rpc::actor_entity(kEcho), "HttpServer.HandleRequest", payload, signer.public_key());
    if (!inv) return fail(inv.error());
    return invoke_raw(rpc::encode_invocation(*inv));
  }
  static Result<rpc::InvocationResponse> invoke_raw_to(const std::string& key, const Bytes& body) {
    auto r = nc->request("wasmbus.rpc.default." + key, body, 5s);
    if (!r) return fail(r.error());
    return rpc::decode_response(r->data());
  }
  static Result<rpc::InvocationResponse> invoke_raw(const Bytes& body) {
    auto r = nc->request(std::string("wasmbus.rpc.default.") + kEcho, body, 5s);
    if (!r) return fail(r.error());
    return rpc::decode_response(r->data());
  }

  /// Scales echo to `n` from echo_ref and waits for the inventory to show it.
  static void ensure_echo(int n) {
    auto ack = scale(echo_ref, n);
    ASSERT_EQ(ack["accepted"], true) << ack.dump();
    auto until = std::chrono::steady_clock::now() + 20s;
    while (instances_of(inventory()) != static_cast<size_t>(n) &&
           std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(50ms);
    ASSERT_EQ(instances_of(inventory()), static_cast<size_t>(n));
  }

  /// After a bad request: nothing runs and a valid request still works.
  static void expect_still_healthy() {
    auto inv = inventory();
    EXPECT_EQ(inv["host_id"], host_id);
    EXPECT_EQ(instances_of(inv), 0u);
    auto pings = request("wasmbus.ctl.default.ping.hosts", "");
    EXPECT_EQ(pings["id"], host_id);
  }

  /// A scale request that must be acked and then fail with actor_start_failed containing `text`.
  static void expect_scale_fails(const std::string& ref, const std::string& text) {
    auto mark = log->mark();
    auto ack = scale(ref, 1);
    EXPECT_EQ(ack, json::parse(R"({"accepted":true,"error":""})"));
    auto e = log->wait(mark, "actor_start_failed");
    ASSERT_TRUE(e) << "no actor_start_failed for " << ref;
    EXPECT_NE((*e)["data"]["error"].get<std::string>().find(text), std::string::npos)
        << (*e)["data"].dump();
    EXPECT_EQ(log->count(mark, "actor_started"), 0u);
    expect_still_healthy();
  }
};

TEST_F(HostSeedPath, PingReportsHost) {
  auto p = request("wasmbus.ctl.default.ping.hosts", "");
  EXPECT_EQ(p["id"], host_id);
  EXPECT_EQ(p["issuer"], cluster->public_key());
  EXPECT_EQ(p["labels"]["zone"], "test");
  EXPECT_EQ(p["labels"]["hostcore.os"], "linux");
  EXPECT_EQ(p["version"], "0.63.2");
  EXPECT_EQ(p["lattice_prefix"], "default");
  EXPECT_TRUE(p["js_domain"].is_null());
}

TEST_F(HostSeedPath, ScaleUpInvokeScaleDown) {
  auto mark = log->mark();
  // Exactly the dashboard's request.
  auto ack = cmd("scale", std::string(R"({"actor_id":")") + kEcho + R"(","actor_ref":")" +
                              echo_ref + R"(","count":1})");
  EXPECT_EQ(ack, json::parse(R"({"accepted":true,"error":""})"));
  auto started = log->wait(mark, "actor_started");
  ASSERT_TRUE(started);
  EXPECT_EQ((*started)["source"], host_id);
  EXPECT_EQ((*started)["data"]["public_key"], kEcho);
  EXPECT_EQ((*started)["data"]["image_ref"], echo_ref);
  EXPECT_EQ((*started)["data"]["claims"]["name"], "Echo");
  EXPECT_EQ((*started)["data"]["claims"]["revision"], 4);
  auto all = log->wait(mark, "actors_started");
  ASSERT_TRUE(all);
  EXPECT_EQ((*all)["data"]["count"], 1);

  auto inv = inventory();
  ASSERT_EQ(inv["actors"].size(), 1u) << inv.dump();
  EXPECT_EQ(inv["actors"][0]["id"], kEcho);
  EXPECT_EQ(inv["actors"][0]["image_ref"], echo_ref);
  EXPECT_EQ(inv["actors"][0]["name"], "Echo");
  ASSERT_EQ(inv["actors"][0]["instances"].size(), 1u);
  EXPECT_EQ(inv["actors"][0]["instances"][0]["revision"], 4);

  auto resp = invoke(*cluster);
  ASSERT_TRUE(resp) << resp.error().message;
  ASSERT_FALSE(resp->error) << *resp->error;
  EXPECT_EQ(resp->msg, kEchoResponse);
  EXPECT_EQ(resp->content_length, kEchoResponse.size());

  // count 3: two more instances.
  mark = log->mark();
  EXPECT_EQ(scale(echo_ref, 3)["accepted"], true);
  ASSERT_TRUE(log->wait(mark, "actors_started"));
  EXPECT_EQ(log->count(mark, "actor_started"), 2u);
  EXPECT_EQ(instances_of(inventory()), 3u);
  for (int i = 0; i < 3; ++i) {
    auto r = invoke(*cluster);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->msg, kEchoResponse);
  }
  auto hb = log->mark();
  request("wasmbus.ctl.default.ping.hosts", "");
  auto beat = log->wait(hb, "host_heartbeat");
  ASSERT_TRUE(beat);
  EXPECT_EQ((*beat)["data"]["actors"][kEcho], 3);

  // count 0: everything stops and the RPC subscription goes away.
  mark = log->mark();
  EXPECT_EQ(scale(echo_ref, 0)["accepted"], true);
  auto stopped = log->wait(mark, "actors_stopped");
  ASSERT_TRUE(stopped);
  EXPECT_EQ((*stopped)["data"]["count"], 3);
  EXPECT_EQ((*stopped)["data"]["remaining"], 0);
  EXPECT_EQ(log->count(mark, "actor_stopped"), 3u);
  EXPECT_EQ(instances_of(inventory()), 0u);
  auto gone = invoke(*cluster);
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code, Code::kUnavailable) << gone.error().message;  // no responders
}

TEST_F(HostSeedPath, CountIsConcurrency) {
  ensure_echo(2);
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 8; ++i)
    threads.emplace_back([&] {
      auto r = invoke(*cluster);
      if (r && !r->error && r->msg == kEchoResponse) ++ok;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 8);
  ensure_echo(0);
}

TEST_F(HostSeedPath, InvocationLatencyAndMetadataBucket) {
  ensure_echo(1);
  // Figures for the report: sequential signed invocations through NATS, interpreter tier.
  std::vector<double> ms;
  for (int i = 0; i < 200; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    auto r = invoke(*cluster);
    ms.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    ASSERT_TRUE(r && !r->error);
  }
  std::sort(ms.begin(), ms.end());
  std::printf("echo HttpServer.HandleRequest via host (interpreter): p50 %.3f ms, p99 %.3f ms\n",
              ms[ms.size() / 2], ms[ms.size() * 99 / 100]);
  EXPECT_LT(ms[ms.size() / 2], 100.0);
  // The claims and the reference map are in the lattice metadata bucket (control-interface 5).
  auto claims = nc->request(
      "$JS.API.DIRECT.GET.KV_LATTICEDATA_default",
      json{{"last_by_subj", std::string("$KV.LATTICEDATA_default.CLAIMS_") + kEcho}}.dump(), 2s);
  ASSERT_TRUE(claims) << claims.error().message;
  auto cj = json::parse(claims->text(), nullptr, false);
  EXPECT_EQ(cj["sub"], kEcho) << claims->text();
  EXPECT_EQ(cj["rev"], "4");
  ensure_echo(0);
}

TEST_F(HostSeedPath, LaunchAndStopActor) {
  auto mark = log->mark();
  auto ack = cmd("la", json{{"actor_ref", echo_ref},
                            {"count", 2},
                            {"annotations", {{"wasmcloud.dev/appspec", "echo"}}}}
                           .dump());
  EXPECT_EQ(ack["accepted"], true);
  ASSERT_TRUE(log->wait(mark, "actors_started"));
  auto inv = inventory();
  ASSERT_EQ(instances_of(inv), 2u);
  EXPECT_EQ(inv["actors"][0]["instances"][0]["annotations"]["wasmcloud.dev/appspec"], "echo");
  mark = log->mark();
  ack = cmd("sa", json{{"actor_ref", kEcho}, {"count", 1}}.dump());
  EXPECT_EQ(ack, json::parse(R"({"accepted":true,"error":""})"));
  ASSERT_TRUE(log->wait(mark, "actor_stopped"));
  auto agg = log->wait(mark, "actors_stopped");
  ASSERT_TRUE(agg);
  EXPECT_EQ((*agg)["data"]["remaining"], 1);
  EXPECT_EQ(instances_of(inventory()), 1u);
  ack = cmd("sa", json{{"actor_ref", kEcho}, {"count", 0}}.dump());
  EXPECT_EQ(ack["accepted"], true);
  EXPECT_EQ(instances_of(inventory()), 0u);
}

// ----------------------------------------------------------------------------- bad input

TEST_F(HostSeedPath, MalformedJsonOnEveryCommand) {
  struct Case {
    std::string op, error;
  };
  for (const auto& c : std::vector<Case>{{"scale", "Invalid scale actor JSON request"},
                                         {"la", "Invalid launch actor JSON request"},
                                         {"sa", "Invalid request to stop actor"},
                                         {"upd", "Invalid JSON request to update actor"},
                                         {"lp", "Improperly formed start provider command JSON"},
                                         {"sp", "Invalid JSON request for stop provider"}}) {
    auto ack = cmd(c.op, "{not json");
    EXPECT_EQ(ack, json({{"accepted", false}, {"error", c.error}})) << c.op;
  }
  auto stop = cmd("stop", "{not json");
  EXPECT_EQ(stop["accepted"], false);
  EXPECT_EQ(stop["error"].get<std::string>().rfind("Unable to parse stop host command: ", 0), 0u);
  expect_still_healthy();
}

TEST_F(HostSeedPath, MissingFieldsOnEveryCommand) {
  EXPECT_EQ(cmd("scale", json{{"actor_id", kEcho}, {"actor_ref", echo_ref}}.dump())["error"],
            "Invalid scale actor JSON request");
  EXPECT_EQ(cmd("scale", json{{"actor_ref", echo_ref}, {"count", 1}}.dump())["error"],
            "Invalid scale actor JSON request");
  EXPECT_EQ(cmd("scale", json{{"actor_id", kEcho}, {"count", 1}}.dump())["error"],
            "Invalid scale actor JSON request");
  EXPECT_EQ(cmd("la", R"({"count":1})")["error"], "Invalid launch actor JSON request");
  EXPECT_EQ(cmd("sa", json{{"actor_ref", kEcho}}.dump())["error"], "Invalid request to stop actor");
  EXPECT_EQ(cmd("upd", "{}")["error"], "Invalid JSON request to update actor");
  EXPECT_EQ(cmd("lp", R"({"provider_ref":"x"})")["error"],
            "Improperly formed start provider command JSON");
  EXPECT_EQ(cmd("sp", R"({"provider_ref":"short","link_name":"default"})")["error"],
            "Invalid JSON request for stop provider");
  EXPECT_EQ(request("wasmbus.ctl.default.linkdefs.put", R"({"actor_id":"M"})")["error"],
            "Invalid link definition put request");
  EXPECT_EQ(request("wasmbus.ctl.default.linkdefs.del", R"({"actor_id":"M"})")["error"],
            "Invalid link definition removal request");
  EXPECT_EQ(request("wasmbus.ctl.default.auction.actor", "{}")["error"],
            "Invalid JSON request for actor auction");
  EXPECT_EQ(request("wasmbus.ctl.default.auction.provider", "{}")["error"],
            "Invalid JSON request to auction provider");
  EXPECT_EQ(request("wasmbus.ctl.default.registries.put", "not json")["error"],
            "Failed to update registry credential map");
  // A credential field of the wrong type is refused, not dropped with an accepted ack (#17.8).
  const json mistyped = request("wasmbus.ctl.default.registries.put",
                                R"({"r.io":{"registryType":"oci","username":1,"password":"p"}})");
  EXPECT_EQ(mistyped["accepted"], false) << mistyped.dump();
  EXPECT_EQ(mistyped["error"], "Failed to update registry credential map");
  expect_still_healthy();
}

TEST_F(HostSeedPath, ScaleUpWithEmptyRef) {
  expect_scale_fails("", std::string(host::errors::kScaleWithoutReference));
}

TEST_F(HostSeedPath, ScaleUpWithLatestRef) {
  expect_scale_fails(registry->host() + "/echo:latest",
                     std::string(oci::errors::kLatestProhibited));
}

TEST_F(HostSeedPath, ScaleUpFromPlainHttpRegistryNotAllowed) {
  // Same registry by another name ("localhost:PORT") that is not on the insecure list -> HTTPS.
  expect_scale_fails("localhost:" + std::to_string(registry->port()) + "/echo:0.3.4",
                     std::string(oci::errors::kFetchBytesPrefix));
}

TEST_F(HostSeedPath, ScaleUpWithMissingTag) {
  expect_scale_fails(registry->host() + "/echo:9.9.9", std::string(oci::errors::kFetchBytesPrefix));
}

TEST_F(HostSeedPath, ScaleUpWithRegistryDown) {
  expect_scale_fails("127.0.0.1:" + std::to_string(dead_port) + "/echo:0.3.4",
                     std::string(oci::errors::kFetchBytesPrefix));
}

TEST_F(HostSeedPath, ScaleUpUnsignedModule) {
  auto mark = log->mark();
  expect_scale_fails(registry->host() + "/unsigned:1", std::string(wascap::errors::kNoClaims));
  auto agg = log->wait(mark, "actors_start_failed");
  ASSERT_TRUE(agg);
  EXPECT_EQ((*agg)["data"]["public_key"], "N/A");
  EXPECT_EQ((*agg)["data"]["error"], "\"No claims found in source module\"");
}

TEST_F(HostSeedPath, ScaleUpModuleWithForgedSignature) {
  auto mark = log->mark();
  expect_scale_fails(registry->host() + "/forged:1",
                     std::string(wascap::errors::kInvalidModuleSignature));
  auto agg = log->wait(mark, "actors_start_failed");
  ASSERT_TRUE(agg);
  EXPECT_EQ((*agg)["data"]["error"], "\"Invalid signature on module token\"");
}

TEST_F(HostSeedPath, ScaleUpTamperedModule) {
  auto mark = log->mark();
  expect_scale_fails(registry->host() + "/tampered:1",
                     std::string(wascap::errors::kInvalidModuleHash));
  ASSERT_TRUE(log->wait(mark, "actors_start_failed"));
}

TEST_F(HostSeedPath, DifferentRefForRunningActor) {
  ensure_echo(1);
  auto mark = log->mark();
  auto other = registry->host() + "/echo:0.3.5";
  EXPECT_EQ(scale(other, 2)["accepted"], true);
  auto agg = log->wait(mark, "actors_start_failed");
  ASSERT_TRUE(agg);
  auto expected = "Cannot start new instance of " + std::string(kEcho) + " from ref '" + other +
                  "', it is already running with different reference. To upgrade an actor, use "
                  "live update.";
  EXPECT_EQ((*agg)["data"]["error"], "\"" + expected + "\"");
  EXPECT_EQ(instances_of(inventory()), 1u);
  EXPECT_EQ(inventory()["actors"][0]["image_ref"], echo_ref);
  ensure_echo(0);
}

TEST_F(HostSeedPath, InvocationSignedByUnknownIssuer) {
  ensure_echo(1);
  auto stranger = wascap::KeyPair::generate(wascap::KeyType::kCluster);
  auto r = invoke(stranger);
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_TRUE(r->error);
  EXPECT_EQ(*r->error,
            "Anti-forgery check failed: Issuer of this invocation is not among the list "
            "of valid issuers");
  auto good = invoke(*cluster);
  ASSERT_TRUE(good);
  EXPECT_EQ(good->msg, kEchoResponse);
  ensure_echo(0);
}

TEST_F(HostSeedPath, TruncatedMsgpackInvocation) {
  ensure_echo(1);
  auto inv =
      rpc::make_invocation(*cluster, rpc::actor_entity(kHttpServer), rpc::actor_entity(kEcho),
                           "HttpServer.HandleRequest", kRequest, cluster->public_key());
  ASSERT_TRUE(inv);
  auto bytes = rpc::encode_invocation(*inv);
  bytes.resize(100);
  auto r = invoke_raw(bytes);
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_TRUE(r->error);
  EXPECT_EQ(*r->error, "Failed to deserialize invocation");
  auto good = invoke(*cluster);
  ASSERT_TRUE(good);
  EXPECT_EQ(good->msg, kEchoResponse);
  ensure_echo(0);
}

TEST_F(HostSeedPath, LatticeOperations) {
  // linkdefs.put -> ack, linkdef_set (source n/a), provider notification, get.links.
  std::mutex mu;
  std::vector<Bytes> notes;
  auto note_sub = nc->subscribe(std::string("wasmbus.rpc.default.") + kHttpServer + ".default.>",
                                [&](lattice::Message m) {
                                  std::lock_guard lock(mu);
                                  notes.emplace_back(m.data().begin(), m.data().end());
                                });
  ASSERT_TRUE(note_sub);
  (void)nc->flush();
  auto mark = log->mark();
  json ld{{"actor_id", kEcho},
          {"provider_id", kHttpServer},
          {"contract_id", "wasmcloud:httpserver"},
          {"link_name", "default"},
          {"values", {{"address", "0.0.0.0:8080"}}}};
  EXPECT_EQ(request("wasmbus.ctl.default.linkdefs.put", ld.dump()),
            json::parse(R"({"accepted":true,"error":""})"));
  auto set = log->wait(mark, "linkdef_set");
  ASSERT_TRUE(set);
  EXPECT_EQ((*set)["source"], "n/a");
  EXPECT_EQ((*set)["data"]["id"],
            "EC986307FC72C45DBA4699F5AD52702B09800138ACA24BC53339B929423947B6");
  auto links = request("wasmbus.ctl.default.get.links", "");
  ASSERT_EQ(links["links"].size(), 1u) << links.dump();
  EXPECT_EQ(links["links"][0]["values"]["address"], "0.0.0.0:8080");
  mark = log->mark();
  EXPECT_EQ(
      request("wasmbus.ctl.default.linkdefs.del", json{{"actor_id", kEcho},
                                                       {"contract_id", "wasmcloud:httpserver"},
                                                       {"link_name", "default"}}
                                                      .dump())["accepted"],
      true);
  ASSERT_TRUE(log->wait(mark, "linkdef_deleted"));
  EXPECT_TRUE(request("wasmbus.ctl.default.get.links", "")["links"].empty());
  (void)nc->flush();
  std::this_thread::sleep_for(100ms);
  {
    std::lock_guard lock(mu);
    EXPECT_EQ(notes.size(), 2u);  // linkdefs.put and linkdefs.del, msgpack
    if (!notes.empty()) {
      EXPECT_EQ(notes[0][0], 0x86);  // map(6)
    }
  }

  // get.claims after a start; invocation events on wasmbus.rpcevt.default.
  ensure_echo(1);
  auto claims = request("wasmbus.ctl.default.get.claims", "");
  bool found = false;
  for (const auto& c : claims["claims"])
    if (c["sub"] == kEcho) {
      found = true;
      EXPECT_EQ(c["rev"], "4");
      EXPECT_EQ(c["caps"], "wasmcloud:httpserver");
      EXPECT_EQ(c["version"], "0.3.4");
    }
  EXPECT_TRUE(found) << claims.dump();
  std::vector<json> rpcevts;
  auto rpc_sub = nc->subscribe("wasmbus.rpcevt.default", [&](lattice::Message m) {
    std::lock_guard lock(mu);
    rpcevts.push_back(json::parse(m.text(), nullptr, false));
  });
  ASSERT_TRUE(rpc_sub);
  (void)nc->flush();
  ASSERT_TRUE(invoke(*cluster));
  for (int i = 0; i < 50; ++i) {
    {
      std::lock_guard lock(mu);
      if (!rpcevts.empty()) break;
    }
    std::this_thread::sleep_for(20ms);
  }
  {
    std::lock_guard lock(mu);
    ASSERT_FALSE(rpcevts.empty());
    EXPECT_EQ(rpcevts[0]["type"], "com.wasmcloud.lattice.invocation_succeeded");
    EXPECT_EQ(rpcevts[0]["data"]["operation"], "HttpServer.HandleRequest");
    EXPECT_EQ(rpcevts[0]["data"]["bytes"], 74);
    EXPECT_EQ(rpcevts[0]["data"]["dest"]["public_key"], kEcho);
    ASSERT_TRUE(rpcevts[0]["data"]["duration_ms"].is_number());
    EXPECT_GT(rpcevts[0]["data"]["duration_ms"].get<double>(), 0.0);
  }

  // Live update with the same revision is refused; the instance keeps running.
  auto upd = cmd("upd", json{{"new_actor_ref", echo_ref}, {"actor_id", kEcho}}.dump());
  // 0.63's text, then why (#17: a bare "error" named no cause).
  EXPECT_EQ(upd, json({{"accepted", false},
                       {"error",
                        "Unable to perform live update: error (the new module's revision 4 is not "
                        "greater than the running revision 4)"}}))
      << upd.dump();
  EXPECT_EQ(instances_of(inventory()), 1u);
  ensure_echo(0);

  // Auctions bid only when the labels match.
  auto bids = request("wasmbus.ctl.default.auction.actor",
                      json{{"actor_ref", echo_ref}, {"constraints", {{"zone", "test"}}}}.dump());
  EXPECT_EQ(bids["host_id"], host_id);
  EXPECT_EQ(bids["constraints"]["zone"], "test");
  auto none =
      request("wasmbus.ctl.default.auction.actor",
              json{{"actor_ref", echo_ref}, {"constraints", {{"zone", "mars"}}}}.dump(), 300ms);
  EXPECT_TRUE(none.contains("__error")) << none.dump();
  // This host has file loading off: it does not bid for file:// references it would refuse
  // (a second host joining up's lattice used to win them and fail, #17).
  for (const char* kind : {"actor", "provider"}) {
    const std::string field = std::string(kind) + "_ref";
    auto file_bid =
        request("wasmbus.ctl.default.auction." + std::string(kind),
                json{{field, "file:///tmp/x.wasm"}, {"constraints", json::object()}}.dump(), 300ms);
    EXPECT_TRUE(file_bid.contains("__error")) << kind << ": " << file_bid.dump();
  }

  // Registry credentials merge.
  EXPECT_EQ(
      request("wasmbus.ctl.default.registries.put",
              R"({"private.io":{"registryType":"oci","username":"u","password":"p"}})")["accepted"],
      true);
  // A provider reference that cannot be pulled: accepted, then provider_start_failed.
  auto lp_mark = log->mark();
  auto lp =
      cmd("lp", json{{"provider_ref", "reg/httpserver:0.16.0"}, {"link_name", "default"}}.dump());
  EXPECT_EQ(lp["accepted"], true);
  EXPECT_TRUE(log->wait(lp_mark, "provider_start_failed"));
  EXPECT_EQ(
      cmd("sp", json{{"provider_ref", kHttpServer}, {"link_name", "default"}}.dump())["accepted"],
      true);
  expect_still_healthy();
}

/// Starts `n` instances of `key` from `ref` and waits for the inventory.
void ensure_actor(const std::function<json()>& inventory_fn,
                  const std::function<json(const std::string&, int, const std::string&)>& scale_fn,
                  const std::string& key, const std::string& ref, size_t n) {
  ASSERT_EQ(scale_fn(ref, static_cast<int>(n), key)["accepted"], true);
  auto until = std::chrono::steady_clock::now() + 20s;
  auto count = [&] {
    const json inv = inventory_fn();
    for (const auto& a : inv["actors"])
      if (a["id"] == key) return a["instances"].size();
    return size_t{0};
  };
  while (count() != n && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(50ms);
  ASSERT_EQ(count(), n);
}

TEST_F(HostSeedPath, LinkdefWrittenToMetadataBucketReachesHost) {
  // Clients >= 0.23 write LINKDEF_ keys themselves, without `id` (control-interface 5.7).
  auto mark = log->mark();
  json value{{"actor_id", kEcho},
             {"provider_id", kHttpServer},
             {"link_name", "kvlink"},
             {"contract_id", "wasmcloud:httpserver"},
             {"values", json::object()}};
  const std::string id = lattice::topics::linkdef_id(kEcho, "wasmcloud:httpserver", "kvlink");
  auto put = nc->request("$KV.LATTICEDATA_default.LINKDEF_" + id, value.dump(), 2s);
  ASSERT_TRUE(put) << put.error().message;
  auto set = log->wait(mark, "linkdef_set");
  ASSERT_TRUE(set);
  EXPECT_EQ((*set)["data"]["link_name"], "kvlink");
  bool found = false;
  const json links = request("wasmbus.ctl.default.get.links", "");
  for (const auto& l : links["links"]) found = found || l["link_name"] == "kvlink";
  EXPECT_TRUE(found);
  // A KV delete marker removes it again.
  mark = log->mark();
  auto del = nc->request("$KV.LATTICEDATA_default.LINKDEF_" + id, std::string_view(), 2s,
                         {{"KV-Operation", "DEL"}});
  ASSERT_TRUE(del) << del.error().message;
  ASSERT_TRUE(log->wait(mark, "linkdef_deleted"));
  EXPECT_TRUE(request("wasmbus.ctl.default.get.links", "")["links"].empty());
}

TEST_F(HostSeedPath, HostCallsRouteToLinkedProviderAndBuiltins) {
  constexpr const char* kKv = "MCFMFDWFHGKELOXPCNCDXKK5OFLHBVEWRAOXR5JSQUD2TOFRE3DFPM7E";
  constexpr const char* kKvUnpriv = "MBW3UGAIONCX3RIDDUGDCQIRGBQQOWS643CVICQ5EZ7SWNQPZLZTSQKU";
  constexpr const char* kRando = "MCLOGOFFRJ4WK5XC6Z6WM7A3SAVHPHKDAVG6OMZVOOC6RQCN5IOKPTQL";
  constexpr const char* kRedis = "VAZVC4RX54J2NVCMCW7BPCAHGGG5XZXDBXFUMDUXGESTMQEJLC3YVZWB";
  auto inv_fn = [] { return inventory(); };
  auto scale_fn = [](const std::string& r, int n, const std::string& k) { return scale(r, n, k); };
  auto call = [](const std::string& key) -> json {
    // GET /foobar from the httpserver provider.
    json req{{"method", "GET"},
             {"path", "/foobar"},
             {"queryString", ""},
             {"header", json::object()},
             {"body", json::binary({})}};
    auto inv = rpc::make_invocation(
        *cluster, rpc::provider_entity(kHttpServer, "wasmcloud:httpserver", "default"),
        rpc::actor_entity(key), "HttpServer.HandleRequest", json::to_msgpack(req),
        cluster->public_key());
    if (!inv) return json{{"__error", inv.error().message}};
    auto r = invoke_raw_to(key, rpc::encode_invocation(*inv));
    if (!r) return json{{"__error", r.error().message}};
    if (r->error) return json{{"__error", *r->error}};
    auto resp = json::from_msgpack(r->msg, true, false);
    if (resp.contains("body") && resp["body"].is_binary()) {
      auto& b = resp["body"].get_binary();
      resp["body"] = std::string(b.begin(), b.end());
    }
    return resp;
  };

  // No link: the guest sees the host's error text (actor-rpc-providers 2.1 step 5-6).
  ensure_actor(inv_fn, scale_fn, kKv, registry->host() + "/kvcounter:1", 1);
  auto nolink = call(kKv);
  EXPECT_EQ(nolink["statusCode"], 500) << nolink.dump();
  EXPECT_NE(nolink["body"].get<std::string>().find(
                "Host call function failed: Invocation not authorized: missing link definition "
                "for wasmcloud:keyvalue on default"),
            std::string::npos)
      << nolink.dump();

  // A linked "provider" (this test) answers KeyValue.Increment over NATS with a signed-checked
  // invocation.
  std::atomic<int> seen{0};
  std::string problem;
  auto prov = nc->queue_subscribe(
      std::string("wasmbus.rpc.default.") + kRedis + ".default", "rpc", [&](lattice::Message m) {
        auto inv = rpc::decode_invocation(m.data());
        if (!inv) {
          problem = "undecodable";
        } else {
          std::vector<std::string> issuers{cluster->public_key()};
          auto v = rpc::validate_invocation(*inv, issuers, wascap::now_seconds());
          if (!v) problem = v.error().message;
          if (inv->operation != "KeyValue.Increment") problem = inv->operation;
          if (inv->target.public_key != kRedis) problem = "target";
          ++seen;
        }
        rpc::InvocationResponse resp;
        resp.msg = {0x2a};  // 42
        resp.invocation_id = inv ? inv->id : "";
        (void)nc->respond(m, rpc::encode_response(resp, rpc::ResponseStyle::kSdk));
      });
  ASSERT_TRUE(prov);
  (void)nc->flush();
  for (const char* actor : {kKv, kKvUnpriv}) {
    json ld{{"actor_id", actor},
            {"provider_id", kRedis},
            {"contract_id", "wasmcloud:keyvalue"},
            {"link_name", "default"},
            {"values", {{"URL", "redis://127.0.0.1:6379"}}}};
    ASSERT_EQ(request("wasmbus.ctl.default.linkdefs.put", ld.dump())["accepted"], true);
  }
  auto counted = call(kKv);
  EXPECT_EQ(counted["statusCode"], 200) << counted.dump();
  EXPECT_EQ(counted["body"], R"({"counter":42})") << counted.dump();
  EXPECT_EQ(seen.load(), 1);
  EXPECT_EQ(problem, "");

  // Linked but without the keyvalue claim.
  ensure_actor(inv_fn, scale_fn, kKvUnpriv, registry->host() + "/kvcounter_unpriv_s:1", 1);
  auto unpriv = call(kKvUnpriv);
  EXPECT_EQ(unpriv["statusCode"], 500) << unpriv.dump();
  EXPECT_NE(unpriv["body"].get<std::string>().find(
                "Invocation not authorized: missing capability claim for wasmcloud:keyvalue"),
            std::string::npos)
      << unpriv.dump();
  EXPECT_EQ(seen.load(), 1);

  // Builtin logging and numbergen.
  ensure_actor(inv_fn, scale_fn, kRando, registry->host() + "/randogenlogger_s:1", 1);
  auto rando = call(kRando);
  EXPECT_FALSE(rando.contains("__error")) << rando.dump();

  for (const char* actor : {kKv, kKvUnpriv})
    request(
        "wasmbus.ctl.default.linkdefs.del",
        json{{"actor_id", actor}, {"contract_id", "wasmcloud:keyvalue"}, {"link_name", "default"}}
            .dump());
  ensure_actor(inv_fn, scale_fn, kKv, "", 0);
  ensure_actor(inv_fn, scale_fn, kKvUnpriv, "", 0);
  ensure_actor(inv_fn, scale_fn, kRando, "", 0);
}

TEST_F(HostSeedPath, LiveUpdateSwapsModuleAndRevision) {
  const std::string v1 = registry->host() + "/updatable:1";
  const std::string v2 = registry->host() + "/updatable:2";
  ASSERT_EQ(scale(v1, 2, updatable_key)["accepted"], true);
  auto until = std::chrono::steady_clock::now() + 20s;
  while (instances_of(inventory(), updatable_key) != 2 && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(50ms);
  ASSERT_EQ(instances_of(inventory(), updatable_key), 2u);
  auto mark = log->mark();
  auto ack = cmd("upd", json{{"new_actor_ref", v2}, {"actor_id", updatable_key}}.dump());
  EXPECT_EQ(ack, json::parse(R"({"accepted":true,"error":""})"));
  auto upd = log->wait(mark, "actor_updated");
  ASSERT_TRUE(upd);
  EXPECT_EQ((*upd)["data"]["revision"], 2);
  EXPECT_EQ(log->wait_count(mark, "actor_updated", 2), 2u);
  const json inv = inventory();
  for (const auto& a : inv["actors"]) {
    if (a["id"] != updatable_key) continue;
    for (const auto& i : a["instances"]) {
      EXPECT_EQ(i["revision"], 2);
    }
  }
  // Going back to revision 1 is refused.
  EXPECT_EQ(cmd("upd", json{{"new_actor_ref", v1}}.dump())["error"],
            "Unable to perform live update: error (the new module's revision 1 is not greater than "
            "the running revision 2)");
  ASSERT_EQ(scale("", 0, updatable_key)["accepted"], true);
  until = std::chrono::steady_clock::now() + 10s;
  while (instances_of(inventory(), updatable_key) != 0 && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(50ms);
}

TEST_F(HostSeedPath, PolicyDeniesStartAndCmdStopEndsHost) {
  // A second host on lattice "pol" with a policy service that denies everything.
  auto seed = wascap::KeyPair::generate(wascap::KeyType::kServer);
  std::atomic<int> asked{0};
  auto policy_sub = nc->subscribe("test.policy", [&](lattice::Message m) {
    ++asked;
    auto req = json::parse(m.text(), nullptr, false);
    (void)nc->respond(m, json{{"permitted", false},
                              {"message", "not on my lattice"},
                              {"requestId", req.value("requestId", "")}}
                             .dump());
  });
  ASSERT_TRUE(policy_sub);
  std::atomic<bool> cfg_asked{false};
  auto cfg_sub = nc->subscribe("wasmbus.cfg.pol.req", [&](lattice::Message m) {
    auto req = json::parse(m.text(), nullptr, false);
    cfg_asked = !req.is_discarded() && req["labels"]["hostcore.os"] == "linux";
    (void)nc->respond(m, std::string_view(R"({"registryCredentials":{}})"));
  });
  ASSERT_TRUE(cfg_sub);
  testing::EventLog pol_log;
  auto ev_sub = nc->subscribe("wasmbus.evt.pol", [&](lattice::Message m) {
    auto j = json::parse(m.text(), nullptr, false);
    if (!j.is_discarded()) pol_log.add(std::move(j));
  });
  ASSERT_TRUE(ev_sub);
  (void)nc->flush();
  testing::ChildProcess second(
      {std::string(WC_BINARY_DIR) + "/src/cli/wasmcloud", "host", "--nats-port",
       std::to_string(nats->port()), "--lattice-prefix", "pol", "--policy-topic", "test.policy",
       "--allowed-insecure", registry->host(), "--no-native", "--oci-cache-dir", dir + "/oci2",
       "--heartbeat-interval-ms", "300", "--config-service"},
      dir + "/host2.log", {"WASMCLOUD_HOST_SEED=" + seed.seed()});
  const std::string id2 = seed.public_key();
  ASSERT_TRUE(pol_log.wait(0, "host_started", {}, 20s));
  EXPECT_TRUE(cfg_asked.load());  // config service queried before host_started (2.7)
  auto beat = pol_log.wait(0, "host_heartbeat", {}, 5s);  // periodic, no ping needed
  ASSERT_TRUE(beat);
  EXPECT_TRUE((*beat)["data"]["actors"].empty());
  auto ack = request("wasmbus.ctl.pol.cmd." + id2 + ".scale",
                     json{{"actor_id", kEcho}, {"actor_ref", echo_ref}, {"count", 1}}.dump());
  EXPECT_EQ(ack["accepted"], true);
  auto denied = pol_log.wait(0, "actors_start_failed");
  ASSERT_TRUE(denied);
  EXPECT_EQ((*denied)["data"]["error"].get<std::string>().rfind(
                "Policy denied starting actor, request: ", 0),
            0u);
  auto failed = pol_log.wait(0, "actor_start_failed");
  ASSERT_TRUE(failed);
  EXPECT_NE((*failed)["data"]["error"].get<std::string>().find(
                "Starting actor denied: not on my lattice"),
            std::string::npos);
  EXPECT_GE(asked.load(), 1);
  EXPECT_TRUE(request("wasmbus.ctl.pol.get." + id2 + ".inv", "")["actors"].empty());

  // cmd.stop: ack, host_stopped, the process exits 0.
  auto mark = pol_log.mark();
  EXPECT_EQ(request("wasmbus.ctl.pol.cmd." + id2 + ".stop", "{}"),
            json::parse(R"({"accepted":true,"error":""})"));
  ASSERT_TRUE(pol_log.wait(mark, "host_stopped", {}, 10s));
  EXPECT_EQ(second.interrupt_and_wait(10s), 0);
}

TEST_F(HostSeedPath, NatsRestartHostReconnects) {
  ensure_echo(1);
  nats->kill9();
  std::this_thread::sleep_for(300ms);
  nats->restart();
  // Our own client reconnects too; wait until the host answers again.
  auto until = std::chrono::steady_clock::now() + 20s;
  bool answered = false;
  while (!answered && std::chrono::steady_clock::now() < until) {
    auto r = nc->request("wasmbus.ctl.default.get." + host_id + ".inv", "", 500ms);
    answered = r.has_value();
    if (!answered) std::this_thread::sleep_for(200ms);
  }
  ASSERT_TRUE(answered) << "host did not answer after the NATS restart";
  Result<rpc::InvocationResponse> r = fail(Code::kUnavailable, "not tried");
  for (int i = 0; i < 50 && !(r && !r->error); ++i) {
    r = invoke(*cluster);
    if (!(r && !r->error)) std::this_thread::sleep_for(100ms);
  }
  ASSERT_TRUE(r);
  EXPECT_EQ(r->msg, kEchoResponse);
  ensure_echo(0);
}

TEST_F(HostSeedPath, SigtermPublishesHostStopped) {
  auto mark = log->mark();
  host_proc->stop(15);
  auto e = log->wait(mark, "host_stopped", {}, 10s);
  ASSERT_TRUE(e);
  EXPECT_EQ((*e)["source"], host_id);
  EXPECT_EQ((*e)["data"]["labels"]["zone"], "test");
}

}  // namespace
}  // namespace wc

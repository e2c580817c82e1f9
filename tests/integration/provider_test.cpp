// Capability providers end to end: a `wasmcloud host` process, real nats-server,
// docker-registry and redis-server (tests/support/servers.h), the provider archives the build
// packs (build/providers/*.par.gz) and the real signed fixtures. A browser-like HTTP client
// reaches actors through the httpserver provider; kvcounter counts in redis through the keyvalue
// provider. The tests share one host and run in declaration order.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include "common/encoding.h"
#include "ctl_requests.h"
#include "event_log.h"
#include "host/errors.h"
#include "lattice/nats.h"
#include "oci/client.h"
#include "par/par.h"
#include "rpc/errors.h"
#include "support/servers.h"
#include "wascap/claims.h"
#include "wascap/nkeys.h"

namespace wc {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

std::string actor_key(const std::string& file) {
  auto b = read_file(std::string(WC_FIXTURES_DIR) + "/" + file);
  if (!b) return "";
  auto c = wascap::extract_claims(*b, wascap::now_seconds());
  return c ? c->claims.sub : "";
}

std::string provider_key(const std::string& path) {
  auto a = par::load_archive_file(path);
  return a ? a->claims.sub : "";
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

class Providers : public ::testing::Test {
 protected:
  static inline std::unique_ptr<testing::NatsServer> nats;
  static inline std::unique_ptr<testing::RegistryServer> registry;
  static inline std::unique_ptr<testing::RedisServer> redis;
  static inline std::unique_ptr<testing::ChildProcess> host_proc;
  static inline std::unique_ptr<lattice::Connection> nc;
  static inline std::unique_ptr<testing::EventLog> events;
  static inline lattice::Subscription events_sub;
  static inline std::optional<wascap::KeyPair> cluster, host_key;
  static inline std::string host_id, dir, http_ref, kv_ref, http_key, kv_key;
  static inline std::string echo, kvcounter, unpriv, rando;

  static void push(const std::string& ref, const Bytes& bytes, oci::ArtifactKind kind) {
    oci::PushOptions po;
    po.kind = kind;
    po.allowed_insecure = {registry->host()};
    auto r = oci::Client().push(ref, bytes, po);
    ASSERT_TRUE(r) << r.error().message;
  }

  static void SetUpTestSuite() {
    dir = testing::make_temp_dir("wc-prov-it");
    nats = std::make_unique<testing::NatsServer>();
    registry = std::make_unique<testing::RegistryServer>();
    redis = std::make_unique<testing::RedisServer>();
    for (const char* name : {"echo", "kvcounter", "kvcounter_unpriv_s", "randogenlogger_s"}) {
      auto b = read_file(std::string(WC_FIXTURES_DIR) + "/" + name + ".wasm");
      ASSERT_TRUE(b);
      push(registry->host() + "/" + name + ":1", *b, oci::ArtifactKind::kActor);
    }
    echo = actor_key("echo.wasm");
    kvcounter = actor_key("kvcounter.wasm");
    unpriv = actor_key("kvcounter_unpriv_s.wasm");
    rando = actor_key("randogenlogger_s.wasm");
    const std::string pdir = std::string(WC_BINARY_DIR) + "/providers/";
    http_key = provider_key(pdir + "httpserver.par.gz");
    kv_key = provider_key(pdir + "keyvalue.par.gz");
    ASSERT_FALSE(http_key.empty());
    ASSERT_FALSE(kv_key.empty());
    http_ref = registry->host() + "/httpserver:0.1.0";
    kv_ref = registry->host() + "/keyvalue:0.1.0";
    push(http_ref, *read_file(pdir + "httpserver.par.gz"), oci::ArtifactKind::kProvider);
    push(kv_ref, *read_file(pdir + "keyvalue.par.gz"), oci::ArtifactKind::kProvider);

    cluster = wascap::KeyPair::generate(wascap::KeyType::kCluster);
    host_key = wascap::KeyPair::generate(wascap::KeyType::kServer);
    host_id = host_key->public_key();
    host_proc = std::make_unique<testing::ChildProcess>(
        std::vector<std::string>{std::string(WC_BINARY_DIR) + "/src/cli/wasmcloud", "host",
                                 "--nats-port", std::to_string(nats->port()), "--allowed-insecure",
                                 registry->host(), "--allow-file-load", "--no-native",
                                 "--log-level", "debug", "--oci-cache-dir", dir + "/oci"},
        dir + "/host.log",
        std::vector<std::string>{"WASMCLOUD_HOST_SEED=" + host_key->seed(),
                                 "WASMCLOUD_CLUSTER_SEED=" + cluster->seed(), "TMPDIR=" + dir});
    lattice::ConnectOptions o;
    o.servers = {nats->url()};
    auto c = lattice::Connection::connect(o);
    ASSERT_TRUE(c) << c.error().message;
    nc = std::move(*c);
    events = std::make_unique<testing::EventLog>();
    auto sub = testing::record_events(*nc, *events);
    ASSERT_TRUE(sub);
    events_sub = std::move(*sub);
    ASSERT_TRUE(testing::wait_host_answers(*nc, host_id)) << "host did not answer; log in " << dir;
  }

  static void TearDownTestSuite() {
    events_sub.unsubscribe();
    if (host_proc) host_proc->stop(15);
    host_proc.reset();
    nc.reset();
    redis.reset();
    registry.reset();
    nats.reset();
  }

  static json request(const std::string& subject, const std::string& body,
                      std::chrono::milliseconds timeout = 5s) {
    return testing::ctl_request(*nc, subject, body, timeout);
  }
  static json cmd(const std::string& op, const json& body) {
    return testing::host_cmd(*nc, host_id, op, body.dump());
  }
  static json inventory() { return testing::host_inventory(*nc, host_id); }
  static json link(const std::string& actor, const std::string& provider,
                   const std::string& contract, const json& values) {
    return request("wasmbus.ctl.default.linkdefs.put", json{{"actor_id", actor},
                                                            {"provider_id", provider},
                                                            {"contract_id", contract},
                                                            {"link_name", "default"},
                                                            {"values", values}}
                                                           .dump());
  }
  static void start_actor(const std::string& name, const std::string& key) {
    ASSERT_EQ(cmd("scale", {{"actor_id", key},
                            {"actor_ref", registry->host() + "/" + name + ":1"},
                            {"count", 1}})["accepted"],
              true);
    auto until = std::chrono::steady_clock::now() + 20s;
    while (std::chrono::steady_clock::now() < until) {
      const json inv = inventory();
      for (const auto& a : inv["actors"])
        if (a["id"] == key) return;
      std::this_thread::sleep_for(50ms);
    }
    FAIL() << "actor " << name << " did not start";
  }
  static void start_provider(const std::string& ref, const std::string& key) {
    auto mark = events->mark();
    auto ack = cmd("lp", {{"provider_ref", ref}, {"link_name", "default"}});
    ASSERT_EQ(ack["accepted"], true) << ack.dump();
    auto started = events->wait(
        mark, "provider_started", [&](const json& d) { return d["public_key"] == key; }, 20s);
    ASSERT_TRUE(started) << "no provider_started; log in " << dir;
    // provider_started is published at spawn; wait until the provider has subscribed (a call
    // or link before that finds no responder).
    auto until = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < until &&
           !nc->request("wasmbus.rpc.default." + key + ".default.health", "", 200ms))
      std::this_thread::sleep_for(50ms);
  }
  /// GET with retries until the provider's listener answers (it binds when the link arrives).
  static httplib::Result get(int port, const std::string& path, const std::string& body = {}) {
    httplib::Client cli("127.0.0.1", port);
    cli.set_connection_timeout(2);
    cli.set_read_timeout(10);
    auto until = std::chrono::steady_clock::now() + 15s;
    for (;;) {
      httplib::Request req;
      req.method = "GET";
      req.path = path;
      req.body = body;
      if (!body.empty()) {
        req.set_header("Content-Type", "text/plain");
        req.set_header("Content-Length", std::to_string(body.size()));
      }
      auto r = cli.send(req);
      if (r || std::chrono::steady_clock::now() > until) return r;
      std::this_thread::sleep_for(100ms);
    }
  }
  /// What `curl -X GET --data hello URL` sends, over a raw socket: the whole response text.
  static std::string raw_get_with_body(int port, const std::string& path, const std::string& body) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      close(fd);
      return "";
    }
    std::string req =
        "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\n" +
        "Content-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
    (void)!write(fd, req.data(), req.size());
    std::string out;
    char buf[4096];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
    close(fd);
    return out;
  }
  /// Children of the host process whose executable path contains `needle`.
  static std::vector<pid_t> host_children(const std::string& needle) {
    std::vector<pid_t> out;
    const std::string task = "/proc/" + std::to_string(host_proc->pid()) + "/task";
    std::error_code ec;
    for (const auto& t : std::filesystem::directory_iterator(task, ec)) {
      std::ifstream in(t.path() / "children");
      pid_t p;
      while (in >> p) {
        auto exe = std::filesystem::read_symlink("/proc/" + std::to_string(p) + "/exe", ec);
        if (!ec && exe.string().find(needle) != std::string::npos) out.push_back(p);
      }
    }
    return out;
  }
  static std::string redis_cli(const std::string& args) {
    std::string cmdline = "redis-cli -p " + std::to_string(redis->port()) + " " + args;
    std::string out;
    if (FILE* f = popen(cmdline.c_str(), "r")) {
      char buf[256];
      while (fgets(buf, sizeof buf, f)) out += buf;
      pclose(f);
    }
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
    return out;
  }
};

TEST_F(Providers, BrowserRequestReachesEchoThroughHttpServer) {
  start_provider(http_ref, http_key);
  auto inv = inventory();
  ASSERT_EQ(inv["providers"].size(), 1u) << inv.dump();
  EXPECT_EQ(inv["providers"][0]["id"], http_key);
  EXPECT_EQ(inv["providers"][0]["link_name"], "default");
  EXPECT_EQ(inv["providers"][0]["contract_id"], "wasmcloud:httpserver");
  EXPECT_EQ(inv["providers"][0]["image_ref"], http_ref);
  EXPECT_EQ(inv["providers"][0]["instance_id"].get<std::string>().size(), 36u);

  start_actor("echo", echo);
  const int port = testing::free_port();
  ASSERT_EQ(link(echo, http_key, "wasmcloud:httpserver",
                 {{"address", "127.0.0.1:" + std::to_string(port)}})["accepted"],
            true);
  auto r = get(port, "/foo/bar?a=1", "hello");
  ASSERT_TRUE(r) << "no HTTP answer; log in " << dir;
  EXPECT_EQ(r->status, 200);
  auto body = json::parse(r->body, nullptr, false);
  ASSERT_FALSE(body.is_discarded()) << r->body;
  EXPECT_EQ(body["method"], "GET");
  EXPECT_EQ(body["path"], "/foo/bar");
  EXPECT_EQ(body["query_string"], "a=1");
  EXPECT_EQ(body["body"], json::array({104, 101, 108, 108, 111})) << r->body;
  // The exact request, framed the way `curl -X GET --data hello URL` frames it: the GET
  // body reaches the actor (spec 7.2, HttpRequest.body).
  auto raw = raw_get_with_body(port, "/foo/bar?a=1", "hello");
  EXPECT_NE(raw.find("HTTP/1.1 200"), std::string::npos) << raw;
  const auto sep = raw.find("\r\n\r\n");
  ASSERT_NE(sep, std::string::npos) << raw;
  auto rbody = json::parse(raw.substr(sep + 4), nullptr, false);
  ASSERT_FALSE(rbody.is_discarded()) << raw;
  EXPECT_EQ(rbody["method"], "GET");
  EXPECT_EQ(rbody["path"], "/foo/bar");
  EXPECT_EQ(rbody["query_string"], "a=1");
  EXPECT_EQ(rbody["body"], json::array({104, 101, 108, 108, 111})) << raw;
}

TEST_F(Providers, DuplicateStartRefusedWithOriginalText) {
  auto mark = events->mark();
  auto ack = cmd("lp", {{"provider_ref", http_key}, {"link_name", "default"}});
  EXPECT_EQ(ack, json({{"accepted", false}, {"error", host::errors::kProviderAlreadyRunning}}));
  auto ev = events->wait(mark, "provider_start_failed");
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->at("data")["error"],
            "Ignoring request to start provider, " + http_key + " (default) is already running");
  // By reference too (resolved through the reference map).
  EXPECT_EQ(cmd("lp", {{"provider_ref", http_ref}, {"link_name", "default"}})["accepted"], false);
}

TEST_F(Providers, AuctionBidsOnlyWhenNotRunning) {
  auto none = request("wasmbus.ctl.default.auction.provider",
                      json{{"provider_ref", http_ref}, {"link_name", "default"}}.dump(), 500ms);
  EXPECT_TRUE(none.contains("__error")) << none.dump();
  auto bid = request("wasmbus.ctl.default.auction.provider",
                     json{{"provider_ref", http_ref}, {"link_name", "other"}}.dump(), 2s);
  EXPECT_EQ(bid["host_id"], host_id);
}

TEST_F(Providers, KvCounterCountsInRedisAndUnprivilegedActorIsRefused) {
  start_actor("kvcounter", kvcounter);
  ASSERT_EQ(link(kvcounter, kv_key, "wasmcloud:keyvalue", {{"URL", redis->url()}})["accepted"],
            true);
  const int port = testing::free_port();
  ASSERT_EQ(link(kvcounter, http_key, "wasmcloud:httpserver",
                 {{"address", "127.0.0.1:" + std::to_string(port)}})["accepted"],
            true);
  // The keyvalue provider is not running yet: the actor gets a clear error.
  auto early = get(port, "/");
  ASSERT_TRUE(early);
  EXPECT_EQ(early->status, 500) << early->body;
  EXPECT_NE(early->body.find(std::string(rpc::errors::kHostCallFailedPrefix)), std::string::npos)
      << early->body;

  start_provider(kv_ref, kv_key);
  for (int i = 1; i <= 3; ++i) {
    auto r = get(port, "/");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << r->body;
    EXPECT_EQ(json::parse(r->body, nullptr, false), json({{"counter", i}})) << r->body;
  }
  auto keys = redis_cli("--raw KEYS '*'");
  ASSERT_FALSE(keys.empty());
  EXPECT_EQ(redis_cli("--raw GET " + keys.substr(0, keys.find('\n'))), "3");

  // Same code without the keyvalue claim: refused by the host, redis untouched.
  start_actor("kvcounter_unpriv_s", unpriv);
  ASSERT_EQ(link(unpriv, kv_key, "wasmcloud:keyvalue", {{"URL", redis->url()}})["accepted"], true);
  const int port2 = testing::free_port();
  ASSERT_EQ(link(unpriv, http_key, "wasmcloud:httpserver",
                 {{"address", "127.0.0.1:" + std::to_string(port2)}})["accepted"],
            true);
  auto r = get(port2, "/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
  EXPECT_NE(r->body.find(std::string(rpc::errors::kMissingClaimPrefix) + "wasmcloud:keyvalue"),
            std::string::npos)
      << r->body;
  EXPECT_EQ(redis_cli("--raw GET " + keys.substr(0, keys.find('\n'))), "3");
  EXPECT_EQ(redis_cli("DBSIZE"), "1");
}

TEST_F(Providers, MalformedLinkRefusedOthersStillApply) {
  auto bad =
      request("wasmbus.ctl.default.linkdefs.put", json{{"actor_id", rando},
                                                       {"provider_id", http_key},
                                                       {"contract_id", "wasmcloud:httpserver"},
                                                       {"link_name", "default"},
                                                       {"values", {{"address", 8080}}}}
                                                      .dump());
  EXPECT_EQ(bad["accepted"], false);
  start_actor("randogenlogger_s", rando);
  const int port = testing::free_port();
  ASSERT_EQ(link(rando, http_key, "wasmcloud:httpserver",
                 {{"address", "127.0.0.1:" + std::to_string(port)}})["accepted"],
            true);
  auto r = get(port, "/");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  // Its logging host calls appear in the host log.
  std::this_thread::sleep_for(300ms);
  auto text = slurp(dir + "/host.log");
  EXPECT_NE(text.find("[" + rando + "]"), std::string::npos);
}

TEST_F(Providers, CrashedProviderIsRestarted) {
  auto pids = host_children("httpserver");
  ASSERT_EQ(pids.size(), 1u);
  auto mark = events->mark();
  ASSERT_EQ(kill(pids[0], SIGKILL), 0);
  auto stopped = events->wait(mark, "provider_stopped");
  ASSERT_TRUE(stopped);
  EXPECT_EQ(stopped->at("data")["public_key"], http_key);
  EXPECT_NE(stopped->at("data")["reason"], "normal");
  auto restarted = events->wait(
      mark, "provider_started", [](const json& d) { return d["public_key"] == http_key; }, 20s);
  ASSERT_TRUE(restarted);
  // The restarted provider receives its links in the host data and serves again.
  auto r = get(
      0 +
          [] {
            const json links = request("wasmbus.ctl.default.get.links", "");
            for (const auto& l : links["links"])
              if (l["actor_id"] == echo) {
                auto a = l["values"]["address"].get<std::string>();
                return std::stoi(a.substr(a.rfind(':') + 1));
              }
            return 0;
          }(),
      "/again", "x");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(inventory()["providers"].size(), 2u);
}

TEST_F(Providers, HealthChecksPass) {
  auto ev = events->wait(0, "health_check_passed", {}, 15s);
  ASSERT_TRUE(ev);
  EXPECT_TRUE(ev->at("data").contains("contract_id"));
}

TEST_F(Providers, BadArchiveAndMissingRefFail) {
  std::ofstream(dir + "/junk.par.gz") << "not an archive";
  for (const std::string& ref :
       {"file://" + dir + "/junk.par.gz", registry->host() + "/missing:1"}) {
    auto mark = events->mark();
    auto ack = cmd("lp", {{"provider_ref", ref}, {"link_name", "x"}});
    EXPECT_EQ(ack["accepted"], true);  // 2.3.6: ack first, failure as an event
    auto ev = events->wait(mark, "provider_start_failed");
    ASSERT_TRUE(ev) << ref;
    EXPECT_EQ(ev->at("data")["provider_ref"], ref);
    EXPECT_FALSE(ev->at("data")["error"].get<std::string>().empty());
  }
}

TEST_F(Providers, PingerCallsPongerByAliasAndKey) {
  const std::string ex = std::string(WC_BINARY_DIR) + "/examples/";
  auto pong_bytes = read_file(ex + "ponger_s.wasm");
  auto ping_bytes = read_file(ex + "pinger_s.wasm");
  if (!pong_bytes || !ping_bytes) GTEST_SKIP() << "intentionally skipped: example actors not built";
  auto pong = wascap::extract_claims(*pong_bytes, wascap::now_seconds());
  auto ping = wascap::extract_claims(*ping_bytes, wascap::now_seconds());
  ASSERT_TRUE(pong && ping);
  for (const auto& [file, key] : {std::pair{ex + "ponger_s.wasm", pong->claims.sub},
                                  std::pair{ex + "pinger_s.wasm", ping->claims.sub}}) {
    ASSERT_EQ(cmd("la", {{"actor_ref", "file://" + file}, {"count", 1}})["accepted"], true);
    auto until = std::chrono::steady_clock::now() + 20s;
    bool up = false;
    while (!up && std::chrono::steady_clock::now() < until) {
      const json inv = inventory();
      for (const auto& a : inv["actors"]) up = up || a["id"] == key;
      if (!up) std::this_thread::sleep_for(50ms);
    }
    ASSERT_TRUE(up) << file;
  }
  const int port = testing::free_port();
  ASSERT_EQ(link(ping->claims.sub, http_key, "wasmcloud:httpserver",
                 {{"address", "127.0.0.1:" + std::to_string(port)}})["accepted"],
            true);
  auto by_alias = get(port, "/");
  ASSERT_TRUE(by_alias);
  EXPECT_EQ(by_alias->status, 200) << by_alias->body;
  EXPECT_EQ(by_alias->body, "Ping pong");
  auto by_key = get(port, "/?key=" + pong->claims.sub);
  ASSERT_TRUE(by_key);
  EXPECT_EQ(by_key->status, 200) << by_key->body;
  EXPECT_EQ(by_key->body, "Ping pong");
}

TEST_F(Providers, CtlCommandsManageProvidersAndLinks) {
  auto run = [](const std::string& args) {
    std::string cmdline = std::string(WC_BINARY_DIR) + "/src/cli/wasmcloud ctl -p " +
                          std::to_string(nats->port()) + " " + args + " 2>&1";
    std::string out;
    if (FILE* f = popen(cmdline.c_str(), "r")) {
      char buf[512];
      while (fgets(buf, sizeof buf, f)) out += buf;
      pclose(f);
    }
    return out;
  };
  EXPECT_NE(run("get inventory " + host_id).find(http_key), std::string::npos);
  EXPECT_NE(run("link put " + rando + " " + kv_key + " wasmcloud:keyvalue URL=" + redis->url())
                .find("Link stored in the lattice: link from actor " + rando),
            std::string::npos);
  bool found = false;
  const json links = request("wasmbus.ctl.default.get.links", "");
  for (const auto& l : links["links"])
    found = found || (l["actor_id"] == rando && l["contract_id"] == "wasmcloud:keyvalue" &&
                      l["values"]["URL"] == redis->url());
  EXPECT_TRUE(found) << links.dump();
  EXPECT_NE(run("link del " + rando + " wasmcloud:keyvalue")
                .find("Link deleted from the lattice: link from actor " + rando),
            std::string::npos);
  const json after = request("wasmbus.ctl.default.get.links", "");
  for (const auto& l : after["links"])
    EXPECT_FALSE(l["actor_id"] == rando && l["contract_id"] == "wasmcloud:keyvalue");
  auto out = run("start provider " + http_key + " --host-id " + host_id);
  EXPECT_NE(out.find(std::string(host::errors::kProviderAlreadyRunning)), std::string::npos) << out;
}

TEST_F(Providers, StopProviderIsSynchronous) {
  auto mark = events->mark();
  auto out = std::string();
  {
    std::string cmdline = std::string(WC_BINARY_DIR) + "/src/cli/wasmcloud ctl -p " +
                          std::to_string(nats->port()) + " stop provider " + host_id + " " +
                          kv_key + " default wasmcloud:keyvalue 2>&1";
    if (FILE* f = popen(cmdline.c_str(), "r")) {
      char buf[512];
      while (fgets(buf, sizeof buf, f)) out += buf;
      pclose(f);
    }
  }
  // `ctl stop provider` waits for the host's provider_stopped event before it prints.
  EXPECT_NE(out.find("Provider " + kv_key + " (link default) stopped on host " + host_id),
            std::string::npos)
      << out;
  auto ev = events->wait(mark, "provider_stopped");
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->at("data")["reason"], "normal");
  auto inv = inventory();
  ASSERT_EQ(inv["providers"].size(), 1u);
  EXPECT_TRUE(host_children("keyvalue").empty());
}

}  // namespace
}  // namespace wc

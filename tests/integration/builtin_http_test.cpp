// The host's builtin HTTP server (issue #14.4) end to end: two real `wasmcloud host` processes
// on one lattice (real nats-server, the real signed fixtures pulled from a real docker-registry).
// Host A starts `builtin://httpserver` like any provider; an ordinary wasmcloud:httpserver link
// opens a listener; requests reach echo in-process when A runs it and through the lattice when
// only host B does. The tests share the hosts and run in declaration order. Bad clients (issue
// #14, "bad input on the fast path": a failing guest, a guest past its deadline, a client that
// closes mid-body, slowloris) are raw sockets beside a well-behaved client whose answers are
// timed.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>

#include <nlohmann/json.hpp>

#include "common/encoding.h"
#include "ctl_requests.h"
#include "event_log.h"
#include "host/builtin_http.h"
#include "lattice/ctl_client.h"
#include "lattice/nats.h"
#include "oci/client.h"
#include "support/servers.h"
#include "wascap/claims.h"
#include "wascap/nkeys.h"

namespace wc {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

/// One raw TCP connection to 127.0.0.1:port for clients no HTTP library would be: bytes as
/// given, at the pace given, closed when the test says.
class RawConn {
 public:
  explicit RawConn(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) close();
    int one = 1;
    if (fd_ >= 0) ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  ~RawConn() { close(); }
  RawConn(const RawConn&) = delete;
  RawConn& operator=(const RawConn&) = delete;

  bool connected() const { return fd_ >= 0; }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  bool send(std::string_view data) {
    while (!data.empty()) {
      if (fd_ < 0) return false;
      ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }
  /// Reads until the server closes or `timeout` passes; returns what came.
  std::string read_until_close(std::chrono::milliseconds timeout) {
    std::string got;
    const auto until = Clock::now() + timeout;
    while (fd_ >= 0 && Clock::now() < until) {
      pollfd p{fd_, POLLIN, 0};
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now());
      if (::poll(&p, 1, static_cast<int>(std::max<std::int64_t>(left.count(), 1))) <= 0) continue;
      char buf[4096];
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) break;
      got.append(buf, static_cast<std::size_t>(n));
    }
    return got;
  }
  /// Reads one response's status line and headers (not the body) within `timeout`; the status
  /// code, 0 when none came.
  int read_status(std::chrono::milliseconds timeout) {
    std::string got;
    const auto until = Clock::now() + timeout;
    while (fd_ >= 0 && got.find("\r\n\r\n") == std::string::npos && Clock::now() < until) {
      pollfd p{fd_, POLLIN, 0};
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now());
      if (::poll(&p, 1, static_cast<int>(std::max<std::int64_t>(left.count(), 1))) <= 0) continue;
      char buf[4096];
      ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) break;
      got.append(buf, static_cast<std::size_t>(n));
    }
    if (got.rfind("HTTP/1.", 0) != 0 || got.size() < 12) return 0;
    return std::atoi(got.c_str() + 9);
  }

 private:
  int fd_ = -1;
};

/// Resident memory of process `pid` in KiB (VmRSS), -1 when unreadable.
long rss_kib(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  }
  return -1;
}

/// Open file descriptors of process `pid` (its sockets included).
std::size_t open_fds(pid_t pid) {
  std::error_code ec;
  std::size_t n = 0;
  for (auto it = std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    ++n;
  }
  return n;
}

/// For a failure message: the descriptors of process `pid` by kind, and its TCP sockets on
/// local port `port` by state (hex codes of /proc/net/tcp: 01 established, 08 close-wait, ...).
std::string fd_summary(pid_t pid, int port) {
  std::map<std::string, int> inode_state;  // socket inode -> state, sockets on `port`
  for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::ifstream f(table);
    std::string line;
    std::getline(f, line);  // header
    while (std::getline(f, line)) {
      std::istringstream in(line);
      std::string sl, local, remote, state, queues, timer, retr, uid, timeout, inode;
      in >> sl >> local >> remote >> state >> queues >> timer >> retr >> uid >> timeout >> inode;
      const auto colon = local.rfind(':');
      if (colon == std::string::npos) continue;
      if (std::strtol(local.c_str() + colon + 1, nullptr, 16) == port) inode_state[inode] = 0;
      if (inode_state.count(inode)) inode_state[inode] = std::stoi(state, nullptr, 16);
    }
  }
  std::map<std::string, int> kinds;
  std::error_code ec;
  const std::string dir = "/proc/" + std::to_string(pid) + "/fd";
  for (auto it = std::filesystem::directory_iterator(dir, ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    std::string target = std::filesystem::read_symlink(it->path(), ec).string();
    if (target.rfind("socket:[", 0) == 0) {
      const std::string inode = target.substr(8, target.size() - 9);
      auto s = inode_state.find(inode);
      target = s == inode_state.end() ? "socket (other)"
                                      : "socket on the port, state " + std::to_string(s->second);
    } else if (auto colon = target.find(':'); colon != std::string::npos) {
      target = target.substr(0, colon);
    }
    ++kinds[target];
  }
  std::string out = "descriptors of the host:";
  for (const auto& [kind, n] : kinds) out += "\n  " + std::to_string(n) + " " + kind;
  return out;
}

std::string actor_key(const std::string& file) {
  auto b = read_file(std::string(WC_FIXTURES_DIR) + "/" + file);
  if (!b) return "";
  auto c = wascap::extract_claims(*b, wascap::now_seconds());
  return c ? c->claims.sub : "";
}

class BuiltinHttp : public ::testing::Test {
 protected:
  static inline std::unique_ptr<testing::NatsServer> nats;
  static inline std::unique_ptr<testing::RegistryServer> registry;
  static inline std::unique_ptr<testing::ChildProcess> host_a, host_b;
  static inline std::unique_ptr<lattice::Connection> nc;
  static inline std::unique_ptr<testing::EventLog> events, rpc_events;
  static inline lattice::Subscription events_sub, rpc_events_sub;
  static inline std::string dir, a_id, b_id, echo, echo_unpriv;
  static inline int port = 0;

  static std::unique_ptr<testing::ChildProcess> start_host(const std::string& name,
                                                           const wascap::KeyPair& cluster,
                                                           std::string& id) {
    auto key = wascap::KeyPair::generate(wascap::KeyType::kServer);
    id = key.public_key();
    return std::make_unique<testing::ChildProcess>(
        std::vector<std::string>{std::string(WC_BINARY_DIR) + "/src/cli/wasmcloud", "host",
                                 "--nats-port", std::to_string(nats->port()), "--allowed-insecure",
                                 registry->host(), "--no-native", "--log-level", "debug",
                                 "--oci-cache-dir", dir + "/" + name + "-oci"},
        dir + "/" + name + ".log",
        std::vector<std::string>{"WASMCLOUD_HOST_SEED=" + key.seed(),
                                 "WASMCLOUD_CLUSTER_SEED=" + cluster.seed(), "TMPDIR=" + dir});
  }

  static void SetUpTestSuite() {
    dir = testing::make_temp_dir("wc-builtin-http-it");
    nats = std::make_unique<testing::NatsServer>();
    registry = std::make_unique<testing::RegistryServer>();
    for (const char* name : {"echo", "echo_unpriv_s"}) {
      auto b = read_file(std::string(WC_FIXTURES_DIR) + "/" + name + ".wasm");
      ASSERT_TRUE(b);
      oci::PushOptions po;
      po.kind = oci::ArtifactKind::kActor;
      po.allowed_insecure = {registry->host()};
      auto r = oci::Client().push(registry->host() + "/" + name + ":1", *b, po);
      ASSERT_TRUE(r) << r.error().message;
    }
    echo = actor_key("echo.wasm");
    echo_unpriv = actor_key("echo_unpriv_s.wasm");
    auto cluster = wascap::KeyPair::generate(wascap::KeyType::kCluster);
    host_a = start_host("a", cluster, a_id);
    host_b = start_host("b", cluster, b_id);
    lattice::ConnectOptions o;
    o.servers = {nats->url()};
    auto c = lattice::Connection::connect(o);
    ASSERT_TRUE(c) << c.error().message;
    nc = std::move(*c);
    events = std::make_unique<testing::EventLog>();
    auto sub = testing::record_events(*nc, *events);
    ASSERT_TRUE(sub);
    events_sub = std::move(*sub);
    // Invocation events go to `wasmbus.rpcevt.{lattice}` (actor-rpc-providers.md 4.6).
    rpc_events = std::make_unique<testing::EventLog>();
    auto rsub = nc->subscribe("wasmbus.rpcevt.default", [](lattice::Message m) {
      auto j = json::parse(m.text(), nullptr, false);
      if (!j.is_discarded()) rpc_events->add(std::move(j));
    });
    ASSERT_TRUE(rsub);
    rpc_events_sub = std::move(*rsub);
    ASSERT_TRUE(testing::wait_host_answers(*nc, a_id)) << "host A did not answer; log in " << dir;
    ASSERT_TRUE(testing::wait_host_answers(*nc, b_id)) << "host B did not answer; log in " << dir;
    port = testing::free_port();
  }

  static void TearDownTestSuite() {
    events_sub.unsubscribe();
    rpc_events_sub.unsubscribe();
    if (host_a) host_a->stop(15);
    if (host_b) host_b->stop(15);
    host_a.reset();
    host_b.reset();
    nc.reset();
    registry.reset();
    nats.reset();
    testing::remove_temp_dir(dir);
  }

  static json cmd(const std::string& host, const std::string& op, const json& body) {
    return testing::host_cmd(*nc, host, op, body.dump());
  }
  /// pinger (an example actor) pushed to the registry as pinger:1, and a fresh actor key
  /// (`silent`) whose RPC subject this test holds without ever answering: pinger asked for
  /// `?key={silent}` calls it through the lattice and waits in its host call for the host's RPC
  /// timeout. `held` counts the calls that reached the subject.
  struct SilentCallee {
    std::string ping, silent;
    std::shared_ptr<std::atomic<int>> held = std::make_shared<std::atomic<int>>(0);
    lattice::Subscription hold;
  };
  static void push_pinger_and_hold_a_callee(const Bytes& ping_bytes, SilentCallee& out) {
    auto claims = wascap::extract_claims(ping_bytes, wascap::now_seconds());
    ASSERT_TRUE(claims);
    out.ping = claims->claims.sub;
    oci::PushOptions po;
    po.kind = oci::ArtifactKind::kActor;
    po.allowed_insecure = {registry->host()};
    ASSERT_TRUE(oci::Client().push(registry->host() + "/pinger:1", ping_bytes, po));
    out.silent = wascap::KeyPair::generate(wascap::KeyType::kModule).public_key();
    auto hold = nc->subscribe("wasmbus.rpc.default." + out.silent,
                              [held = out.held](lattice::Message) { ++*held; });  // never answers
    ASSERT_TRUE(hold);
    out.hold = std::move(*hold);
    ASSERT_TRUE(nc->flush(2s));
  }

  static json put_link(const std::string& actor, const json& values) {
    return testing::ctl_request(*nc, "wasmbus.ctl.default.linkdefs.put",
                                json{{"actor_id", actor},
                                     {"provider_id", host::builtin_http_server_key()},
                                     {"contract_id", "wasmcloud:httpserver"},
                                     {"link_name", "default"},
                                     {"values", values}}
                                    .dump());
  }
  /// Scales `key` on `host` to `count` and waits until the inventory shows that many.
  static void scale(const std::string& host, const std::string& name, const std::string& key,
                    int count) {
    ASSERT_EQ(cmd(host, "scale",
                  {{"actor_id", key},
                   {"actor_ref", registry->host() + "/" + name + ":1"},
                   {"count", count}})["accepted"],
              true);
    auto until = std::chrono::steady_clock::now() + 20s;
    while (std::chrono::steady_clock::now() < until) {
      int n = 0;
      const json inv = testing::host_inventory(*nc, host);
      for (const auto& a : inv["actors"])
        if (a["id"] == key) n = static_cast<int>(a["instances"].size());
      if (n == count) return;
      std::this_thread::sleep_for(50ms);
    }
    FAIL() << "actor " << name << " did not reach " << count << " on " << host;
  }
  /// A request with retries until the listener answers (it opens when the link arrives).
  static httplib::Result send(const std::string& method, const std::string& path,
                              const std::string& body = {}, int p = 0) {
    httplib::Client cli("127.0.0.1", p != 0 ? p : port);
    cli.set_connection_timeout(2);
    cli.set_read_timeout(10);
    auto until = std::chrono::steady_clock::now() + 15s;
    for (;;) {
      httplib::Request req;
      req.method = method;
      req.path = path;
      req.body = body;
      if (!body.empty()) req.set_header("Content-Type", "text/plain");
      auto r = cli.send(req);
      if (r || std::chrono::steady_clock::now() > until) return r;
      std::this_thread::sleep_for(100ms);
    }
  }
};

TEST_F(BuiltinHttp, StartsLikeAProviderAndIsInTheInventory) {
  const auto mark = events->mark();
  auto ack = cmd(a_id, "lp", {{"provider_ref", "builtin://httpserver"}, {"link_name", "default"}});
  ASSERT_EQ(ack["accepted"], true) << ack.dump();
  auto started = events->wait(
      mark, "provider_started",
      [](const json& d) { return d["public_key"] == host::builtin_http_server_key(); }, 10s);
  ASSERT_TRUE(started);
  EXPECT_EQ((*started)["data"]["contract_id"], "wasmcloud:httpserver");
  EXPECT_EQ((*started)["data"]["image_ref"], "builtin://httpserver");
  EXPECT_EQ((*started)["source"], a_id);
  const json inv = testing::host_inventory(*nc, a_id);
  ASSERT_EQ(inv["providers"].size(), 1u) << inv.dump();
  EXPECT_EQ(inv["providers"][0]["id"], host::builtin_http_server_key());
  EXPECT_EQ(inv["providers"][0]["contract_id"], "wasmcloud:httpserver");
  EXPECT_EQ(inv["providers"][0]["link_name"], "default");
  // A second start under the same link name changes nothing (as for a downloaded provider).
  cmd(a_id, "lp", {{"provider_ref", "builtin://httpserver"}, {"link_name", "default"}});
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(testing::host_inventory(*nc, a_id)["providers"].size(), 1u);
  // An unknown builtin is refused with a clear error and leaves nothing behind.
  const auto mark2 = events->mark();
  cmd(a_id, "lp", {{"provider_ref", "builtin://nope"}, {"link_name", "default"}});
  auto failed = events->wait(mark2, "provider_start_failed", nullptr, 10s);
  ASSERT_TRUE(failed);
  EXPECT_NE((*failed)["data"]["error"].get<std::string>().find("builtin://nope"),
            std::string::npos);
  EXPECT_EQ(testing::host_inventory(*nc, a_id)["providers"].size(), 1u);
}

TEST_F(BuiltinHttp, LinkedLocalActorAnswersInProcess) {
  scale(a_id, "echo", echo, 1);
  ASSERT_EQ(put_link(echo, {{"port", std::to_string(port)}})["accepted"], true);
  const auto mark = rpc_events->mark();
  auto r = send("GET", "/foo/bar?x=1");
  ASSERT_TRUE(r) << "no answer on port " << port << "; log in " << dir;
  EXPECT_EQ(r->status, 200);
  auto body = json::parse(r->body, nullptr, false);
  ASSERT_FALSE(body.is_discarded()) << r->body;
  EXPECT_EQ(body["method"], "GET");
  EXPECT_EQ(body["path"], "/foo/bar");
  EXPECT_EQ(body["query_string"], "x=1");
  // The invocation was counted and announced like a lattice one, from the builtin provider.
  auto ev = rpc_events->wait(
      mark, "invocation_succeeded",
      [](const json& d) { return d["source"]["public_key"] == host::builtin_http_server_key(); },
      5s);
  ASSERT_TRUE(ev) << "no invocation_succeeded from the builtin provider";
  EXPECT_EQ((*ev)["data"]["dest"]["public_key"], echo);
  EXPECT_EQ((*ev)["data"]["operation"], "HttpServer.HandleRequest");
}

TEST_F(BuiltinHttp, PostBodiesAndKeepAlive) {
  httplib::Client cli("127.0.0.1", port);
  cli.set_keep_alive(true);
  // httplib writes headers and body apart: without TCP_NODELAY each POST waits out a delayed
  // ACK (about 40 ms) before its body leaves the client.
  cli.set_tcp_nodelay(true);
  for (int i = 0; i < 100; ++i) {
    const std::string b = "hello " + std::to_string(i);
    auto r = cli.Post("/p", b, "text/plain");
    ASSERT_TRUE(r) << i;
    ASSERT_EQ(r->status, 200);
    auto body = json::parse(r->body);
    std::string got;
    for (const auto& c : body["body"]) got.push_back(static_cast<char>(c.get<int>()));
    ASSERT_EQ(got, b);
  }
}

TEST_F(BuiltinHttp, OversizedBodyIs413AndTheListenerFollowsTheLink) {
  // A changed link re-opens the listener with the new settings.
  ASSERT_EQ(put_link(echo, {{"config_json", json{{"address", "127.0.0.1:" + std::to_string(port)},
                                                 {"max_content_len", "1k"}}
                                                .dump()}})["accepted"],
            true);
  auto until = std::chrono::steady_clock::now() + 10s;
  int status = 0;
  do {
    auto big = send("POST", "/big", std::string(4096, 'x'));
    status = big ? big->status : 0;
    if (status == 413) break;
    std::this_thread::sleep_for(100ms);
  } while (std::chrono::steady_clock::now() < until);
  EXPECT_EQ(status, 413);
  auto small = send("POST", "/small", std::string(100, 'y'));
  ASSERT_TRUE(small);
  EXPECT_EQ(small->status, 200);
}

TEST_F(BuiltinHttp, AChunkedBodyPastTheLimitIs413AtOnceAndTheGuestNeverSeesIt) {
  // The link now allows 1 KiB. A chunked body passing it is answered 413 while the client still
  // sends (the connection then closes), without an invocation; the next client is served.
  // Events of earlier requests are published asynchronously: mark after 200 ms without one.
  std::size_t mark = rpc_events->mark();
  for (int i = 0; i < 25; ++i) {
    std::this_thread::sleep_for(200ms);
    if (rpc_events->mark() == mark) break;
    mark = rpc_events->mark();
  }
  RawConn big(port);
  ASSERT_TRUE(big.connected());
  ASSERT_TRUE(big.send("POST /chunked HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"));
  const std::string chunk = "400\r\n" + std::string(1024, 'c') + "\r\n";  // 1 KiB each
  ASSERT_TRUE(big.send(chunk));
  ASSERT_TRUE(big.send(chunk));  // 2 KiB: past the limit; the body has not ended
  EXPECT_EQ(big.read_status(5s), 413);
  EXPECT_EQ(big.read_until_close(5s).find("HTTP/"), std::string::npos);  // then closed
  auto next = send("POST", "/small", std::string(100, 'y'));
  ASSERT_TRUE(next);
  EXPECT_EQ(next->status, 200);
  // The one invocation since the mark is the small POST's.
  ASSERT_TRUE(rpc_events->wait_count(mark, "invocation_succeeded", 1, 5s) >= 1);
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(rpc_events->count(mark, "invocation_succeeded"), 1u);
  EXPECT_EQ(rpc_events->count(mark, "invocation_failed"), 0u);
}

TEST_F(BuiltinHttp, ActorWithoutTheHttpServerClaimIsRefused) {
  const int p2 = testing::free_port();
  scale(a_id, "echo_unpriv_s", echo_unpriv, 1);
  ASSERT_EQ(put_link(echo_unpriv, {{"port", std::to_string(p2)}})["accepted"], true);
  auto r = send("GET", "/x", {}, p2);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 500);
  // The server keeps serving the other link.
  auto ok = send("GET", "/still");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
}

TEST_F(BuiltinHttp, WithoutALocalInstanceTheRequestCrossesTheLattice) {
  scale(b_id, "echo", echo, 1);
  scale(a_id, "echo", echo, 0);
  auto r = send("GET", "/remote?via=lattice");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  auto body = json::parse(r->body, nullptr, false);
  ASSERT_FALSE(body.is_discarded()) << r->body;
  EXPECT_EQ(body["query_string"], "via=lattice");
  // With no instance anywhere the answer is 503, promptly.
  scale(b_id, "echo", echo, 0);
  auto none = send("GET", "/none");
  ASSERT_TRUE(none);
  EXPECT_EQ(none->status, 503);
}

TEST_F(BuiltinHttp, SameHostActorCallsStayInProcessOthersCrossTheLattice) {
  const std::string ex = std::string(WC_BINARY_DIR) + "/examples/";
  auto pong_bytes = read_file(ex + "ponger_s.wasm");
  auto ping_bytes = read_file(ex + "pinger_s.wasm");
  if (!pong_bytes || !ping_bytes) GTEST_SKIP() << "intentionally skipped: example actors not built";
  std::string pong, ping;
  for (auto [name, bytes, key] :
       {std::tuple{"ponger", &*pong_bytes, &pong}, std::tuple{"pinger", &*ping_bytes, &ping}}) {
    auto c = wascap::extract_claims(*bytes, wascap::now_seconds());
    ASSERT_TRUE(c);
    *key = c->claims.sub;
    oci::PushOptions po;
    po.kind = oci::ArtifactKind::kActor;
    po.allowed_insecure = {registry->host()};
    ASSERT_TRUE(oci::Client().push(registry->host() + "/" + name + ":1", *bytes, po));
  }
  // Every invocation that crosses the lattice to ponger passes its RPC subject; a plain
  // (non-queue) subscription sees them without taking them from the hosts.
  std::atomic<int> on_the_wire{0};
  auto spy = nc->subscribe("wasmbus.rpc.default." + pong,
                           [&on_the_wire](lattice::Message) { ++on_the_wire; });
  ASSERT_TRUE(spy);
  scale(a_id, "pinger", ping, 1);
  scale(a_id, "ponger", pong, 1);
  const int p3 = testing::free_port();
  ASSERT_EQ(put_link(ping, {{"port", std::to_string(p3)}})["accepted"], true);
  auto local = send("GET", "/", {}, p3);
  ASSERT_TRUE(local);
  EXPECT_EQ(local->status, 200) << local->body;
  EXPECT_EQ(local->body, "Ping pong");
  auto by_key = send("GET", "/?key=" + pong, {}, p3);
  ASSERT_TRUE(by_key);
  EXPECT_EQ(by_key->body, "Ping pong");
  (void)nc->flush(2s);
  EXPECT_EQ(on_the_wire.load(), 0) << "a same-host call went through NATS";
  // ponger only on host B: the same call crosses the lattice.
  scale(b_id, "ponger", pong, 1);
  scale(a_id, "ponger", pong, 0);
  auto remote = send("GET", "/", {}, p3);
  ASSERT_TRUE(remote);
  EXPECT_EQ(remote->status, 200) << remote->body;
  EXPECT_EQ(remote->body, "Ping pong");
  (void)nc->flush(2s);
  EXPECT_GE(on_the_wire.load(), 1);
  spy->unsubscribe();
  scale(b_id, "ponger", pong, 0);
  scale(a_id, "pinger", ping, 0);
}

TEST_F(BuiltinHttp, RequestsTheGuestFailsOnAre500AndTheNextRequestAndTheHostAreServed) {
  // No fixture traps on demand, so this is the closest failure: echo fails inside the guest on a
  // request whose header value is not UTF-8 (its HttpRequest decoder refuses it: "Guest call
  // failed ... string found to be invalid utf8"). For the builtin that is a failed invocation,
  // as a trap is: answered 500, and nothing of it lingers.
  scale(a_id, "echo", echo, 1);
  auto before = send("GET", "/before");
  ASSERT_TRUE(before);
  ASSERT_EQ(before->status, 200);
  const auto mark = rpc_events->mark();
  for (int i = 0; i < 10; ++i) {
    RawConn bad(port);
    ASSERT_TRUE(bad.connected());
    ASSERT_TRUE(bad.send("GET /bad HTTP/1.1\r\nHost: t\r\nX-Bad: \xff\xfe\r\n\r\n"));
    EXPECT_EQ(bad.read_status(10s), 500) << i;
    httplib::Client good("127.0.0.1", port);
    auto r = good.Get("/good" + std::to_string(i));
    ASSERT_TRUE(r) << i;
    EXPECT_EQ(r->status, 200) << i;
    EXPECT_EQ(json::parse(r->body, nullptr, false)["path"], "/good" + std::to_string(i));
  }
  auto failed = rpc_events->wait(
      mark, "invocation_failed",
      [](const json& d) {
        return d["source"]["public_key"] == host::builtin_http_server_key() &&
               d["dest"]["public_key"] == echo;
      },
      5s);
  EXPECT_TRUE(failed) << "no invocation_failed event for the failed guest call";
  // The host still answers the control interface, with echo's instance still there.
  lattice::CtlClient ctl(*nc, "default");
  auto pings = ctl.ping_hosts();
  ASSERT_TRUE(pings);
  bool a_answered = false;
  for (const auto& p : *pings) a_answered = a_answered || p.value("id", "") == a_id;
  EXPECT_TRUE(a_answered) << "host A did not answer ping.hosts";
  const json inv = testing::host_inventory(*nc, a_id);
  int instances = 0;
  for (const auto& a : inv["actors"])
    if (a["id"] == echo) instances = static_cast<int>(a["instances"].size());
  EXPECT_EQ(instances, 1) << inv.dump();
}

TEST_F(BuiltinHttp, AGuestPastTheLinksTimeoutIsAnswered503AtTheTimeout) {
  // pinger (new here: it runs on the RPC pool, not inline), asked for `?key=K`, calls actor K
  // through the lattice; here K is a key nobody runs
  // whose RPC subject this test holds without ever answering, so the guest waits in its host
  // call for the host's RPC timeout (2 s). The link's timeout_ms (500) bounds the HTTP answer
  // in-process as the httpserver provider's RPC timeout bounds it over NATS: 503 at ~500 ms.
  auto ping_bytes = read_file(std::string(WC_BINARY_DIR) + "/examples/pinger_s.wasm");
  if (!ping_bytes) GTEST_SKIP() << "intentionally skipped: example actors not built";
  SilentCallee callee;
  ASSERT_NO_FATAL_FAILURE(push_pinger_and_hold_a_callee(*ping_bytes, callee));
  const std::string& ping = callee.ping;
  const std::string& silent = callee.silent;
  std::atomic<int>& held = *callee.held;
  scale(a_id, "pinger", ping, 1);
  const int p4 = testing::free_port();
  ASSERT_EQ(put_link(ping, {{"config_json", json{{"address", "127.0.0.1:" + std::to_string(p4)},
                                                 {"timeout_ms", 500}}
                                                .dump()}})["accepted"],
            true);
  auto ready = send("GET", "/?key=not-a-key", {}, p4);  // pinger answers 400 at once
  ASSERT_TRUE(ready);
  ASSERT_EQ(ready->status, 400);

  httplib::Client cli("127.0.0.1", p4);
  cli.set_read_timeout(10);
  const auto t0 = Clock::now();
  auto r = cli.Get("/?key=" + silent);
  const double took = ms_since(t0);
  ASSERT_TRUE(r);
  EXPECT_EQ(held.load(), 1) << "the guest's call did not reach the lattice";
  EXPECT_EQ(r->status, 503) << "after " << took << " ms: " << r->body;
  EXPECT_GE(took, 450.0);
  EXPECT_LT(took, 1500.0) << "answered after the guest's host call ended, not at timeout_ms";
  // The listener and the host serve on, once the guest, still waiting after its answer, ended
  // its host call (at the host's 2 s RPC timeout) and gave back pinger's one slot.
  std::this_thread::sleep_until(t0 + 2500ms);
  auto after = send("GET", "/?key=not-a-key", {}, p4);
  ASSERT_TRUE(after);
  EXPECT_EQ(after->status, 400);
  EXPECT_TRUE(testing::wait_host_answers(*nc, a_id, 5s));
  callee.hold.unsubscribe();
  scale(a_id, "pinger", ping, 0);
}

TEST_F(BuiltinHttp, AGuestWaitingLongDoesNotDelayOtherRequestsOfItsListener) {
  // pinger with 4 instances; after 40 quick requests (`?key=not-a-key`, answered 400 by the
  // guest at once), two requests make it wait 2 s in a host call (`?key=K`, K a key whose RPC
  // subject this test holds without answering). Meanwhile new connections to the same
  // listener are answered at their usual pace: a waiting guest holds its slot, never an event
  // loop of the server. (With --builtin-http-inline a known-fast pinger would run on the loop
  // and its wait would hold it: that mode is opt-in for this reason, see src/host/config.h.)
  auto ping_bytes = read_file(std::string(WC_BINARY_DIR) + "/examples/pinger_s.wasm");
  if (!ping_bytes) GTEST_SKIP() << "intentionally skipped: example actors not built";
  SilentCallee callee;
  ASSERT_NO_FATAL_FAILURE(push_pinger_and_hold_a_callee(*ping_bytes, callee));
  const std::string& ping = callee.ping;
  const std::string& silent = callee.silent;
  std::atomic<int>& held = *callee.held;
  scale(a_id, "pinger", ping, 4);
  const int p5 = testing::free_port();
  ASSERT_EQ(put_link(ping, {{"port", std::to_string(p5)}})["accepted"], true);
  auto ready = send("GET", "/?key=not-a-key", {}, p5);
  ASSERT_TRUE(ready);
  ASSERT_EQ(ready->status, 400);
  for (int i = 0; i < 40; ++i) {
    httplib::Client quick("127.0.0.1", p5);
    auto r = quick.Get("/?key=not-a-key");
    ASSERT_TRUE(r) << i;
    ASSERT_EQ(r->status, 400);
  }
  std::vector<std::thread> waiting;
  std::atomic<int> waited{0};
  for (int i = 0; i < 2; ++i) {
    waiting.emplace_back([&] {
      httplib::Client slow("127.0.0.1", p5);
      slow.set_read_timeout(10);
      if (slow.Get("/?key=" + silent)) ++waited;
    });
  }
  const auto both_held = Clock::now() + 5s;
  while (held.load() < 2 && Clock::now() < both_held) std::this_thread::sleep_for(5ms);
  ASSERT_EQ(held.load(), 2) << "the two guests did not reach their host calls";
  double worst = 0;
  int served = 0;
  const auto window = Clock::now() + 1500ms;  // inside the guests' 2 s wait
  while (Clock::now() < window) {
    httplib::Client quick("127.0.0.1", p5);
    quick.set_read_timeout(10);
    const auto t0 = Clock::now();
    auto r = quick.Get("/?key=not-a-key");
    worst = std::max(worst, ms_since(t0));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400);
    ++served;
    std::this_thread::sleep_for(20ms);
  }
  for (auto& t : waiting) t.join();
  std::printf("%d requests beside two waiting guests: worst %.1f ms\n", served, worst);
  EXPECT_EQ(waited.load(), 2);
  EXPECT_GT(served, 10);
  EXPECT_LT(worst, 500.0) << "a request waited for another request's guest";
  callee.hold.unsubscribe();
  scale(a_id, "pinger", ping, 0);
}

TEST_F(BuiltinHttp, ClientsClosingMidBodyAndSlowlorisDoNotDelayOtherClients) {
  // While 16 slowloris connections dribble their headers (one byte each per 100 ms) and other
  // clients keep sending half a body and closing, a well-behaved client's requests are echoed
  // promptly, and none of the bad requests reaches the guest.
  scale(a_id, "echo", echo, 1);
  // echo's invocations from the builtin, counted from their rpc events.
  std::atomic<int> ran{0}, failed{0};
  auto counter = nc->subscribe("wasmbus.rpcevt.default", [&](lattice::Message m) {
    auto e = json::parse(m.text(), nullptr, false);
    if (e.is_discarded() || e["data"]["dest"]["public_key"] != echo ||
        e["data"]["source"]["public_key"] != host::builtin_http_server_key()) {
      return;
    }
    if (e["type"] == "com.wasmcloud.lattice.invocation_succeeded") ++ran;
    if (e["type"] == "com.wasmcloud.lattice.invocation_failed") ++failed;
  });
  ASSERT_TRUE(counter);
  ASSERT_TRUE(nc->flush(2s));
  auto ready = send("GET", "/ready");
  ASSERT_TRUE(ready);
  ASSERT_EQ(ready->status, 200);
  auto settle = Clock::now() + 5s;
  while (ran.load() < 1 && Clock::now() < settle) std::this_thread::sleep_for(10ms);
  ASSERT_EQ(ran.load(), 1) << "no invocation event for the first request";
  ran = 0;
  std::atomic<bool> stop{false};
  std::atomic<int> halves{0};
  std::atomic<std::size_t> dribbled{0};
  std::thread bad_clients([&] {
    std::vector<std::unique_ptr<RawConn>> slow;
    for (int i = 0; i < 16; ++i) slow.push_back(std::make_unique<RawConn>(port));
    const std::string header =
        "GET /slowloris HTTP/1.1\r\nHost: t\r\nX-Pad: " + std::string(200, 'p');  // never ends
    std::size_t at = 0;
    while (!stop) {
      for (auto& c : slow) c->send(header.substr(at % header.size(), 1));
      dribbled += slow.size();
      ++at;
      RawConn half(port);
      // 500 of the 1000 announced bytes (the link's limit is 1 KiB here), then close.
      half.send("POST /half HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\n" +
                std::string(500, 'h'));
      half.close();
      ++halves;
      std::this_thread::sleep_for(100ms);
    }
  });
  double worst = 0;
  int served = 0;
  const auto until = Clock::now() + 3s;
  while (Clock::now() < until) {
    httplib::Client good("127.0.0.1", port);
    good.set_tcp_nodelay(true);
    const std::string path = "/good" + std::to_string(served);
    const auto t0 = Clock::now();
    auto r = good.Get(path);
    worst = std::max(worst, ms_since(t0));
    ASSERT_TRUE(r) << "request " << served << " got no answer";
    ASSERT_EQ(r->status, 200);
    EXPECT_EQ(json::parse(r->body, nullptr, false)["path"], path);
    ++served;
    std::this_thread::sleep_for(20ms);
  }
  stop = true;
  bad_clients.join();
  std::printf("%d requests beside %d half bodies and %zu dribbled bytes: worst %.1f ms\n", served,
              halves.load(), dribbled.load(), worst);
  EXPECT_GT(served, 20);
  EXPECT_GT(halves.load(), 10);
  EXPECT_LT(worst, 1000.0);
  // Only the good requests ran the guest.
  settle = Clock::now() + 5s;
  while (ran.load() < served && Clock::now() < settle) std::this_thread::sleep_for(10ms);
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(ran.load(), served);
  EXPECT_EQ(failed.load(), 0);
  counter->unsubscribe();
}

TEST_F(BuiltinHttp, AHostStartedUnderALowOpenFileLimitRaisesItToTheHardLimit) {
  // Debian's default soft limit (1,024 descriptors) would cap the builtin's connections near
  // 1,000; `wasmcloud` raises its soft limit to the hard one at start (src/cli/main.cpp).
  rlimit lim{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &lim), 0);
  if (lim.rlim_max <= 1024 || lim.rlim_max == RLIM_INFINITY)
    GTEST_SKIP() << "intentionally skipped: the hard limit " << lim.rlim_max
                 << " leaves nothing to raise to";
  rlimit low = lim;
  low.rlim_cur = 1024;
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &low), 0);
  std::string id;
  auto c = start_host("c", wascap::KeyPair::generate(wascap::KeyType::kCluster), id);
  ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &lim), 0);  // the child inherited 1,024
  const std::string limits = "/proc/" + std::to_string(c->pid()) + "/limits";
  std::string soft;
  const auto until = Clock::now() + 10s;
  while (Clock::now() < until) {
    std::ifstream in(limits);
    for (std::string line; std::getline(in, line);) {
      if (line.rfind("Max open files", 0) != 0) continue;
      std::istringstream fields(line.substr(std::string("Max open files").size()));
      fields >> soft;
    }
    if (!soft.empty() && soft != "1024") break;
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(soft, std::to_string(lim.rlim_max));
}

TEST_F(BuiltinHttp, TenThousandIdleConnectionsNeitherDelayARequestNorGrowTheHostUnbounded) {
  // 10,000 connections that never send a byte, held open by this process against host A's
  // listener: a request beside them is echoed promptly, and the host's resident memory grows by
  // a bounded amount per connection. Needs 10,000 descriptors here and in the host (which has
  // this process's limit).
  int wanted = 10000;
  rlimit lim{};
  ::getrlimit(RLIMIT_NOFILE, &lim);
  const rlim_t need = static_cast<rlim_t>(wanted) + 512;
  if (lim.rlim_cur < need) {
    GTEST_SKIP() << "intentionally skipped: RLIMIT_NOFILE " << lim.rlim_cur
                 << " here and in the host allows fewer than 10,000 connections";
  }
  scale(a_id, "echo", echo, 1);
  auto ready = send("GET", "/ready");
  ASSERT_TRUE(ready);
  ASSERT_EQ(ready->status, 200);
  const pid_t host = host_a->pid();
  const std::size_t fds_before = open_fds(host);
  const long rss_before = rss_kib(host);
  ASSERT_GT(rss_before, 0);
  std::vector<std::unique_ptr<RawConn>> idle;
  idle.reserve(static_cast<std::size_t>(wanted));
  for (int i = 0; i < wanted; ++i) {
    idle.push_back(std::make_unique<RawConn>(port));
    ASSERT_TRUE(idle.back()->connected()) << "connection " << i;
  }
  // The host has accepted them all when it holds as many more descriptors (give or take the
  // few it opens and closes on its own, such as the connection of the request above).
  const std::size_t accepted = fds_before + idle.size() - 16;
  const auto until = Clock::now() + 20s;
  while (open_fds(host) < accepted && Clock::now() < until) std::this_thread::sleep_for(50ms);
  EXPECT_GE(open_fds(host), accepted) << "the host did not accept them all";
  httplib::Client good("127.0.0.1", port);
  good.set_tcp_nodelay(true);
  const auto t0 = Clock::now();
  auto r = good.Get("/beside-idle");
  const double took = ms_since(t0);
  const long rss_after = rss_kib(host);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(json::parse(r->body, nullptr, false)["path"], "/beside-idle");
  EXPECT_LT(took, 500.0);
  const double per_connection = static_cast<double>(rss_after - rss_before) * 1024.0 / wanted;
  std::printf("%d idle connections: host RSS +%ld KiB (%.0f bytes each); a request took %.2f ms\n",
              wanted, rss_after - rss_before, per_connection, took);
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
  // A sanitized host keeps shadow memory for every allocation (138 KB per connection measured
  // under TSan): the bound is the product's, checked in the plain build.
  (void)per_connection;
#else
  EXPECT_LT(per_connection, 64.0 * 1024);
#endif
  // Closed by the clients, they are gone from the host: at once as a rule, and at the latest
  // when the idle timeout (30 s) closes a connection whose end the server missed. (Twice in
  // about 36 runs of this suite, about 110 and 1,040 of them stayed in CLOSE_WAIT for more
  // than 20 s, cause not found; the time and the host's descriptors at 5 s are printed then.)
  idle.clear();
  const auto closed_at = Clock::now();
  std::string at_5s;
  while (open_fds(host) > fds_before + 16 && Clock::now() < closed_at + 40s) {
    if (at_5s.empty() && Clock::now() > closed_at + 5s) at_5s = fd_summary(host, port);
    std::this_thread::sleep_for(50ms);
  }
  const double gone_ms = ms_since(closed_at);
  EXPECT_LE(open_fds(host), fds_before + 16) << fd_summary(host, port);
  if (!at_5s.empty()) {
    std::printf("closed connections left the host after %.0f ms; at 5 s %s\n", gone_ms,
                at_5s.c_str());
  }
  auto again = send("GET", "/after-idle");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 200);
}

TEST_F(BuiltinHttp, DeletingTheLinkClosesTheListenerAndStopEndsIt) {
  ASSERT_EQ(testing::ctl_request(*nc, "wasmbus.ctl.default.linkdefs.del",
                                 json{{"actor_id", echo},
                                      {"contract_id", "wasmcloud:httpserver"},
                                      {"link_name", "default"}}
                                     .dump())["accepted"],
            true);
  auto until = std::chrono::steady_clock::now() + 10s;
  bool closed = false;
  while (!closed && std::chrono::steady_clock::now() < until) {
    httplib::Client cli("127.0.0.1", port);
    cli.set_connection_timeout(1);
    closed = !cli.Get("/gone");
    if (!closed) std::this_thread::sleep_for(100ms);
  }
  EXPECT_TRUE(closed) << "listener still open after linkdefs.del";
  const auto mark = events->mark();
  auto ack = cmd(a_id, "sp",
                 {{"provider_ref", host::builtin_http_server_key()},
                  {"link_name", "default"},
                  {"contract_id", "wasmcloud:httpserver"}});
  ASSERT_EQ(ack["accepted"], true) << ack.dump();
  auto stopped = events->wait(
      mark, "provider_stopped",
      [](const json& d) { return d["public_key"] == host::builtin_http_server_key(); }, 10s);
  ASSERT_TRUE(stopped);
  EXPECT_EQ((*stopped)["data"]["reason"], "normal");
  EXPECT_TRUE(testing::host_inventory(*nc, a_id)["providers"].empty());
}

}  // namespace
}  // namespace wc

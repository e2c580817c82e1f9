// The builtin HTTP server's inline runs (issue #14.4) end to end: a real `wasmcloud host` process
// on a real nats-server, on its native tier, with a signed test actor whose guest answers 200 at
// once, or traps (`/TRAP`: unreachable; `/DEEP`: unbounded recursion, the call depth limit: the
// load after the call keeps the C compiler from turning it into a loop), or spins forever (`/SPIN`)
// when the request's path says so. After enough fast requests the guest runs on the event loops
// (the component tests in tests/host/builtin_http_inline_test.cpp prove that routing with the
// thread ids); here: guest faults on an event loop are contained (500, the host serves on), a
// spinning guest on an event loop is stopped at its execution budget (503), and once observed slow
// it runs on the RPC pool while other connections are served. The tests share the host and run in
// declaration order.
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/encoding.h"
#include "ctl_requests.h"
#include "host/builtin_http.h"
#include "lattice/nats.h"
#include "rpc/http.h"
#include "support/servers.h"
#include "wascap/claims.h"
#include "wascap/nkeys.h"
#include "wasm_test_util.h"

namespace wc {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

/// The little-endian i32 of a 4-character marker (what i32.load reads from those bytes).
std::string marker(const char* m) {
  std::uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(m[i]);
  return std::to_string(static_cast<std::int32_t>(v));
}

/// The test guest: reads the request at 1024, looks for a marker anywhere in operation +
/// payload, and answers a fixed HttpResponse (200, body "ok") kept at 32768.
Bytes test_guest() {
  rpc::HttpResponse r;
  r.body = Bytes{'o', 'k'};
  const Bytes resp = rpc::encode_http_response(r);
  std::string data;
  static const char* hex = "0123456789abcdef";
  for (auto b : resp) {
    data += '\\';
    data += hex[b >> 4];
    data += hex[b & 15];
  }
  const std::string extra =
      "(data (i32.const 32768) \"" + data +
      "\")\n"
      "(func $has (param $base i32) (param $len i32) (param $word i32) (result i32)\n"
      "  (local $i i32)\n"
      "  (block $done (loop $l\n"
      "    (br_if $done (i32.gt_s (i32.add (local.get $i) (i32.const 4)) (local.get $len)))\n"
      "    (if (i32.eq (i32.load (i32.add (local.get $base) (local.get $i))) (local.get $word))\n"
      "      (then (return (i32.const 1))))\n"
      "    (local.set $i (i32.add (local.get $i) (i32.const 1)))\n"
      "    (br $l)))\n"
      "  (i32.const 0))\n"
      "(func $deep (param $n i32) (result i32)\n"
      "  (i32.add (call $deep (i32.add (local.get $n) (i32.const 1))) (i32.load (i32.const 0))))\n";
  const std::string len = "(i32.add (local.get $op_len) (local.get $pl_len))";
  const std::string body =
      "(call $req (i32.const 1024) (i32.add (i32.const 1024) (local.get $op_len)))\n"
      "(if (call $has (i32.const 1024) " +
      len + " (i32.const " + marker("TRAP") +
      ")) (then unreachable))\n"
      "(if (call $has (i32.const 1024) " +
      len + " (i32.const " + marker("SPIN") +
      ")) (then (loop $s (br $s))))\n"
      "(if (call $has (i32.const 1024) " +
      len + " (i32.const " + marker("DEEP") +
      ")) (then (drop (call $deep (i32.const 0)))))\n"
      "(call $resp (i32.const 32768) (i32.const " +
      std::to_string(resp.size()) +
      "))\n"
      "(i32.const 1)";
  return wasm::testing::wat(wasm::testing::abi_guest(body, extra));
}

class BuiltinHttpInline : public ::testing::Test {
 protected:
  static inline std::unique_ptr<testing::NatsServer> nats;
  static inline std::unique_ptr<testing::ChildProcess> host;
  static inline std::unique_ptr<lattice::Connection> nc;
  static inline std::string dir, host_id, actor;
  static inline int port = 0, metrics_port = 0;

  static void SetUpTestSuite() {
    dir = testing::make_temp_dir("wc-builtin-inline-it");
    nats = std::make_unique<testing::NatsServer>();
    const Bytes code = test_guest();
    ASSERT_FALSE(code.empty());
    wascap::SignOptions so;
    so.name = "inline test guest";
    so.caps = {"wasmcloud:httpserver"};
    auto module_key = wascap::KeyPair::generate(wascap::KeyType::kModule);
    auto signed_mod = wascap::sign_module(
        code, wascap::KeyPair::generate(wascap::KeyType::kAccount), module_key, so);
    ASSERT_TRUE(signed_mod) << signed_mod.error().message;
    ASSERT_TRUE(write_file(dir + "/guest.wasm", signed_mod->module));
    actor = module_key.public_key();

    auto key = wascap::KeyPair::generate(wascap::KeyType::kServer);
    host_id = key.public_key();
    metrics_port = testing::free_port();
    host = std::make_unique<testing::ChildProcess>(
        std::vector<std::string>{std::string(WC_BINARY_DIR) + "/src/cli/wasmcloud", "host",
                                 "--nats-port", std::to_string(nats->port()), "--allow-file-load",
                                 "--native-cache-dir", dir + "/native", "--metrics-port",
                                 std::to_string(metrics_port), "--max-execution-time-ms", "500",
                                 "--log-level", "debug", "--oci-cache-dir", dir + "/oci",
                                 "--builtin-http-inline"},
        dir + "/host.log",
        std::vector<std::string>{"WASMCLOUD_HOST_SEED=" + key.seed(), "TMPDIR=" + dir});
    lattice::ConnectOptions o;
    o.servers = {nats->url()};
    auto c = lattice::Connection::connect(o);
    ASSERT_TRUE(c) << c.error().message;
    nc = std::move(*c);
    ASSERT_TRUE(testing::wait_host_answers(*nc, host_id))
        << "the host did not answer; log in " << dir;
    ASSERT_EQ(
        testing::host_cmd(
            *nc, host_id, "la",
            json{{"actor_ref", "file://" + dir + "/guest.wasm"}, {"count", 4}}.dump())["accepted"],
        true);
    ASSERT_EQ(
        testing::host_cmd(*nc, host_id, "lp",
                          json{{"provider_ref", "builtin://httpserver"}, {"link_name", "default"}}
                              .dump())["accepted"],
        true);
    port = testing::free_port();
    ASSERT_EQ(
        testing::ctl_request(*nc, "wasmbus.ctl.default.linkdefs.put",
                             json{{"actor_id", actor},
                                  {"provider_id", host::builtin_http_server_key()},
                                  {"contract_id", "wasmcloud:httpserver"},
                                  {"link_name", "default"},
                                  {"values", {{"address", "127.0.0.1:" + std::to_string(port)}}}}
                                 .dump())["accepted"],
        true);
    // The guest on its native tier (wasm2c + cc in the background, then every call).
    httplib::Client metrics("127.0.0.1", metrics_port);
    bool native = false;
    for (auto until = Clock::now() + 120s; !native && Clock::now() < until;) {
      auto r = metrics.Get("/metrics");
      native = r && r->body.find("wasmcloud_native_compile_seconds_count{outcome=\"ok\"} 1") !=
                        std::string::npos;
      if (!native) std::this_thread::sleep_for(100ms);
    }
    ASSERT_TRUE(native) << "no native code for the test guest; log in " << dir;
    for (auto until = Clock::now() + 20s; get("/ready") != 200 && Clock::now() < until;)
      std::this_thread::sleep_for(100ms);
    ASSERT_EQ(get("/ready"), 200) << "the listener never answered; log in " << dir;
  }

  static void TearDownTestSuite() {
    if (host) host->stop(15);
    host.reset();
    nc.reset();
    nats.reset();
    testing::remove_temp_dir(dir);
  }

  /// GET on a fresh connection: the status, 0 when there is no answer.
  static int get(const std::string& path) {
    httplib::Client cli("127.0.0.1", port);
    cli.set_connection_timeout(2);
    cli.set_read_timeout(10);
    auto r = cli.Get(path);
    return r ? r->status : 0;
  }
  /// Fast requests until the guest is known fast (16 in a row; a few more for preemptions).
  static void warm_up() {
    for (int i = 0; i < 64; ++i) ASSERT_EQ(get("/ok"), 200);
  }
};

TEST_F(BuiltinHttpInline, GuestFaultsOnTheEventLoopAre500AndTheHostServesOn) {
  warm_up();
  EXPECT_EQ(get("/TRAP"), 500);
  EXPECT_EQ(get("/ok"), 200);
  EXPECT_EQ(get("/DEEP"), 500);  // unbounded recursion: "call stack exhausted"
  for (int i = 0; i < 20; ++i) ASSERT_EQ(get("/ok"), 200);
  EXPECT_TRUE(testing::wait_host_answers(*nc, host_id, 5s));
}

TEST_F(BuiltinHttpInline, ASpinningGuestStopsAtItsBudgetThenRunsOnThePoolWhileOthersAreServed) {
  warm_up();
  // Inline (known fast): bounded by the execution budget (500 ms), answered 503.
  auto t0 = Clock::now();
  EXPECT_EQ(get("/SPIN"), 503);
  const auto first = Clock::now() - t0;
  EXPECT_GE(first, 400ms);
  EXPECT_LT(first, 3s);
  // Observed slow: the next spin runs on the RPC pool. Meanwhile requests on 8 other
  // connections, which the kernel spreads over both event loops, are answered promptly; on the
  // loop running the spin they would wait for its 500 ms.
  auto spin = std::async(std::launch::async, [] { return get("/SPIN"); });
  std::this_thread::sleep_for(50ms);
  std::vector<std::future<std::chrono::milliseconds>> others;
  for (int i = 0; i < 8; ++i) {
    others.push_back(std::async(std::launch::async, [] {
      const auto t = Clock::now();
      const int status = get("/ok");
      EXPECT_EQ(status, 200);
      return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t);
    }));
  }
  for (auto& o : others) EXPECT_LT(o.get(), 300ms);
  EXPECT_EQ(spin.get(), 503);
  EXPECT_EQ(get("/ok"), 200);
  EXPECT_TRUE(testing::wait_host_answers(*nc, host_id, 5s));
}

}  // namespace
}  // namespace wc

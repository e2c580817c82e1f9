// Host invocation benchmark: an in-process wc::host::Host on a real nats-server serving the echo
// actor (file://, started by a control `scale` request), measured against a floor taken in the
// same run.
//
//   (a) round trip p50/p99 of a signed HttpServer.HandleRequest (actor-rpc-providers.md 10.2
//       vector A.1) vs. FLOOR = raw NATS request/reply of the same size against a trivial
//       responder + one Ed25519 sign + one verify (libsodium); ratio goal <= 1.3x.
//   (b) invocations/s at actor count 1, 2, 4 (closed loop, K client threads = count).
//   (c) cold start: scale request -> first successful reply.
//
// WC_BENCH_SMOKE=1 makes every phase tiny (CI). The host uses its native tier (default cache
// directory; the first run ever measures the interpreter while echo compiles in the background);
// WC_BENCH_NO_NATIVE=1 pins the interpreter. Google Benchmark flags are accepted and ignored.
#include <sodium.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/encoding.h"
#include "host/host.h"
#include "lattice/nats.h"
#include "rpc/antiforgery.h"
#include "rpc/invocation.h"
#include "support/servers.h"
#include "wascap/nkeys.h"

namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr const char* kEcho = "MBCFOPM6JW2APJLXJD3Z5O4CN7CPYJ2B4FTKLJUR5YR5MITIU7HD3WD5";
constexpr const char* kHttpServer = "VAG3QITQQ2ODAOWB5TTQSDJ53XK3SHBEIFNK4AYJ5RKAX2UNSCAPHA5M";

// actor-rpc-providers.md 10.2 A.1: HttpRequest GET /foo/bar?x=1, body "hello" (msgpack).
const wc::Bytes kRequest = {
    0x85, 0xa6, 0x6d, 0x65, 0x74, 0x68, 0x6f, 0x64, 0xa3, 0x47, 0x45, 0x54, 0xa4, 0x70, 0x61,
    0x74, 0x68, 0xa8, 0x2f, 0x66, 0x6f, 0x6f, 0x2f, 0x62, 0x61, 0x72, 0xab, 0x71, 0x75, 0x65,
    0x72, 0x79, 0x53, 0x74, 0x72, 0x69, 0x6e, 0x67, 0xa3, 0x78, 0x3d, 0x31, 0xa6, 0x68, 0x65,
    0x61, 0x64, 0x65, 0x72, 0x81, 0xa6, 0x61, 0x63, 0x63, 0x65, 0x70, 0x74, 0x91, 0xa3, 0x2a,
    0x2f, 0x2a, 0xa4, 0x62, 0x6f, 0x64, 0x79, 0xc4, 0x05, 0x68, 0x65, 0x6c, 0x6c, 0x6f};

/// Phase sizes: full run or WC_BENCH_SMOKE.
struct Sizes {
  int calls = 2000;       ///< round trips per latency sample set
  double window_s = 3.0;  ///< throughput window per count
};

double us_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

/// The bench state: servers, host, client connection, cluster key.
class Bench {
 public:
  bool setup() {
    if (sodium_init() < 0) return false;
    nats_ = std::make_unique<wc::testing::NatsServer>();
    cluster_.emplace(wc::wascap::KeyPair::generate(wc::wascap::KeyType::kCluster));
    wc::host::HostConfig cfg;
    cfg.cluster_seed = cluster_->seed();
    cfg.allow_file_load = true;
    cfg.log_level = "warn";
    cfg.native_tier = std::getenv("WC_BENCH_NO_NATIVE") == nullptr;
    for (auto* ep : {&cfg.rpc, &cfg.ctl, &cfg.prov_rpc}) ep->port = nats_->port();
    auto h = wc::host::Host::start(cfg);
    if (!h) {
      std::fprintf(stderr, "host start failed: %s\n", h.error().message.c_str());
      return false;
    }
    host_ = std::move(*h);
    wc::lattice::ConnectOptions o;
    o.servers = {nats_->url()};
    auto c = wc::lattice::Connection::connect(o);
    if (!c) return false;
    nc_ = std::move(*c);
    auto body = invocation_body();
    if (body.empty()) return false;
    body_ = std::move(body);
    return true;
  }

  void teardown() {
    if (host_) host_->stop();
    host_.reset();
    nc_.reset();
    nats_.reset();
  }

  /// Sends a control `scale` for echo to `count`; returns the ack's `accepted`.
  bool scale(int count) {
    std::string ref = std::string("file://") + WC_FIXTURES_DIR + "/echo.wasm";
    json b{{"actor_id", kEcho}, {"actor_ref", ref}, {"count", count}};
    auto r = nc_->request("wasmbus.ctl.default.cmd." + host_->host_id() + ".scale", b.dump(), 5s);
    if (!r) return false;
    auto j = json::parse(r->text(), nullptr, false);
    return !j.is_discarded() && j.value("accepted", false);
  }

  /// Instances of echo in the inventory.
  size_t instances() {
    for (const auto& a : host_->actors())
      if (a.public_key == kEcho) return a.instances.size();
    return 0;
  }

  bool wait_instances(size_t n, std::chrono::milliseconds timeout) {
    auto until = Clock::now() + timeout;
    while (Clock::now() < until) {
      if (instances() == n) return true;
      std::this_thread::sleep_for(5ms);
    }
    return false;
  }

  /// A fresh signed invocation (encoded) from the httpserver provider entity.
  wc::Bytes invocation_body() {
    auto inv = wc::rpc::make_invocation(
        *cluster_, wc::rpc::provider_entity(kHttpServer, "wasmcloud:httpserver", "default"),
        wc::rpc::actor_entity(kEcho), "HttpServer.HandleRequest", kRequest, host_->host_id());
    if (!inv) return {};
    return wc::rpc::encode_invocation(*inv);
  }

  /// One echo round trip on `c` with a freshly signed invocation (the host refuses a replayed
  /// one, #11.6, and real clients sign each call); true when the reply decodes without error.
  /// The signing is inside the timed round trip, as the floor's sign + verify is.
  bool invoke(wc::lattice::Connection& c, std::chrono::milliseconds timeout = 5s) {
    const wc::Bytes body = invocation_body();
    if (body.empty()) return false;
    auto r = c.request(std::string("wasmbus.rpc.default.") + kEcho, body, timeout);
    if (!r) return false;
    auto resp = wc::rpc::decode_response(r->data());
    return resp && !resp->failed() && !resp->msg.empty();
  }

  std::unique_ptr<wc::lattice::Connection> connect() {
    wc::lattice::ConnectOptions o;
    o.servers = {nats_->url()};
    auto c = wc::lattice::Connection::connect(o);
    return c ? std::move(*c) : nullptr;
  }

  wc::lattice::Connection& nc() { return *nc_; }
  const wc::Bytes& body() const { return body_; }

 private:
  std::unique_ptr<wc::testing::NatsServer> nats_;
  std::optional<wc::wascap::KeyPair> cluster_;
  std::unique_ptr<wc::host::Host> host_;
  std::unique_ptr<wc::lattice::Connection> nc_;
  wc::Bytes body_;
};

/// Closed-loop throughput with `threads` clients for `window_s`; returns calls/s (-1 on error).
double throughput(Bench& b, int threads, double window_s) {
  std::vector<std::unique_ptr<wc::lattice::Connection>> conns;
  for (int i = 0; i < threads; ++i) {
    conns.push_back(b.connect());
    if (!conns.back()) return -1;
  }
  std::atomic<bool> stop{false};
  std::atomic<long> ok{0}, bad{0};
  std::vector<std::thread> ts;
  auto t0 = Clock::now();
  for (int i = 0; i < threads; ++i)
    ts.emplace_back([&, i] {
      while (!stop.load(std::memory_order_relaxed)) (b.invoke(*conns[i]) ? ok : bad)++;
    });
  std::this_thread::sleep_for(std::chrono::duration<double>(window_s));
  stop = true;
  for (auto& t : ts) t.join();
  double secs = us_since(t0) / 1e6;
  if (bad > 0) std::fprintf(stderr, "  %ld failed calls at count %d\n", bad.load(), threads);
  return static_cast<double>(ok.load()) / secs;
}

}  // namespace

int main() {
  Sizes sz;
  if (const char* s = std::getenv("WC_BENCH_SMOKE"); s && *s && std::string(s) != "0") {
    sz.calls = 50;
    sz.window_s = 0.3;
  }
  Bench b;
  if (!b.setup()) {
    std::fprintf(stderr, "setup failed\n");
    return 1;
  }
  int rc = 0;
  auto& nc = b.nc();

  // (c) cold start: scale request -> first successful reply.
  auto t0 = Clock::now();
  if (!b.scale(1)) {
    std::fprintf(stderr, "scale 1 not accepted\n");
    b.teardown();
    return 1;
  }
  double ack_us = us_since(t0);
  bool up = false;
  while (!up && Clock::now() - t0 < 30s) {
    up = b.invoke(nc, 200ms);
    if (!up) std::this_thread::sleep_for(1ms);
  }
  double cold_us = us_since(t0);
  if (!up) {
    std::fprintf(stderr, "echo never answered\n");
    b.teardown();
    return 1;
  }

  // (a) floor: trivial responder of the same reply size + sign + verify per call.
  auto warm = std::max(10, sz.calls / 10);
  std::vector<double> inv_lat, floor_lat;
  for (int i = 0; i < warm; ++i) b.invoke(nc);
  for (int i = 0; i < sz.calls; ++i) {
    auto s = Clock::now();
    if (!b.invoke(nc)) rc = 1;
    inv_lat.push_back(us_since(s));
  }
  std::string payload(b.body().size(), 'x');
  auto sub = nc.subscribe(
      "bench.floor", [&nc, &payload](wc::lattice::Message m) { (void)nc.respond(m, payload); });
  if (!sub) {
    std::fprintf(stderr, "floor subscribe failed\n");
    b.teardown();
    return 1;
  }
  (void)nc.flush();
  auto floor_conn = b.connect();
  unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
  crypto_sign_keypair(pk, sk);
  unsigned char sig[crypto_sign_BYTES];
  auto floor_call = [&]() {
    crypto_sign_detached(sig, nullptr, b.body().data(), b.body().size(), sk);
    auto r = floor_conn->request("bench.floor", b.body(), 5s);
    bool ok = r && crypto_sign_verify_detached(sig, b.body().data(), b.body().size(), pk) == 0;
    return ok;
  };
  for (int i = 0; i < warm; ++i) floor_call();
  for (int i = 0; i < sz.calls; ++i) {
    auto s = Clock::now();
    if (!floor_call()) rc = 1;
    floor_lat.push_back(us_since(s));
  }
  sub->unsubscribe();

  // (b) throughput at count 1, 2, 4.
  std::vector<std::pair<int, double>> tput;
  for (int count : {1, 2, 4}) {
    if (!b.scale(count) || !b.wait_instances(static_cast<size_t>(count), 20s)) {
      std::fprintf(stderr, "scale to %d failed\n", count);
      rc = 1;
      continue;
    }
    tput.emplace_back(count, throughput(b, count, sz.window_s));
  }

  double ip50 = percentile(inv_lat, 0.5), ip99 = percentile(inv_lat, 0.99);
  double fp50 = percentile(floor_lat, 0.5), fp99 = percentile(floor_lat, 0.99);
  std::printf("host_invocation_bench (echo HttpServer.HandleRequest, request %zu B, %d calls)\n",
              b.body().size(), sz.calls);
  std::printf("%-44s %12s %12s\n", "round trip", "p50 (us)", "p99 (us)");
  std::printf("%-44s %12.1f %12.1f\n", "host invocation (signed, via NATS)", ip50, ip99);
  std::printf("%-44s %12.1f %12.1f\n", "FLOOR raw NATS req/rep + Ed25519 sign+verify", fp50, fp99);
  std::printf("%-44s %11.2fx %11.2fx   (goal <= 1.30x)\n", "ratio host / floor",
              fp50 > 0 ? ip50 / fp50 : 0, fp99 > 0 ? ip99 / fp99 : 0);
  std::printf("\n%-44s %12s\n", "throughput (closed loop, K clients = count)", "calls/s");
  for (auto [count, r] : tput) {
    char label[64];
    std::snprintf(label, sizeof label, "count %d, %d client thread(s), %.1f s", count, count,
                  sz.window_s);
    std::printf("%-44s %12.0f\n", label, r);
    if (r <= 0) rc = 1;
  }
  std::printf("\n%-44s %12.1f\n", "cold start: scale ack (ms)", ack_us / 1000);
  std::printf("%-44s %12.1f\n", "cold start: scale -> first reply (ms)", cold_us / 1000);
  std::fflush(stdout);
  b.teardown();
  // Let libnats finish its callback threads before static destructors run.
  nats_CloseAndWait(2000);
  return rc;
}

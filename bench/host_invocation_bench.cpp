// Host invocation benchmark: an in-process wc::host::Host on a real nats-server serving the echo
// actor, pulled from a real local registry (Debian's docker-registry, tests/support/servers.h)
// on a control `scale` request, measured against floors taken in the same run.
//
//   (a) round trip p50/p99 of a signed HttpServer.HandleRequest (actor-rpc-providers.md 10.2
//       vector A.1) vs. FLOOR = raw NATS request/reply of the same sizes (the request's bytes,
//       a reply as long as the host's) against a trivial responder replying from its delivery
//       thread + one Ed25519 sign + one verify (libsodium); ratio goal <= 1.3x. Host and floor
//       calls alternate in 10 blocks so that other load on the machine falls on both alike.
//   (b) invocations/s at actor count 1, 2, 4 (closed loop, K client threads = count).
//   (c) cold start: scale 0 -> 1 request -> first successful reply, each time in a new host, in
//       two cases (issue #14.3):
//         empty caches: a fresh OCI cache and a fresh native-code cache (the first reply comes
//           from the interpreter while echo compiles in the background); goal <= 50 ms.
//         warm caches: the OCI cache holds echo (the registry is still asked for the tag's
//           digest) and the native-code cache holds its shared object; goal <= 20 ms.
//       FLOOR of each = the same OCI pull done by the bench itself (a fresh cache dir for the
//       first case, the host's warm one for the second) + one warm invocation round trip (a).
//   (d) same-host actor -> actor call (issue #14.5): the project's example actors pinger and
//       ponger (build/examples, built with the tests) run in the host; each signed request to
//       pinger makes it call ponger, which the host runs in-process. The figure is the call as
//       the host times it in its invocation event (`duration_ms` of pinger -> ponger: the
//       authorization, a fresh ponger instance and its guest code), p50; goal <= 10 us.
//       BASELINE = the same ponger call through wasm::Module::invoke in this process (a fresh
//       instance on native code, no host). Skipped with a note when the examples are not built.
//
// WC_BENCH_SMOKE=1 makes every phase tiny (CI). WC_BENCH_ONLY=roundtrip runs (a) alone and
// prints its lines, with a diagnostic series: the floor with one thread hand-off (its responder
// posts each request to a worker thread that replies, as the host's RPC pool does);
// WC_BENCH_CALLS=N sets its number of calls and WC_BENCH_SERIES=h|f|o which series run (host,
// floor, floor with a hand-off; for profiling one path). The host uses its native tier; the warm
// case and (a)/(b) use the default native cache directory, filled first by an Engine in this
// process (the first run ever compiles echo once, ~10 s). WC_BENCH_NO_NATIVE=1 pins the
// interpreter.
// Google Benchmark flags are accepted and ignored.
#include <sodium.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "common/encoding.h"
#include "host/executor.h"
#include "host/host.h"
#include "lattice/nats.h"
#include "oci/client.h"
#include "rpc/antiforgery.h"
#include "rpc/invocation.h"
#include "support/servers.h"
#include "wascap/claims.h"
#include "wascap/nkeys.h"
#include "wasm/engine.h"

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
  int cold_starts = 9;    ///< cold starts per case (median reported)
};

double us_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto i = static_cast<size_t>(std::lround(p * static_cast<double>(v.size() - 1)));
  return v[std::min(i, v.size() - 1)];
}

/// The bench state: servers (NATS, registry holding echo), the host under test, client
/// connection, cluster key.
class Bench {
 public:
  /// Starts nats-server and docker-registry and pushes echo to the registry.
  bool setup() {
    if (sodium_init() < 0) return false;
    nats_ = std::make_unique<wc::testing::NatsServer>();
    registry_ = std::make_unique<wc::testing::RegistryServer>();
    if (!wc::testing::wait_port(registry_->port())) {
      std::fprintf(stderr, "docker-registry did not start\n");
      return false;
    }
    cluster_.emplace(wc::wascap::KeyPair::generate(wc::wascap::KeyType::kCluster));
    auto echo = wc::read_file(std::string(WC_FIXTURES_DIR) + "/echo.wasm");
    if (!echo) return false;
    echo_ = std::move(*echo);
    echo_ref_ = registry_->host() + "/echo:0.3.4";
    wc::oci::PushOptions po;
    po.allowed_insecure = {registry_->host()};
    if (auto pushed = wc::oci::Client().push(echo_ref_, echo_, po); !pushed) {
      std::fprintf(stderr, "push to the registry failed: %s\n", pushed.error().message.c_str());
      return false;
    }
    wc::lattice::ConnectOptions o;
    o.servers = {nats_->url()};
    auto c = wc::lattice::Connection::connect(o);
    if (!c) return false;
    nc_ = std::move(*c);
    return true;
  }

  /// Starts a new host with these caches (empty native_cache_dir = the engine's default).
  bool start_host(const std::string& oci_cache_dir, const std::string& native_cache_dir) {
    wc::host::HostConfig cfg;
    cfg.cluster_seed = cluster_->seed();
    cfg.log_level = "warn";
    cfg.native_tier = native();
    cfg.native_cache_dir = native_cache_dir;
    cfg.oci_cache_dir = oci_cache_dir;
    cfg.allowed_insecure = {registry_->host()};
    cfg.allow_file_load = true;  // (d) starts the example actors from build/examples
    for (auto* ep : {&cfg.rpc, &cfg.ctl, &cfg.prov_rpc}) ep->port = nats_->port();
    auto h = wc::host::Host::start(cfg);
    if (!h) {
      std::fprintf(stderr, "host start failed: %s\n", h.error().message.c_str());
      return false;
    }
    host_ = std::move(*h);
    return true;
  }

  void stop_host() {
    if (host_) host_->stop();
    host_.reset();
  }

  void teardown() {
    stop_host();
    nc_.reset();
    registry_.reset();
    nats_.reset();
  }

  static bool native() { return std::getenv("WC_BENCH_NO_NATIVE") == nullptr; }

  /// Compiles echo into the default native cache unless it is there already (a load from the
  /// cache then); true when echo has native code there afterwards.
  bool warm_native_cache() {
    auto engine = wc::wasm::Engine::create({});
    if (!engine) return false;
    auto module = (*engine)->load(echo_);
    return module && (*module)->wait_native(std::chrono::minutes(10));
  }

  /// The bench's own pull of echo (the cold start's floor); milliseconds, -1 on error.
  double pull_ms(const std::string& cache_dir) {
    wc::oci::PullOptions o;
    o.allowed_insecure = {registry_->host()};
    o.cache_dir = cache_dir;
    const auto t0 = Clock::now();
    auto r = wc::oci::Client().pull(echo_ref_, o);
    const double ms = us_since(t0) / 1000;
    if (!r || r->bytes != echo_) return -1;
    return ms;
  }

  /// Sends a control `scale` for echo to `count`; returns the ack's `accepted`.
  bool scale(int count) {
    json b{{"actor_id", kEcho}, {"actor_ref", echo_ref_}, {"count", count}};
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

  /// Sends a control `scale` of `key` from `ref` to `count`; true when accepted and running.
  bool scale_actor(const std::string& key, const std::string& ref, int count) {
    json b{{"actor_id", key}, {"actor_ref", ref}, {"count", count}};
    auto r = nc_->request("wasmbus.ctl.default.cmd." + host_->host_id() + ".scale", b.dump(), 5s);
    if (!r) return false;
    auto until = Clock::now() + 20s;
    while (Clock::now() < until) {
      for (const auto& a : host_->actors())
        if (a.public_key == key && a.instances.size() == static_cast<size_t>(count)) return true;
      std::this_thread::sleep_for(5ms);
    }
    return false;
  }

  /// A fresh signed invocation (encoded) from the httpserver provider entity to `target`.
  wc::Bytes invocation_body(const std::string& target = kEcho) {
    auto inv = wc::rpc::make_invocation(
        *cluster_, wc::rpc::provider_entity(kHttpServer, "wasmcloud:httpserver", "default"),
        wc::rpc::actor_entity(target), "HttpServer.HandleRequest", kRequest, host_->host_id());
    if (!inv) return {};
    return wc::rpc::encode_invocation(*inv);
  }

  /// One echo round trip on `c` with a freshly signed invocation (the host refuses a replayed
  /// one, #11.6, and real clients sign each call); true when the reply decodes without error.
  /// The signing is inside the timed round trip, as the floor's sign + verify is.
  bool invoke(wc::lattice::Connection& c, std::chrono::milliseconds timeout = 5s,
              const std::string& target = kEcho) {
    const wc::Bytes body = invocation_body(target);
    if (body.empty()) return false;
    auto r = c.request("wasmbus.rpc.default." + target, body, timeout);
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

 private:
  std::unique_ptr<wc::testing::NatsServer> nats_;
  std::unique_ptr<wc::testing::RegistryServer> registry_;
  std::optional<wc::wascap::KeyPair> cluster_;
  std::unique_ptr<wc::host::Host> host_;
  std::unique_ptr<wc::lattice::Connection> nc_;
  wc::Bytes echo_;
  std::string echo_ref_;
};

/// One cold start: scale 0 -> 1 and the first successful reply, in milliseconds.
struct ColdStart {
  double ack_ms = -1;    ///< until the scale request's ack
  double reply_ms = -1;  ///< until the first successful reply; -1 = never
};

ColdStart cold_start(Bench& b) {
  ColdStart out;
  const auto t0 = Clock::now();
  if (!b.scale(1)) {
    std::fprintf(stderr, "scale 1 not accepted\n");
    return out;
  }
  out.ack_ms = us_since(t0) / 1000;
  while (Clock::now() - t0 < 30s) {
    if (b.invoke(b.nc(), 200ms)) {
      out.reply_ms = us_since(t0) / 1000;
      break;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  if (out.reply_ms < 0) std::fprintf(stderr, "echo never answered\n");
  return out;
}

/// Cold starts in new hosts: `empty` = fresh OCI and native caches each time, else the warm
/// `oci_dir` and the default native cache. Also measures the bench's own pull in the same
/// cache state each time (`pulls`, ms). Leaves no host running.
std::vector<ColdStart> cold_starts(Bench& b, bool empty, const std::string& oci_dir, int n,
                                   std::vector<double>& pulls) {
  std::vector<ColdStart> out;
  for (int i = 0; i < n; ++i) {
    std::string dir = oci_dir, native_dir;
    if (empty) {
      dir = wc::testing::make_temp_dir("wc-bench-oci");
      native_dir = wc::testing::make_temp_dir("wc-bench-native");
    }
    if (!b.start_host(dir, native_dir)) return {};
    out.push_back(cold_start(b));
    b.stop_host();
    const std::string floor_dir = empty ? wc::testing::make_temp_dir("wc-bench-ocifloor") : dir;
    pulls.push_back(b.pull_ms(floor_dir));
    if (empty) {
      wc::testing::remove_temp_dir(floor_dir);
      wc::testing::remove_temp_dir(native_dir);
      if (dir != oci_dir) wc::testing::remove_temp_dir(dir);
    }
    if (out.back().reply_ms < 0) break;
  }
  return out;
}

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
  ts.reserve(static_cast<size_t>(threads));
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

double median(std::vector<double> v) { return percentile(std::move(v), 0.5); }

}  // namespace

int main() {
  Sizes sz;
  if (const char* s = std::getenv("WC_BENCH_SMOKE"); s && *s && std::string(s) != "0") {
    sz.calls = 50;
    sz.window_s = 0.3;
    sz.cold_starts = 1;
  }
  if (const char* s = std::getenv("WC_BENCH_CALLS"); s && std::atoi(s) > 0) sz.calls = std::atoi(s);
  // WC_BENCH_ONLY=roundtrip: only (a), one summary line (profiling, before/after runs).
  const char* only = std::getenv("WC_BENCH_ONLY");
  const bool round_trip_only = only && std::string(only) == "roundtrip";
  // WC_BENCH_SERIES (round-trip-only runs, for profiling one path): which series run, any of
  // h (host), f (floor), o (floor with one hand-off); default all.
  const char* series_env = std::getenv("WC_BENCH_SERIES");
  const std::string series = round_trip_only && series_env ? series_env : "hfo";
  spdlog::set_level(spdlog::level::warn);  // the in-process hosts' info lines stay out
  Bench b;
  if (!b.setup()) {
    std::fprintf(stderr, "setup failed\n");
    b.teardown();
    return 1;
  }
  int rc = 0;
  auto& nc = b.nc();
  if (Bench::native() && !b.warm_native_cache()) {
    std::fprintf(stderr, "echo did not compile to native code\n");
    rc = 1;
  }

  // (c) cold starts, empty caches, then warm ones (OCI cache filled by one pull first).
  const std::string warm_oci = wc::testing::make_temp_dir("wc-bench-oci");
  std::vector<double> pulls_empty, pulls_warm;
  std::vector<ColdStart> cold_empty, cold_warm;
  if (!round_trip_only) cold_empty = cold_starts(b, true, warm_oci, sz.cold_starts, pulls_empty);
  if (b.pull_ms(warm_oci) < 0) rc = 1;
  if (!round_trip_only) cold_warm = cold_starts(b, false, warm_oci, sz.cold_starts, pulls_warm);
  auto reply_ms = [](const std::vector<ColdStart>& v, std::vector<double>* ack = nullptr) {
    std::vector<double> r;
    for (const auto& c : v) {
      r.push_back(c.reply_ms);
      if (ack) ack->push_back(c.ack_ms);
    }
    return r;
  };
  std::vector<double> acks;
  const auto empty_ms = reply_ms(cold_empty, &acks), warm_ms = reply_ms(cold_warm, &acks);
  if (round_trip_only) {
    // (c) skipped
  } else if (empty_ms.empty() || warm_ms.empty() ||
             *std::min_element(empty_ms.begin(), empty_ms.end()) < 0 ||
             *std::min_element(warm_ms.begin(), warm_ms.end()) < 0 ||
             *std::min_element(pulls_empty.begin(), pulls_empty.end()) < 0 ||
             *std::min_element(pulls_warm.begin(), pulls_warm.end()) < 0) {
    std::fprintf(stderr, "cold start failed\n");
    wc::testing::remove_temp_dir(warm_oci);
    b.teardown();
    return 1;
  }

  // (a) and (b) in a host on the warm caches, echo running on its native code at once.
  if (!b.start_host(warm_oci, {}) || !b.scale(1) || !b.wait_instances(1, 20s)) {
    std::fprintf(stderr, "host with warm caches did not start echo\n");
    wc::testing::remove_temp_dir(warm_oci);
    b.teardown();
    return 1;
  }
  const wc::Bytes body = b.invocation_body();

  // (a) floor: trivial responder of the same reply size + sign + verify per call. The host's
  // calls and the floor's alternate in blocks, so load from other work on the machine falls on
  // both alike.
  auto warm = std::max(10, sz.calls / 10);
  std::vector<double> inv_lat, floor_lat;
  for (int i = 0; i < warm; ++i) b.invoke(nc);
  // The floor replies with as many bytes as the host's reply to the same request.
  std::size_t reply_size = body.size();
  if (auto r = nc.request("wasmbus.rpc.default." + std::string(kEcho), b.invocation_body(), 5s))
    reply_size = r->data().size();
  std::string payload(reply_size, 'x');
  auto sub = nc.subscribe(
      "bench.floor", [&nc, &payload](wc::lattice::Message m) { (void)nc.respond(m, payload); });
  if (!sub) {
    std::fprintf(stderr, "floor subscribe failed\n");
    wc::testing::remove_temp_dir(warm_oci);
    b.teardown();
    return 1;
  }
  (void)nc.flush();
  auto floor_conn = b.connect();
  unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
  crypto_sign_keypair(pk, sk);
  unsigned char sig[crypto_sign_BYTES];
  auto floor_call = [&]() {
    crypto_sign_detached(sig, nullptr, body.data(), body.size(), sk);
    auto r = floor_conn->request("bench.floor", body, 5s);
    bool ok = r && crypto_sign_verify_detached(sig, body.data(), body.size(), pk) == 0;
    return ok;
  };
  for (int i = 0; i < warm; ++i) floor_call();
  // Diagnostic of the round-trip-only run: the floor with one thread hand-off (the delivery
  // thread posts to a worker that replies), what an RPC pool adds to a call.
  wc::host::Executor worker(1, "bench");
  std::optional<wc::lattice::Subscription> hsub;
  std::vector<double> hand_lat;
  auto hand_call = [&]() {
    crypto_sign_detached(sig, nullptr, body.data(), body.size(), sk);
    auto r = floor_conn->request("bench.floor.handoff", body, 5s);
    return r && crypto_sign_verify_detached(sig, body.data(), body.size(), pk) == 0;
  };
  if (round_trip_only) {
    auto hs = nc.subscribe("bench.floor.handoff", [&](wc::lattice::Message m) {
      auto msg = std::make_shared<wc::lattice::Message>(std::move(m));
      worker.post([&nc, &payload, msg] { (void)nc.respond(*msg, payload); });
    });
    if (hs) hsub = std::move(*hs);
    (void)nc.flush();
    for (int i = 0; i < warm; ++i) hand_call();
  }
  const int blocks = std::min(10, sz.calls);
  for (int blk = 0; blk < blocks; ++blk) {
    const int n = sz.calls / blocks + (blk < sz.calls % blocks ? 1 : 0);
    for (int i = 0; series.find('h') != std::string::npos && i < n; ++i) {
      auto s = Clock::now();
      if (!b.invoke(nc)) rc = 1;
      inv_lat.push_back(us_since(s));
    }
    for (int i = 0; series.find('f') != std::string::npos && i < n; ++i) {
      auto s = Clock::now();
      if (!floor_call()) rc = 1;
      floor_lat.push_back(us_since(s));
    }
    for (int i = 0; hsub && series.find('o') != std::string::npos && i < n; ++i) {
      auto s = Clock::now();
      if (!hand_call()) rc = 1;
      hand_lat.push_back(us_since(s));
    }
  }
  sub->unsubscribe();
  if (hsub) hsub->unsubscribe();
  worker.shutdown();
  if (round_trip_only) {
    const double ip50 = percentile(inv_lat, 0.5), fp50 = percentile(floor_lat, 0.5);
    std::printf(
        "round trip p50 host %.1f us, floor %.1f us, ratio %.2fx; p99 host %.1f, floor "
        "%.1f us (request %zu B, reply %zu B, %d calls each)\n",
        ip50, fp50, fp50 > 0 ? ip50 / fp50 : 0, percentile(inv_lat, 0.99),
        percentile(floor_lat, 0.99), body.size(), reply_size, sz.calls);
    std::printf("diagnostic: the floor with one thread hand-off p50 %.1f us (%.2fx the floor)\n",
                percentile(hand_lat, 0.5), fp50 > 0 ? percentile(hand_lat, 0.5) / fp50 : 0);
    std::fflush(stdout);
    b.teardown();
    wc::testing::remove_temp_dir(warm_oci);
    nats_CloseAndWait(2000);
    return rc;
  }

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

  // (d) same-host actor -> actor: pinger calls ponger in-process; the host's invocation events
  // time each call.
  const std::string ex = std::string(WC_BINARY_DIR) + "/examples/";
  auto ping_bytes = wc::read_file(ex + "pinger_s.wasm");
  auto pong_bytes = wc::read_file(ex + "ponger_s.wasm");
  std::vector<double> local_us, pong_us;
  bool local_ran = false;
  if (ping_bytes && pong_bytes) {
    auto ping = wc::wascap::extract_claims(*ping_bytes, wc::wascap::now_seconds());
    auto pong = wc::wascap::extract_claims(*pong_bytes, wc::wascap::now_seconds());
    std::mutex mu;
    auto events = nc.subscribe("wasmbus.rpcevt.default", [&](wc::lattice::Message m) {
      auto j = json::parse(m.text(), nullptr, false);
      if (j.is_discarded() || !j.contains("data")) return;
      const json& d = j["data"];
      if (d.value("/source/public_key"_json_pointer, "") == ping->claims.sub &&
          d.value("/dest/public_key"_json_pointer, "") == pong->claims.sub &&
          d.contains("duration_ms")) {
        std::lock_guard lock(mu);
        local_us.push_back(d["duration_ms"].get<double>() * 1000);
      }
    });
    // BASELINE first: the same ponger call through the engine alone (fresh instance, native
    // code). Compiling pinger and ponger here also fills the default native cache, so the host
    // below runs both on native code from their first call, as a restarted host would.
    auto engine = wc::wasm::Engine::create({});
    std::shared_ptr<wc::wasm::Module> m;
    if (engine) {
      if (auto loaded = (*engine)->load(*ping_bytes)) (void)(*loaded)->wait_native(5min);
      if (auto loaded = (*engine)->load(*pong_bytes)) m = *loaded;
    }
    if (m && m->wait_native(5min)) {
      const wc::wasm::HostCallHandler none =
          [](const wc::wasm::HostCall&) -> wc::Result<wc::Bytes> {
        return wc::fail(wc::Code::kUnsupported, "no host calls");
      };
      for (int i = 0; i < warm + sz.calls; ++i) {
        const auto t0 = Clock::now();
        auto out = m->invoke("Pingpong.Ping", {}, none);
        if (i >= warm) pong_us.push_back(us_since(t0));
        if (!out) rc = 1;
      }
    }
    if (ping && pong && events && !pong_us.empty() &&
        b.scale_actor(pong->claims.sub, "file://" + ex + "ponger_s.wasm", 1) &&
        b.scale_actor(ping->claims.sub, "file://" + ex + "pinger_s.wasm", 1)) {
      for (int i = 0; i < warm + sz.calls; ++i) {
        if (!b.invoke(nc, 5s, ping->claims.sub)) rc = 1;
      }
      (void)nc.flush();
      std::this_thread::sleep_for(200ms);  // the last events
      events->unsubscribe();
      std::lock_guard lock(mu);
      if (local_us.size() > static_cast<size_t>(warm))
        local_us.erase(local_us.begin(), local_us.begin() + warm);
      local_ran = !local_us.empty();
    }
    if (!local_ran) {
      std::fprintf(stderr, "same-host call phase failed\n");
      rc = 1;
    }
  }

  double ip50 = percentile(inv_lat, 0.5), ip99 = percentile(inv_lat, 0.99);
  double fp50 = percentile(floor_lat, 0.5), fp99 = percentile(floor_lat, 0.99);
  std::printf("host_invocation_bench (echo HttpServer.HandleRequest, request %zu B, %d calls)\n",
              body.size(), sz.calls);
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
  // Floor of a cold start: the same pull by the bench + one warm round trip.
  const double floor_empty = median(pulls_empty) + ip50 / 1000;
  const double floor_warm = median(pulls_warm) + ip50 / 1000;
  std::printf(
      "\ncold start from the registry, scale 0 -> 1 -> first reply, new host each time "
      "(median of %d; %s)\n",
      sz.cold_starts, Bench::native() ? "native tier on" : "interpreter only");
  std::printf("%-44s %12s %12s %12s\n", "", "host (ms)", "FLOOR (ms)", "ratio");
  std::printf("%-44s %12.1f %12.1f %11.2fx   (goal <= 50 ms)\n", "empty OCI + native caches",
              median(empty_ms), floor_empty, median(empty_ms) / floor_empty);
  std::printf("%-44s %12.1f %12.1f %11.2fx   (goal <= 20 ms)\n", "warm OCI + native caches",
              median(warm_ms), floor_warm, median(warm_ms) / floor_warm);
  std::printf("%-44s %12.1f\n", "scale ack, both cases (ms)", median(acks));
  if (local_ran && !pong_us.empty()) {
    const double l50 = percentile(local_us, 0.5), b50 = percentile(pong_us, 0.5);
    std::printf("\n%-52s %10s %10s\n", "same-host actor -> actor call (pinger -> ponger)",
                "p50 (us)", "p99 (us)");
    std::printf("%-52s %10.1f %10.1f   (goal p50 <= 10 us)\n",
                "in-process call as the host times it", l50, percentile(local_us, 0.99));
    std::printf("%-52s %10.1f %10.1f\n", "BASELINE ponger via Module::invoke (fresh, native)", b50,
                percentile(pong_us, 0.99));
    std::printf("%-52s %9.2fx\n", "ratio host / baseline", b50 > 0 ? l50 / b50 : 0);
  } else {
    std::printf("\nsame-host actor -> actor call: not measured (build/examples not built)\n");
  }
  std::printf(
      "  FLOOR = the bench's own pull of echo in the same cache state (%.1f / %.1f ms) + "
      "one warm round trip p50\n",
      median(pulls_empty), median(pulls_warm));
  std::fflush(stdout);
  b.teardown();
  wc::testing::remove_temp_dir(warm_oci);
  // Let libnats finish its callback threads before static destructors run.
  nats_CloseAndWait(2000);
  return rc;
}

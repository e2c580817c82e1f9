// Observability end to end against real servers: a `wasmcloud host` process with
// `--metrics-port`, nats-server, docker-registry and the real signed echo actor.
//  * /metrics scraped after a load shows exactly the invocations (ok and failed) the load made,
//    the instance count, reconnect counters and the host identity;
//  * a control request carrying a W3C `traceparent` NATS header is continued by the host: the
//    events its work publishes carry the same trace id (new span), and so do its log lines;
//  * an invocation's traceparent reaches the invocation event; a malformed one is ignored.
// The tests share one host and run in declaration order.
#include <gtest/gtest.h>
#include <httplib.h>

#include <condition_variable>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "common/encoding.h"
#include "common/trace.h"
#include "lattice/nats.h"
#include "oci/client.h"
#include "rpc/antiforgery.h"
#include "rpc/invocation.h"
#include "support/servers.h"
#include "wascap/nkeys.h"

namespace wc {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

constexpr const char* kEcho = "MBCFOPM6JW2APJLXJD3Z5O4CN7CPYJ2B4FTKLJUR5YR5MITIU7HD3WD5";
constexpr const char* kHttpServer = "VAG3QITQQ2ODAOWB5TTQSDJ53XK3SHBEIFNK4AYJ5RKAX2UNSCAPHA5M";
constexpr std::string_view kParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
constexpr std::string_view kParentTrace = "4bf92f3577b34da6a3ce929d0e0e4736";

/// Bytes from hex digits (other characters are skipped).
Bytes bytes_of_hex(std::string_view text) {
  Bytes out;
  int hi = -1;
  for (char c : text) {
    int v = std::isdigit(static_cast<unsigned char>(c)) ? c - '0'
            : (c >= 'a' && c <= 'f')                    ? c - 'a' + 10
                                                        : -1;
    if (v < 0) continue;
    if (hi < 0) {
      hi = v;
    } else {
      out.push_back(static_cast<std::uint8_t>(hi << 4 | v));
      hi = -1;
    }
  }
  return out;
}

/// Events (JSON) with the traceparent header they arrived with ("" when none).
class TracedEvents {
 public:
  void add(const lattice::Message& m) {
    auto j = json::parse(m.text(), nullptr, false);
    if (j.is_discarded()) return;
    {
      std::lock_guard lock(mu_);
      events_.emplace_back(std::move(j), m.header("traceparent").value_or(""));
    }
    cv_.notify_all();
  }
  size_t mark() {
    std::lock_guard lock(mu_);
    return events_.size();
  }
  /// First event of full type `type` at index >= from: (event, traceparent).
  std::optional<std::pair<json, std::string>> wait(size_t from, const std::string& type,
                                                   std::chrono::milliseconds timeout = 15s) {
    std::unique_lock lock(mu_);
    std::optional<std::pair<json, std::string>> found;
    cv_.wait_for(lock, timeout, [&] {
      for (size_t i = from; i < events_.size(); ++i)
        if (events_[i].first.value("type", "") == type) {
          found = events_[i];
          return true;
        }
      return false;
    });
    return found;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::pair<json, std::string>> events_;
};

/// The value of the sample line `series` (name and labels as the text format writes them), -1
/// when absent.
double sample(const std::string& text, const std::string& series) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  return -1;
}

std::string echo_series(const std::string& name, const std::string& extra = "") {
  return name + "{actor=\"" + kEcho + "\"" + extra + "}";
}

class Observability : public ::testing::Test {
 protected:
  static inline std::unique_ptr<testing::NatsServer> nats;
  static inline std::unique_ptr<testing::RegistryServer> registry;
  static inline std::unique_ptr<testing::ChildProcess> host_proc;
  static inline std::unique_ptr<lattice::Connection> nc;
  static inline std::unique_ptr<TracedEvents> events, rpc_events;
  static inline lattice::Subscription events_sub, rpc_events_sub;
  static inline std::optional<wascap::KeyPair> cluster, host_key;
  static inline std::string host_id, dir, echo_ref;
  static inline int metrics_port = 0;
  static inline Bytes request_payload;

  static void SetUpTestSuite() {
    dir = testing::make_temp_dir("wc-metrics-it");
    nats = std::make_unique<testing::NatsServer>();
    registry = std::make_unique<testing::RegistryServer>();
    auto bytes = read_file(std::string(WC_FIXTURES_DIR) + "/echo.wasm");
    ASSERT_TRUE(bytes);
    echo_ref = registry->host() + "/echo:0.3.4";
    oci::PushOptions po;
    po.allowed_insecure = {registry->host()};
    auto pushed = oci::Client().push(echo_ref, *bytes, po);
    ASSERT_TRUE(pushed) << pushed.error().message;
    cluster = wascap::KeyPair::generate(wascap::KeyType::kCluster);
    host_key = wascap::KeyPair::generate(wascap::KeyType::kServer);
    host_id = host_key->public_key();
    metrics_port = testing::free_port();
    host_proc = std::make_unique<testing::ChildProcess>(
        std::vector<std::string>{std::string(WC_BINARY_DIR) + "/src/cli/wasmcloud", "host",
                                 "--nats-port", std::to_string(nats->port()), "--allowed-insecure",
                                 registry->host(), "--no-native", "--log-level", "debug",
                                 "--structured-logging", "--oci-cache-dir", dir + "/oci",
                                 "--metrics-port", std::to_string(metrics_port)},
        dir + "/host.log",
        std::vector<std::string>{"WASMCLOUD_HOST_SEED=" + host_key->seed(),
                                 "WASMCLOUD_CLUSTER_SEED=" + cluster->seed()});
    lattice::ConnectOptions o;
    o.servers = {nats->url()};
    auto c = lattice::Connection::connect(o);
    ASSERT_TRUE(c) << c.error().message;
    nc = std::move(*c);
    events = std::make_unique<TracedEvents>();
    rpc_events = std::make_unique<TracedEvents>();
    auto sub = nc->subscribe("wasmbus.evt.default", [](lattice::Message m) { events->add(m); });
    ASSERT_TRUE(sub);
    events_sub = std::move(*sub);
    sub = nc->subscribe("wasmbus.rpcevt.default", [](lattice::Message m) { rpc_events->add(m); });
    ASSERT_TRUE(sub);
    rpc_events_sub = std::move(*sub);
    ASSERT_TRUE(nc->flush());
    auto until = std::chrono::steady_clock::now() + 20s;
    bool up = false;
    while (!up && std::chrono::steady_clock::now() < until) {
      up = nc->request("wasmbus.ctl.default.get." + host_id + ".inv", "", 500ms).has_value();
      if (!up) std::this_thread::sleep_for(100ms);
    }
    ASSERT_TRUE(up) << "host did not answer; log in " << dir;
  }

  static void TearDownTestSuite() {
    events_sub.unsubscribe();
    rpc_events_sub.unsubscribe();
    if (host_proc) host_proc->stop(15);
    host_proc.reset();
    nc.reset();
    registry.reset();
    nats.reset();
  }

  static std::string scrape() {
    httplib::Client client("127.0.0.1", metrics_port);
    client.set_connection_timeout(2s);
    auto res = client.Get("/metrics");
    if (!res || res->status != 200) return {};
    return res->body;
  }

  /// Scrapes until `series` has `value` (the host updates gauges after it replies); returns the
  /// last scrape.
  static std::string scrape_until(const std::string& series, double value) {
    std::string text;
    auto until = std::chrono::steady_clock::now() + 15s;
    do {
      text = scrape();
      if (sample(text, series) == value) break;
      std::this_thread::sleep_for(50ms);
    } while (std::chrono::steady_clock::now() < until);
    return text;
  }

  static json cmd(const std::string& op, const json& body, const lattice::Headers& headers = {}) {
    auto r = nc->request("wasmbus.ctl.default.cmd." + host_id + "." + op, body.dump(), 5s, headers);
    if (!r) return json{{"__error", r.error().message}};
    return json::parse(r->text(), nullptr, false);
  }

  /// A signed HttpServer.HandleRequest invocation of echo from the httpserver provider entity.
  static Result<rpc::InvocationResponse> invoke(const wascap::KeyPair& signer,
                                                const lattice::Headers& headers = {}) {
    // actor-rpc-providers.md 10.2 A.1: HttpRequest GET /foo/bar?x=1, body "hello".
    static const Bytes payload = bytes_of_hex(
        "85 a6 6d 65 74 68 6f 64 a3 47 45 54 a4 70 61 74 68 a8 2f 66 6f 6f 2f 62 61 72 ab 71 75 "
        "65 72 79 53 74 72 69 6e 67 a3 78 3d 31 a6 68 65 61 64 65 72 81 a6 61 63 63 65 70 74 91 "
        "a3 2a 2f 2a a4 62 6f 64 79 c4 05 68 65 6c 6c 6f");
    auto inv = rpc::make_invocation(
        signer, rpc::provider_entity(kHttpServer, "wasmcloud:httpserver", "default"),
        rpc::actor_entity(kEcho), "HttpServer.HandleRequest", payload, signer.public_key());
    if (!inv) return fail(inv.error());
    auto r = nc->request(std::string("wasmbus.rpc.default.") + kEcho, rpc::encode_invocation(*inv),
                         5s, headers);
    if (!r) return fail(r.error());
    return rpc::decode_response(r->data());
  }

  /// Host log lines (JSON objects) whose trace_id is `trace_id`.
  static std::vector<json> log_lines_with_trace(std::string_view trace_id) {
    std::vector<json> out;
    std::ifstream in(dir + "/host.log");
    for (std::string line; std::getline(in, line);) {
      auto j = json::parse(line, nullptr, false);
      if (!j.is_discarded() && j.is_object() && j.value("trace_id", "") == trace_id)
        out.push_back(j);
    }
    return out;
  }
};

TEST_F(Observability, MetricsEndpointServesHostIdentity) {
  auto text = scrape();
  ASSERT_FALSE(text.empty()) << "no /metrics on port " << metrics_port;
  EXPECT_EQ(sample(text, "wasmcloud_host_info{host_id=\"" + host_id +
                             "\",lattice=\"default\",version=\"0.63.2\"}"),
            1);
  EXPECT_EQ(sample(text, "wasmcloud_nats_reconnects_total{connection=\"ctl\"}"), 0);
  EXPECT_EQ(sample(text, "wasmcloud_nats_reconnects_total{connection=\"rpc\"}"), 0);
}

TEST_F(Observability, ControlRequestTraceIsContinued) {
  auto mark = events->mark();
  auto ack = cmd("scale", json{{"actor_id", kEcho}, {"actor_ref", echo_ref}, {"count", 1}},
                 {{"traceparent", std::string(kParent)}});
  ASSERT_EQ(ack["accepted"], true) << ack.dump();
  auto started = events->wait(mark, "com.wasmcloud.lattice.actor_started");
  ASSERT_TRUE(started);
  auto ctx = trace::parse_traceparent(started->second);
  ASSERT_TRUE(ctx) << "actor_started without a valid traceparent: '" << started->second << "'";
  EXPECT_EQ(ctx->trace_id_hex(), kParentTrace);
  EXPECT_NE(ctx->span_id_hex(), "00f067aa0ba902b7");  // the host's own span
  auto all = events->wait(mark, "com.wasmcloud.lattice.actors_started");
  ASSERT_TRUE(all);
  EXPECT_EQ(trace::parse_traceparent(all->second)->trace_id_hex(), kParentTrace);
  // The host's log lines written while handling the request carry the trace and its span.
  auto lines = log_lines_with_trace(kParentTrace);
  ASSERT_FALSE(lines.empty()) << "no log line with the trace id in " << dir << "/host.log";
  for (const auto& l : lines) EXPECT_EQ(l.value("span_id", ""), ctx->span_id_hex()) << l.dump();
}

TEST_F(Observability, RequestWithoutTraceStartsANewOne) {
  auto mark = events->mark();
  auto ack = cmd("scale", json{{"actor_id", kEcho}, {"actor_ref", echo_ref}, {"count", 2}},
                 {{"traceparent", "00-not-a-trace-01"}});
  ASSERT_EQ(ack["accepted"], true) << ack.dump();
  auto all = events->wait(mark, "com.wasmcloud.lattice.actors_started");
  ASSERT_TRUE(all);
  auto ctx = trace::parse_traceparent(all->second);
  ASSERT_TRUE(ctx) << all->second;
  EXPECT_NE(ctx->trace_id_hex(), kParentTrace);
  auto text = scrape_until(echo_series("wasmcloud_actor_instances"), 2);
  EXPECT_EQ(sample(text, echo_series("wasmcloud_actor_instances")), 2);
}

TEST_F(Observability, ScrapeAfterLoadShowsItsCounts) {
  constexpr int kOk = 40, kBad = 7;
  const auto before = scrape();
  const double ok0 =
      std::max(0.0, sample(before, echo_series("wasmcloud_invocations_total", ",outcome=\"ok\"")));
  const double err0 = std::max(
      0.0, sample(before, echo_series("wasmcloud_invocations_total", ",outcome=\"error\"")));
  const double n0 =
      std::max(0.0, sample(before, echo_series("wasmcloud_invocation_duration_seconds_count")));
  for (int i = 0; i < kOk; ++i) {
    auto r = invoke(*cluster);
    ASSERT_TRUE(r) << r.error().message;
    ASSERT_FALSE(r->error) << *r->error;
  }
  // Signed by a cluster key the host does not accept: anti-forgery failure.
  auto stranger = wascap::KeyPair::generate(wascap::KeyType::kCluster);
  for (int i = 0; i < kBad; ++i) {
    auto r = invoke(stranger);
    ASSERT_TRUE(r) << r.error().message;
    ASSERT_TRUE(r->error);
  }
  // The counter is updated when the reply is sent; poll briefly for the last one.
  auto text =
      scrape_until(echo_series("wasmcloud_invocation_duration_seconds_count"), n0 + kOk + kBad);
  EXPECT_EQ(sample(text, echo_series("wasmcloud_invocations_total", ",outcome=\"ok\"")), ok0 + kOk);
  EXPECT_EQ(sample(text, echo_series("wasmcloud_invocations_total", ",outcome=\"error\"")),
            err0 + kBad);
  EXPECT_EQ(sample(text, echo_series("wasmcloud_invocation_duration_seconds_count")),
            n0 + kOk + kBad);
  EXPECT_EQ(
      sample(text, echo_series("wasmcloud_invocation_duration_seconds_bucket", ",le=\"+Inf\"")),
      n0 + kOk + kBad);
  EXPECT_GT(sample(text, echo_series("wasmcloud_invocation_duration_seconds_sum")), 0);
  EXPECT_EQ(sample(text, echo_series("wasmcloud_actor_instances")), 2);
}

TEST_F(Observability, InvocationTraceReachesTheInvocationEvent) {
  auto mark = rpc_events->mark();
  auto r = invoke(*cluster, {{"traceparent", std::string(kParent)}});
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_FALSE(r->error);
  auto ev = rpc_events->wait(mark, "com.wasmcloud.lattice.invocation_succeeded");
  ASSERT_TRUE(ev);
  auto ctx = trace::parse_traceparent(ev->second);
  ASSERT_TRUE(ctx) << ev->second;
  EXPECT_EQ(ctx->trace_id_hex(), kParentTrace);
  // Without a header the host starts a trace per invocation.
  mark = rpc_events->mark();
  r = invoke(*cluster);
  ASSERT_TRUE(r);
  ev = rpc_events->wait(mark, "com.wasmcloud.lattice.invocation_succeeded");
  ASSERT_TRUE(ev);
  ctx = trace::parse_traceparent(ev->second);
  ASSERT_TRUE(ctx) << ev->second;
  EXPECT_NE(ctx->trace_id_hex(), kParentTrace);
}

TEST_F(Observability, ScaleToZeroShowsNoInstances) {
  auto mark = events->mark();
  auto ack = cmd("scale", json{{"actor_id", kEcho}, {"actor_ref", echo_ref}, {"count", 0}});
  ASSERT_EQ(ack["accepted"], true) << ack.dump();
  ASSERT_TRUE(events->wait(mark, "com.wasmcloud.lattice.actors_stopped"));
  auto text = scrape_until(echo_series("wasmcloud_actor_instances"), 0);
  EXPECT_EQ(sample(text, echo_series("wasmcloud_actor_instances")), 0);
  // Counters survive the actor.
  EXPECT_GT(sample(text, echo_series("wasmcloud_invocations_total", ",outcome=\"ok\"")), 0);
}

}  // namespace
}  // namespace wc

// The host's Prometheus registry (src/metrics/metrics.h): each family with its labels and
// values as the text exposition shows them, cached actor handles, and the HTTP endpoint.
#include "metrics/metrics.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/burst.h"
#include "support/servers.h"

namespace wc::metrics {
namespace {

using namespace std::chrono_literals;

constexpr const char* kActor = "MBCFOPM6JW2APJLXJD3Z5O4CN7CPYJ2B4FTKLJUR5YR5MITIU7HD3WD5";

/// The value of the sample line starting with `series` (name plus labels exactly as written),
/// -1 when absent.
double sample(const std::string& text, const std::string& series) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  }
  return -1;
}

std::string actor_series(const std::string& name, const std::string& extra = "") {
  return name + "{actor=\"" + kActor + "\"" + extra + "}";
}

TEST(Metrics, EmptyRegistryHasReconnectCountersAtZero) {
  Metrics m;
  const auto text = m.text();
  EXPECT_EQ(sample(text, "wasmcloud_nats_reconnects_total{connection=\"ctl\"}"), 0);
  EXPECT_EQ(sample(text, "wasmcloud_nats_reconnects_total{connection=\"rpc\"}"), 0);
  // Families without series are left out until their first series exists.
  EXPECT_EQ(text.find("wasmcloud_invocations_total"), std::string::npos);
  m.actor(kActor);
  EXPECT_NE(m.text().find("# TYPE wasmcloud_invocations_total counter"), std::string::npos);
  EXPECT_NE(m.text().find("# TYPE wasmcloud_invocation_duration_seconds histogram"),
            std::string::npos);
}

TEST(Metrics, InvocationsCountedPerOutcomeWithDurations) {
  Metrics m;
  auto& a = m.actor(kActor);
  for (int i = 0; i < 7; ++i) a.invocation(true, 2ms);
  for (int i = 0; i < 3; ++i) a.invocation(false, 200ms);
  const auto text = m.text();
  EXPECT_EQ(sample(text, actor_series("wasmcloud_invocations_total", ",outcome=\"ok\"")), 7);
  EXPECT_EQ(sample(text, actor_series("wasmcloud_invocations_total", ",outcome=\"error\"")), 3);
  EXPECT_EQ(sample(text, actor_series("wasmcloud_invocation_duration_seconds_count")), 10);
  EXPECT_NEAR(sample(text, actor_series("wasmcloud_invocation_duration_seconds_sum")),
              7 * 0.002 + 3 * 0.2, 1e-9);
  // 2 ms falls in le=0.0025; 200 ms in le=0.25.
  EXPECT_EQ(
      sample(text, actor_series("wasmcloud_invocation_duration_seconds_bucket", ",le=\"0.001\"")),
      0);
  EXPECT_EQ(
      sample(text, actor_series("wasmcloud_invocation_duration_seconds_bucket", ",le=\"0.0025\"")),
      7);
  EXPECT_EQ(
      sample(text, actor_series("wasmcloud_invocation_duration_seconds_bucket", ",le=\"0.25\"")),
      10);
  EXPECT_EQ(
      sample(text, actor_series("wasmcloud_invocation_duration_seconds_bucket", ",le=\"+Inf\"")),
      10);
}

TEST(Metrics, ActorHandleIsCachedAndSeriesStartAtZero) {
  Metrics m;
  auto& a = m.actor(kActor);
  EXPECT_EQ(&a, &m.actor(kActor));
  EXPECT_NE(&a, &m.actor("MOTHER"));
  const auto text = m.text();
  EXPECT_EQ(sample(text, actor_series("wasmcloud_invocations_total", ",outcome=\"ok\"")), 0);
  EXPECT_EQ(sample(text, actor_series("wasmcloud_invocations_total", ",outcome=\"error\"")), 0);
  EXPECT_EQ(sample(text, actor_series("wasmcloud_actor_instances")), 0);
}

TEST(Metrics, InstancesGaugeFollowsTheLastValue) {
  Metrics m;
  m.actor(kActor).set_instances(3);
  EXPECT_EQ(sample(m.text(), actor_series("wasmcloud_actor_instances")), 3);
  m.actor(kActor).set_instances(0);
  EXPECT_EQ(sample(m.text(), actor_series("wasmcloud_actor_instances")), 0);
}

TEST(Metrics, ReconnectsPerConnection) {
  Metrics m;
  m.nats_reconnect(NatsConnection::kCtl);
  m.nats_reconnect(NatsConnection::kCtl);
  m.nats_reconnect(NatsConnection::kRpc);
  const auto text = m.text();
  EXPECT_EQ(sample(text, "wasmcloud_nats_reconnects_total{connection=\"ctl\"}"), 2);
  EXPECT_EQ(sample(text, "wasmcloud_nats_reconnects_total{connection=\"rpc\"}"), 1);
}

TEST(Metrics, NativeCompilesPerOutcome) {
  Metrics m;
  m.native_compile(3s, true);
  m.native_compile(40ms, true);
  m.native_compile(1s, false);
  const auto text = m.text();
  EXPECT_EQ(sample(text, "wasmcloud_native_compile_seconds_count{outcome=\"ok\"}"), 2);
  EXPECT_NEAR(sample(text, "wasmcloud_native_compile_seconds_sum{outcome=\"ok\"}"), 3.04, 1e-9);
  EXPECT_EQ(sample(text, "wasmcloud_native_compile_seconds_bucket{outcome=\"ok\",le=\"0.05\"}"), 1);
  EXPECT_EQ(sample(text, "wasmcloud_native_compile_seconds_count{outcome=\"error\"}"), 1);
}

TEST(Metrics, HostInfo) {
  Metrics m;
  m.set_host_info("NHOST", "default", "0.63.2");
  EXPECT_EQ(sample(m.text(),
                   "wasmcloud_host_info{host_id=\"NHOST\",lattice=\"default\",version=\"0.63.2\"}"),
            1);
}

TEST(Metrics, ConcurrentUpdatesAreAllCounted) {
  Metrics m;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) m.actor(kActor).invocation(i % 10 != 0, 1ms);
    });
  for (auto& t : threads) t.join();
  const auto text = m.text();
  EXPECT_EQ(sample(text, actor_series("wasmcloud_invocations_total", ",outcome=\"ok\"")), 3600);
  EXPECT_EQ(sample(text, actor_series("wasmcloud_invocations_total", ",outcome=\"error\"")), 400);
}

TEST(MetricsServer, ServesTheTextFormat) {
  Metrics m;
  m.actor(kActor).invocation(true, 1ms);
  const int port = testing::free_port();
  auto server = Server::start(m, "127.0.0.1", port);
  ASSERT_TRUE(server) << server.error().message;
  EXPECT_EQ((*server)->port(), port);
  httplib::Client client("127.0.0.1", port);
  auto res = client.Get("/metrics");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_NE(res->get_header_value("Content-Type").find("text/plain"), std::string::npos);
  EXPECT_EQ(sample(res->body, actor_series("wasmcloud_invocations_total", ",outcome=\"ok\"")), 1);
  // Updates show on the next scrape.
  m.actor(kActor).invocation(true, 1ms);
  res = client.Get("/metrics");
  ASSERT_TRUE(res);
  EXPECT_EQ(sample(res->body, actor_series("wasmcloud_invocations_total", ",outcome=\"ok\"")), 2);
  EXPECT_EQ(client.Get("/other")->status, 404);
}

// Issue #12.9: every server of the project listens with a real backlog; 256 scrapers at once
// are all answered.
TEST(MetricsServer, ListenBacklogHoldsABurstOf256Connections) {
  Metrics m;
  const int port = testing::free_port();
  auto server = Server::start(m, "127.0.0.1", port);
  ASSERT_TRUE(server) << server.error().message;
  EXPECT_GE(testing::listen_backlog(port), 256);
  testing::Burst burst(port, 256);
  auto statuses =
      burst.exchange("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", 60s);
  int ok = 0;
  for (int st : statuses) ok += st == 200 ? 1 : 0;
  EXPECT_EQ(ok, 256);
}

TEST(MetricsServer, PortInUseFails) {
  Metrics m;
  const int port = testing::free_port();
  auto first = Server::start(m, "127.0.0.1", port);
  ASSERT_TRUE(first) << first.error().message;
  auto second = Server::start(m, "127.0.0.1", port);
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, Code::kUnavailable);
  EXPECT_NE(second.error().message.find(std::to_string(port)), std::string::npos);
}

TEST(MetricsServer, BadPortRejected) {
  Metrics m;
  for (int port : {0, -1, 65536}) {
    auto s = Server::start(m, "127.0.0.1", port);
    ASSERT_FALSE(s);
    EXPECT_EQ(s.error().code, Code::kInvalidArgument);
  }
}

TEST(MetricsServer, BadAddressFails) {
  Metrics m;
  auto s = Server::start(m, "not an address", testing::free_port());
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, Code::kUnavailable);
}

}  // namespace
}  // namespace wc::metrics

// traceparent over NATS (src/lattice/tracing.h) against a real nats-server: events and control
// requests carry the calling thread's trace, nothing outside a trace; received headers are
// continued (same trace, new span) and malformed ones ignored.
#include "lattice/tracing.h"

#include <gtest/gtest.h>

#include "collector.h"
#include "lattice/cloudevent.h"
#include "lattice/ctl_client.h"
#include "lattice/topics.h"
#include "support/servers.h"

namespace wc::lattice {
namespace {

using namespace std::chrono_literals;

constexpr std::string_view kParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

class TracingTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new wc::testing::NatsServer();
    ConnectOptions o;
    o.servers = {server_->url()};
    auto c = Connection::connect(o);
    ASSERT_TRUE(c) << c.error().message;
    nc_ = c->release();
  }
  static void TearDownTestSuite() {
    delete nc_;
    delete server_;
  }
  /// Subscribes a collector to `subject`.
  static Subscription listen(const std::string& subject, testing::Collector& into) {
    auto sub = nc_->subscribe(subject, into.handler());
    EXPECT_TRUE(sub) << sub.error().message;
    EXPECT_TRUE(nc_->flush());
    return std::move(*sub);
  }
  static inline wc::testing::NatsServer* server_ = nullptr;
  static inline Connection* nc_ = nullptr;
};

TEST_F(TracingTest, EventCarriesTheCurrentTrace) {
  testing::Collector got;
  auto sub = listen(topics::events("trace1"), got);
  const auto ctx = trace::new_trace();
  {
    trace::Scope scope(ctx);
    ASSERT_TRUE(publish_event(*nc_, "trace1", "com.wasmcloud.lattice.test", "NHOST", {}));
  }
  ASSERT_TRUE(got.wait_for(1));
  auto msgs = got.take();
  EXPECT_EQ(msgs[0].header("traceparent"), trace::format_traceparent(ctx));
}

TEST_F(TracingTest, RpcEventCarriesTheCurrentTrace) {
  testing::Collector got;
  auto sub = listen(topics::rpc_events("trace2"), got);
  const auto ctx = trace::new_trace();
  {
    trace::Scope scope(ctx);
    ASSERT_TRUE(publish_rpc_event(*nc_, "trace2", "com.wasmcloud.lattice.x", "NHOST", {}));
  }
  ASSERT_TRUE(got.wait_for(1));
  EXPECT_EQ(got.take()[0].header("traceparent"), trace::format_traceparent(ctx));
}

TEST_F(TracingTest, EventOutsideATraceHasNoHeader) {
  testing::Collector got;
  auto sub = listen(topics::events("trace3"), got);
  ASSERT_TRUE(publish_event(*nc_, "trace3", "com.wasmcloud.lattice.test", "NHOST", {}));
  ASSERT_TRUE(got.wait_for(1));
  auto msgs = got.take();
  EXPECT_FALSE(msgs[0].header("traceparent"));
  EXPECT_TRUE(msgs[0].headers().empty());
}

TEST_F(TracingTest, CtlRequestsCarryTheCurrentTrace) {
  // A fake host that echoes the traceparent it received in its ack.
  auto sub = nc_->subscribe("wasmbus.ctl.trace4.>", [](Message m) {
    auto tp = m.header("traceparent");
    nlohmann::json ack{{"accepted", true}, {"error", tp.value_or("none")}};
    (void)nc_->respond(m, ack.dump());
  });
  ASSERT_TRUE(sub);
  ASSERT_TRUE(nc_->flush());
  CtlClient client(*nc_, "trace4");
  auto outside = client.stop_host("NHOST");
  ASSERT_TRUE(outside) << outside.error().message;
  EXPECT_EQ(outside->error, "none");
  const auto ctx = trace::new_trace();
  trace::Scope scope(ctx);
  auto inside = client.stop_host("NHOST");
  ASSERT_TRUE(inside) << inside.error().message;
  EXPECT_EQ(inside->error, trace::format_traceparent(ctx));
  auto collected = client.collect("ping.hosts", nullptr, 300ms);
  ASSERT_TRUE(collected);
  ASSERT_EQ(collected->size(), 1u);
  EXPECT_EQ((*collected)[0]["error"], trace::format_traceparent(ctx));
}

TEST_F(TracingTest, TraceForContinuesAValidHeader) {
  testing::Collector got;
  auto sub = listen("trace5.in", got);
  ASSERT_TRUE(nc_->publish("trace5.in", "x", Headers{{"traceparent", std::string(kParent)}}));
  ASSERT_TRUE(got.wait_for(1));
  auto ctx = trace_for(got.take()[0]);
  EXPECT_EQ(ctx.trace_id_hex(), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_NE(ctx.span_id_hex(), "00f067aa0ba902b7");
  EXPECT_EQ(ctx.flags, 1);
}

TEST_F(TracingTest, TraceForIgnoresAMalformedHeader) {
  testing::Collector got;
  auto sub = listen("trace6.in", got);
  ASSERT_TRUE(nc_->publish("trace6.in", "x", Headers{{"traceparent", "00-nonsense-01"}}));
  ASSERT_TRUE(got.wait_for(1));
  auto ctx = trace_for(got.take()[0]);
  EXPECT_TRUE(ctx.valid());
  EXPECT_NE(ctx.trace_id_hex(), "4bf92f3577b34da6a3ce929d0e0e4736");
}

TEST_F(TracingTest, TraceForStartsATraceWithoutHeader) {
  testing::Collector got;
  auto sub = listen("trace7.in", got);
  ASSERT_TRUE(nc_->publish("trace7.in", "x"));
  ASSERT_TRUE(got.wait_for(1));
  auto msgs = got.take();
  auto a = trace_for(msgs[0]);
  auto b = trace_for(msgs[0]);
  EXPECT_TRUE(a.valid());
  EXPECT_NE(a.trace_id, b.trace_id);
}

TEST(TraceHeaders, AddedOnceAndOnlyInsideATrace) {
  Headers h{{"other", "1"}};
  add_trace_header(h);
  EXPECT_EQ(h.size(), 1u);
  EXPECT_TRUE(current_trace_headers().empty());
  const auto ctx = trace::new_trace();
  trace::Scope scope(ctx);
  add_trace_header(h);
  ASSERT_EQ(h.size(), 2u);
  EXPECT_EQ(h[1].second, trace::format_traceparent(ctx));
  add_trace_header(h);
  EXPECT_EQ(h.size(), 2u);  // an existing traceparent is kept
  Headers explicit_tp{{"traceparent", std::string(kParent)}};
  add_trace_header(explicit_tp);
  ASSERT_EQ(explicit_tp.size(), 1u);
  EXPECT_EQ(explicit_tp[0].second, kParent);
}

}  // namespace
}  // namespace wc::lattice

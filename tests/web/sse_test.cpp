// Event streams (src/web/sse.h): slot accounting per client and in total, and what one stream
// sends — the history first, then only what is new, pings when idle, the end on close.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "web/sse.h"

namespace wc::web {
namespace {

using namespace std::chrono_literals;

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto p = text.find(what); p != std::string::npos; p = text.find(what, p + 1)) ++n;
  return n;
}

TEST(StreamSlots, TotalAndPerClientLimits) {
  StreamSlots slots(3, 2);
  auto a1 = slots.take("a");
  auto a2 = slots.take("a");
  ASSERT_TRUE(a1 && a2);
  EXPECT_EQ(slots.take("a"), nullptr);  // client a at its limit
  auto b1 = slots.take("b");
  ASSERT_TRUE(b1);
  EXPECT_EQ(slots.take("c"), nullptr);  // total at its limit
  EXPECT_EQ(slots.in_use(), 3u);
  EXPECT_EQ(slots.in_use("a"), 2u);
}

TEST(StreamSlots, ASlotComesBackWhenItsLastCopyGoes) {
  StreamSlots slots(1, 1);
  auto s = slots.take("a");
  ASSERT_TRUE(s);
  auto copy = s;
  s.reset();
  EXPECT_EQ(slots.take("b"), nullptr);  // the copy still holds it
  copy.reset();
  EXPECT_EQ(slots.in_use(), 0u);
  EXPECT_EQ(slots.in_use("a"), 0u);
  EXPECT_TRUE(slots.take("b"));
}

TEST(StreamSlots, CloseRefusesNewSlotsAndKeepsHeldOnes) {
  StreamSlots slots(4, 4);
  auto held = slots.take("a");
  slots.close();
  EXPECT_EQ(slots.take("a"), nullptr);
  EXPECT_EQ(slots.in_use(), 1u);
  held.reset();
  EXPECT_EQ(slots.in_use(), 0u);
}

class EventStreamTest : public ::testing::Test {
 protected:
  LogEntry entry(std::string type) {
    LogEntry e;
    e.type = std::move(type);
    e.source = "dashboard";
    e.level = "info";
    return e;
  }
  EventStream stream(std::chrono::milliseconds ping = 5s) {
    return EventStream(
        log_, state_, metrics_, [this] { return state_.snapshot(); }, ping);
  }
  EventLog log_;
  LatticeState state_{"default"};
  InvocationMetrics metrics_;
};

TEST_F(EventStreamTest, FirstBatchIsTheHistoryThenStateAndMetrics) {
  log_.append(entry("one"));
  log_.append(entry("two"));
  auto s = stream();
  auto out = s.next();
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(count(*out, "event: log\n"), 2u);
  EXPECT_EQ(count(*out, "\"history\":true"), 2u);
  EXPECT_EQ(count(*out, "event: state\n"), 1u);
  EXPECT_EQ(count(*out, "event: metrics\n"), 1u);
  EXPECT_LT(out->find("\"type\":\"one\""), out->find("\"type\":\"two\""));
  EXPECT_LT(out->find("event: log"), out->find("event: state"));
}

TEST_F(EventStreamTest, LaterBatchesCarryOnlyWhatIsNew) {
  log_.append(entry("old"));
  auto s = stream();
  ASSERT_TRUE(s.next().has_value());
  log_.append(entry("new"));
  auto out = s.next();
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(count(*out, "event: log\n"), 1u);
  EXPECT_NE(out->find("\"type\":\"new\""), std::string::npos);
  EXPECT_EQ(out->find("history"), std::string::npos);
  EXPECT_EQ(out->find("event: state"), std::string::npos);  // the state did not change
}

TEST_F(EventStreamTest, AStateChangeSendsTheState) {
  auto s = stream();
  ASSERT_TRUE(s.next().has_value());
  state_.apply_ping(nlohmann::json{{"id", "NHOST"}, {"friendly_name", "h"}});
  auto out = s.next();
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(count(*out, "event: state\n"), 1u);
  EXPECT_NE(out->find("NHOST"), std::string::npos);
}

TEST_F(EventStreamTest, IdleStreamWaitsThenPings) {
  auto quiet = stream(1h);
  ASSERT_TRUE(quiet.next().has_value());
  const auto t0 = std::chrono::steady_clock::now();
  auto nothing = quiet.next();  // waits up to 500 ms for something new
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 400ms);
  ASSERT_TRUE(nothing.has_value());
  EXPECT_EQ(*nothing, "");

  auto pinging = stream(0ms);
  ASSERT_TRUE(pinging.next().has_value());
  auto ping = pinging.next();
  ASSERT_TRUE(ping.has_value());
  EXPECT_EQ(*ping, ": ping\n\n");
}

TEST_F(EventStreamTest, EndsWhenTheLogCloses) {
  auto s = stream();
  ASSERT_TRUE(s.next().has_value());
  log_.close();
  EXPECT_EQ(s.next(), std::nullopt);
  auto fresh = stream();
  EXPECT_EQ(fresh.next(), std::nullopt);
}

}  // namespace
}  // namespace wc::web

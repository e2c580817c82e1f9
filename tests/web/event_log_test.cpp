// The dashboard's event log (src/web/event_log.h): numbering, the 500-entry ring, dashboard
// entries, and the wait/notify/close signal event streams use.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "web/event_log.h"

namespace wc::web {
namespace {

using namespace std::chrono_literals;

LogEntry entry(std::string type) {
  LogEntry e;
  e.type = std::move(type);
  e.seq = 999;  // overwritten by append
  return e;
}

TEST(EventLog, NumbersEntriesInOrder) {
  EventLog log;
  log.append(entry("a"));
  log.append(entry("b"));
  log.append(entry("c"));
  auto all = log.after(0);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].seq, 1u);
  EXPECT_EQ(all[2].seq, 3u);
  EXPECT_EQ(all[2].type, "c");
  auto later = log.after(2);
  ASSERT_EQ(later.size(), 1u);
  EXPECT_EQ(later[0].type, "c");
  EXPECT_TRUE(log.after(3).empty());
}

TEST(EventLog, KeepsTheLast500) {
  EventLog log;
  for (int i = 0; i < 520; ++i) log.append(entry("e" + std::to_string(i)));
  auto all = log.after(0);
  ASSERT_EQ(all.size(), EventLog::kCapacity);
  EXPECT_EQ(all.front().seq, 21u);
  EXPECT_EQ(all.front().type, "e20");
  EXPECT_EQ(all.back().seq, 520u);
  const auto j = log.to_json();
  ASSERT_EQ(j["entries"].size(), 500u);
  EXPECT_EQ(j["entries"][0]["seq"], 21);
  EXPECT_EQ(j["entries"][499]["type"], "e519");
}

TEST(EventLog, RecordMakesADashboardEntryWithCappedTexts) {
  EventLog log;
  log.record("actors/start", "error", std::string(kMaxLatticeText + 100, 'x'),
             nlohmann::json{{"status", 502}, {"ref", std::string(kMaxLatticeText + 1, 'r')}});
  auto all = log.after(0);
  ASSERT_EQ(all.size(), 1u);
  const auto& e = all[0];
  EXPECT_EQ(e.type, "actors/start");
  EXPECT_EQ(e.level, "error");
  EXPECT_EQ(e.source, "dashboard");
  EXPECT_FALSE(e.time.empty());
  EXPECT_LT(e.summary.size(), kMaxLatticeText + 10);
  EXPECT_EQ(e.data["status"], 502);
  EXPECT_LT(e.data["ref"].get<std::string>().size(), kMaxLatticeText + 10);
}

TEST(EventLog, WaitReturnsOnANewEntry) {
  EventLog log;
  log.append(entry("old"));
  std::thread t([&] {
    std::this_thread::sleep_for(50ms);
    log.append(entry("new"));
  });
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(log.wait(1, 10s, [] { return false; }));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
  t.join();
  EXPECT_EQ(log.after(1).size(), 1u);
}

TEST(EventLog, WaitReturnsWhenThePredicateTurnsTrueOnNotify) {
  EventLog log;
  std::atomic<bool> changed{false};
  std::thread t([&] {
    std::this_thread::sleep_for(50ms);
    changed = true;
    log.notify();
  });
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(log.wait(0, 10s, [&] { return changed.load(); }));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
  t.join();
}

TEST(EventLog, WaitTimesOutWithNothingNew) {
  EventLog log;
  log.append(entry("seen"));
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(log.wait(1, 100ms, [] { return false; }));
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 90ms);
}

TEST(EventLog, CloseEndsEveryWait) {
  EventLog log;
  EXPECT_FALSE(log.closed());
  std::thread t([&] {
    std::this_thread::sleep_for(50ms);
    log.close();
  });
  EXPECT_FALSE(log.wait(0, 10s, [] { return false; }));
  t.join();
  EXPECT_TRUE(log.closed());
  EXPECT_FALSE(log.wait(0, 10s, [] { return false; }));
}

}  // namespace
}  // namespace wc::web

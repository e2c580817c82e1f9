// RpcEventPublisher (host/rpc_events.h): invocation events published off the invocation path,
// in order, with the time they were queued; a bounded queue; stop() publishes what waits.
#include "host/rpc_events.h"

#include <gtest/gtest.h>

#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "lattice/cloudevent.h"
#include "lattice/events.h"

namespace wc::host {
namespace {

using json = nlohmann::json;

struct Published {
  std::mutex mu;
  std::vector<json> events;
  RpcEventPublisher::Publish sink() {
    return [this](const std::string& event, const lattice::Headers&) {
      std::lock_guard lock(mu);
      events.push_back(json::parse(event));
    };
  }
  std::size_t size() {
    std::lock_guard lock(mu);
    return events.size();
  }
};

TEST(RpcEventPublisher, PublishesEveryEventInOrderAsACloudEventOfThisHost) {
  Published out;
  RpcEventPublisher::Options o;
  o.source = "NHOST";
  RpcEventPublisher p(o, out.sink());
  for (int i = 0; i < 200; ++i)
    p.enqueue(i % 2 ? lattice::events::kInvocationFailed : lattice::events::kInvocationSucceeded,
              json{{"n", i}});
  for (int i = 0; i < 200 && out.size() < 200; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ASSERT_EQ(out.size(), 200u);
  std::lock_guard lock(out.mu);
  for (int i = 0; i < 200; ++i) {
    EXPECT_EQ(out.events[i]["data"]["n"], i);
    EXPECT_EQ(out.events[i]["source"], "NHOST");
    EXPECT_EQ(out.events[i]["specversion"], "1.0");
  }
  EXPECT_EQ(out.events[1]["type"], lattice::events::kInvocationFailed);
  EXPECT_EQ(p.dropped(), 0u);
}

TEST(RpcEventPublisher, ALoneEventIsPublishedWithinTheInterval) {
  Published out;
  RpcEventPublisher p({}, out.sink());  // batch 64, interval 1 ms
  p.enqueue(lattice::events::kInvocationSucceeded, json{{"n", 1}});
  for (int i = 0; i < 400 && out.size() == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(out.size(), 1u);  // without stop(): a publisher asleep on an empty queue woke up
}

TEST(RpcEventPublisher, TheTimeIsWhenTheEventWasQueued) {
  Published out;
  RpcEventPublisher::Options o;
  o.interval = std::chrono::milliseconds(300);  // publishes well after the enqueue
  o.batch = 1000;
  RpcEventPublisher p(o, out.sink());
  const std::string before = lattice::rfc3339_micros(std::chrono::system_clock::now());
  p.enqueue(lattice::events::kInvocationSucceeded, json::object());
  const std::string after = lattice::rfc3339_micros(std::chrono::system_clock::now());
  p.stop();
  ASSERT_EQ(out.size(), 1u);
  const std::string t = out.events[0]["time"];
  EXPECT_LE(before, t);
  EXPECT_LE(t, after);
}

TEST(RpcEventPublisher, AFullQueueDropsAndCountsAndStopPublishesWhatWaits) {
  std::mutex gate;
  std::unique_lock hold(gate);  // the sink blocks: the queue fills
  Published out;
  RpcEventPublisher::Options o;
  o.max_queued = 10;
  o.batch = 1;
  RpcEventPublisher p(o, [&](const std::string& event, const lattice::Headers& h) {
    std::lock_guard wait(gate);
    out.sink()(event, h);
  });
  p.enqueue(lattice::events::kInvocationSucceeded, json{{"n", 0}});  // taken by the thread
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  for (int i = 1; i <= 15; ++i) p.enqueue(lattice::events::kInvocationSucceeded, json{{"n", i}});
  EXPECT_EQ(p.dropped(), 5u);
  hold.unlock();
  p.stop();
  EXPECT_EQ(out.size(), 11u);
  p.enqueue(lattice::events::kInvocationSucceeded, json::object());  // after stop: dropped
  EXPECT_EQ(p.dropped(), 6u);
}

}  // namespace
}  // namespace wc::host

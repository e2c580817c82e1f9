// wc::host::RpcEventPublisher: publishes the host's invocation events (invocation_succeeded /
// invocation_failed on `wasmbus.rpcevt.{lattice}`, actor-rpc-providers.md 4.6) off the
// invocation path (issue #14.2, #14.4: "invocation events still published, batched").
//
// A worker that finished an invocation only enqueues the event's type, data, time and the trace
// headers of its thread; one publisher thread wakes at most every `interval` (or when
// `batch` events wait), builds each CloudEvent with the time it was enqueued and publishes them
// one after another. Each event is still its own message, in enqueue order, as clients expect.
// The queue is bounded (`max_queued`): past it, events are dropped and counted (dropped()),
// never blocking an invocation. stop() publishes what is queued, then joins the thread.
//
// Owned by Host::Impl. Thread-safety: enqueue() from any thread; stop() once, from the owner;
// one mutex (`mu_`), a leaf (nothing else is taken under it; publishing runs without it).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/thread_annotations.h"
#include "lattice/nats.h"

namespace wc::host {

class RpcEventPublisher {
 public:
  /// Publishes one serialized CloudEvent with its trace headers; errors are the callee's to log.
  using Publish = std::function<void(const std::string& event, const lattice::Headers& headers)>;

  struct Options {
    std::string source;  ///< the CloudEvent `source`: this host's public key
    std::chrono::microseconds interval{1000};
    std::size_t batch = 64;
    std::size_t max_queued = 65536;
  };

  RpcEventPublisher(Options options, Publish publish);
  /// stop().
  ~RpcEventPublisher();
  RpcEventPublisher(const RpcEventPublisher&) = delete;
  RpcEventPublisher& operator=(const RpcEventPublisher&) = delete;

  /// Queues one event of full type `type` (lattice/events.h) with `data`, stamped now and with
  /// the calling thread's trace headers. Never blocks on publishing.
  void enqueue(std::string_view type, nlohmann::json data) EXCLUDES(mu_);
  /// Publishes everything queued, then stops the thread. Idempotent; later enqueue()s are
  /// dropped.
  void stop() EXCLUDES(mu_);
  /// Events dropped because the queue was full or the publisher stopped.
  std::uint64_t dropped() const EXCLUDES(mu_);

 private:
  struct Item {
    std::string type;
    nlohmann::json data;
    std::chrono::system_clock::time_point time;
    lattice::Headers headers;
  };
  void run() EXCLUDES(mu_);

  Options options_;
  Publish publish_;
  mutable Mutex mu_;
  std::condition_variable cv_;  // waited on with mu_ held
  std::vector<Item> queue_ GUARDED_BY(mu_);
  bool stopping_ GUARDED_BY(mu_) = false;
  std::uint64_t dropped_ GUARDED_BY(mu_) = 0;
  std::thread thread_;
};

}  // namespace wc::host

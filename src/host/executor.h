// Executor: a fixed pool of worker threads running posted tasks in FIFO order.
//
// Owned by src/host. NATS delivery threads hand work here so they never block on guest code or
// registry pulls (DESIGN.md "Concurrency"). post() is thread-safe; tasks run on any worker.
// Destruction (or shutdown()) stops accepting tasks, runs the ones already queued and joins.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace wc::host {

class Executor {
 public:
  /// Starts `threads` workers (at least 1). `name` is for logs.
  Executor(std::size_t threads, std::string name);
  ~Executor();
  Executor(const Executor&) = delete;
  Executor& operator=(const Executor&) = delete;

  /// Queues `task`; returns false (task dropped) after shutdown(). Exceptions escaping a task
  /// are caught and logged. The task runs in the trace current on the posting thread, if any
  /// (trace::Scope, common/trace.h).
  bool post(std::function<void()> task);
  /// Stops accepting, drains the queue, joins the workers. Idempotent.
  void shutdown();
  /// Tasks queued and not yet started.
  std::size_t pending() const;

 private:
  void run();
  std::string name_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace wc::host

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
#include <string>
#include <thread>
#include <vector>

#include "common/thread_annotations.h"

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
  bool post(std::function<void()> task) EXCLUDES(mu_);
  /// Stops accepting, drains the queue, joins the workers. Idempotent.
  void shutdown() EXCLUDES(mu_);
  /// Tasks queued and not yet started.
  std::size_t pending() const EXCLUDES(mu_);

 private:
  void run() EXCLUDES(mu_);
  std::string name_;
  mutable Mutex mu_;
  std::condition_variable cv_;  // waited on with mu_ held
  std::deque<std::function<void()>> queue_ GUARDED_BY(mu_);
  bool stopping_ GUARDED_BY(mu_) = false;
  // Filled by the constructor; joined without mu_ and cleared under it by shutdown(), whose
  // callers (the host's stop sequence, then the destructor) never run it concurrently.
  std::vector<std::thread> workers_;
};

}  // namespace wc::host

#include "host/executor.h"

#include <pthread.h>

#include <exception>

#include <spdlog/spdlog.h>

#include "common/trace.h"

namespace wc::host {

Executor::Executor(std::size_t threads, std::string name) : name_(std::move(name)) {
  if (threads == 0) threads = 1;
  workers_.reserve(threads);
  for (std::size_t i = 0; i < threads; ++i) workers_.emplace_back([this] { run(); });
}

Executor::~Executor() { shutdown(); }

bool Executor::post(std::function<void()> task) {
  // Work posted while handling a traced request runs in that trace (common/trace.h).
  if (const trace::Context* t = trace::current())
    task = [ctx = *t, inner = std::move(task)] {
      trace::Scope scope(ctx);
      inner();
    };
  {
    MutexLock lock(mu_);
    if (stopping_) return false;
    queue_.push_back(std::move(task));
  }
  cv_.notify_one();
  return true;
}

void Executor::shutdown() {
  {
    MutexLock lock(mu_);
    if (stopping_ && workers_.empty()) return;
    stopping_ = true;
  }
  cv_.notify_all();
  for (auto& t : workers_) {
    if (t.joinable() && t.get_id() != std::this_thread::get_id()) t.join();
  }
  MutexLock lock(mu_);
  for (auto& t : workers_) {
    if (t.joinable()) t.detach();
  }
  workers_.clear();
}

std::size_t Executor::pending() const {
  MutexLock lock(mu_);
  return queue_.size();
}

void Executor::run() {
  // The thread's name in ps, top and perf ("wc-rpc", "wc-control", ...; at most 15 bytes).
  (void)pthread_setname_np(pthread_self(), ("wc-" + name_).substr(0, 15).c_str());
  for (;;) {
    std::function<void()> task;
    {
      MutexLock lock(mu_);
      while (!stopping_ && queue_.empty()) lock.wait(cv_);
      if (queue_.empty()) return;
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    try {
      task();
    } catch (const std::exception& e) {
      spdlog::error("{} executor task failed: {}", name_, e.what());
    } catch (...) {
      spdlog::error("{} executor task failed", name_);
    }
  }
}

}  // namespace wc::host

// Test helper: collects messages delivered to a subscription handler and waits for them.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <vector>

#include "lattice/nats.h"

namespace wc::lattice::testing {

/// Thread-safe message sink; handler() returns a MessageHandler that appends to it.
class Collector {
 public:
  MessageHandler handler() {
    auto self = state_;
    return [self](Message m) {
      std::lock_guard<std::mutex> lock(self->mu);
      self->messages.push_back(std::move(m));
      self->cv.notify_all();
    };
  }
  /// Waits until at least `n` messages arrived; false on timeout.
  bool wait_for(std::size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    std::unique_lock<std::mutex> lock(state_->mu);
    return state_->cv.wait_for(lock, timeout, [&] { return state_->messages.size() >= n; });
  }
  std::size_t size() {
    std::lock_guard<std::mutex> lock(state_->mu);
    return state_->messages.size();
  }
  /// Moves the collected messages out.
  std::vector<Message> take() {
    std::lock_guard<std::mutex> lock(state_->mu);
    return std::move(state_->messages);
  }

 private:
  struct State {
    std::mutex mu;
    std::condition_variable cv;
    std::vector<Message> messages;
  };
  std::shared_ptr<State> state_ = std::make_shared<State>();
};

}  // namespace wc::lattice::testing

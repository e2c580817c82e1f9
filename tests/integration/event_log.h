// Test support for integration tests: collects lattice events (CloudEvents JSON from
// wasmbus.evt.{lattice}) delivered on NATS threads and lets the test wait for them by type.
// Thread-safe: add() runs on a NATS delivery thread, the rest on the test thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "lattice/nats.h"

namespace wc::testing {

using namespace std::chrono_literals;

class EventLog {
 public:
  void add(nlohmann::json e) {
    {
      std::lock_guard lock(mu_);
      events_.push_back(std::move(e));
    }
    cv_.notify_all();
  }
  size_t mark() {
    std::lock_guard lock(mu_);
    return events_.size();
  }
  /// First event of `type` (short name) at index >= from whose data satisfies pred.
  std::optional<nlohmann::json> wait(size_t from, const std::string& type,
                                     const std::function<bool(const nlohmann::json&)>& pred = {},
                                     std::chrono::milliseconds timeout = 15s) {
    std::unique_lock lock(mu_);
    std::optional<nlohmann::json> found;
    cv_.wait_for(lock, timeout, [&] {
      for (size_t i = from; i < events_.size(); ++i) {
        const auto& e = events_[i];
        if (e.value("type", "") == "com.wasmcloud.lattice." + type && (!pred || pred(e["data"]))) {
          found = e;
          return true;
        }
      }
      return false;
    });
    return found;
  }
  size_t count(size_t from, const std::string& type) {
    std::lock_guard lock(mu_);
    return count_locked(from, type);
  }
  /// Waits until at least `n` events of `type` arrived at index >= from; returns the count then
  /// (for per-instance events that have no aggregate event to wait on).
  size_t wait_count(size_t from, const std::string& type, size_t n,
                    std::chrono::milliseconds timeout = 15s) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, timeout, [&] { return count_locked(from, type) >= n; });
    return count_locked(from, type);
  }

 private:
  size_t count_locked(size_t from, const std::string& type) const {
    size_t n = 0;
    for (size_t i = from; i < events_.size(); ++i)
      n += events_[i].value("type", "") == "com.wasmcloud.lattice." + type;
    return n;
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<nlohmann::json> events_;
};

/// Subscribes `log` to `wasmbus.evt.{lattice}` on `nc`: every event that parses as JSON is
/// added (on the NATS delivery thread). `log` must outlive the returned subscription.
inline Result<lattice::Subscription> record_events(lattice::Connection& nc, EventLog& log,
                                                   const std::string& lattice = "default") {
  return nc.subscribe("wasmbus.evt." + lattice, [&log](lattice::Message m) {
    auto j = nlohmann::json::parse(m.text(), nullptr, false);
    if (!j.is_discarded()) log.add(std::move(j));
  });
}

}  // namespace wc::testing

// The dashboard's live event log: the last 500 entries (lattice events as LatticeState turns
// them into lines, and the dashboard's own refusals and hot-reload outcomes), numbered in order,
// and the signal event streams wait on. Owned by the Dashboard (src/web); one instance per
// dashboard. Thread-safety: every method may be called from any thread (NATS delivery threads,
// HTTP workers, the hot-reload watcher); one mutex guards the ring, and the condition variable
// on it wakes the waiters (event streams, web/sse.h) on a new entry, on notify() and on close().
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "web/state.h"

namespace wc::web {

/// The live event log (see the file comment).
class EventLog {
 public:
  /// Entries kept; older ones are dropped first (original: the page's last 500 lines).
  static constexpr std::size_t kCapacity = 500;

  /// Appends `entry` with the next sequence number (1, 2, ...; its own `seq` is overwritten),
  /// drops the oldest entry past kCapacity and wakes the waiters.
  void append(LogEntry entry);
  /// Appends a dashboard entry: time now (RFC 3339, microseconds), source `dashboard`,
  /// `summary` and `data` cut by cap_texts (refusal texts may carry what a client or host sent).
  void record(std::string type, std::string level, std::string summary,
              nlohmann::json data = nlohmann::json::object());
  /// The entries with a sequence number above `seq`, oldest first.
  std::vector<LogEntry> after(std::uint64_t seq) const;
  /// `{"entries": [LogEntry::to_json()...]}`, oldest first (GET /api/log).
  nlohmann::json to_json() const;

  /// Wakes the waiters: something their `changed` predicate looks at may have changed.
  void notify();
  /// Waits until an entry after `seq` exists, `changed()` returns true (called with the log's
  /// lock held; it must not call back into the log), close() was called or `timeout` passed.
  /// Returns false once the log is closed.
  bool wait(std::uint64_t seq, std::chrono::milliseconds timeout,
            const std::function<bool()>& changed);
  /// Closes the log for waiters (dashboard stopping): wait() returns false from now on.
  void close();
  /// True once close() was called.
  bool closed() const;

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<LogEntry> entries_;
  std::uint64_t next_seq_ = 1;
  bool closed_ = false;
};

}  // namespace wc::web

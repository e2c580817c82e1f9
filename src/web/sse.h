// Server-sent event streams of `GET /api/events` (control-interface.md 7.3, the page's live
// updates): the slot accounting that bounds how many streams are served at once, and the
// cursor of one stream that turns the event log, the lattice state and the invocation metrics
// into `event: log|state|metrics` messages. Owned by the Dashboard (src/web).
//
// Thread-safety: StreamSlots locks internally (HTTP workers take and free slots concurrently).
// An EventStream belongs to the one HTTP worker serving its stream; it reads the EventLog,
// LatticeState and InvocationMetrics, which lock internally.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "web/event_log.h"
#include "web/state.h"

namespace wc::web {

/// Counts the event streams being served: at most `max_total` at once and at most
/// `max_per_client` per client address (DashboardConfig::max_streams /
/// max_streams_per_client; a browser opens one per tab).
class StreamSlots {
 public:
  /// One stream's slot; destroying it (the last copy of the shared_ptr) frees it.
  class Slot {
   public:
    Slot(StreamSlots* owner, std::string client) : owner_(owner), client_(std::move(client)) {}
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;
    ~Slot() { owner_->release(client_); }

   private:
    StreamSlots* owner_;
    std::string client_;
  };

  /// Limits as above; `max_total` is used as given (the Dashboard clamps it to its workers).
  StreamSlots(std::size_t max_total, std::size_t max_per_client)
      : max_total_(max_total), max_per_client_(max_per_client) {}

  /// A slot for `client` (its address), or null when the total or the client's limit is
  /// reached or close() was called. The StreamSlots must outlive every slot.
  std::shared_ptr<Slot> take(const std::string& client);
  /// Refuses every further take() (dashboard stopping); slots held stay valid.
  void close();
  /// Slots held now, in total and by `client`.
  std::size_t in_use() const;
  std::size_t in_use(const std::string& client) const;

 private:
  void release(const std::string& client);

  mutable std::mutex mu_;
  const std::size_t max_total_;
  const std::size_t max_per_client_;
  std::size_t total_ = 0;
  std::map<std::string, std::size_t> by_client_;
  bool closed_ = false;
};

/// The cursor of one event stream. Its first message batch is the whole log (each entry marked
/// `"history": true`: the page lists it but raises no notice for it, issue #17.3), then `state`
/// and `metrics`; after that, new log entries, `state` when the state's version changed, and
/// `metrics` when they changed (at most once a second) or every 5 s. An idle stream sends a
/// `: ping` comment every `ping` (writing is the only way to notice a client that went away).
class EventStream {
 public:
  /// `state_json` builds the `state` message (the snapshot plus the hot-reload watches).
  /// All references must outlive the stream.
  EventStream(EventLog& log, const LatticeState& state, const InvocationMetrics& metrics,
              std::function<nlohmann::json()> state_json,
              std::chrono::milliseconds ping = std::chrono::seconds(5));

  /// The next text to write: after the first call, waits up to 500 ms for a new log entry or
  /// state change first. "" = nothing to write now (call again); nullopt = the log was closed
  /// (end the stream).
  std::optional<std::string> next();

 private:
  EventLog& log_;
  const LatticeState& state_;
  const InvocationMetrics& metrics_;
  std::function<nlohmann::json()> state_json_;
  std::chrono::milliseconds ping_;
  std::uint64_t log_seq_ = 0;
  std::uint64_t state_version_ = 0;
  std::uint64_t metrics_version_ = 0;
  std::chrono::steady_clock::time_point metrics_sent_{};
  std::chrono::steady_clock::time_point last_write_ = std::chrono::steady_clock::now();
  bool first_ = true;
};

}  // namespace wc::web

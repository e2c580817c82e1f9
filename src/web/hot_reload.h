// The UI's hot-reload watcher (control-interface.md 7.2 "From File (Hot Reload)"): files
// started with POST /api/actors/hotreload are polled, and every settled change with new bytes
// is sent to the host as cmd.{host}.upd with the file:// reference; outcomes go to the event
// log. Owned by the Dashboard (src/web).
//
// Threads: one polling thread (start() .. join()). Thread-safety: watch(), unwatch() and
// to_json() may be called from any thread (HTTP workers); one mutex guards the watch table,
// and is not held while a file is read or an update is sent.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "lattice/ctl_client.h"
#include "web/event_log.h"
#include "web/requests.h"
#include "web/state.h"

namespace wc::web {

/// Modification time (ns) and size of a file; {0, -1} when it cannot be stat'ed.
struct FileStamp {
  std::int64_t mtime_ns = 0;
  std::int64_t size = -1;
  bool operator==(const FileStamp&) const = default;
};

/// The stamp of `path` now.
FileStamp stamp_of(const std::string& path);

/// Polls watched files and updates their actors (see the file comment).
class HotReloadWatcher {
 public:
  /// Sends one control request (cmd.{host}.upd) and returns the host's acknowledgement.
  using SendUpdate = std::function<Result<lattice::CtlAck>(const CtlRequest&)>;

  /// `state` learns the new revision of an updated actor; `log` receives every outcome.
  HotReloadWatcher(SendUpdate send_update, LatticeState& state, EventLog& log,
                   std::chrono::milliseconds interval);
  /// Stops and joins the thread.
  ~HotReloadWatcher();
  HotReloadWatcher(const HotReloadWatcher&) = delete;
  HotReloadWatcher& operator=(const HotReloadWatcher&) = delete;

  /// Starts the polling thread (one poll() every interval).
  void start();
  /// Asks the thread to end (returns at once; a poll in progress finishes first).
  void request_stop();
  /// request_stop(), then waits for the thread (idempotent).
  void join();

  /// Watches `path` (replacing an earlier watch of it): the actor `actor_id` runs `count`
  /// instances from it on `host_id`; `sha256_hex` is the hash of the bytes just started.
  void watch(const std::string& path, const std::string& host_id, const std::string& actor_id,
             int count, const std::string& sha256_hex);
  /// Stops watching `path`; false when it was not watched.
  bool unwatch(const std::string& path);
  /// `[{"path","host_id","actor_id","count","last_error"}]`, ordered by path.
  nlohmann::json to_json() const;

  /// One pass over every watch (what the thread runs each interval). A change is acted on once
  /// the file's stamp stayed the same for one poll (debounce), and only when the bytes differ
  /// from the last version sent. Public for tests.
  void poll();

 private:
  struct Watch {
    std::string path;
    std::string host_id;
    std::string actor_id;
    int count = 1;
    FileStamp stamp;
    std::string hash;  // sha256 hex of the last bytes sent
    FileStamp pending;
    std::string last_error;
  };
  void check(Watch& w);
  void loop();

  SendUpdate send_update_;
  LatticeState& state_;
  EventLog& log_;
  const std::chrono::milliseconds interval_;

  mutable std::mutex mu_;  // watches_, stopping_
  std::condition_variable cv_;
  std::map<std::string, Watch> watches_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace wc::web

// The hot-reload watcher (see hot_reload.h).
#include "web/hot_reload.h"

#include <sys/stat.h>

#include <vector>

#include "common/encoding.h"
#include "wascap/claims.h"
#include "wascap/jwt.h"
#include "web/messages.h"

namespace wc::web {

using nlohmann::json;

FileStamp stamp_of(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return {};
  return {static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec,
          static_cast<std::int64_t>(st.st_size)};
}

HotReloadWatcher::HotReloadWatcher(SendUpdate send_update, LatticeState& state, EventLog& log,
                                   std::chrono::milliseconds interval)
    : send_update_(std::move(send_update)), state_(state), log_(log), interval_(interval) {}

HotReloadWatcher::~HotReloadWatcher() { join(); }

void HotReloadWatcher::start() {
  thread_ = std::thread([this] { loop(); });
}

void HotReloadWatcher::request_stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
}

void HotReloadWatcher::join() {
  request_stop();
  if (thread_.joinable()) thread_.join();
}

void HotReloadWatcher::watch(const std::string& path, const std::string& host_id,
                             const std::string& actor_id, int count,
                             const std::string& sha256_hex) {
  Watch w;
  w.path = path;
  w.host_id = host_id;
  w.actor_id = actor_id;
  w.count = count;
  w.stamp = w.pending = stamp_of(path);
  w.hash = sha256_hex;
  std::lock_guard lock(mu_);
  watches_[path] = w;
}

bool HotReloadWatcher::unwatch(const std::string& path) {
  std::lock_guard lock(mu_);
  return watches_.erase(path) != 0;
}

json HotReloadWatcher::to_json() const {
  json w = json::array();
  std::lock_guard lock(mu_);
  for (const auto& [p, x] : watches_)
    w.push_back({{"path", p},
                 {"host_id", x.host_id},
                 {"actor_id", x.actor_id},
                 {"count", x.count},
                 {"last_error", x.last_error}});
  return w;
}

void HotReloadWatcher::loop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    cv_.wait_for(lock, interval_, [this] { return stopping_; });
    if (stopping_) break;
    lock.unlock();
    poll();
    lock.lock();
  }
}

void HotReloadWatcher::poll() {
  std::vector<Watch> snapshot;
  {
    std::lock_guard lock(mu_);
    for (const auto& [p, w] : watches_) snapshot.push_back(w);
  }
  for (auto& w : snapshot) check(w);
  std::lock_guard lock(mu_);
  for (auto& w : snapshot)
    if (auto it = watches_.find(w.path); it != watches_.end()) {
      it->second.stamp = w.stamp;
      it->second.pending = w.pending;
      it->second.hash = w.hash;
      it->second.last_error = w.last_error;
    }
}

void HotReloadWatcher::check(Watch& w) {
  FileStamp now = stamp_of(w.path);
  if (now == w.stamp) return;
  if (!(now == w.pending)) {
    w.pending = now;
    return;
  }
  w.stamp = now;
  auto bytes = read_file(w.path);
  if (!bytes) {
    w.last_error = bytes.error().message;
    log_.record("hot_reload", "error", "Hot reload of " + w.path + " failed: " + w.last_error);
    return;
  }
  auto hash = hex_lower(sha256(*bytes));
  if (hash == w.hash) return;
  w.hash = hash;
  auto ref = "file://" + w.path;
  auto mc = wascap::extract_claims(*bytes, wascap::now_seconds());
  if (!mc) {
    w.last_error = std::string(messages::kClaimsRefusedPrefix) + mc.error().message;
    log_.record("hot_reload", "error", "Hot reload of " + w.path + " failed: " + w.last_error);
    return;
  }
  auto ack = send_update_(update_request(w.host_id, w.actor_id, ref));
  if (!ack || !ack->accepted) {
    w.last_error = !ack ? (ack.error().code == Code::kUnavailable
                               ? std::string(messages::kNoRespondersActorStart)
                               : ack.error().message)
                        : ack->error;
    log_.record("hot_reload", "error", "Hot reload of " + w.path + " failed: " + w.last_error,
                json{{"path", w.path}, {"host_id", w.host_id}});
    return;
  }
  w.last_error.clear();
  auto rev = wascap::effective_revision(mc->claims);
  state_.remember_actor(ref, mc->claims.sub, mc->claims.name.value_or(""), rev);
  log_.record("hot_reload", "info",
              "Hot reload: " + w.path + " updated to revision " + std::to_string(rev),
              json{{"path", w.path},
                   {"host_id", w.host_id},
                   {"actor_id", mc->claims.sub},
                   {"revision", rev}});
}

}  // namespace wc::web

// Event-stream slots and cursors (see sse.h).
#include "web/sse.h"

#include "wascap/claims.h"

namespace wc::web {

std::shared_ptr<StreamSlots::Slot> StreamSlots::take(const std::string& client) {
  std::lock_guard lock(mu_);
  if (closed_ || total_ >= max_total_) return nullptr;
  auto it = by_client_.find(client);
  const std::size_t mine = it == by_client_.end() ? 0 : it->second;
  if (mine >= max_per_client_) return nullptr;
  ++total_;
  by_client_[client] = mine + 1;
  return std::make_shared<Slot>(this, client);
}

void StreamSlots::release(const std::string& client) {
  std::lock_guard lock(mu_);
  --total_;
  if (auto it = by_client_.find(client); it != by_client_.end() && --it->second == 0)
    by_client_.erase(it);
}

void StreamSlots::close() {
  std::lock_guard lock(mu_);
  closed_ = true;
}

std::size_t StreamSlots::in_use() const {
  std::lock_guard lock(mu_);
  return total_;
}

std::size_t StreamSlots::in_use(const std::string& client) const {
  std::lock_guard lock(mu_);
  auto it = by_client_.find(client);
  return it == by_client_.end() ? 0 : it->second;
}

EventStream::EventStream(EventLog& log, const LatticeState& state, const InvocationMetrics& metrics,
                         std::function<nlohmann::json()> state_json, std::chrono::milliseconds ping)
    : log_(log),
      state_(state),
      metrics_(metrics),
      state_json_(std::move(state_json)),
      ping_(ping) {}

std::optional<std::string> EventStream::next() {
  std::string out;
  if (!first_) {
    if (!log_.wait(log_seq_, std::chrono::milliseconds(500),
                   [this] { return state_.version() != state_version_; }))
      return std::nullopt;
  } else if (log_.closed()) {
    return std::nullopt;
  }
  for (const auto& e : log_.after(log_seq_)) {
    nlohmann::json j = e.to_json();
    if (first_) j["history"] = true;
    out += "event: log\ndata: " + j.dump() + "\n\n";
    log_seq_ = e.seq;
  }
  const auto now = std::chrono::steady_clock::now();
  if (auto v = state_.version(); v != state_version_ || first_) {
    state_version_ = v;
    out += "event: state\ndata: " + state_json_().dump() + "\n\n";
  }
  if (auto v = metrics_.version();
      first_ || (v != metrics_version_ && now - metrics_sent_ >= std::chrono::milliseconds(1000)) ||
      now - metrics_sent_ >= std::chrono::seconds(5)) {
    metrics_version_ = v;
    metrics_sent_ = now;
    out += "event: metrics\ndata: " + metrics_.snapshot(wascap::now_seconds()).dump() + "\n\n";
  }
  if (out.empty() && now - last_write_ >= ping_) out = ": ping\n\n";
  first_ = false;
  if (!out.empty()) last_write_ = now;
  return out;
}

}  // namespace wc::web

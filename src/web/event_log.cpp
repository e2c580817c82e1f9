// The dashboard's live event log (see event_log.h).
#include "web/event_log.h"

#include "lattice/cloudevent.h"

namespace wc::web {

using nlohmann::json;

void EventLog::append(LogEntry entry) {
  {
    std::lock_guard lock(mu_);
    entry.seq = next_seq_++;
    entries_.push_back(std::move(entry));
    if (entries_.size() > kCapacity) entries_.pop_front();
  }
  cv_.notify_all();
}

void EventLog::record(std::string type, std::string level, std::string summary, json data) {
  LogEntry e;
  e.time = lattice::rfc3339_micros(std::chrono::system_clock::now());
  e.type = std::move(type);
  e.source = "dashboard";
  e.level = std::move(level);
  e.summary = cap_texts(json(std::move(summary))).get<std::string>();
  e.data = cap_texts(data);
  append(std::move(e));
}

std::vector<LogEntry> EventLog::after(std::uint64_t seq) const {
  std::lock_guard lock(mu_);
  std::vector<LogEntry> out;
  for (const auto& e : entries_)
    if (e.seq > seq) out.push_back(e);
  return out;
}

json EventLog::to_json() const {
  json entries = json::array();
  {
    std::lock_guard lock(mu_);
    for (const auto& e : entries_) entries.push_back(e.to_json());
  }
  return json{{"entries", entries}};
}

void EventLog::notify() { cv_.notify_all(); }

bool EventLog::wait(std::uint64_t seq, std::chrono::milliseconds timeout,
                    const std::function<bool()>& changed) {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, timeout, [&] {
    return closed_ || (!entries_.empty() && entries_.back().seq > seq) || changed();
  });
  return !closed_;
}

void EventLog::close() {
  {
    std::lock_guard lock(mu_);
    closed_ = true;
  }
  cv_.notify_all();
}

bool EventLog::closed() const {
  std::lock_guard lock(mu_);
  return closed_;
}

}  // namespace wc::web

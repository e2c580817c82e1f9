// In-memory fakes of the host components' seams (src/host/bus.h) for fast unit tests: a Bus that
// records what was published and answers requests through a per-test function, a PayloadStore
// over a map, and an event recorder. Thread-safe (one mutex each), so tests may use threads.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "host/bus.h"
#include "wasm/engine.h"

namespace wc::host::testing {

/// One publish or request seen by a FakeBus.
struct Sent {
  std::string subject;
  Bytes data;
  lattice::Headers headers;
  std::string text() const { return std::string(data.begin(), data.end()); }
};

/// A Bus that records publishes and requests; requests are answered by `responder` (default:
/// kUnavailable, "no responders").
class FakeBus final : public Bus {
 public:
  using Responder = std::function<Result<Bytes>(const Sent& request)>;

  Status publish(std::string_view subject, std::span<const std::uint8_t> data,
                 const lattice::Headers& headers = {}) override {
    std::lock_guard lock(mu_);
    published_.push_back(Sent{std::string(subject), Bytes(data.begin(), data.end()), headers});
    return ok();
  }
  Result<Bytes> request(std::string_view subject, std::span<const std::uint8_t> data,
                        std::chrono::milliseconds /*timeout*/,
                        const lattice::Headers& headers = {}) override {
    Sent s{std::string(subject), Bytes(data.begin(), data.end()), headers};
    Responder r;
    {
      std::lock_guard lock(mu_);
      requests_.push_back(s);
      r = responder_;
    }
    if (!r) return fail(Code::kUnavailable, "no responders");
    return r(s);
  }
  Result<lattice::Subscription> subscribe(std::string_view subject,
                                          lattice::MessageHandler /*handler*/) override {
    std::lock_guard lock(mu_);
    subscribed_.emplace_back(subject);
    return lattice::Subscription{};
  }
  Result<lattice::Subscription> queue_subscribe(std::string_view subject, std::string_view queue,
                                                lattice::MessageHandler /*handler*/) override {
    std::lock_guard lock(mu_);
    subscribed_.push_back(std::string(subject) + " queue=" + std::string(queue));
    return lattice::Subscription{};
  }
  Status flush(std::chrono::milliseconds /*timeout*/) override { return ok(); }
  std::string new_inbox() override { return "_INBOX.fake." + std::to_string(++inboxes_); }
  std::size_t known_servers() const override { return servers; }

  void respond_with(Responder r) {
    std::lock_guard lock(mu_);
    responder_ = std::move(r);
  }
  std::vector<Sent> published() const {
    std::lock_guard lock(mu_);
    return published_;
  }
  std::vector<Sent> requests() const {
    std::lock_guard lock(mu_);
    return requests_;
  }
  std::vector<std::string> subscribed() const {
    std::lock_guard lock(mu_);
    return subscribed_;
  }
  void clear() {
    std::lock_guard lock(mu_);
    published_.clear();
    requests_.clear();
  }

  std::size_t servers = 1;  ///< known_servers()

 private:
  mutable std::mutex mu_;
  Responder responder_;
  std::vector<Sent> published_, requests_;
  std::vector<std::string> subscribed_;
  int inboxes_ = 0;
};

/// Bytes of a text.
inline Bytes bytes_of(std::string_view text) { return Bytes(text.begin(), text.end()); }

/// A PayloadStore over a map; `fail_puts` makes put() fail.
class FakePayloadStore final : public PayloadStore {
 public:
  Status put(std::string_view name, std::span<const std::uint8_t> data) override {
    std::lock_guard lock(mu_);
    if (fail_puts) return fail(Code::kUnavailable, "chunk write failed: " + std::string(name));
    objects[std::string(name)] = Bytes(data.begin(), data.end());
    return ok();
  }
  Result<Bytes> take(std::string_view name) override {
    std::lock_guard lock(mu_);
    auto it = objects.find(std::string(name));
    if (it == objects.end())
      return fail(Code::kNotFound, "chunk read failed: " + std::string(name) + ": not found");
    Bytes b = std::move(it->second);
    objects.erase(it);
    return b;
  }
  std::map<std::string, Bytes> objects;
  bool fail_puts = false;

 private:
  std::mutex mu_;
};

/// Records emitted events (type, data, linkdef_source).
struct EventLog {
  struct Event {
    std::string type;
    nlohmann::json data;
    bool linkdef_source = false;
  };
  EventEmitter emitter() {
    return [this](std::string_view type, const nlohmann::json& data, bool linkdef_source) {
      std::lock_guard lock(mu);
      events.push_back(Event{std::string(type), data, linkdef_source});
    };
  }
  std::vector<Event> of(std::string_view type) const {
    std::lock_guard lock(mu);
    std::vector<Event> out;
    for (const auto& e : events)
      if (e.type == type) out.push_back(e);
    return out;
  }
  mutable std::mutex mu;
  std::vector<Event> events;
};

/// A guest that records what it ran and answers with `response` (or `error`), optionally making
/// one host call first whose result (or error text) it returns.
class FakeModule final : public wasm::Module {
 public:
  Result<wasm::InvokeOutput> invoke(std::string_view operation,
                                    std::span<const std::uint8_t> payload,
                                    const wasm::HostCallHandler& host_call,
                                    const wasm::LogHandler& /*log*/ = {}) override {
    ++calls;
    last_operation = std::string(operation);
    last_payload = Bytes(payload.begin(), payload.end());
    if (call_ns) {
      wasm::HostCall c{"default", *call_ns, call_operation, call_payload};
      auto r = host_call(c);
      host_result = r ? Result<Bytes>(*r) : Result<Bytes>(fail(r.error()));
    }
    if (error) return fail(Code::kActorError, *error);
    return wasm::InvokeOutput{response, wasm::Tier::kInterpreter};
  }
  wasm::Tier current_tier() const override { return wasm::Tier::kInterpreter; }
  bool wait_native(std::chrono::milliseconds) override { return false; }
  const std::string& sha256_hex() const override { return hash_; }

  int calls = 0;
  std::string last_operation;
  Bytes last_payload;
  Bytes response = bytes_of("pong");
  std::optional<std::string> error;
  std::optional<std::string> call_ns;
  std::string call_operation = "KeyValue.Get";
  Bytes call_payload = bytes_of("key");
  std::optional<Result<Bytes>> host_result;

 private:
  std::string hash_ = "00";
};

}  // namespace wc::host::testing

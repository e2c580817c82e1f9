// The narrow seams between the host's components and the outside world: a NATS bus (publish,
// request, subscribe) and a chunked-payload store (actor-rpc-providers.md 3.6). Components
// (MetadataCache, RpcDispatcher, ...) take these interfaces, not lattice::Connection, so that
// their unit tests run against in-memory fakes (tests/host/fakes.h).
//
// Owned by src/host. The adapters hold a non-owning pointer to their Connection / store, which
// must outlive them. Thread-safety: the adapters are as thread-safe as what they wrap (libnats
// connections and LazyObjectStore are); fakes used by tests must be too when a test uses
// threads.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "common/encoding.h"
#include "common/error.h"
#include "lattice/nats.h"
#include "lattice/objstore.h"

namespace wc::host {

/// What a component needs from one NATS connection.
class Bus {
 public:
  virtual ~Bus() = default;
  /// Publishes `data` on `subject` (fire and forget). Errors as lattice::Connection::publish.
  virtual Status publish(std::string_view subject, std::span<const std::uint8_t> data,
                         const lattice::Headers& headers = {}) = 0;
  /// Sends a request and returns the first reply's payload. Errors: kDeadlineExceeded (no reply
  /// within `timeout`), kUnavailable (no responders, disconnected).
  virtual Result<Bytes> request(std::string_view subject, std::span<const std::uint8_t> data,
                                std::chrono::milliseconds timeout,
                                const lattice::Headers& headers = {}) = 0;
  /// Subscribes `handler` (runs on a libnats delivery thread; see lattice/nats.h). A fake may
  /// return an invalid (default) Subscription.
  virtual Result<lattice::Subscription> subscribe(std::string_view subject,
                                                  lattice::MessageHandler handler) = 0;
  /// Subscribes `handler` as a member of queue group `queue` (each message goes to one member).
  virtual Result<lattice::Subscription> queue_subscribe(std::string_view subject,
                                                        std::string_view queue,
                                                        lattice::MessageHandler handler) = 0;
  /// Round trip to the server (everything published before was processed). kDeadlineExceeded
  /// after `timeout`.
  virtual Status flush(std::chrono::milliseconds timeout) = 0;
  /// A fresh unique inbox subject.
  virtual std::string new_inbox() = 0;
  /// Servers in the connection's pool (configured plus discovered), at least 1 for a fake.
  virtual std::size_t known_servers() const = 0;

  /// Text convenience over publish().
  Status publish_text(std::string_view subject, std::string_view text,
                      const lattice::Headers& headers = {}) {
    return publish(subject, as_bytes(text), headers);
  }
  /// Text convenience over request().
  Result<Bytes> request_text(std::string_view subject, std::string_view text,
                             std::chrono::milliseconds timeout,
                             const lattice::Headers& headers = {}) {
    return request(subject, as_bytes(text), timeout, headers);
  }
  /// The bytes of `text` (no copy).
  static std::span<const std::uint8_t> as_bytes(std::string_view text) {
    return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
  }
};

/// Bus over a real lattice::Connection (not owned; must outlive the adapter).
class ConnectionBus final : public Bus {
 public:
  explicit ConnectionBus(lattice::Connection& nc) : nc_(&nc) {}
  Status publish(std::string_view subject, std::span<const std::uint8_t> data,
                 const lattice::Headers& headers = {}) override;
  Result<Bytes> request(std::string_view subject, std::span<const std::uint8_t> data,
                        std::chrono::milliseconds timeout,
                        const lattice::Headers& headers = {}) override;
  Result<lattice::Subscription> subscribe(std::string_view subject,
                                          lattice::MessageHandler handler) override;
  Result<lattice::Subscription> queue_subscribe(std::string_view subject, std::string_view queue,
                                                lattice::MessageHandler handler) override;
  Status flush(std::chrono::milliseconds timeout) override;
  std::string new_inbox() override;
  std::size_t known_servers() const override;

 private:
  lattice::Connection* nc_;
};

/// Where chunked payloads live (actor-rpc-providers.md 3.6): the `OBJ_{lattice}` object store.
class PayloadStore {
 public:
  virtual ~PayloadStore() = default;
  /// Stores `data` under `name`. Errors: lattice::LazyObjectStore::put's.
  virtual Status put(std::string_view name, std::span<const std::uint8_t> data) = 0;
  /// Reads and deletes `name`. Errors: lattice::LazyObjectStore::take's.
  virtual Result<Bytes> take(std::string_view name) = 0;
};

/// PayloadStore over a lattice::LazyObjectStore (not owned).
class ObjectPayloadStore final : public PayloadStore {
 public:
  explicit ObjectPayloadStore(lattice::LazyObjectStore& store) : store_(&store) {}
  Status put(std::string_view name, std::span<const std::uint8_t> data) override {
    return store_->put(name, data);
  }
  Result<Bytes> take(std::string_view name) override { return store_->take(name); }

 private:
  lattice::LazyObjectStore* store_;
};

/// Publishes a lattice event (CloudEvent type, data) on the control connection; the component
/// does not know the envelope. `linkdef_source` = source "n/a" (control-interface 4.4.20).
using EventEmitter =
    std::function<void(std::string_view type, const nlohmann::json& data, bool linkdef_source)>;

/// Hands a task to a worker pool (e.g. the control pool); false when the pool is shut down.
using Poster = std::function<bool(std::function<void()>)>;

}  // namespace wc::host

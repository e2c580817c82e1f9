// wc::metrics: the host's Prometheus metrics and the HTTP endpoint that serves them.
//
// Owned by src/metrics (dependency direction: host -> metrics -> common; prometheus-cpp stays
// private to this library). A Metrics object owns one registry with these families (names and
// labels are a public interface, see docs/ARCHITECTURE.md "Observability"):
//   wasmcloud_host_info{host_id,lattice,version}              gauge, always 1
//   wasmcloud_invocations_total{actor,outcome}                counter; outcome = ok | error
//   wasmcloud_invocation_duration_seconds{actor}              histogram, receipt to reply
//   wasmcloud_actor_instances{actor}                          gauge, running instances
//   wasmcloud_nats_reconnects_total{connection}               counter; connection = ctl | rpc
//   wasmcloud_native_compile_seconds{outcome}                 histogram; outcome = ok | error
// `actor` is the actor's public key ("M..."). Series appear on first use.
//
// Hot path: Metrics::actor() resolves an actor's series once (a map lookup under a mutex);
// the returned ActorMetrics is a stable handle whose methods are lock-free atomic counter
// updates plus prometheus-cpp's per-histogram mutex, so callers cache the handle (e.g. in the
// host's actor entry) and never look it up per invocation.
//
// Thread-safety: every method of Metrics, ActorMetrics and Server is thread-safe. Lifetime:
// ActorMetrics handles live as long as their Metrics; a Server must be destroyed before the
// Metrics it serves.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "common/error.h"

namespace prometheus {
class Counter;
class Gauge;
class Histogram;
}  // namespace prometheus

namespace wc::metrics {

/// The cached series of one actor (see the file comment). Obtained from Metrics::actor().
class ActorMetrics {
 public:
  /// Counts one invocation handled by the actor: outcome ok (`ok`) or error, and observes its
  /// duration from receipt to reply in the duration histogram.
  void invocation(bool ok, std::chrono::duration<double> elapsed);
  /// Sets the number of running instances of the actor on this host.
  void set_instances(std::size_t count);

 private:
  friend class Metrics;
  ActorMetrics() = default;
  prometheus::Counter* ok_ = nullptr;
  prometheus::Counter* error_ = nullptr;
  prometheus::Histogram* duration_ = nullptr;
  prometheus::Gauge* instances_ = nullptr;
};

/// Which NATS connection of the host a reconnect belongs to.
enum class NatsConnection { kCtl, kRpc };

/// The registry and the host-level series. Not copyable.
class Metrics {
 public:
  Metrics();
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  /// Publishes wasmcloud_host_info{host_id,lattice,version} = 1 (call once at start).
  void set_host_info(std::string_view host_id, std::string_view lattice, std::string_view version);
  /// The series of actor `actor_key`, created (at zero) on first call; the same handle on every
  /// later call. The reference stays valid for the lifetime of this Metrics.
  ActorMetrics& actor(std::string_view actor_key);
  /// Counts one reconnect of the host's `connection` to NATS.
  void nats_reconnect(NatsConnection connection);
  /// Observes one native-tier compile (wasm2c + C compiler, or a cache load) of `elapsed` wall
  /// time; `ok` = native code is in use afterwards.
  void native_compile(std::chrono::duration<double> elapsed, bool ok);

  /// Every series in the Prometheus text exposition format 0.0.4 (what GET /metrics returns).
  [[nodiscard]] std::string text() const;

  struct Impl;

 private:
  friend class Server;
  std::unique_ptr<Impl> impl_;
};

/// An HTTP server answering `GET /metrics` with Metrics::text() (prometheus-cpp's civetweb
/// exposer, two worker threads). Stops listening when destroyed.
class Server {
 public:
  /// Listens on `address`:`port` (e.g. "127.0.0.1", 9090; IPv6 addresses without brackets).
  /// Errors: kInvalidArgument (port outside 1..65535), kUnavailable (cannot bind: port in use,
  /// bad address).
  static Result<std::unique_ptr<Server>> start(Metrics& metrics, const std::string& address,
                                               int port);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  /// The port listened on.
  [[nodiscard]] int port() const { return port_; }

  struct Impl;

 private:
  Server(std::unique_ptr<Impl> impl, int port);
  std::unique_ptr<Impl> impl_;
  int port_;
};

}  // namespace wc::metrics

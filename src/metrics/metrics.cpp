// Prometheus registry and exposer for the host (see metrics.h).
#include "metrics/metrics.h"

#include <prometheus/counter.h>
#include <prometheus/exposer.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <sys/socket.h>

#include <exception>
#include <map>
#include <mutex>
#include <sstream>

namespace wc::metrics {
namespace {

/// Invocation latency buckets (seconds): 0.5 ms .. 10 s. An echo round trip is ~0.1-1 ms; the
/// default invocation deadline is 5 s.
const prometheus::Histogram::BucketBoundaries& invocation_buckets() {
  static const prometheus::Histogram::BucketBoundaries b{
      0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  return b;
}

/// Native compile buckets (seconds): cache loads take milliseconds, wasm2c + cc of an actor
/// seconds to minutes (the compile timeout defaults to 600 s).
const prometheus::Histogram::BucketBoundaries& compile_buckets() {
  static const prometheus::Histogram::BucketBoundaries b{0.01, 0.05, 0.1, 0.5, 1,   2.5,
                                                         5,    10,   30,  60,  120, 300};
  return b;
}

}  // namespace

struct Metrics::Impl {
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  prometheus::Family<prometheus::Gauge>& host_info =
      prometheus::BuildGauge()
          .Name("wasmcloud_host_info")
          .Help("Identity of this wasmCloud host (always 1)")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& invocations =
      prometheus::BuildCounter()
          .Name("wasmcloud_invocations_total")
          .Help("Invocations handled by actors on this host, by actor public key and outcome")
          .Register(*registry);
  prometheus::Family<prometheus::Histogram>& duration =
      prometheus::BuildHistogram()
          .Name("wasmcloud_invocation_duration_seconds")
          .Help("Time from receipt of an invocation to its reply, by actor public key")
          .Register(*registry);
  prometheus::Family<prometheus::Gauge>& instances =
      prometheus::BuildGauge()
          .Name("wasmcloud_actor_instances")
          .Help("Running instances per actor public key")
          .Register(*registry);
  prometheus::Family<prometheus::Counter>& reconnects =
      prometheus::BuildCounter()
          .Name("wasmcloud_nats_reconnects_total")
          .Help("Reconnections of the host's NATS connections (ctl, rpc)")
          .Register(*registry);
  prometheus::Family<prometheus::Histogram>& compile =
      prometheus::BuildHistogram()
          .Name("wasmcloud_native_compile_seconds")
          .Help("Wall time of native-tier compiles (wasm2c + C compiler, or cache load)")
          .Register(*registry);
  prometheus::Counter& reconnect_ctl = reconnects.Add({{"connection", "ctl"}});
  prometheus::Counter& reconnect_rpc = reconnects.Add({{"connection", "rpc"}});

  std::mutex mu;  // guards actors (entries are never erased: handles stay valid)
  std::map<std::string, std::unique_ptr<ActorMetrics>, std::less<>> actors;
};

void ActorMetrics::invocation(bool ok, std::chrono::duration<double> elapsed) {
  (ok ? ok_ : error_)->Increment();
  duration_->Observe(elapsed.count());
}

void ActorMetrics::set_instances(std::size_t count) { instances_->Set(static_cast<double>(count)); }

Metrics::Metrics() : impl_(std::make_unique<Impl>()) {}
Metrics::~Metrics() = default;

void Metrics::set_host_info(std::string_view host_id, std::string_view lattice,
                            std::string_view version) {
  impl_->host_info
      .Add({{"host_id", std::string(host_id)},
            {"lattice", std::string(lattice)},
            {"version", std::string(version)}})
      .Set(1);
}

ActorMetrics& Metrics::actor(std::string_view actor_key) {
  std::lock_guard lock(impl_->mu);
  auto it = impl_->actors.find(actor_key);
  if (it != impl_->actors.end()) return *it->second;
  const std::string key(actor_key);
  std::unique_ptr<ActorMetrics> m(new ActorMetrics());
  m->ok_ = &impl_->invocations.Add({{"actor", key}, {"outcome", "ok"}});
  m->error_ = &impl_->invocations.Add({{"actor", key}, {"outcome", "error"}});
  m->duration_ = &impl_->duration.Add({{"actor", key}}, invocation_buckets());
  m->instances_ = &impl_->instances.Add({{"actor", key}});
  return *impl_->actors.emplace(key, std::move(m)).first->second;
}

void Metrics::nats_reconnect(NatsConnection connection) {
  (connection == NatsConnection::kCtl ? impl_->reconnect_ctl : impl_->reconnect_rpc).Increment();
}

void Metrics::native_compile(std::chrono::duration<double> elapsed, bool ok) {
  // Family::Add returns the existing series for known labels.
  impl_->compile.Add({{"outcome", ok ? "ok" : "error"}}, compile_buckets())
      .Observe(elapsed.count());
}

std::string Metrics::text() const {
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, impl_->registry->Collect());
  return out.str();
}

struct Server::Impl {
  std::shared_ptr<prometheus::Registry> registry;  // keeps the weak_ptr the exposer holds alive
  std::unique_ptr<prometheus::Exposer> exposer;
};

Server::Server(std::unique_ptr<Impl> impl, int port) : impl_(std::move(impl)), port_(port) {}
Server::~Server() = default;

Result<std::unique_ptr<Server>> Server::start(Metrics& metrics, const std::string& address,
                                              int port) {
  if (port < 1 || port > 65535)
    return fail(Code::kInvalidArgument,
                "metrics port must be 1..65535, got " + std::to_string(port));
  const bool v6 = address.find(':') != std::string::npos;
  const std::string bind = (v6 ? "[" + address + "]" : address) + ":" + std::to_string(port);
  auto impl = std::make_unique<Impl>();
  impl->registry = metrics.impl_->registry;
  try {
    // civetweb's listen backlog defaults to 200; a scrape burst beyond it would see dropped
    // SYNs (retried after 1 s), so the exposer listens with SOMAXCONN like the other servers.
    impl->exposer = std::make_unique<prometheus::Exposer>(std::vector<std::string>{
        "listening_ports", bind, "num_threads", "2", "listen_backlog", std::to_string(SOMAXCONN)});
    impl->exposer->RegisterCollectable(impl->registry);
  } catch (const std::exception& e) {
    return fail(Code::kUnavailable, "cannot serve metrics on " + bind + ": " + e.what());
  }
  return std::unique_ptr<Server>(new Server(std::move(impl), port));
}

}  // namespace wc::metrics

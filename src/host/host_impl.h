// Host::Impl: the private state and member functions of wc::host::Host (internal header of
// src/host; not installed, not included outside src/host). Each group of members is defined in
// the file named in its section comment:
//   host.cpp           Host::start/stop/accessors, facts, events, heartbeat, shutdown (6.3)
//   fetch.cpp          artifact fetching for actors and providers (3.1.1, claims-oci-par 4.1)
//   provider_glue.cpp  provider reference resolution, fetch, launch (3.6), builtin providers
//
// Components with their own header, created and wired in Host::start: MetadataCache
// (metadata_cache.h: bucket, links, claims, reference map, aliases), RpcDispatcher
// (rpc_dispatcher.h: invocation handling, authorization in authorization.h, host calls,
// builtins.h), ActorSupervisor (actor_supervisor.h: registry, reservations, lifecycle, RPC
// slots), ControlServer (control_server.h: subjects, handlers, acks, config service),
// ProviderSupervisor (providers.h), BuiltinHttpServer (builtin_http.h: the in-process
// wasmcloud:httpserver provider).
//
// Locking: Host::Impl itself only has `stop_mu` (stop flags). Component locks are taken in the
// order ActorSupervisor -> MetadataCache; ProviderSupervisor's and BuiltinHttpServer's are never
// taken with either held.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/encoding.h"
#include "common/error.h"
#include "common/thread_annotations.h"
#include "host/actor_supervisor.h"
#include "host/builtin_http.h"
#include "host/bus.h"
#include "host/config.h"
#include "host/control.h"
#include "host/control_server.h"
#include "host/control_v1.h"
#include "host/control_v1_links.h"
#include "host/executor.h"
#include "host/host.h"
#include "host/inventory.h"
#include "host/lattice_state.h"
#include "host/metadata_cache.h"
#include "host/policy.h"
#include "host/providers.h"
#include "host/rpc_dispatcher.h"
#include "host/rpc_events.h"
#include "host/util.h"
#include "lattice/kv.h"
#include "lattice/nats.h"
#include "lattice/objstore.h"
#include "metrics/metrics.h"
#include "oci/credentials.h"
#include "rpc/invocation.h"
#include "rpc/replay.h"
#include "wascap/claims.h"
#include "wasm/engine.h"

namespace wc::host {

/// True when `s` begins with `p`.
inline bool starts_with(std::string_view s, std::string_view p) {
  return s.substr(0, p.size()) == p;
}

struct Host::Impl {
  HostConfig cfg;
  HostIdentity id;
  std::string host_id, cluster_pk;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  /// The host's labels: cfg.labels at start, changed at runtime by v1 label.put / label.del
  /// (facts(), inventory, heartbeats and auctions read them here). A leaf lock.
  mutable Mutex labels_mu;
  StringMap labels GUARDED_BY(labels_mu);

  /// `ctl`: control interface, events (incl. rpc events), metadata, policy. `rpc`: actor RPC
  /// subscriptions and their replies, outbound host calls, provider traffic (issue #12.3).
  std::unique_ptr<lattice::Connection> ctl, rpc;
  /// The Bus seams (bus.h) over `ctl` and `rpc`, handed to the components.
  std::unique_ptr<ConnectionBus> ctl_bus, rpc_bus;
  /// Refuses replayed invocations (rpc/replay.h); null when cfg.invocation_replay_window_s = 0.
  std::unique_ptr<rpc::ReplayGuard> replay;
  /// Chunked payloads (3.6) on the RPC connection: bucket = lattice prefix, opened (and its
  /// stream created) on first use.
  std::unique_ptr<lattice::LazyObjectStore> objects;
  std::unique_ptr<Executor> ctl_pool, lifecycle_pool, rpc_pool;
  /// Prometheus series (src/metrics); declared before `engine`, whose compile thread reports
  /// to it until the engine is destroyed.
  metrics::Metrics metrics;
  std::shared_ptr<wasm::Engine> engine;
  oci::CredentialStore creds;
  std::unique_ptr<PolicyManager> policy;
  std::unique_ptr<ProviderSupervisor> providers;
  std::unique_ptr<metrics::Server> metrics_server;  // GET /metrics when cfg.metrics_port > 0

  /// The lattice metadata: bucket, watch, links, claims, reference map, aliases (its own lock,
  /// taken after the actor registry's, never before it).
  std::unique_ptr<MetadataCache> metadata;
  /// Chunked-payload store seam over `objects`.
  std::unique_ptr<ObjectPayloadStore> payloads;
  /// Invocation events, published off the invocation path (rpc_events.h).
  std::unique_ptr<RpcEventPublisher> rpc_events;
  /// Runs invocations and routes host calls; the single authorization point (rpc_dispatcher.h).
  std::unique_ptr<RpcDispatcher> dispatcher;
  /// The actor registry, reservations, lifecycle and RPC slots (actor_supervisor.h).
  std::unique_ptr<ActorSupervisor> actors;
  /// Control-interface subscriptions, handlers and acks (control_server.h).
  std::unique_ptr<ControlServer> control;
  /// v1 control interface: host-scoped requests and the v1 events (control_v1.h; #15).
  std::unique_ptr<V1ControlServer> v1_control;
  /// v1_control once it exists, for emit(): events flow from other threads (the metadata
  /// watch's link announcements on the control pool) before start() has made v1_control, so
  /// emit() reads this atomic, never the unique_ptr being assigned (a data race TSan found).
  std::atomic<V1ControlServer*> v1_events{nullptr};
  /// v1 link.* / config.* requests (control_v1_links.h; issue #15).
  std::unique_ptr<V1LinkService> v1_links;
  /// This host's part of KV wadm_state (lattice_state.h): its own writer thread.
  std::unique_ptr<LatticeStateWriter> lattice_state;
  /// The wadm_state bucket, opened by the writer thread on its first write and used only there.
  std::unique_ptr<lattice::KvStore> state_kv;
  /// The builtin wasmcloud:httpserver provider (builtin_http.h); declared last so that it is
  /// destroyed first (its requests use the dispatcher and the actor supervisor).
  std::unique_ptr<BuiltinHttpServer> builtin_http;

  // Stop handling: the maintenance thread sends heartbeats and performs requested stops.
  Mutex stop_mu;
  std::condition_variable stop_cv;  // waited on with stop_mu held
  bool stop_requested GUARDED_BY(stop_mu) = false;
  bool stopped GUARDED_BY(stop_mu) = false;
  std::atomic<bool> stopping{false};
  std::once_flag stop_once;
  std::thread maintenance;

  explicit Impl(HostConfig c, HostIdentity i) : cfg(std::move(c)), id(std::move(i)) {
    host_id = id.host_key.public_key();
    cluster_pk = id.cluster_key.public_key();
    if (cfg.friendly_name.empty()) cfg.friendly_name = wc::host::friendly_name();
    MutexLock lock(labels_mu);
    labels = cfg.labels;
  }
  std::string js_domain() const { return cfg.js_domain.value_or(""); }

  // ---------------------------------------------------------------- host.cpp
  HostFacts facts() const;
  /// The current labels (copy).
  StringMap current_labels() const;
  /// Applies `change` to the labels under labels_mu; returns the labels after it.
  StringMap update_labels(const std::function<void(StringMap&)>& change);
  std::vector<ActorInfo> snapshot() const;
  void emit(std::string_view type, const nlohmann::json& data, bool linkdef_source = false);
  std::vector<ProviderInfo> provider_snapshot() const;
  void heartbeat();
  void request_stop();
  void maintenance_loop();
  /// Shutdown of control-interface 6.3. Runs once.
  void do_stop();

  // ---------------------------------------------------------------- fetch.cpp
  /// Reference dispatch of control-interface 3.1.1 / claims-oci-par 4.1 for actors
  /// (provider = false) and provider archives (true): file:// (when allowed), bindle://
  /// refused, else an OCI pull with the host's registry settings; at most cfg.max_actor_size /
  /// cfg.max_provider_size bytes (oci::errors::artifact_too_large, before any download when
  /// the size is declared or the file's size is known).
  Result<Bytes> fetch_artifact(const std::string& ref, bool provider);

  // ---------------------------------------------------------------- provider_glue.cpp
  /// 2.3.6 resolution: a ref starting with 'V' is the key, else the reference map.
  std::optional<std::string> resolve_provider_key(const std::string& ref) const;
  Result<Bytes> fetch_provider(const std::string& ref);
  /// `lp` of a `builtin://` reference (builtin_http.h); failures publish provider_start_failed.
  void launch_builtin_provider(const StartProviderRequest& req);
  /// Start of 3.6.1; failures publish provider_start_failed (inspected error).
  void launch_provider(const StartProviderRequest& req);
  /// True when (provider key, link name) runs here, as a child process or the builtin HTTP
  /// server (both control interfaces ask this).
  bool provider_supervised(const std::string& key, const std::string& link) const;
  /// Stops (provider key, link name) here: the builtin HTTP server's link or the child process
  /// (3.6.3); blocks up to the provider shutdown timeout.
  void stop_provider(const std::string& key, const std::string& link);

  // ---------------------------------------------------------------- host.cpp (RPC glue)
  /// Publishes an invocation rpc event (control-interface 4.6) on the control connection.
  void emit_rpc_event(bool ok, const nlohmann::json& data);
};

}  // namespace wc::host

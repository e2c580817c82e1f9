// Host::Impl: the private state and member functions of wc::host::Host (internal header of
// src/host; not installed, not included outside src/host). Each group of members is defined in
// the file named in its section comment:
//   host.cpp           Host::start/stop/accessors, facts, events, heartbeat, shutdown (6.3)
//   ctl_handlers.cpp   control-interface subscriptions, handlers, config service (2, 2.7)
//   actors.cpp         actor fetch/start/scale/stop/launch/live update, claims cache (3.1-3.5)
//   provider_glue.cpp  provider reference resolution, fetch, launch (3.6)
//   rpc.cpp            RPC subscription handler, instance slots and pending queues, rpc events
//
// Components with their own header: MetadataCache (metadata_cache.h: bucket, links, claims,
// reference map, aliases), RpcDispatcher (rpc_dispatcher.h: invocation handling, authorization
// in authorization.h, host calls, builtins.h), ProviderSupervisor (providers.h).
//
// Locking: `mu` guards the actor registry (entries, instances, dispatch queues); it is taken
// before MetadataCache's lock, never after. It is not held while a NATS subscription is
// destroyed (its handler might wait for the lock) or while guest code, pulls or NATS requests
// run.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
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
#include "host/bus.h"
#include "host/config.h"
#include "host/control.h"
#include "host/executor.h"
#include "host/host.h"
#include "host/inventory.h"
#include "host/metadata_cache.h"
#include "host/policy.h"
#include "host/providers.h"
#include "host/rpc_dispatcher.h"
#include "host/util.h"
#include "lattice/nats.h"
#include "lattice/objstore.h"
#include "metrics/metrics.h"
#include "oci/credentials.h"
#include "rpc/invocation.h"
#include "rpc/replay.h"
#include "wascap/claims.h"
#include "wasm/engine.h"

namespace wc::host {

/// One actor public key on this host. Guarded by Host::Impl::mu.
struct ActorEntry {
  std::string key;
  wascap::ActorClaims claims;
  std::string expires_human, not_before_human;
  std::shared_ptr<wasm::Module> module;
  std::vector<InstanceInfo> instances;  // registry order
  lattice::Subscription rpc_sub;
  // Dispatch: at most instances.size() invocations run at once; the rest wait in `pending`.
  std::size_t in_flight = 0;
  std::deque<std::shared_ptr<lattice::Message>> pending;
  std::uint64_t rr = 0;                      // round-robin instance cursor (actor-rpc-providers 9)
  metrics::ActorMetrics* metrics = nullptr;  // this actor's series (Impl::metrics), set at creation
};

/// True when `s` begins with `p`.
inline bool starts_with(std::string_view s, std::string_view p) {
  return s.substr(0, p.size()) == p;
}

struct Host::Impl {
  HostConfig cfg;
  HostIdentity id;
  std::string host_id, cluster_pk;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();

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
  std::vector<lattice::Subscription> control_subs;
  std::unique_ptr<Executor> ctl_pool, lifecycle_pool, rpc_pool;
  std::shared_ptr<wasm::Engine> engine;
  oci::CredentialStore creds;
  std::unique_ptr<PolicyManager> policy;
  std::unique_ptr<ProviderSupervisor> providers;
  metrics::Metrics metrics;                         // Prometheus series (src/metrics)
  std::unique_ptr<metrics::Server> metrics_server;  // GET /metrics when cfg.metrics_port > 0

  mutable std::mutex mu;  // actor registry
  std::map<std::string, std::shared_ptr<ActorEntry>> actors;
  /// Instances accepted by `la` / `scale` acks and not yet started or given up (guarded by mu);
  /// counted against cfg.max_instances with the running ones (reserve_instances).
  std::int64_t reserved_instances = 0;
  /// The part of reserved_instances owned by the lifecycle task now running (guarded by mu):
  /// start_actor moves it to the registry with the instances it adds, under the same lock.
  std::int64_t task_reserved = 0;

  /// The lattice metadata: bucket, watch, links, claims, reference map, aliases (its own lock,
  /// taken after `mu`, never before it).
  std::unique_ptr<MetadataCache> metadata;
  /// Chunked-payload store seam over `objects`.
  std::unique_ptr<ObjectPayloadStore> payloads;
  /// Runs invocations and routes host calls; the single authorization point (rpc_dispatcher.h).
  std::unique_ptr<RpcDispatcher> dispatcher;

  // Stop handling: the maintenance thread sends heartbeats and performs requested stops.
  std::mutex stop_mu;
  std::condition_variable stop_cv;
  bool stop_requested = false;
  bool stopped = false;
  std::atomic<bool> stopping{false};
  std::once_flag stop_once;
  std::thread maintenance;

  explicit Impl(HostConfig c, HostIdentity i) : cfg(std::move(c)), id(std::move(i)) {
    host_id = id.host_key.public_key();
    cluster_pk = id.cluster_key.public_key();
    if (cfg.friendly_name.empty()) cfg.friendly_name = wc::host::friendly_name();
  }
  std::string js_domain() const { return cfg.js_domain.value_or(""); }

  // ---------------------------------------------------------------- host.cpp
  HostFacts facts() const;
  std::vector<ActorInfo> snapshot() const;
  void emit(std::string_view type, const nlohmann::json& data, bool linkdef_source = false);
  std::vector<ProviderInfo> provider_snapshot() const;
  void heartbeat();
  void request_stop();
  void maintenance_loop();
  /// Shutdown of control-interface 6.3. Runs once.
  void do_stop();

  // ---------------------------------------------------------------- ctl_handlers.cpp
  /// Asks `wasmbus.cfg.{prefix}.req` for supplemental configuration before host_started.
  void query_config_service();
  void reply(const lattice::Message& m, const std::string& body);
  void ack(const lattice::Message& m, bool accepted, std::string_view error = {});
  Status subscribe_control();
  void handle_control(const lattice::Message& m);
  void handle_command(const lattice::Message& m, const std::string& op, const std::string& body);
  /// launch() / launch_provider() on the lifecycle thread, reporting an unexpected exception as
  /// actor_start_failed / provider_start_failed; guarded_launch owns `reserved`
  /// instances (reserve_instances).
  void guarded_launch(const LaunchActorRequest& req, std::int64_t reserved);
  void guarded_launch_provider(const StartProviderRequest& req);
  void linkdef_put(const lattice::Message& m, const std::string& body);
  void linkdef_del(const lattice::Message& m, const std::string& body);

  // ---------------------------------------------------------------- actors.cpp
  /// Reference dispatch of control-interface 3.1.1 / claims-oci-par 4.1.
  Result<Bytes> fetch_actor(const std::string& ref);
  /// fetch_actor (provider = false) and fetch_provider (true): file:// (when allowed), bindle://
  /// refused, else an OCI pull with the host's registry settings; at most cfg.max_actor_size /
  /// cfg.max_provider_size bytes (oci::errors::artifact_too_large, before any download when
  /// the size is declared or the file's size is known).
  Result<Bytes> fetch_artifact(const std::string& ref, bool provider);
  Status start_actor(const Bytes& bytes, const std::string& ref, std::int64_t count,
                     const StringMap& annotations);
  /// Halts instances of `key`; `aggregate` = publish actors_stopped (count > 0 branch).
  void terminate(const std::string& key, std::int64_t count, const StringMap& filter);
  void scale(const ScaleActorRequest& req);
  /// Scale failures are logged as the reference does; beyond it, this host also publishes
  /// actor_start_failed so that clients see why (download, claims, reference, no reference).
  void scale_failed(const ScaleActorRequest& req, const std::string& ref, const std::string& msg);
  void launch(const LaunchActorRequest& req);
  Status live_update(const std::string& ref);
  /// Instances running on this host, all actors together. Call with `mu` held.
  std::int64_t instances_locked() const;
  /// Host instance limit (cfg.max_instances, 0 = none) at ack time: reserves `n` more instances
  /// when running + reserved + n stays within the limit, else returns the refusal
  /// (errors::host_instance_limit, Code::kResourceExhausted). With `scale_key` (a `scale`), `n`
  /// is the desired total of that actor key and only the instances beyond its running ones
  /// count. Returns the number reserved; give it back with release_instances() when the task
  /// ends. Takes `mu`.
  Result<std::int64_t> reserve_instances(std::int64_t n, const std::string* scale_key = nullptr);
  void release_instances(std::int64_t n);
  /// Lifecycle thread, around one `la` / `scale` task: the task owns `n` reserved instances
  /// (begin), and what start_actor did not turn into running instances is given back (end).
  void begin_reserved_task(std::int64_t n);
  void end_reserved_task();

  // ---------------------------------------------------------------- provider_glue.cpp
  /// 2.3.6 resolution: a ref starting with 'V' is the key, else the reference map.
  std::optional<std::string> resolve_provider_key(const std::string& ref) const;
  Result<Bytes> fetch_provider(const std::string& ref);
  /// Start of 3.6.1; failures publish provider_start_failed (inspected error).
  void launch_provider(const StartProviderRequest& req);

  // ---------------------------------------------------------------- rpc.cpp
  void emit_rpc_event(bool ok, const nlohmann::json& data);
  void reply_not_running(const std::string& key, const lattice::Message& m);
  /// NATS delivery thread: never blocks on guest code.
  void on_rpc_message(const std::string& key, lattice::Message m);
  void dispatch(std::shared_ptr<ActorEntry> entry, std::shared_ptr<lattice::Message> msg,
                std::string instance_id);
  /// Called with `mu` held: starts queued invocations while slots are free.
  void drain_pending_locked(const std::shared_ptr<ActorEntry>& entry);
  void finish_invocation(const std::shared_ptr<ActorEntry>& entry);
  /// Snapshots the entry's claims and module (under `mu`) and runs the invocation in the
  /// dispatcher, in the caller's trace.
  void handle_invocation(ActorEntry& entry, const lattice::Message& m,
                         const std::string& instance_id);
};

}  // namespace wc::host

// wc::host::LatticeStateWriter: keeps this host's entries current in the JetStream KV bucket
// `wadm_state`, which the v1 lattice client (`@wasmcloud/lattice-client-core` 0.2.3,
// `hosts.list()`) and wadm read (v1-and-wadm.md 2.1; record shapes from wadm
// crates/wadm/src/storage/state.rs, keys `{kind}_{lattice}` from storage/nats_kv.rs):
//
//   host_{lattice}       {host_id: {id, friendly_name, labels, annotations, components:
//                         {component_id: count}, providers: [{provider_id, provider_ref,
//                         annotations}], uptime_seconds, version, last_seen}}
//   component_{lattice}  {component_id: {id, name, issuer, reference,
//                         instances: {host_id: [{annotations, count}]}}}
//   provider_{lattice}   {provider_id: {id, name, issuer, reference, hosts: {host_id: "Running"}}}
//
// In wasmCloud wadm writes these from heartbeats; here every host writes its own part of each
// map (on start, on every change it publishes an event for, and on each heartbeat) and removes
// it when it stops. Several hosts write the same keys, so each write is a compare-and-set
// read-modify-write (lattice::KvStore::modify) that only touches this host's part.
//
// Owned by Host::Impl. Threads: one writer thread (`wc-latstate`) does all KV traffic.
// changed() only sets a flag under `mu_` (a leaf lock, never held while calling out) and wakes
// the thread, so it may be called from any thread, including NATS delivery threads and the
// invocation path, without blocking. Coalescing: however many changes arrive, at most one write
// is in flight and the next one reads the state afresh (latest state wins). A failed write is
// retried after `retry_delay`.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/error.h"
#include "common/thread_annotations.h"
#include "host/inventory.h"

namespace wc::host {

/// One host's state as it goes into wadm_state (built on the writer thread).
struct HostStateView {
  std::string host_id;
  std::string friendly_name;
  std::string version;    ///< semver (wadm parses it)
  std::string last_seen;  ///< RFC 3339 UTC
  StringMap labels;
  std::uint64_t uptime_seconds = 0;
  /// One component (actor) running here; `groups` = instance counts per set of annotations.
  struct Component {
    std::string id;  ///< v1 component id (the module key unless a v1 id names it)
    std::string name, issuer, reference;
    std::vector<std::pair<StringMap, std::uint64_t>> groups;
  };
  std::vector<Component> components;
  /// One provider running here.
  struct Provider {
    std::string id;  ///< v1 provider id (the service key unless a v1 id names it)
    std::string name, issuer, reference;
    StringMap annotations;
  };
  std::vector<Provider> providers;
};

/// Builds the view from the host's facts and snapshots. `component_id` / `provider_id` map an
/// actor key / a provider (key, link name) to the v1 id clients know it by (V1ControlServer::
/// component_id_of / provider_id_of; empty functions: the key); `claims` gives the cached flat
/// claims (5.3: `name`, `iss`) of a key, if any.
HostStateView make_host_state_view(
    const HostFacts& facts, const std::vector<ActorInfo>& actors,
    const std::vector<ProviderInfo>& providers, std::string_view version,
    std::chrono::system_clock::time_point now,
    const std::function<std::string(const std::string& key)>& component_id,
    const std::function<std::string(const std::string& key, const std::string& link)>& provider_id,
    const std::function<std::optional<nlohmann::json>(const std::string& key)>& claims);

// Pure merges of one host's part into the current value of a key (nullopt or unparsable or
// not an object: starts from {}). `view` null removes the host's part. They return the new
// JSON text; equal input gives byte-equal output (so an unchanged state writes nothing).

/// host_{lattice}: sets or removes map[host_id]. With a non-empty `stale_before` (an RFC 3339
/// time in rfc3339_micros' format), other hosts' entries whose `last_seen` (in that format) is
/// earlier are removed too and their ids added to `*pruned` (hosts that died without stopping;
/// wadm expires such hosts the same way).
std::string merge_hosts(const std::optional<std::string>& current, const std::string& host_id,
                        const HostStateView* view, const std::string& stale_before = {},
                        std::set<std::string>* pruned = nullptr);
/// component_{lattice}: removes instances[host_id] (and those of `also_remove`) everywhere,
/// then adds this host's groups; a component left with no instances is removed.
std::string merge_components(const std::optional<std::string>& current, const std::string& host_id,
                             const HostStateView* view,
                             const std::set<std::string>& also_remove = {});
/// provider_{lattice}: removes hosts[host_id] (and `also_remove`) everywhere, then adds
/// "Running" for this host's providers; a provider left on no host is removed.
std::string merge_providers(const std::optional<std::string>& current, const std::string& host_id,
                            const HostStateView* view,
                            const std::set<std::string>& also_remove = {});

/// A read-modify-write of one key (lattice::KvStore::modify over `wadm_state`).
using StateModify = std::function<Status(
    const std::string& key,
    const std::function<std::optional<std::string>(const std::optional<std::string>&)>& change)>;

struct LatticeStateDeps {
  /// The current view (called on the writer thread, never with `mu_` held).
  std::function<HostStateView()> view;
  /// KV access; called on the writer thread. Opened lazily by the caller's closure if it wants.
  StateModify modify;
  std::string lattice;
  std::string host_id;
  std::chrono::milliseconds retry_delay{1000};
  /// Other hosts' entries not seen for this long are removed with this host's next write
  /// (0: never). The host uses max(120 s, 10 heartbeat intervals).
  std::chrono::milliseconds stale_after{0};
};

class LatticeStateWriter {
 public:
  explicit LatticeStateWriter(LatticeStateDeps deps);
  /// stop() (without removing this host's entries).
  ~LatticeStateWriter();
  LatticeStateWriter(const LatticeStateWriter&) = delete;
  LatticeStateWriter& operator=(const LatticeStateWriter&) = delete;

  /// Starts the writer thread and schedules the first write.
  void start() EXCLUDES(mu_);
  /// Something this host reports changed (or a heartbeat is due): schedules a write. Never
  /// blocks beyond the leaf lock; coalesces with a pending write.
  void changed() EXCLUDES(mu_);
  /// Removes this host's entries from the three keys (waiting up to `timeout` for the write in
  /// flight and the removal) and stops the thread. Later changed() calls do nothing.
  void remove_and_stop(std::chrono::milliseconds timeout) EXCLUDES(mu_);
  /// Stops the thread without removing anything. Idempotent.
  void stop() EXCLUDES(mu_);
  /// Writes completed so far (for tests: each is the three keys written once).
  std::uint64_t writes() const EXCLUDES(mu_);

 private:
  void run() EXCLUDES(mu_);
  Status write(const HostStateView* view);

  LatticeStateDeps deps_;
  mutable Mutex mu_;
  std::condition_variable cv_;  // waited on with mu_ held
  bool dirty_ GUARDED_BY(mu_) = false;
  bool remove_ GUARDED_BY(mu_) = false;
  bool stop_ GUARDED_BY(mu_) = false;
  bool done_ GUARDED_BY(mu_) = false;  ///< the thread finished (after a removal or stop)
  std::uint64_t writes_ GUARDED_BY(mu_) = 0;
  std::thread thread_;
};

}  // namespace wc::host

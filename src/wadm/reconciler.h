// The reconciler: keeps the lattice in the shape of every deployed manifest, through the ordinary
// OTP 0.63 control interface (lattice/ctl_client.h: `la`, `sa`, `upd`, `lp`, `sp`,
// `linkdefs.put/del`). Everything it starts carries the annotations
// `wasmcloud.dev/managed-by=wadm` and `wasmcloud.dev/appspec={name}` (v1-and-wadm.md 5.3); it only
// ever stops, updates or counts instances and providers carrying both, and only deletes links
// between an actor and a provider that are both managed by the same application.
//
// Two parts:
//  * plan_app() / plan_cleanup(): pure functions from (manifest, lattice snapshot) to control
//    commands and a status (unit-tested with snapshots built by hand).
//  * Reconciler: a thread (`wc-wadm-reconcile`) that, while it holds the lattice's lease in the
//    model bucket (`_lease.{lattice}`, 10 s, renewed every round; another replica takes over when
//    it expires), reads the deployed models and a lattice snapshot (ping, inventories, links),
//    plans and sends commands, and writes each application's status to `_status.{lattice}.{name}`.
//    It runs a round every 2 s and at once after a lattice event (`wasmbus.evt.{lattice}`,
//    debounced 250 ms). Commands are bounded: after an application's commands it waits (3 s,
//    doubling to 30 s) before sending more for it, and after 6 rounds without converging it is
//    `failed` and gets no more commands until its deployment or the set of hosts changes.
//
// Owned by the `wasmcloud wadm` process. Thread-safety: plan_* are pure. Reconciler's state is
// touched by its thread only, except the wake-up flag (its own mutex); start/stop from the owner.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/thread_annotations.h"
#include "lattice/ctl_client.h"
#include "lattice/nats.h"
#include "wadm/manifest.h"
#include "wadm/model_store.h"

namespace wc::wadm {

/// Annotation keys and value of what the reconciler manages (v1-and-wadm.md 5.3).
inline constexpr std::string_view kManagedByKey = "wasmcloud.dev/managed-by";
inline constexpr std::string_view kManagedByValue = "wadm";
inline constexpr std::string_view kAppSpecKey = "wasmcloud.dev/appspec";

/// The annotations of everything application `app` starts.
std::map<std::string, std::string> managed_annotations(const std::string& app);

/// Actor instances of one actor on one host sharing one set of annotations.
struct ActorGroup {
  std::string actor_id;
  std::string image_ref;
  std::map<std::string, std::string> annotations;
  int count = 0;
};

/// One running provider (one link name) on one host.
struct ProviderRun {
  std::string provider_id;
  std::string image_ref;
  std::string link_name;
  std::string contract_id;
  std::map<std::string, std::string> annotations;
};

/// One host as the reconciler sees it.
struct HostSnapshot {
  std::string host_id;
  std::map<std::string, std::string> labels;
  std::vector<ActorGroup> actors;
  std::vector<ProviderRun> providers;
};

/// One link definition.
struct LinkSnapshot {
  std::string actor_id;
  std::string provider_id;
  std::string contract_id;
  std::string link_name;
  std::map<std::string, std::string> values;
};

/// The lattice at one moment.
struct LatticeSnapshot {
  std::vector<HostSnapshot> hosts;
  std::vector<LinkSnapshot> links;
};

/// Reads a snapshot: `ping.hosts`, then each host's inventory, then `get.links`. A host that
/// does not answer its inventory is left out. Errors: those of the ping and of get.links.
Result<LatticeSnapshot> read_snapshot(lattice::CtlClient& ctl);

/// One control command.
struct Command {
  enum class Kind {
    kStartActor,
    kStopActor,
    kUpdateActor,
    kStartProvider,
    kStopProvider,
    kPutLink,
    kDeleteLink
  };
  Kind kind = Kind::kStartActor;
  std::string host_id;
  std::string actor_id;     ///< stop/update actor, links
  std::string image_ref;    ///< start actor/provider, update actor (the new reference)
  int count = 0;            ///< start/stop actor
  std::string provider_id;  ///< stop provider, links
  std::string link_name;    ///< providers, links
  std::string contract_id;  ///< stop provider, links
  std::string config;       ///< start provider: its configuration string
  std::map<std::string, std::string> annotations;  ///< start (set) / stop actor (filter)
  std::map<std::string, std::string> values;       ///< put link
  /// One line for logs and status messages ("la echo x2 on NABC...").
  std::string describe() const;
};

/// One component's status in a plan.
struct ComponentStatus {
  std::string name;
  std::string type;    ///< actor | capability
  std::string status;  ///< deployed | reconciling | failed
  std::string message;
  /// (trait type, status) in the manifest's order.
  std::vector<std::pair<std::string, std::string>> traits;
};

/// What plan_app decided.
struct AppPlan {
  std::vector<Command> commands;
  /// Empty when every spread can be placed; else the placement errors joined with "; ".
  std::string error;
  /// True when the lattice matches the manifest (no command, nothing pending, no error).
  bool converged = false;
  std::vector<ComponentStatus> components;
};

/// Plans application `app` (manifest `m`) against `s`: actor instances per host from its
/// scaler's placement (starts `la` with the managed annotations, stops `sa` filtered by them,
/// `upd` when a managed actor on a host runs another tag of the same image), providers per host
/// (one per host and link name), links once both ends run, and removal of the managed actors,
/// providers and links of `app` that the manifest no longer declares.
AppPlan plan_app(const std::string& app, const Manifest& m, const LatticeSnapshot& s);

/// Commands removing what is managed by applications not in `keep` (undeployed or deleted):
/// their actors (`sa` filtered by their annotations), providers (`sp`) and the links between
/// their actors and providers.
std::vector<Command> plan_cleanup(const std::set<std::string>& keep, const LatticeSnapshot& s);

/// Settings of a Reconciler.
struct ReconcilerOptions {
  std::string lattice = "default";
  std::string ctl_prefix = "wasmbus.ctl";
  std::chrono::milliseconds round_interval{2000};
  std::chrono::milliseconds lease_ttl{10000};
  std::chrono::milliseconds first_backoff{3000};
  std::chrono::milliseconds max_backoff{30000};
  /// Rounds of commands without converging before an application is failed.
  int max_rounds = 6;
  /// Owner id written in the lease (defaults to a random one).
  std::string owner;
};

/// Status record key of application `name`: `_status.{lattice}.{name}`.
std::string status_key(const std::string& lattice, const std::string& name);

/// The reconciler of one lattice.
class Reconciler {
 public:
  /// Subscribes to the lattice's events and starts the thread. `store` and `nc` must outlive it.
  static Result<std::unique_ptr<Reconciler>> start(lattice::Connection& nc, ModelStore& store,
                                                   ReconcilerOptions options);
  /// Stops the thread (after its current round) and unsubscribes.
  ~Reconciler();
  Reconciler(const Reconciler&) = delete;
  Reconciler& operator=(const Reconciler&) = delete;

  /// Asks for a round as soon as possible (the API calls it after deploy / undeploy / delete).
  void wake() EXCLUDES(mu_);
  /// Control commands sent so far (all applications).
  std::uint64_t commands_sent() const { return commands_sent_.load(); }

 private:
  struct AppState {
    std::string version;  ///< deployed version the counters below belong to
    int rounds = 0;       ///< consecutive rounds that sent commands
    std::chrono::steady_clock::time_point hold_until{};
    bool failed = false;
    std::string failure;
    std::uint64_t commands = 0;
    std::chrono::steady_clock::time_point deployed_at{};
    std::chrono::steady_clock::time_point converged_at{};
    std::string last_status;  ///< the record last written (written again only when it changes)
  };
  Reconciler() = default;
  void run() EXCLUDES(mu_);
  void round();
  bool hold_lease();
  void write_status(const StoredModel& model, const AppPlan* plan, AppState& st);
  void send(const Command& c);

  lattice::Connection* nc_ = nullptr;
  ModelStore* store_ = nullptr;
  ReconcilerOptions options_;
  std::unique_ptr<lattice::CtlClient> ctl_;
  std::map<std::string, AppState> apps_;  // reconcile thread only
  std::set<std::string> last_hosts_;      // reconcile thread only
  std::atomic<std::uint64_t> commands_sent_{0};
  Mutex mu_;
  std::condition_variable cv_;
  bool wake_ GUARDED_BY(mu_) = false;
  bool stop_ GUARDED_BY(mu_) = false;
  std::thread thread_;
  lattice::Subscription events_;
};

}  // namespace wc::wadm

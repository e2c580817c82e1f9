// wc::host::ActorSupervisor: the actors of one host (control-interface.md 3.1-3.5): the registry
// of actors and their instances, instance reservations against the host limit, start / scale /
// stop / live update, and the per-actor RPC subscription with its instance slots (at most
// `count` invocations of an actor run at once, the rest wait in order; actor-rpc-providers.md
// 4.3, 9).
//
// Owned by Host::Impl. It knows nothing of registries, the wasm engine or the control
// interface: it fetches through `fetch`, loads through `load`, subscribes through the Bus seam,
// runs an admitted invocation through `run` on `post_rpc` (or, for a known-fast actor with a
// free slot and nothing waiting, right on the delivering thread: try_run_here,
// try_run_message_here), and writes claims and references to
// the MetadataCache. Control requests reach it from the control server (reservations, at ack
// time) and the lifecycle thread (everything else, in request order).
//
// Thread-safety: every public method is thread-safe. One mutex (`mu_`, the actor registry:
// entries, instances, slots, pending queues, reservations) is taken before the MetadataCache's
// lock, never after; it is not held while a subscription is destroyed (its handler may be
// waiting for it), nor while events are published, modules fetched or loaded, or the policy
// asked. Callers: control pool (reserve/release, snapshot), lifecycle thread (start, scale,
// stop, launch, live update, tasks), libnats delivery threads (admit), RPC pool (finish).
// `mu_` is a wc::Mutex: the supervisor's own members are GUARDED_BY it and the *_locked
// helpers REQUIRE it (common/thread_annotations.h); the fields of an Entry are guarded by it
// too, which the analysis cannot express for a nested struct (see Entry in the .cpp).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/encoding.h"
#include "common/error.h"
#include "common/thread_annotations.h"
#include "host/bus.h"
#include "host/control.h"
#include "host/inventory.h"
#include "host/metadata_cache.h"
#include "host/policy.h"
#include "host/rpc_dispatcher.h"
#include "lattice/nats.h"
#include "metrics/metrics.h"
#include "rpc/invocation.h"
#include "wasm/engine.h"

namespace wc::host {

/// An invocation handed to the supervisor in-process by a builtin capability of this host (the
/// builtin HTTP server, issue #14.4): no NATS message and no anti-forgery token, since nothing
/// crossed a trust boundary. It takes an instance slot like any invocation of the actor.
struct LocalInvocation {
  rpc::WasmCloudEntity origin;  ///< the calling builtin provider (key, contract id, link name)
  std::string operation;        ///< e.g. "HttpServer.HandleRequest"
  Bytes payload;
  /// When it must have started by: one still queued then is answered kDeadlineExceeded
  /// (rpc::errors::kRequestTimeout) without running. The default (max) waits as long as needed.
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
  /// Called exactly once: with the guest's reply bytes or the Error (on an RPC pool thread; on
  /// the stopping thread with kUnavailable and the "not running" text of rpc/errors.h when the
  /// actor stops before it ran; on the caller's thread for try_run_here). Not called at all when
  /// the caller took the invocation back through `claim`.
  std::function<void(Result<Bytes>)> done;
  /// Optional: lets the caller answer a queued invocation itself (the builtin HTTP server's
  /// deadline timer). Whoever
  /// exchanges it to true first owns the answer: the supervisor does so right before the
  /// invocation runs or is refused; when it finds it true already, the invocation neither runs
  /// nor calls `done` (its slot turn passes to the next one).
  std::shared_ptr<std::atomic<bool>> claim;
};

/// The in-process invocations of one actor as try_run_here sees them (tests, diagnostics).
struct InlineStats {
  std::uint64_t inline_runs = 0;  ///< ran on the caller's thread (try_run_here, _message_here)
  std::uint64_t pooled_runs = 0;  ///< admitted invocations (in-process or NATS) run on the pool
  std::uint32_t fast_streak = 0;  ///< consecutive observed runs under kInlineThreshold
};

/// What the supervisor needs from its host.
/// The wall time under which an observed run counts as fast, by default (try_run_here).
inline constexpr std::chrono::microseconds kDefaultInlineThreshold{200};

struct ActorSupervisorDeps {
  /// RPC connection: one queue subscription per running actor. Not owned.
  Bus* rpc = nullptr;
  /// Claims cache, reference map and their bucket writes. Not owned.
  MetadataCache* metadata = nullptr;
  /// start_actor policy (8.1). Not owned; a disabled manager permits everything.
  PolicyManager* policy = nullptr;
  /// Publishes a lattice event (linkdef_source = false).
  EventEmitter emit;
  /// The artifact fetch seam: module bytes of a reference (file://, OCI) with the host's
  /// registry settings and size limit. Blocks (pulls).
  std::function<Result<Bytes>(const std::string& reference)> fetch;
  /// The engine seam: compiles a module (`name` for log lines).
  std::function<Result<std::shared_ptr<wasm::Module>>(const Bytes& module, const std::string& name)>
      load;
  /// Hands work to the RPC pool; false when it is shut down.
  Poster post_rpc;
  /// try_run_here's threshold: a run that took this long or more is slow. The host keeps the
  /// default; unit tests whose fake guests must count as fast on a slow (sanitized, loaded)
  /// machine raise it.
  std::chrono::microseconds inline_threshold = kDefaultInlineThreshold;
  /// Runs one admitted invocation on the calling (RPC pool) thread: trace, dispatcher.
  std::function<void(const InvocationTarget& target, const lattice::Message& message)> run;
  /// Runs one admitted LocalInvocation on the calling (RPC pool) thread and calls its `done`.
  std::function<void(const InvocationTarget& target, LocalInvocation& invocation)> run_local;
  /// Replies "not running" to a message that arrived for an actor without instances.
  std::function<void(const std::string& actor_key, const lattice::Message& message)>
      reply_not_running;
  /// This actor's metric series (null = none).
  std::function<metrics::ActorMetrics*(const std::string& actor_key)> metrics_for;
  /// The claims clock (Unix seconds).
  std::function<std::int64_t()> now_seconds = wascap::now_seconds;
  std::string host_id;
  std::string lattice_prefix;
  bool allow_file_load = false;
  /// Host instance limit (0 = none).
  std::int64_t max_instances = 0;
};

class ActorSupervisor {
 public:
  /// Bounds of an actor's queue of waiting in-process invocations (admit_local).
  static constexpr std::size_t kMaxQueuedLocal = 1024;
  static constexpr std::size_t kMaxQueuedLocalBytes = std::size_t{256} << 20;

  explicit ActorSupervisor(ActorSupervisorDeps deps);
  /// Drops the subscriptions without events (stop_all() first for a clean shutdown).
  ~ActorSupervisor();
  ActorSupervisor(const ActorSupervisor&) = delete;
  ActorSupervisor& operator=(const ActorSupervisor&) = delete;

  // ------------------------------------------------------------ reservations (ours)

  /// At ack time: reserves `n` more instances when running + reserved + n stays within the host
  /// limit, else kResourceExhausted errors::host_instance_limit. With `scale_key` (a `scale`),
  /// `n` is the desired total of that actor and only the instances beyond its running ones
  /// count. Returns the number reserved; give it back with release() if the task never runs.
  Result<std::int64_t> reserve(std::int64_t n, const std::string* scale_key = nullptr)
      EXCLUDES(mu_);
  /// Gives back `n` reserved instances.
  void release(std::int64_t n) EXCLUDES(mu_);
  /// Lifecycle thread, around one `la` / `scale` task: the task owns `n` reserved instances
  /// (begin_task); what start() did not turn into running instances is given back (end_task).
  void begin_task(std::int64_t n) EXCLUDES(mu_);
  void end_task() EXCLUDES(mu_);
  /// Instances reserved and not yet running or given back.
  std::int64_t reserved() const EXCLUDES(mu_);

  // ------------------------------------------------------------ lifecycle (3.1-3.5)

  /// Starts `count` instances of the module `bytes` from `ref` (3.1.2): claims (actors_start_failed
  /// "N/A" when missing), start_actor policy, host limit, one reference per actor key, load,
  /// registry + RPC subscription (all or nothing), claims/refmap to the cache and bucket,
  /// refmap_set / actor_started per instance and actors_started. Errors carry the failure text.
  Status start(const Bytes& bytes, const std::string& ref, std::int64_t count,
               const StringMap& annotations) EXCLUDES(mu_);
  /// `la` (3.1): fetch + start; failures publish actor_start_failed.
  void launch(const LaunchActorRequest& req);
  /// `scale` (3.3) through plan_scale; failures go to scale_failed().
  void scale(const ScaleActorRequest& req) EXCLUDES(mu_);
  /// Logs a scale failure and publishes actor_start_failed (ours: 0.63 only logged).
  void scale_failed(const ScaleActorRequest& req, const std::string& ref, const std::string& msg);
  /// Halts instances of `key` chosen by select_instances_to_stop (count 0 = all; `filter` =
  /// annotations that must match): actor_stopped per instance, and actors_stopped when
  /// count > 0. The last instance drops the RPC subscription and answers queued invocations
  /// "not running".
  void stop(const std::string& key, std::int64_t count, const StringMap& filter) EXCLUDES(mu_);
  /// Stops every actor (host shutdown, control-interface 6.3).
  void stop_all() EXCLUDES(mu_);
  /// Live update (3.5) to the module at `ref`: refused for file:// without file loading, for an
  /// actor unknown to the claims cache (errors::live_update_unknown_actor) and for a revision not
  /// newer than the cached one (errors::live_update_not_newer). Updates claims and reference map
  /// even without local instances; with instances, swaps the module (actor_updated per instance,
  /// or actor_update_failed when it does not load).
  Status live_update(const std::string& ref) EXCLUDES(mu_);

  // ------------------------------------------------------------ RPC slots (4.3, 9)

  /// libnats delivery thread: runs the invocation right here when try_run_message_here() allows
  /// it; else takes a free slot of actor `key` (round-robin instance) and posts the invocation
  /// to the RPC pool, or queues it; answers "not running" when the actor has no instances.
  /// Blocks on guest code only for an inline run (a known-fast actor, see try_run_here).
  void admit(const std::string& key, std::shared_ptr<lattice::Message> message) EXCLUDES(mu_);
  /// Any thread: the same for an in-process invocation (LocalInvocation). Returns false, and
  /// leaves `invocation` untouched, when `key` has no instance on this host (the caller then
  /// sends it to the lattice); true when it runs, waits for a slot, or was refused at once
  /// (`done` called with kResourceExhausted errors::kTooManyQueued) because the actor already
  /// has kMaxQueuedLocal in-process invocations or kMaxQueuedLocalBytes of their payloads
  /// waiting: a flood of requests costs bounded memory.
  bool admit_local(const std::string& key, std::shared_ptr<LocalInvocation> invocation)
      EXCLUDES(mu_);
  /// RPC pool thread, inside a guest's host call to actor `key` of this host (same-host calls,
  /// issue #14.5): runs `invocation` right here when one of the actor's slots is free (a nested
  /// guest call on this thread, no hand-off; `invocation.done` is not used), else queues it like
  /// any invocation and waits up to `timeout` (then kDeadlineExceeded, rpc::errors::
  /// kRequestTimeout; the queued call still runs later). Returns nullopt, running nothing, when
  /// `key` has no instance here (the caller then uses the lattice).
  std::optional<Result<Bytes>> call_local(const std::string& key, LocalInvocation invocation,
                                          std::chrono::milliseconds timeout) EXCLUDES(mu_);

  /// Inline runs (issue #14.4, the builtin HTTP server's event loops): an in-process invocation
  /// runs on the calling thread, with no hand-off, only when every one of these holds:
  ///   * `key` has an instance here with a free slot and nothing queued (FIFO stays intact:
  ///     a queued invocation is never overtaken);
  ///   * the actor is known fast: each of its last kInlineStreak observed in-process
  ///     invocations (inline or on the RPC pool, admit_local / try_run_here) took less than
  ///     kInlineThreshold of wall time, measured around the whole run (authorization, guest,
  ///     host calls, metrics, rpc event), and none of them waited in a host call outside the
  ///     run (a lattice request, a policy request, a busy same-host callee: host_call_waits.h). A
  ///     new actor (or a live-updated one: the streak is per actor key and survives it) therefore
  ///     starts on the pool; one slow observation sends the next kInlineStreak invocations to the
  ///     pool, where they are observed again;
  ///   * no inline run of the actor started more than kInlineThreshold ago is still running
  ///     (a guest turning slow right now is not entered by a second thread).
  /// So a guest that turns slow stalls a calling thread at most once per kInlineStreak
  /// observations (the run that reveals it), for up to its execution budget plus the time it
  /// waits in host calls (not counted in the budget; each bounded by its own timeout).
  /// Returns true when it ran: `invocation.done` was called on this thread (same authorization,
  /// deadline, metrics and rpc event as on the pool: deps.run_local). Returns false, having
  /// done nothing, otherwise (the caller then uses admit_local). `claim` is not consulted: the
  /// invocation starts at once.
  bool try_run_here(const std::string& key, LocalInvocation& invocation) EXCLUDES(mu_);
  /// The same rule for a NATS invocation on the libnats delivery thread of the actor's
  /// subscription (issue #14.2: no hand-off, the reply sent from this thread), with one more
  /// condition: no other message of the subscription waits behind this one
  /// (lattice::delivery_backlog() == 0), so a burst still spreads over the actor's slots on the
  /// pool; a message arriving during an inline run waits for it (at most the fast run). Runs
  /// deps.run (the dispatcher: token, replay refusal, authorization, guest, reply, metrics,
  /// rpc event) and returns true; false, having done nothing, otherwise (outside a delivery
  /// thread too). NATS invocations on the pool are observed for the streak like in-process ones.
  bool try_run_message_here(const std::string& key, const lattice::Message& message) EXCLUDES(mu_);
  /// The wall time under which an observed run counts as fast (deps.inline_threshold's default).
  static constexpr std::chrono::microseconds kInlineThreshold = kDefaultInlineThreshold;
  /// Consecutive fast observations before an actor runs inline.
  static constexpr std::uint32_t kInlineStreak = 16;
  /// try_run_here's view of actor `key` (zeros when unknown).
  InlineStats inline_stats(const std::string& key) const EXCLUDES(mu_);

  // ------------------------------------------------------------ views

  /// Running actors with their instances (registry order); actors without instances omitted.
  std::vector<ActorInfo> snapshot() const EXCLUDES(mu_);
  /// Instances running on this host, all actors together.
  std::int64_t running_instances() const EXCLUDES(mu_);
  /// Invocations of `key` running now and waiting (tests, diagnostics).
  std::pair<std::size_t, std::size_t> load_of(const std::string& key) const EXCLUDES(mu_);

 private:
  struct Entry;
  /// One admitted invocation: a NATS message or an in-process LocalInvocation (exactly one set).
  struct Admitted {
    std::shared_ptr<lattice::Message> message;
    std::shared_ptr<LocalInvocation> local;
  };
  /// The InvocationTarget of `entry` on `instance_id` (invocation_task and call_local).
  InvocationTarget target_locked(const Entry& entry, std::string instance_id) const REQUIRES(mu_);
  /// Tells the sender of an invocation that will not run that the actor is not running.
  void refuse_not_running(const std::string& key, const Admitted& a) const;
  /// The pool task of one admitted invocation (claims and module read under mu_ when it runs).
  std::function<void()> invocation_task(const std::shared_ptr<Entry>& entry, Admitted admitted,
                                        std::string instance_id);
  bool admit_any(const std::string& key, Admitted admitted, bool refuse_when_absent) EXCLUDES(mu_);
  void post_invocation(const std::shared_ptr<Entry>& entry, Admitted admitted,
                       std::string instance_id) EXCLUDES(mu_);
  void drain_pending_locked(const std::shared_ptr<Entry>& entry) REQUIRES(mu_);
  /// try_run_here's rule and bookkeeping around `run` (called on this thread with the target
  /// when the rule allows); true when it ran.
  bool run_here_if_fast(const std::string& key,
                        const std::function<void(const InvocationTarget&)>& run) EXCLUDES(mu_);
  /// Frees the slot of a finished invocation and starts the next queued one.
  void finish(const std::shared_ptr<Entry>& entry) EXCLUDES(mu_);
  /// finish() that also records a run (in-process or NATS) which took `took` (an observation for
  /// try_run_here; nullopt = none); `inline_start` is the start of an inline run (dropped from
  /// the running ones), nullptr for a run on the pool.
  void finish_observed(const std::shared_ptr<Entry>& entry,
                       std::optional<std::chrono::nanoseconds> took,
                       const std::chrono::steady_clock::time_point* inline_start) EXCLUDES(mu_);
  std::int64_t instances_locked() const REQUIRES(mu_);
  void emit(std::string_view type, const nlohmann::json& data) const;

  ActorSupervisorDeps deps_;
  mutable Mutex mu_;
  std::map<std::string, std::shared_ptr<Entry>> actors_ GUARDED_BY(mu_);
  std::int64_t reserved_ GUARDED_BY(mu_) =
      0;  ///< accepted at ack time, not yet running or given back
  std::int64_t task_reserved_ GUARDED_BY(mu_) =
      0;  ///< the part of reserved_ owned by the running task
};

}  // namespace wc::host

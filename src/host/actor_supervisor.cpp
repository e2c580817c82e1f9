// ActorSupervisor (actor_supervisor.h): actor registry, reservations, start / scale / stop /
// live update, RPC slots (control-interface 3.1-3.5, actor-rpc-providers 4.3, 9).
#include "host/actor_supervisor.h"

#include <sys/resource.h>
#include <sys/time.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "host/errors.h"
#include "host/host_call_waits.h"
#include "host/util.h"
#include "lattice/cloudevent.h"
#include "lattice/event_data.h"
#include "lattice/events.h"
#include "lattice/topics.h"
#include "rpc/errors.h"
#include "wascap/claims.h"

namespace wc::host {

/// One actor public key on this host. Guarded by ActorSupervisor::mu_ (no GUARDED_BY: the
/// analysis cannot name the owning supervisor's lock from a nested struct).
struct ActorSupervisor::Entry {
  std::string key;
  wascap::ActorClaims claims;
  std::string expires_human, not_before_human;
  std::shared_ptr<wasm::Module> module;
  std::vector<InstanceInfo> instances;  // registry order
  lattice::Subscription rpc_sub;
  bool subscribed = false;  // rpc_sub was created (a fake Bus hands out invalid subscriptions)
  // Dispatch: at most instances.size() invocations run at once; the rest wait in `pending`.
  std::size_t in_flight = 0;
  std::deque<ActorSupervisor::Admitted> pending;
  std::size_t pending_local = 0;        // in-process invocations among `pending`
  std::size_t pending_local_bytes = 0;  // and their payload bytes
  std::uint64_t rr = 0;                 // round-robin instance cursor (actor-rpc-providers 9)
  // try_run_here's rule (actor_supervisor.h): consecutive fast observations, the start times of
  // the inline runs in progress (at most one per calling thread), and counters.
  std::uint32_t fast_streak = 0;
  std::vector<std::chrono::steady_clock::time_point> inline_started;
  std::uint64_t inline_runs = 0;
  std::uint64_t pooled_runs = 0;
  metrics::ActorMetrics* metrics = nullptr;  // this actor's series, set at creation (may be null)
};

namespace {

using json = nlohmann::json;

/// Measures one in-process run on the calling thread for try_run_here's rule: wall time, and
/// from getrusage(RUSAGE_THREAD) the thread's CPU time and context switches. A run counts as
/// slow when it took the threshold (deps.inline_threshold) of wall time or more, except when the
/// thread was only preempted (involuntary switches, no voluntary one): then the wall time is the
/// scheduler's, not the guest's, and its CPU time decides. A run that blocked (a voluntary switch:
/// a host call waiting for NATS, a same-host call waiting for a slot) is judged by its wall time.
class RunClock {
 public:
  RunClock() : start_(std::chrono::steady_clock::now()), waits_(host_call_waits()) {
    ::getrusage(RUSAGE_THREAD, &usage_);
  }
  std::chrono::steady_clock::time_point start() const { return start_; }
  /// The observation: the run's duration as try_run_here counts it.
  std::chrono::nanoseconds observe(std::chrono::nanoseconds threshold) const {
    // A run whose host call waited outside it (a lattice request, a busy same-host callee) is
    // slow whatever it took: the next such wait may last the call's whole timeout.
    if (host_call_waits() != waits_) return threshold;
    const auto wall = std::chrono::steady_clock::now() - start_;
    if (wall < threshold) return wall;
    rusage end{};
    if (::getrusage(RUSAGE_THREAD, &end) != 0) return wall;
    const bool blocked = end.ru_nvcsw != usage_.ru_nvcsw;
    const bool preempted = end.ru_nivcsw != usage_.ru_nivcsw;
    if (blocked || !preempted) return wall;
    auto micros = [](const timeval& t) {
      return std::chrono::seconds(t.tv_sec) + std::chrono::microseconds(t.tv_usec);
    };
    return (micros(end.ru_utime) - micros(usage_.ru_utime)) +
           (micros(end.ru_stime) - micros(usage_.ru_stime));
  }

 private:
  std::chrono::steady_clock::time_point start_;
  std::uint64_t waits_;
  rusage usage_{};
};
namespace topics = lattice::topics;
namespace ev = lattice::events;
namespace ed = lattice::event_data;

std::string actor_display_name(const wascap::ActorClaims& c) {
  return c.name && !c.name->empty() ? *c.name + " (" + c.sub + ")" : c.sub;
}

json opt_json(const std::optional<std::string>& v) { return v ? json(*v) : json(nullptr); }
json opt_json(const std::optional<std::vector<std::string>>& v) {
  return v ? json(*v) : json(nullptr);
}

/// `claims` object of actor_started / actors_started (control-interface 4.4.4).
json claims_event_json(const wascap::ActorClaims& c, const std::string& not_before_human,
                       const std::string& expires_human) {
  return json{{"call_alias", opt_json(c.call_alias)},
              {"caps", opt_json(c.caps)},
              {"issuer", c.iss},
              {"tags", opt_json(c.tags)},
              {"name", opt_json(c.name)},
              {"version", opt_json(c.ver)},
              {"revision", wascap::effective_revision(c)},
              {"not_before_human", not_before_human},
              {"expires_human", expires_human}};
}

}  // namespace

ActorSupervisor::ActorSupervisor(ActorSupervisorDeps deps) : deps_(std::move(deps)) {}

ActorSupervisor::~ActorSupervisor() {
  std::map<std::string, std::shared_ptr<Entry>> actors;
  {
    MutexLock lock(mu_);
    actors.swap(actors_);
  }
  for (auto& [k, e] : actors) e->rpc_sub.unsubscribe();  // without mu_: handlers may wait for it
}

void ActorSupervisor::emit(std::string_view type, const json& data) const {
  if (deps_.emit) deps_.emit(type, data, false);
}

Status ActorSupervisor::start(const Bytes& bytes, const std::string& ref, std::int64_t count,
                              const StringMap& annotations) {
  auto now = deps_.now_seconds();
  auto mc = wascap::extract_claims(bytes, now);
  if (!mc) {
    spdlog::error(
        "Failed to extract claims from WebAssembly module, an actor must be signed with valid "
        "capability claims. ({} bytes)",
        bytes.size());
    emit(ev::kActorsStartFailed,
         ed::actors_start_failed(ed::kUnknownActorKey, ref, annotations, deps_.host_id,
                                 inspect(mc.error().message)));
    return fail(mc.error());
  }
  const auto& claims = mc->claims;
  const std::string key = claims.sub;
  auto decision = deps_.policy->evaluate("start_actor", PolicyManager::default_source(),
                                         json{{"publicKey", key},
                                              {"issuer", claims.iss},
                                              {"contractId", nullptr},
                                              {"linkName", nullptr}});
  if (!decision.permitted) {
    emit(ev::kActorsStartFailed,
         ed::actors_start_failed(
             key, ref, annotations, deps_.host_id,
             std::string(errors::kPolicyDeniedStartPrefix) + decision.request_id));
    return fail(Code::kPermissionDenied,
                std::string(errors::kStartingActorDeniedPrefix) + decision.message);
  }
  std::shared_ptr<wasm::Module> module;
  bool other_ref = false;
  std::int64_t running = 0;
  {
    MutexLock lock(mu_);
    if (auto it = actors_.find(key); it != actors_.end()) {
      for (const auto& inst : it->second->instances) other_ref = other_ref || inst.image_ref != ref;
      module = it->second->module;
    }
    running = instances_locked();
  }
  // The host instance limit (ours) also holds for starts that reserved nothing at ack time
  // (configuration-service autostarts) or whose reservation no longer matches the registry.
  if (deps_.max_instances > 0 && running + count > deps_.max_instances)
    return fail(Code::kResourceExhausted,
                errors::host_instance_limit(count, running, deps_.max_instances));
  if (other_ref) {
    auto msg = errors::other_reference(key, ref);
    emit(ev::kActorsStartFailed,
         ed::actors_start_failed(key, ref, annotations, deps_.host_id, inspect(msg)));
    return fail(Code::kAlreadyExists, msg);
  }
  if (!module) {
    auto loaded = deps_.load(bytes, actor_display_name(claims));
    if (!loaded) {
      spdlog::error("Failed to prepare actor {}: {}", key, loaded.error().message);
      return fail(loaded.error());
    }
    module = *loaded;
  }

  // Register the instances and make sure the RPC subscription exists; all or nothing.
  std::shared_ptr<Entry> entry;
  std::vector<InstanceInfo> added;
  bool subscribed_now = false;
  {
    MutexLock lock(mu_);
    auto& slot = actors_[key];
    bool created = false;
    if (!slot) {
      slot = std::make_shared<Entry>();
      slot->key = key;
      slot->metrics = deps_.metrics_for ? deps_.metrics_for(key) : nullptr;
      created = true;
    }
    entry = slot;
    // Re-check the reference under the lock (another start may have raced us).
    for (const auto& inst : entry->instances) {
      if (inst.image_ref != ref) {
        if (created) actors_.erase(key);
        return fail(Code::kAlreadyExists, errors::other_reference(key, ref));
      }
    }
    if (!entry->subscribed) {
      auto subject = topics::rpc_actor(deps_.lattice_prefix, key);
      auto sub = deps_.rpc->queue_subscribe(  // the RPC connection (#12.3)
          subject, topics::rpc_actor_queue_group(deps_.lattice_prefix, key),
          [this, key](lattice::Message m) {
            if (!topics::parse_rpc_actor(m.subject())) return;  // 4.2 topic validation: drop
            admit(key, std::make_shared<lattice::Message>(std::move(m)));
          });
      if (!sub) {
        if (entry->instances.empty()) actors_.erase(key);
        return fail(sub.error());
      }
      entry->rpc_sub = std::move(*sub);
      entry->subscribed = true;
      subscribed_now = true;
    }
    entry->claims = claims;
    entry->expires_human = mc->validation.expires_human;
    entry->not_before_human = mc->validation.not_before_human;
    entry->module = module;
    for (std::int64_t i = 0; i < count; ++i) {
      InstanceInfo inst{lattice::uuid_v4(), annotations, ref, wascap::effective_revision(claims)};
      entry->instances.push_back(inst);
      added.push_back(std::move(inst));
    }
    if (entry->metrics) entry->metrics->set_instances(entry->instances.size());
    // The instances stop being "reserved" as they become "running", in one step under `mu`, so
    // the instance limit never counts them twice.
    std::int64_t used = std::min(task_reserved_, count);
    task_reserved_ -= used;
    reserved_ -= used;
    drain_pending_locked(entry);
  }
  if (subscribed_now) (void)deps_.rpc->flush(std::chrono::seconds(2));
  deps_.metadata->cache_actor_claims(claims);
  deps_.metadata->publish_actor_claims(
      claims);  // KV claims carry "" for no version (Appendix B #11)
  if (!ref.empty()) deps_.metadata->publish_reference(ref, key);
  json claims_json;
  {
    MutexLock lock(mu_);
    claims_json = claims_event_json(entry->claims, entry->not_before_human, entry->expires_human);
  }
  for (const auto& inst : added) {
    if (!ref.empty()) {
      deps_.metadata->set_reference(ref, key);
      emit(ev::kRefmapSet, ed::refmap_set(ref, key));
    }
    emit(ev::kActorStarted,
         ed::actor_started(key, ref, inst.instance_id, annotations, claims_json));
  }
  emit(ev::kActorsStarted,
       ed::actors_started(key, ref, annotations, deps_.host_id, claims_json, added.size()));
  spdlog::info("Started {} instance(s) of actor {} from '{}'", added.size(), key, ref);
  return ok();
}

std::int64_t ActorSupervisor::instances_locked() const {
  std::int64_t n = 0;
  for (const auto& [k, e] : actors_) n += static_cast<std::int64_t>(e->instances.size());
  return n;
}

Result<std::int64_t> ActorSupervisor::reserve(std::int64_t n, const std::string* scale_key) {
  MutexLock lock(mu_);
  std::int64_t more = n;
  if (scale_key) {
    auto it = actors_.find(*scale_key);
    auto running =
        it == actors_.end() ? 0 : static_cast<std::int64_t>(it->second->instances.size());
    more = std::max<std::int64_t>(0, n - running);
  }
  if (more == 0) return 0;
  if (deps_.max_instances > 0) {
    std::int64_t current = instances_locked() + reserved_;
    if (current + more > deps_.max_instances)
      return fail(Code::kResourceExhausted,
                  errors::host_instance_limit(more, current, deps_.max_instances));
  }
  reserved_ += more;
  return more;
}

void ActorSupervisor::release(std::int64_t n) {
  if (n <= 0) return;
  MutexLock lock(mu_);
  reserved_ = std::max<std::int64_t>(0, reserved_ - n);
}

void ActorSupervisor::begin_task(std::int64_t n) {
  MutexLock lock(mu_);
  task_reserved_ = n;
}

void ActorSupervisor::end_task() {
  MutexLock lock(mu_);
  reserved_ = std::max<std::int64_t>(0, reserved_ - task_reserved_);
  task_reserved_ = 0;
}

/// Halts instances of `key` (see select_instances_to_stop); count > 0 also publishes
/// actors_stopped.
void ActorSupervisor::stop(const std::string& key, std::int64_t count, const StringMap& filter) {
  std::vector<InstanceInfo> halted;
  lattice::Subscription dropped_sub;
  std::deque<Admitted> orphans;
  std::int64_t remaining = 0;
  {
    MutexLock lock(mu_);
    auto it = actors_.find(key);
    if (it != actors_.end()) {
      auto& e = *it->second;
      // One pass, linear in the instance count (the lock is held): halted keeps registry order.
      std::vector<bool> stop(e.instances.size(), false);
      for (std::size_t i : select_instances_to_stop(e.instances, count, filter)) stop[i] = true;
      std::vector<InstanceInfo> kept;
      kept.reserve(e.instances.size());
      for (std::size_t i = 0; i < e.instances.size(); ++i)
        (stop[i] ? halted : kept).push_back(std::move(e.instances[i]));
      e.instances = std::move(kept);
      if (e.metrics) e.metrics->set_instances(e.instances.size());
      // Ours: the instances actually left (OTP sent len - count, wrong once a filter applies).
      remaining = static_cast<std::int64_t>(e.instances.size());
      if (e.instances.empty()) {
        dropped_sub = std::move(e.rpc_sub);
        orphans = std::move(e.pending);
        e.pending.clear();
        e.pending_local = 0;
        e.pending_local_bytes = 0;
        actors_.erase(it);
      }
    }
  }
  dropped_sub.unsubscribe();
  for (auto& m : orphans) refuse_not_running(key, m);
  for (const auto& inst : halted) {
    emit(ev::kActorStopped, ed::actor_stopped(key, inst.instance_id, inst.annotations));
  }
  if (count > 0) {
    emit(ev::kActorsStopped, ed::actors_stopped(deps_.host_id, key, count, remaining, filter));
  }
  if (!halted.empty()) spdlog::info("Stopped {} instance(s) of actor {}", halted.size(), key);
}

void ActorSupervisor::scale(const ScaleActorRequest& req) {
  std::size_t n = 0;
  std::string first_ref;
  {
    MutexLock lock(mu_);
    if (auto it = actors_.find(req.actor_id);
        it != actors_.end() && !it->second->instances.empty()) {
      n = it->second->instances.size();
      first_ref = it->second->instances.front().image_ref;
    }
  }
  auto plan = plan_scale(n, first_ref, req.actor_ref, req.count);
  switch (plan.kind) {
    case ScalePlan::Kind::kNothing:
      return;
    case ScalePlan::Kind::kStop:
      stop(req.actor_id, plan.count, {});
      return;
    case ScalePlan::Kind::kError:
      scale_failed(req, plan.reference, plan.error);
      return;
    case ScalePlan::Kind::kStart: {
      auto bytes = deps_.fetch(plan.reference);
      if (!bytes) return scale_failed(req, plan.reference, bytes.error().message);
      auto st = start(*bytes, plan.reference, plan.count, {});
      if (!st) return scale_failed(req, plan.reference, st.error().message);
      return;
    }
  }
}

/// Scale failures are logged as the reference does; beyond it, this host also publishes
/// actor_start_failed so that clients see why (download, claims, reference, no reference).
void ActorSupervisor::scale_failed(const ScaleActorRequest& req, const std::string& ref,
                                   const std::string& msg) {
  spdlog::error("{}{}: {}", errors::kErrorScalingPrefix, req.actor_id, msg);
  emit(ev::kActorStartFailed,
       ed::actor_start_failed(ref.empty() ? req.actor_ref : ref, inspect(msg)));
}

void ActorSupervisor::launch(const LaunchActorRequest& req) {
  auto bytes = deps_.fetch(req.actor_ref);
  Status st = bytes ? start(*bytes, req.actor_ref, req.count, req.annotations)
                    : Status(fail(bytes.error()));
  if (!st) {
    spdlog::error("Failed to start actor from '{}': {}", req.actor_ref, st.error().message);
    emit(ev::kActorStartFailed, ed::actor_start_failed(req.actor_ref, inspect(st.error().message)));
  }
}

Status ActorSupervisor::live_update(const std::string& ref) {
  // Every refusal is logged too (issue #17.5: a live update logged nothing).
  Status st = [&]() -> Status {
    if (ref.starts_with("file://") && !deps_.allow_file_load)
      return fail(Code::kPermissionDenied, std::string(errors::kLiveUpdateFromFileDisabled));
    auto bytes = deps_.fetch(ref);
    if (!bytes) return fail(bytes.error());
    auto mc = wascap::extract_claims(*bytes, deps_.now_seconds());
    if (!mc) return fail(mc.error());
    const auto& claims = mc->claims;
    auto new_rev = wascap::effective_revision(claims);
    {
      const auto cached = deps_.metadata->claims(claims.sub);
      if (!cached) return fail(Code::kNotFound, errors::live_update_unknown_actor(claims.sub));
      // The cached `rev` is a string (5.3), but entries from the metadata bucket are written by
      // anyone on the lattice: a number is taken as is, anything else unparseable counts as 0.
      long long old_rev = 0;
      if (auto rev = cached->find("rev"); rev != cached->end()) {
        if (rev->is_number_integer()) {
          old_rev = rev->get<long long>();
        } else if (rev->is_string()) {
          try {
            old_rev = std::stoll(rev->get<std::string>());
          } catch (const std::exception&) {
          }
        }
      }
      if (new_rev <= old_rev)
        return fail(Code::kInvalidArgument,
                    errors::live_update_not_newer(static_cast<long long>(new_rev), old_rev));
    }
    deps_.metadata->cache_actor_claims(claims);
    deps_.metadata->set_reference(ref, claims.sub);
    // 3.5 step 5: the claims and reference-map KV writes (KV claims carry "" for no version).
    deps_.metadata->publish_actor_claims(claims);
    deps_.metadata->publish_reference(ref, claims.sub);
    emit(ev::kRefmapSet, ed::refmap_set(ref, claims.sub));
    std::vector<std::string> instances;
    std::string from_ref;
    {
      MutexLock lock(mu_);
      if (auto it = actors_.find(claims.sub); it != actors_.end()) {
        for (const auto& i : it->second->instances) instances.push_back(i.instance_id);
        if (!it->second->instances.empty()) from_ref = it->second->instances.front().image_ref;
      }
    }
    const std::string name = actor_display_name(claims);
    if (instances.empty()) {
      spdlog::info(
          "Live update of actor {} to '{}' (revision {}): no instances on this host, claims and "
          "reference map updated",
          name, ref, new_rev);
      return ok();
    }
    spdlog::info(
        "Live update of actor {} from '{}' to '{}' (revision {}): replacing {} instance(s)", name,
        from_ref, ref, new_rev, instances.size());
    auto loaded = deps_.load(*bytes, name);
    if (!loaded) {
      spdlog::error("Live update of actor {} to '{}' failed: {}", name, ref,
                    loaded.error().message);
      for (const auto& iid : instances)
        emit(ev::kActorUpdateFailed,
             ed::actor_update_failed(claims.sub, new_rev, iid, inspect(loaded.error().message)));
      return ok();
    }
    {
      MutexLock lock(mu_);
      if (auto it = actors_.find(claims.sub); it != actors_.end()) {
        auto& e = *it->second;
        e.module = *loaded;  // running invocations keep the old module alive until they finish
        e.claims = claims;
        e.expires_human = mc->validation.expires_human;
        e.not_before_human = mc->validation.not_before_human;
        // Ours (3.5 step 7: v0.63 kept the old image_ref, so a later `scale` with the new
        // reference was refused as "already running with different reference"): the instances
        // now run the new reference, for inventory, scale and start alike.
        for (auto& i : e.instances) {
          i.revision = new_rev;
          i.image_ref = ref;
        }
      }
    }
    spdlog::info("Updated {} instance(s) of actor {} from '{}' to '{}' (revision {})",
                 instances.size(), name, from_ref, ref, new_rev);
    for (const auto& iid : instances)
      emit(ev::kActorUpdated, ed::actor_updated(claims.sub, new_rev, iid));
    return ok();
  }();
  if (!st) spdlog::warn("Live update to '{}' failed: {}", ref, st.error().message);
  return st;
}

void ActorSupervisor::stop_all() {
  std::vector<std::string> keys;
  {
    MutexLock lock(mu_);
    for (const auto& [k, e] : actors_) keys.push_back(k);
  }
  for (const auto& k : keys) stop(k, 0, {});
}

std::int64_t ActorSupervisor::reserved() const {
  MutexLock lock(mu_);
  return reserved_;
}

std::int64_t ActorSupervisor::running_instances() const {
  MutexLock lock(mu_);
  return instances_locked();
}

std::vector<ActorInfo> ActorSupervisor::snapshot() const {
  std::vector<ActorInfo> out;
  MutexLock lock(mu_);
  for (const auto& [key, e] : actors_) {
    if (e->instances.empty()) continue;
    out.push_back(ActorInfo{key, e->claims.name.value_or(""), e->instances});
  }
  return out;
}

std::pair<std::size_t, std::size_t> ActorSupervisor::load_of(const std::string& key) const {
  MutexLock lock(mu_);
  auto it = actors_.find(key);
  if (it == actors_.end()) return {0, 0};
  return {it->second->in_flight, it->second->pending.size()};
}

// ------------------------------------------------------------------ RPC slots

void ActorSupervisor::admit(const std::string& key, std::shared_ptr<lattice::Message> msg) {
  if (try_run_message_here(key, *msg)) return;
  (void)admit_any(key, Admitted{std::move(msg), nullptr}, true);
}

bool ActorSupervisor::admit_local(const std::string& key,
                                  std::shared_ptr<LocalInvocation> invocation) {
  return admit_any(key, Admitted{nullptr, std::move(invocation)}, false);
}

/// The snapshot one invocation runs against (claims and module as they are now: a live update
/// may have replaced them since the slot was taken).
InvocationTarget ActorSupervisor::target_locked(const Entry& entry, std::string instance_id) const {
  InvocationTarget t;
  t.actor_key = entry.key;
  t.instance_id = std::move(instance_id);
  t.metrics = entry.metrics;
  t.claims = entry.claims;
  t.module = entry.module;
  return t;
}

std::optional<Result<Bytes>> ActorSupervisor::call_local(const std::string& key,
                                                         LocalInvocation invocation,
                                                         std::chrono::milliseconds timeout) {
  std::shared_ptr<Entry> entry;
  InvocationTarget target;
  {
    MutexLock lock(mu_);
    auto it = actors_.find(key);
    if (it == actors_.end() || it->second->instances.empty()) return std::nullopt;
    entry = it->second;
    if (entry->in_flight < entry->instances.size()) {
      ++entry->in_flight;
      target = target_locked(*entry,
                             entry->instances[entry->rr++ % entry->instances.size()].instance_id);
    }
  }
  if (target.module) {
    // A free slot: run the callee on this thread, as a nested guest call.
    std::optional<Result<Bytes>> out;
    invocation.done = [&out](Result<Bytes> r) { out = std::move(r); };
    if (deps_.run_local) deps_.run_local(target, invocation);
    finish(entry);
    if (!out) return fail(Code::kUnsupported, "in-process invocations are not wired");
    return out;
  }
  // Every slot busy: wait in the actor's queue like any invocation.
  note_host_call_wait();
  struct Waiter {
    std::mutex mu;
    std::condition_variable cv;
    std::optional<Result<Bytes>> out;
  };
  auto waiter = std::make_shared<Waiter>();
  auto queued = std::make_shared<LocalInvocation>(std::move(invocation));
  queued->done = [waiter](Result<Bytes> r) {
    std::lock_guard lock(waiter->mu);
    waiter->out = std::move(r);
    waiter->cv.notify_all();
  };
  if (!admit_local(key, queued)) return std::nullopt;  // stopped meanwhile
  std::unique_lock lock(waiter->mu);
  if (!waiter->cv.wait_for(lock, timeout, [&] { return waiter->out.has_value(); }))
    return fail(Code::kDeadlineExceeded, std::string(rpc::errors::kRequestTimeout));
  return std::move(waiter->out);
}

void ActorSupervisor::refuse_not_running(const std::string& key, const Admitted& a) const {
  if (a.message) {
    if (deps_.reply_not_running) deps_.reply_not_running(key, *a.message);
  } else if (a.local && a.local->done && !(a.local->claim && a.local->claim->exchange(true))) {
    a.local->done(fail(Code::kUnavailable, std::string(rpc::errors::kNotRunningPrefix) + key +
                                               std::string(rpc::errors::kNotRunningSuffix)));
  }
}

/// Takes a free slot of actor `key` (round-robin instance) and posts the invocation, or queues
/// it. Without instances: answers "not running" when `refuse_when_absent`, and returns false.
bool ActorSupervisor::admit_any(const std::string& key, Admitted admitted,
                                bool refuse_when_absent) {
  std::shared_ptr<Entry> entry;
  std::string instance_id;
  std::shared_ptr<LocalInvocation> refused;
  {
    MutexLock lock(mu_);
    auto it = actors_.find(key);
    if (it != actors_.end() && !it->second->instances.empty()) {
      entry = it->second;
      if (entry->in_flight >= entry->instances.size()) {
        if (admitted.local) {
          const std::size_t size = admitted.local->payload.size();
          if (entry->pending_local >= kMaxQueuedLocal ||
              entry->pending_local_bytes + size > kMaxQueuedLocalBytes) {
            refused = std::move(admitted.local);
          } else {
            ++entry->pending_local;
            entry->pending_local_bytes += size;
          }
        }
        if (!refused) {
          entry->pending.push_back(std::move(admitted));
          return true;
        }
      }
      ++entry->in_flight;
      instance_id = entry->instances[entry->rr++ % entry->instances.size()].instance_id;
    }
  }
  if (refused) {
    refused->done(fail(Code::kResourceExhausted, std::string(errors::kTooManyQueued)));
    return true;
  }
  if (!entry) {
    if (refuse_when_absent) refuse_not_running(key, admitted);
    return false;
  }
  post_invocation(entry, std::move(admitted), std::move(instance_id));
  return true;
}

/// The RPC pool's task for one admitted invocation: reads the actor's claims and module under
/// `mu_` when it runs (a live update may have replaced them), runs it, then frees its slot.
std::function<void()> ActorSupervisor::invocation_task(const std::shared_ptr<Entry>& entry,
                                                       Admitted admitted, std::string instance_id) {
  return [this, entry, admitted = std::move(admitted), instance_id = std::move(instance_id)] {
    InvocationTarget target;
    {
      MutexLock lock(mu_);
      target = target_locked(*entry, instance_id);
    }
    if (admitted.message) {
      const RunClock clock;
      deps_.run(target, *admitted.message);
      return finish_observed(entry, clock.observe(deps_.inline_threshold), nullptr);
    } else if (admitted.local->claim && admitted.local->claim->exchange(true)) {
      // Its caller answered it already (the builtin HTTP server's deadline timer): not run.
    } else if (std::chrono::steady_clock::now() > admitted.local->deadline) {
      // Waited past its caller's timeout (the HTTP client has its 503 by now): not run.
      admitted.local->done(
          fail(Code::kDeadlineExceeded, std::string(rpc::errors::kRequestTimeout)));
    } else if (deps_.run_local) {
      const RunClock clock;
      deps_.run_local(target, *admitted.local);
      return finish_observed(entry, clock.observe(deps_.inline_threshold), nullptr);
    } else {
      admitted.local->done(fail(Code::kUnsupported, "in-process invocations are not wired"));
    }
    finish(entry);
  };
}

/// Posts one admitted invocation (its slot already taken) to the RPC pool; the slot is given
/// back when the pool refuses it (shutdown), and the sender told the actor is not running.
void ActorSupervisor::post_invocation(const std::shared_ptr<Entry>& entry, Admitted admitted,
                                      std::string instance_id) {
  const Admitted keep = admitted;  // shared pointers: refusal needs the sender
  if (!deps_.post_rpc(invocation_task(entry, std::move(admitted), std::move(instance_id)))) {
    {
      MutexLock lock(mu_);
      if (entry->in_flight > 0) --entry->in_flight;
    }
    if (keep.local) refuse_not_running(entry->key, keep);
  }
}

/// Called with `mu_` held: starts queued invocations while slots are free.
void ActorSupervisor::drain_pending_locked(const std::shared_ptr<Entry>& entry) {
  while (!entry->pending.empty() && entry->in_flight < entry->instances.size()) {
    auto m = std::move(entry->pending.front());
    entry->pending.pop_front();
    if (m.local) {
      --entry->pending_local;
      entry->pending_local_bytes -= m.local->payload.size();
    }
    ++entry->in_flight;
    auto iid = entry->instances[entry->rr++ % entry->instances.size()].instance_id;
    deps_.post_rpc(invocation_task(entry, std::move(m), std::move(iid)));
  }
}

bool ActorSupervisor::try_run_here(const std::string& key, LocalInvocation& invocation) {
  return run_here_if_fast(key, [&](const InvocationTarget& target) {
    if (deps_.run_local) {
      deps_.run_local(target, invocation);
    } else {
      invocation.done(fail(Code::kUnsupported, "in-process invocations are not wired"));
    }
  });
}

bool ActorSupervisor::try_run_message_here(const std::string& key,
                                           const lattice::Message& message) {
  // Only when nothing of the subscription waits behind it: a burst still spreads over the
  // actor's slots on the pool instead of queueing behind this thread.
  if (lattice::delivery_backlog() != 0 || !deps_.run) return false;
  return run_here_if_fast(key, [&](const InvocationTarget& target) { deps_.run(target, message); });
}

bool ActorSupervisor::run_here_if_fast(const std::string& key,
                                       const std::function<void(const InvocationTarget&)>& run) {
  const RunClock clock;
  const auto start = clock.start();
  std::shared_ptr<Entry> entry;
  InvocationTarget target;
  {
    MutexLock lock(mu_);
    auto it = actors_.find(key);
    if (it == actors_.end()) return false;
    Entry& e = *it->second;
    if (e.instances.empty() || !e.pending.empty() || e.in_flight >= e.instances.size() ||
        e.fast_streak < kInlineStreak)
      return false;
    for (const auto& t : e.inline_started) {
      if (start - t >= deps_.inline_threshold) return false;  // one is being slow right now
    }
    ++e.in_flight;
    ++e.inline_runs;
    e.inline_started.push_back(start);
    target = target_locked(e, e.instances[e.rr++ % e.instances.size()].instance_id);
    entry = it->second;
  }
  run(target);
  finish_observed(entry, clock.observe(deps_.inline_threshold), &start);
  return true;
}

InlineStats ActorSupervisor::inline_stats(const std::string& key) const {
  MutexLock lock(mu_);
  auto it = actors_.find(key);
  if (it == actors_.end()) return {};
  return {it->second->inline_runs, it->second->pooled_runs, it->second->fast_streak};
}

void ActorSupervisor::finish(const std::shared_ptr<Entry>& entry) {
  finish_observed(entry, std::nullopt, nullptr);
}

void ActorSupervisor::finish_observed(const std::shared_ptr<Entry>& entry,
                                      std::optional<std::chrono::nanoseconds> took,
                                      const std::chrono::steady_clock::time_point* inline_start) {
  std::deque<Admitted> orphans;
  {
    MutexLock lock(mu_);
    Entry& e = *entry;
    if (inline_start) {
      auto it = std::find(e.inline_started.begin(), e.inline_started.end(), *inline_start);
      if (it != e.inline_started.end()) e.inline_started.erase(it);
    }
    if (took) {
      if (!inline_start) ++e.pooled_runs;
      if (*took < deps_.inline_threshold) {
        if (e.fast_streak < kInlineStreak) ++e.fast_streak;
      } else {
        e.fast_streak = 0;
      }
    }
    if (entry->in_flight > 0) --entry->in_flight;
    if (entry->instances.empty()) {
      orphans = std::move(entry->pending);
      entry->pending.clear();
      entry->pending_local = 0;
      entry->pending_local_bytes = 0;
    } else {
      drain_pending_locked(entry);
    }
  }
  for (auto& m : orphans) refuse_not_running(entry->key, m);
}

}  // namespace wc::host

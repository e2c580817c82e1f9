// Host::Impl, actor supervisor (control-interface 3.1-3.5): fetching actor modules, start (claims,
// policy, registry, RPC subscription, KV and events), scale, stop, launch, live update and the
// claims cache.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <filesystem>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "common/encoding.h"
#include "host/errors.h"
#include "host/host_impl.h"
#include "lattice/cloudevent.h"
#include "lattice/events.h"
#include "lattice/topics.h"
#include "oci/client.h"
#include "oci/errors.h"

namespace wc::host {
namespace {

using json = nlohmann::json;
namespace topics = lattice::topics;
namespace ev = lattice::events;

/// How log lines name an actor: "<claims name> (<key>)", or the key alone.
std::string actor_display_name(const wascap::ActorClaims& c) {
  return c.name && !c.name->empty() ? *c.name + " (" + c.sub + ")" : c.sub;
}

/// Logs a pull's progress (issue #17.5): the size once the manifest gives it, then at most one
/// line per 5 s while layer bytes arrive. Lives on the pulling thread for one pull.
class PullLog {
 public:
  PullLog(const char* kind, const std::string& ref) : kind_(kind), ref_(ref) {}

  void operator()(std::uint64_t received, std::uint64_t total) {
    const auto now = std::chrono::steady_clock::now();
    if (!manifest_seen_) {
      manifest_seen_ = true;
      last_ = now;
      if (total > 0)
        spdlog::info("Downloading {} '{}': {} bytes", kind_, ref_, total);
      else
        spdlog::info("Downloading {} '{}' (size not declared by the manifest)", kind_, ref_);
      return;
    }
    if (now - last_ < std::chrono::seconds(5)) return;
    last_ = now;
    if (total > 0)
      spdlog::info("Downloading {} '{}': {} of {} bytes ({}%)", kind_, ref_, received, total,
                   received * 100 / total);
    else
      spdlog::info("Downloading {} '{}': {} bytes so far", kind_, ref_, received);
  }

 private:
  const char* kind_;
  const std::string& ref_;
  bool manifest_seen_ = false;
  std::chrono::steady_clock::time_point last_;
};

json opt_json(const std::optional<std::string>& v) { return v ? json(*v) : json(nullptr); }
json opt_json(const std::optional<std::vector<std::string>>& v) {
  return v ? json(*v) : json(nullptr);
}

/// `claims` object of actor_started / actors_started (control-interface 4.4.4).
json claims_event_json(const ActorEntry& e) {
  return json{{"call_alias", opt_json(e.claims.call_alias)},
              {"caps", opt_json(e.claims.caps)},
              {"issuer", e.claims.iss},
              {"tags", opt_json(e.claims.tags)},
              {"name", opt_json(e.claims.name)},
              {"version", opt_json(e.claims.ver)},
              {"revision", wascap::effective_revision(e.claims)},
              {"not_before_human", e.not_before_human},
              {"expires_human", e.expires_human}};
}

}  // namespace

/// Reference dispatch of control-interface 3.1.1 / claims-oci-par 4.1.
Result<Bytes> Host::Impl::fetch_actor(const std::string& ref) { return fetch_artifact(ref, false); }

Result<Bytes> Host::Impl::fetch_artifact(const std::string& ref, bool provider) {
  const std::uint64_t limit = provider ? cfg.max_provider_size : cfg.max_actor_size;
  const char* setting = provider ? "WASMCLOUD_MAX_PROVIDER_SIZE" : "WASMCLOUD_MAX_ACTOR_SIZE";
  const char* kind = provider ? "provider" : "actor";
  if (starts_with(ref, "file://")) {
    if (!cfg.allow_file_load)
      return fail(Code::kPermissionDenied, std::string(provider ? errors::kProviderFileLoadDisabled
                                                                : errors::kActorFileLoadDisabled));
    std::error_code ec;
    const auto size = std::filesystem::file_size(ref.substr(7), ec);
    if (!ec && size > limit)
      return fail(Code::kResourceExhausted,
                  oci::errors::artifact_too_large("the file has " + std::to_string(size) + " bytes",
                                                  limit, setting));
    if (!ec) spdlog::info("Loading {} from '{}' ({} bytes)", kind, ref, size);
    return read_file(ref.substr(7));
  }
  if (starts_with(ref, "bindle://"))
    return fail(Code::kUnsupported, std::string(oci::errors::kBindleUnsupported));
  oci::PullOptions o;
  o.allow_latest = cfg.allow_latest;
  o.allowed_insecure = cfg.allowed_insecure;
  o.credentials = &creds;
  o.cache_dir = cfg.oci_cache_dir;
  o.max_bytes = limit;
  o.max_bytes_setting = setting;
  oci::ClientOptions co;
  co.ca_file = cfg.oci_ca_file;  // empty = system CA store
  PullLog progress(kind, ref);
  o.progress = [&progress](std::uint64_t received, std::uint64_t total) {
    progress(received, total);
  };
  spdlog::info("Pulling {} '{}'", kind, ref);
  const auto t0 = std::chrono::steady_clock::now();
  auto r = oci::Client(co).pull(ref, o);
  if (!r) return fail(r.error());
  if (r->from_cache) {
    spdlog::info("Pulled {} '{}' from the cache ({} bytes, {} unchanged)", kind, ref,
                 r->bytes.size(), r->digest);
  } else {
    spdlog::info(
        "Pulled {} '{}' ({} bytes, {}) in {} ms", kind, ref, r->bytes.size(), r->digest,
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
            .count());
  }
  return std::move(r->bytes);
}

Status Host::Impl::start_actor(const Bytes& bytes, const std::string& ref, std::int64_t count,
                               const StringMap& annotations) {
  auto now = wascap::now_seconds();
  auto mc = wascap::extract_claims(bytes, now);
  if (!mc) {
    spdlog::error(
        "Failed to extract claims from WebAssembly module, an actor must be signed with valid "
        "capability claims. ({} bytes)",
        bytes.size());
    emit(ev::kActorsStartFailed, json{{"public_key", "N/A"},
                                      {"image_ref", ref},
                                      {"annotations", annotations},
                                      {"host_id", host_id},
                                      {"error", inspect(mc.error().message)}});
    return fail(mc.error());
  }
  const auto& claims = mc->claims;
  const std::string key = claims.sub;
  auto decision = policy->evaluate("start_actor", PolicyManager::default_source(),
                                   json{{"publicKey", key},
                                        {"issuer", claims.iss},
                                        {"contractId", nullptr},
                                        {"linkName", nullptr}});
  if (!decision.permitted) {
    emit(ev::kActorsStartFailed,
         json{{"public_key", key},
              {"image_ref", ref},
              {"annotations", annotations},
              {"host_id", host_id},
              {"error", std::string(errors::kPolicyDeniedStartPrefix) + decision.request_id}});
    return fail(Code::kPermissionDenied,
                std::string(errors::kStartingActorDeniedPrefix) + decision.message);
  }
  std::shared_ptr<wasm::Module> module;
  bool other_ref = false;
  std::int64_t running = 0;
  {
    std::lock_guard lock(mu);
    if (auto it = actors.find(key); it != actors.end()) {
      for (const auto& inst : it->second->instances) other_ref = other_ref || inst.image_ref != ref;
      module = it->second->module;
    }
    running = instances_locked();
  }
  // The host instance limit (ours) also holds for starts that reserved nothing at ack time
  // (configuration-service autostarts) or whose reservation no longer matches the registry.
  if (cfg.max_instances > 0 && running + count > cfg.max_instances)
    return fail(Code::kResourceExhausted,
                errors::host_instance_limit(count, running, cfg.max_instances));
  if (other_ref) {
    auto msg = errors::other_reference(key, ref);
    emit(ev::kActorsStartFailed, json{{"public_key", key},
                                      {"image_ref", ref},
                                      {"annotations", annotations},
                                      {"host_id", host_id},
                                      {"error", inspect(msg)}});
    return fail(Code::kAlreadyExists, msg);
  }
  if (!module) {
    auto loaded = engine->load(bytes, actor_display_name(claims));
    if (!loaded) {
      spdlog::error("Failed to prepare actor {}: {}", key, loaded.error().message);
      return fail(loaded.error());
    }
    module = *loaded;
  }

  // Register the instances and make sure the RPC subscription exists; all or nothing.
  std::shared_ptr<ActorEntry> entry;
  std::vector<InstanceInfo> added;
  bool subscribed_now = false;
  {
    std::lock_guard lock(mu);
    auto& slot = actors[key];
    bool created = false;
    if (!slot) {
      slot = std::make_shared<ActorEntry>();
      slot->key = key;
      slot->metrics = &metrics.actor(key);
      created = true;
    }
    entry = slot;
    // Re-check the reference under the lock (another start may have raced us).
    for (const auto& inst : entry->instances) {
      if (inst.image_ref != ref) {
        if (created) actors.erase(key);
        return fail(Code::kAlreadyExists, errors::other_reference(key, ref));
      }
    }
    if (!entry->rpc_sub.valid()) {
      auto subject = topics::rpc_actor(cfg.lattice_prefix, key);
      auto sub = rpc->queue_subscribe(  // the RPC connection (#12.3)
          subject, topics::rpc_actor_queue_group(cfg.lattice_prefix, key),
          [this, key](lattice::Message m) { on_rpc_message(key, std::move(m)); });
      if (!sub) {
        if (entry->instances.empty()) actors.erase(key);
        return fail(sub.error());
      }
      entry->rpc_sub = std::move(*sub);
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
    entry->metrics->set_instances(entry->instances.size());
    // The instances stop being "reserved" as they become "running", in one step under `mu`, so
    // the instance limit never counts them twice.
    std::int64_t used = std::min(task_reserved, count);
    task_reserved -= used;
    reserved_instances -= used;
    drain_pending_locked(entry);
  }
  if (subscribed_now) (void)rpc->flush(std::chrono::seconds(2));
  metadata->cache_actor_claims(claims);
  metadata->publish_actor_claims(claims);  // KV claims carry "" for no version (Appendix B #11)
  if (!ref.empty()) metadata->publish_reference(ref, key);
  json claims_json;
  {
    std::lock_guard lock(mu);
    claims_json = claims_event_json(*entry);
  }
  for (const auto& inst : added) {
    if (!ref.empty()) {
      metadata->set_reference(ref, key);
      emit(ev::kRefmapSet, json{{"oci_url", ref}, {"public_key", key}});
    }
    emit(ev::kActorStarted, json{{"public_key", key},
                                 {"image_ref", ref},
                                 {"api_version", "n/a"},
                                 {"instance_id", inst.instance_id},
                                 {"annotations", annotations},
                                 {"claims", claims_json}});
  }
  emit(ev::kActorsStarted, json{{"public_key", key},
                                {"image_ref", ref},
                                {"annotations", annotations},
                                {"host_id", host_id},
                                {"claims", claims_json},
                                {"count", added.size()}});
  spdlog::info("Started {} instance(s) of actor {} from '{}'", added.size(), key, ref);
  return ok();
}

std::int64_t Host::Impl::instances_locked() const {
  std::int64_t n = 0;
  for (const auto& [k, e] : actors) n += static_cast<std::int64_t>(e->instances.size());
  return n;
}

Result<std::int64_t> Host::Impl::reserve_instances(std::int64_t n, const std::string* scale_key) {
  std::lock_guard lock(mu);
  std::int64_t more = n;
  if (scale_key) {
    auto it = actors.find(*scale_key);
    auto running = it == actors.end() ? 0 : static_cast<std::int64_t>(it->second->instances.size());
    more = std::max<std::int64_t>(0, n - running);
  }
  if (more == 0) return 0;
  if (cfg.max_instances > 0) {
    std::int64_t current = instances_locked() + reserved_instances;
    if (current + more > cfg.max_instances)
      return fail(Code::kResourceExhausted,
                  errors::host_instance_limit(more, current, cfg.max_instances));
  }
  reserved_instances += more;
  return more;
}

void Host::Impl::release_instances(std::int64_t n) {
  if (n <= 0) return;
  std::lock_guard lock(mu);
  reserved_instances = std::max<std::int64_t>(0, reserved_instances - n);
}

void Host::Impl::begin_reserved_task(std::int64_t n) {
  std::lock_guard lock(mu);
  task_reserved = n;
}

void Host::Impl::end_reserved_task() {
  std::lock_guard lock(mu);
  reserved_instances = std::max<std::int64_t>(0, reserved_instances - task_reserved);
  task_reserved = 0;
}

/// Halts instances of `key` (see select_instances_to_stop); count > 0 also publishes
/// actors_stopped.
void Host::Impl::terminate(const std::string& key, std::int64_t count, const StringMap& filter) {
  std::vector<InstanceInfo> halted;
  lattice::Subscription dropped_sub;
  std::deque<std::shared_ptr<lattice::Message>> orphans;
  std::int64_t remaining = 0;
  {
    std::lock_guard lock(mu);
    auto it = actors.find(key);
    if (it != actors.end()) {
      auto& e = *it->second;
      // One pass, linear in the instance count (the lock is held): halted keeps registry order.
      std::vector<bool> stop(e.instances.size(), false);
      for (std::size_t i : select_instances_to_stop(e.instances, count, filter)) stop[i] = true;
      std::vector<InstanceInfo> kept;
      kept.reserve(e.instances.size());
      for (std::size_t i = 0; i < e.instances.size(); ++i)
        (stop[i] ? halted : kept).push_back(std::move(e.instances[i]));
      e.instances = std::move(kept);
      e.metrics->set_instances(e.instances.size());
      // Ours: the instances actually left (OTP sent len - count, wrong once a filter applies).
      remaining = static_cast<std::int64_t>(e.instances.size());
      if (e.instances.empty()) {
        dropped_sub = std::move(e.rpc_sub);
        orphans = std::move(e.pending);
        e.pending.clear();
        actors.erase(it);
      }
    }
  }
  dropped_sub.unsubscribe();
  for (auto& m : orphans) reply_not_running(key, *m);
  for (const auto& inst : halted) {
    emit(ev::kActorStopped, json{{"public_key", key},
                                 {"instance_id", inst.instance_id},
                                 {"annotations", inst.annotations}});
  }
  if (count > 0) {
    emit(ev::kActorsStopped, json{{"host_id", host_id},
                                  {"public_key", key},
                                  {"count", count},
                                  {"remaining", remaining},
                                  {"annotations", filter}});
  }
  if (!halted.empty()) spdlog::info("Stopped {} instance(s) of actor {}", halted.size(), key);
}

void Host::Impl::scale(const ScaleActorRequest& req) {
  std::size_t n = 0;
  std::string first_ref;
  {
    std::lock_guard lock(mu);
    if (auto it = actors.find(req.actor_id); it != actors.end() && !it->second->instances.empty()) {
      n = it->second->instances.size();
      first_ref = it->second->instances.front().image_ref;
    }
  }
  auto plan = plan_scale(n, first_ref, req.actor_ref, req.count);
  switch (plan.kind) {
    case ScalePlan::Kind::kNothing:
      return;
    case ScalePlan::Kind::kStop:
      terminate(req.actor_id, plan.count, {});
      return;
    case ScalePlan::Kind::kError:
      scale_failed(req, plan.reference, plan.error);
      return;
    case ScalePlan::Kind::kStart: {
      auto bytes = fetch_actor(plan.reference);
      if (!bytes) return scale_failed(req, plan.reference, bytes.error().message);
      auto st = start_actor(*bytes, plan.reference, plan.count, {});
      if (!st) return scale_failed(req, plan.reference, st.error().message);
      return;
    }
  }
}

/// Scale failures are logged as the reference does; beyond it, this host also publishes
/// actor_start_failed so that clients see why (download, claims, reference, no reference).
void Host::Impl::scale_failed(const ScaleActorRequest& req, const std::string& ref,
                              const std::string& msg) {
  spdlog::error("{}{}: {}", errors::kErrorScalingPrefix, req.actor_id, msg);
  emit(ev::kActorStartFailed,
       json{{"actor_ref", ref.empty() ? req.actor_ref : ref}, {"error", inspect(msg)}});
}

void Host::Impl::launch(const LaunchActorRequest& req) {
  auto bytes = fetch_actor(req.actor_ref);
  Status st = bytes ? start_actor(*bytes, req.actor_ref, req.count, req.annotations)
                    : Status(fail(bytes.error()));
  if (!st) {
    spdlog::error("Failed to start actor from '{}': {}", req.actor_ref, st.error().message);
    emit(ev::kActorStartFailed,
         json{{"actor_ref", req.actor_ref}, {"error", inspect(st.error().message)}});
  }
}

Status Host::Impl::live_update(const std::string& ref) {
  // Every refusal is logged too (issue #17.5: a live update logged nothing).
  Status st = [&]() -> Status {
    if (starts_with(ref, "file://") && !cfg.allow_file_load)
      return fail(Code::kPermissionDenied, std::string(errors::kLiveUpdateFromFileDisabled));
    auto bytes = fetch_actor(ref);
    if (!bytes) return fail(bytes.error());
    auto mc = wascap::extract_claims(*bytes, wascap::now_seconds());
    if (!mc) return fail(mc.error());
    const auto& claims = mc->claims;
    auto new_rev = wascap::effective_revision(claims);
    {
      const auto cached = metadata->claims(claims.sub);
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
    metadata->cache_actor_claims(claims);
    metadata->set_reference(ref, claims.sub);
    // 3.5 step 5: the claims and reference-map KV writes (KV claims carry "" for no version).
    metadata->publish_actor_claims(claims);
    metadata->publish_reference(ref, claims.sub);
    emit(ev::kRefmapSet, json{{"oci_url", ref}, {"public_key", claims.sub}});
    std::vector<std::string> instances;
    std::string from_ref;
    {
      std::lock_guard lock(mu);
      if (auto it = actors.find(claims.sub); it != actors.end()) {
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
    auto loaded = engine->load(*bytes, name);
    if (!loaded) {
      spdlog::error("Live update of actor {} to '{}' failed: {}", name, ref,
                    loaded.error().message);
      for (const auto& iid : instances)
        emit(ev::kActorUpdateFailed, json{{"public_key", claims.sub},
                                          {"revision", new_rev},
                                          {"instance_id", iid},
                                          {"reason", inspect(loaded.error().message)}});
      return ok();
    }
    {
      std::lock_guard lock(mu);
      if (auto it = actors.find(claims.sub); it != actors.end()) {
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
      emit(ev::kActorUpdated,
           json{{"public_key", claims.sub}, {"revision", new_rev}, {"instance_id", iid}});
    return ok();
  }();
  if (!st) spdlog::warn("Live update to '{}' failed: {}", ref, st.error().message);
  return st;
}

}  // namespace wc::host

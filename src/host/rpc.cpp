// Host::Impl, RPC slots (actor-rpc-providers 4, 9): the per-actor RPC subscription handler and
// dispatch onto the rpc executor with at most `count` invocations per actor in flight; each
// invocation then runs in the RpcDispatcher (rpc_dispatcher.h), and its rpc event is published
// here (control-interface 4.6).
#include <algorithm>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "common/json.h"
#include "host/errors.h"
#include "host/host_impl.h"
#include "lattice/cloudevent.h"
#include "lattice/events.h"
#include "lattice/topics.h"
#include "lattice/tracing.h"
#include "rpc/antiforgery.h"
#include "rpc/errors.h"

namespace wc::host {
namespace {

using json = nlohmann::json;
namespace topics = lattice::topics;
namespace ev = lattice::events;

}  // namespace

void Host::Impl::emit_rpc_event(bool ok, const json& data) {
  if (!ctl) return;
  auto st = lattice::publish_rpc_event(*ctl, cfg.lattice_prefix,
                                       ok ? ev::kInvocationSucceeded : ev::kInvocationFailed,
                                       host_id, data);
  if (!st) spdlog::debug("Failed to publish invocation event: {}", st.error().message);
}

void Host::Impl::reply_not_running(const std::string& key, const lattice::Message& m) {
  if (dispatcher) dispatcher->reply_not_running(key, m.reply());
}

/// NATS delivery thread: never blocks on guest code.
void Host::Impl::on_rpc_message(const std::string& key, lattice::Message m) {
  if (!topics::parse_rpc_actor(m.subject())) return;  // 4.2 topic validation: drop
  auto msg = std::make_shared<lattice::Message>(std::move(m));
  std::shared_ptr<ActorEntry> entry;
  std::string instance_id;
  {
    std::lock_guard lock(mu);
    auto it = actors.find(key);
    if (it == actors.end() || it->second->instances.empty()) {
      entry = nullptr;
    } else {
      entry = it->second;
      if (entry->in_flight >= entry->instances.size()) {
        entry->pending.push_back(std::move(msg));
        return;
      }
      ++entry->in_flight;
      instance_id = entry->instances[entry->rr++ % entry->instances.size()].instance_id;
    }
  }
  if (!entry) {
    reply_not_running(key, *msg);
    return;
  }
  dispatch(entry, std::move(msg), std::move(instance_id));
}

void Host::Impl::dispatch(std::shared_ptr<ActorEntry> entry, std::shared_ptr<lattice::Message> msg,
                          std::string instance_id) {
  bool posted = rpc_pool->post([this, entry, msg, instance_id] {
    handle_invocation(*entry, *msg, instance_id);
    finish_invocation(entry);
  });
  if (!posted) {
    std::lock_guard lock(mu);
    if (entry->in_flight > 0) --entry->in_flight;
  }
}

/// Called with `mu` held: starts queued invocations while slots are free.
void Host::Impl::drain_pending_locked(const std::shared_ptr<ActorEntry>& entry) {
  while (!entry->pending.empty() && entry->in_flight < entry->instances.size()) {
    auto m = std::move(entry->pending.front());
    entry->pending.pop_front();
    ++entry->in_flight;
    auto iid = entry->instances[entry->rr++ % entry->instances.size()].instance_id;
    rpc_pool->post([this, entry, m, iid] {
      handle_invocation(*entry, *m, iid);
      finish_invocation(entry);
    });
  }
}

void Host::Impl::finish_invocation(const std::shared_ptr<ActorEntry>& entry) {
  std::deque<std::shared_ptr<lattice::Message>> orphans;
  {
    std::lock_guard lock(mu);
    if (entry->in_flight > 0) --entry->in_flight;
    if (entry->instances.empty()) {
      orphans = std::move(entry->pending);
      entry->pending.clear();
    } else {
      drain_pending_locked(entry);
    }
  }
  for (auto& m : orphans) reply_not_running(entry->key, *m);
}

void Host::Impl::handle_invocation(ActorEntry& entry, const lattice::Message& m,
                                   const std::string& instance_id) {
  // Continue the caller's trace (traceparent header) or start one; logs and events carry it.
  trace::Scope trace_scope(lattice::trace_for(m));
  InvocationTarget target;
  target.actor_key = entry.key;
  target.instance_id = instance_id;
  target.metrics = entry.metrics;
  {
    std::lock_guard lock(mu);
    target.claims = entry.claims;
    target.module = entry.module;
  }
  (void)dispatcher->handle(target, m.data(), m.reply());
}

}  // namespace wc::host

// Host::Impl, RPC (actor-rpc-providers 2-4, 8): the per-actor RPC subscription handler, dispatch
// onto the rpc executor with at most `count` invocations per actor in flight, invocation handling
// (decode, anti-forgery, capability claim, perform_invocation policy, guest call, reply), outbound
// host calls to linked providers and actors, and the invocation rpc events (control-interface
// 4.6).
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

json entity_event_json(const rpc::WasmCloudEntity& e) {
  return json{
      {"public_key", e.public_key}, {"contract_id", e.contract_id}, {"link_name", e.link_name}};
}

}  // namespace

void Host::Impl::emit_rpc_event(bool ok, const json& data) {
  if (!ctl) return;
  auto st = lattice::publish_rpc_event(*ctl, cfg.lattice_prefix,
                                       ok ? ev::kInvocationSucceeded : ev::kInvocationFailed,
                                       host_id, data);
  if (!st) spdlog::debug("Failed to publish invocation event: {}", st.error().message);
}

void Host::Impl::reply_not_running(const std::string& key, const lattice::Message& m) {
  if (m.reply().empty() || !rpc) return;
  rpc::InvocationResponse resp;
  resp.error = std::string(rpc::errors::kNotRunningPrefix) + key +
               std::string(rpc::errors::kNotRunningSuffix);
  (void)rpc->respond(m, rpc::encode_response(resp));
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
  const auto received = std::chrono::steady_clock::now();
  // Continue the caller's trace (traceparent header) or start one; logs and events carry it.
  trace::Scope trace_scope(lattice::trace_for(m));
  rpc::InvocationResponse resp;
  resp.instance_id = instance_id;
  json event_data;
  bool have_event = false;
  auto respond = [&] {
    if (!m.reply().empty()) {
      // The invocation arrived on the RPC connection (its subscription lives there, #12.3).
      auto st = rpc->respond(m, rpc::encode_response(resp));
      if (!st) spdlog::warn("Failed to reply to invocation: {}", st.error().message);
    }
    if (entry.metrics)
      entry.metrics->invocation(!resp.failed(), std::chrono::steady_clock::now() - received);
    if (have_event) {
      // Beyond the original's event data (control-interface 4.4.17): the time from receipt to
      // reply, which the dashboard's latency chart plots.
      event_data["duration_ms"] =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - received)
              .count();
      emit_rpc_event(!resp.failed(), event_data);
    }
  };
  auto inv = rpc::decode_invocation(m.data());
  if (!inv) {
    resp.invocation_id = "";
    resp.error = std::string(rpc::errors::kDeserializeInvocation);
    return respond();
  }
  resp.invocation_id = inv->id;
  have_event = true;
  event_data = json{{"source", entity_event_json(inv->origin)},
                    {"dest", entity_event_json(inv->target)},
                    {"operation", inv->operation},
                    {"bytes", inv->content_length.value_or(inv->msg.size())}};
  const std::int64_t now = wascap::now_seconds();
  rpc::TokenFacts token;
  auto valid = rpc::validate_invocation(*inv, id.cluster_issuers, now, &token);
  // Ours (#11.6): a genuine invocation delivered a second time is refused, not run again. The
  // key is the signed invocation id and token id (the envelope id is not signed).
  if (valid && replay) valid = replay->check(token.replay_key(), token.iat, now);
  if (!valid) {
    resp.error = rpc::anti_forgery_message(valid.error().message);
    return respond();
  }
  wascap::ActorClaims claims;
  std::shared_ptr<wasm::Module> module;
  {
    std::lock_guard lock(mu);
    claims = entry.claims;
    module = entry.module;
  }
  if (!(inv->origin.contract_id.empty() && inv->origin.link_name.empty())) {
    bool has = false;
    if (claims.caps)
      for (const auto& c : *claims.caps) has = has || c == inv->origin.contract_id;
    if (!has) {
      resp.error = std::string(rpc::errors::kMissingCapabilityClaim) + inv->origin.contract_id;
      return respond();
    }
  }
  if (policy->enabled() && !invocation_permitted(*inv)) {
    resp.error = std::string(rpc::errors::kPolicyRejected);
    return respond();
  }
  std::span<const std::uint8_t> payload = inv->msg;
  Bytes dechunked;
  if (rpc::is_chunked(*inv)) {
    // 3.6 / 4.4 step 4.6: the payload is the object named by the invocation id, deleted once
    // read. Unlike the reference (actor invoked with an empty payload) a failed read fails the
    // call with the object store's reason.
    auto full = objects->take(inv->id);
    if (!full) {
      spdlog::warn("Invocation {}: {}", inv->id, full.error().message);
      resp.error = full.error().message;
      return respond();
    }
    dechunked = std::move(*full);
    payload = dechunked;
  }
  const std::string actor_key = entry.key;
  auto caps = claims.caps.value_or(std::vector<std::string>{});
  wasm::HostCallHandler host_call = [this, actor_key, caps](const wasm::HostCall& call) {
    return route_host_call(actor_key, caps, call);
  };
  wasm::LogHandler log = [actor_key](std::string_view stream, std::string_view text) {
    spdlog::info("[{}] {}: {}", actor_key, stream, text);
  };
  auto out = module->invoke(inv->operation, payload, host_call, log);
  if (!out) {
    resp.msg.clear();
    resp.error = out.error().message;
    resp.content_length = 0;
    return respond();
  }
  resp.content_length = out->response.size();
  resp.msg = std::move(out->response);
  if (resp.msg.size() > rpc::kSdkChunkThreshold) {
    // 4.4 step 4.8: large results go to `<id>-r`; msg empty, content_length keeps the size.
    if (auto st = objects->put(topics::obj_response_name(inv->id), resp.msg); !st) {
      spdlog::warn("Invocation {}: {}", inv->id, st.error().message);
      resp.error = st.error().message;
      resp.content_length = 0;
    }
    resp.msg.clear();
  }
  respond();
}

/// perform_invocation policy (actor-rpc-providers 8.1): denied without asking when the origin
/// or target claims are unknown.
bool Host::Impl::invocation_permitted(const rpc::Invocation& inv) {
  auto o = metadata->claims(inv.origin.public_key);
  auto t = metadata->claims(inv.target.public_key);
  if (!o || !t) return false;
  const json& origin_claims = *o;
  const json& target_claims = *t;
  json source{{"publicKey", inv.origin.public_key},
              {"contractId", inv.origin.contract_id},
              {"linkName", inv.origin.link_name},
              {"capabilities", json_string(origin_claims, "caps")},
              {"issuer", json_string(origin_claims, "iss")},
              {"issuedOn", nullptr},
              {"expiresAt", nullptr},
              {"expired", false}};
  json target{{"publicKey", inv.target.public_key},
              {"contractId", inv.target.contract_id},
              {"linkName", inv.target.link_name},
              {"issuer", json_string(target_claims, "iss")}};
  return policy->evaluate("perform_invocation", source, target).permitted;
}

Result<Bytes> Host::Impl::route_host_call(const std::string& actor_key,
                                          const std::vector<std::string>& caps,
                                          const wasm::HostCall& call) {
  const std::string ns(call.ns);
  if (ns == "wasmcloud:builtin:logging") return builtin_logging(actor_key, call);
  if (ns == "wasmcloud:builtin:numbergen") return builtin_numbergen(call);
  if (starts_with(ns, "wasmcloud:builtin:")) return fail(Code::kTrap, errors::unknown_builtin(ns));
  auto host_fail = [](const std::string& text) {
    return fail(Code::kUnavailable, std::string(rpc::errors::kHostCallFailedPrefix) + text);
  };
  std::string binding = call.binding.empty() ? "default" : std::string(call.binding);
  std::optional<rpc::WasmCloudEntity> target;
  std::string subject;
  bool provider = false;
  if (auto ld = metadata->link(topics::linkdef_id(actor_key, ns, binding))) {
    target = rpc::provider_entity(ld->provider_id, ns, binding);
    subject = topics::rpc_provider(cfg.lattice_prefix, ld->provider_id, binding);
    provider = true;
  } else if (ns.size() == 56 && ns[0] == 'M') {
    target = rpc::actor_entity(ns);
  } else if (auto a = metadata->alias(ns)) {
    target = rpc::actor_entity(*a);
  }
  if (!target)
    return host_fail(std::string(rpc::errors::kMissingLinkPrefix) + ns + " on " +
                     cfg.lattice_prefix);
  if (provider && std::find(caps.begin(), caps.end(), ns) == caps.end())
    return host_fail(std::string(rpc::errors::kMissingClaimPrefix) + ns);
  if (!provider) subject = topics::rpc_actor(cfg.lattice_prefix, target->public_key);
  Bytes payload(call.payload.begin(), call.payload.end());
  rpc::SignOptions sign;
  sign.chunk_threshold = SIZE_MAX;  // chunked below; the token hashes the full payload (3.4)
  auto inv = rpc::make_invocation(id.cluster_key, rpc::actor_entity(actor_key), *target,
                                  std::string(call.operation), payload, cluster_pk, sign);
  if (!inv) return host_fail(inv.error().message);
  if (inv->msg.size() > rpc::kHostChunkThreshold) {
    // 2.5 step 2: above 700 KiB the payload goes to the object store under the invocation id.
    if (auto st = objects->put(inv->id, inv->msg); !st) return host_fail(st.error().message);
    inv->msg.clear();
  }
  json event{
      {"source", json{{"public_key", actor_key}, {"contract_id", nullptr}, {"link_name", nullptr}}},
      {"dest", json{{"public_key", target->public_key},
                    {"contract_id", provider ? json(ns) : json(nullptr)},
                    {"link_name", provider ? json(binding) : json(nullptr)}}},
      {"operation", std::string(call.operation)},
      {"bytes", payload.size()}};
  // The guest runs on the invocation's thread: the call continues its trace (traceparent).
  auto reply = rpc->request(
      subject, rpc::encode_invocation(*inv),
      rpc::rpc_timeout_for(payload.size(), std::chrono::milliseconds(cfg.rpc_timeout_ms)),
      lattice::current_trace_headers());
  if (!reply) {
    emit_rpc_event(false, event);
    return host_fail(std::string(rpc::errors::kRequestTimeout));
  }
  auto resp = rpc::decode_response(reply->data());
  if (!resp) {
    emit_rpc_event(false, event);
    return host_fail(std::string(rpc::errors::kDeserializeResponse));
  }
  if (resp->error) {
    emit_rpc_event(false, event);
    return host_fail(*resp->error);
  }
  emit_rpc_event(true, event);
  if (resp->content_length && *resp->content_length > resp->msg.size()) {
    // 2.5 step 5: a chunked response is the object `<id>-r`. Unlike the reference (empty bytes)
    // a failed read is a host-call error.
    auto full = objects->take(topics::obj_response_name(inv->id));
    if (!full) {
      spdlog::warn("Host call {}: {}", inv->id, full.error().message);
      return host_fail(full.error().message);
    }
    return std::move(*full);
  }
  return std::move(resp->msg);
}

}  // namespace wc::host

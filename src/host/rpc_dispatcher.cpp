// RpcDispatcher (rpc_dispatcher.h): invocation handling and host-call routing
// (actor-rpc-providers 2-4, 8).
#include "host/rpc_dispatcher.h"

#include <spdlog/spdlog.h>

#include "host/builtins.h"
#include "host/errors.h"
#include "host/host_call_waits.h"
#include "lattice/event_data.h"
#include "lattice/topics.h"
#include "lattice/tracing.h"
#include "rpc/antiforgery.h"
#include "rpc/errors.h"

namespace wc::host {
namespace {

using json = nlohmann::json;
namespace topics = lattice::topics;
namespace ed = lattice::event_data;

/// An invocation end of 4.4.17 as the envelope names it (its strings, "" included).
ed::InvocationEnd event_end(const rpc::WasmCloudEntity& e) {
  return {e.public_key, e.contract_id, e.link_name};
}

}  // namespace

RpcDispatcher::RpcDispatcher(RpcDispatcherDeps deps)
    : deps_(std::move(deps)), authorizer_(deps_.metadata, deps_.policy) {}

void RpcDispatcher::rpc_event(bool ok, const json& data) const {
  if (deps_.rpc_event) deps_.rpc_event(ok, data);
}

void RpcDispatcher::reply_not_running(const std::string& actor_key,
                                      std::string_view reply_subject) {
  if (reply_subject.empty()) return;
  rpc::InvocationResponse resp;
  resp.error = std::string(rpc::errors::kNotRunningPrefix) + actor_key +
               std::string(rpc::errors::kNotRunningSuffix);
  (void)deps_.rpc->publish(reply_subject, rpc::encode_response(resp));
}

rpc::InvocationResponse RpcDispatcher::handle(const InvocationTarget& target,
                                              std::span<const std::uint8_t> data,
                                              std::string_view reply_subject) {
  const auto received = std::chrono::steady_clock::now();
  rpc::InvocationResponse resp;
  resp.instance_id = target.instance_id;
  Result<rpc::Invocation> inv = fail(Code::kInvalidArgument, "");  // set right below
  auto respond = [&] {
    if (!reply_subject.empty()) {
      // The invocation arrived on the RPC connection (its subscription lives there, #12.3).
      auto st = deps_.rpc->publish(reply_subject, rpc::encode_response(resp));
      if (!st) spdlog::warn("Failed to reply to invocation: {}", st.error().message);
    }
    const auto took = std::chrono::steady_clock::now() - received;
    if (target.metrics) target.metrics->invocation(!resp.failed(), took);
    if (inv) {
      // The event's data is built after the reply went out (off the caller's round trip).
      // Beyond the original's event data (control-interface 4.4.17): the time from receipt to
      // reply, which the dashboard's latency chart plots.
      json event_data =
          ed::invocation(event_end(inv->origin), event_end(inv->target), inv->operation,
                         inv->content_length.value_or(inv->msg.size()));
      event_data["duration_ms"] = std::chrono::duration<double, std::milli>(took).count();
      rpc_event(!resp.failed(), event_data);
    }
    return resp;
  };
  inv = rpc::decode_invocation(data);
  if (!inv) {
    resp.invocation_id = "";
    resp.error = std::string(rpc::errors::kDeserializeInvocation);
    return respond();
  }
  resp.invocation_id = inv->id;
  const std::int64_t now = deps_.now_seconds();
  rpc::TokenFacts token;
  auto valid = rpc::validate_invocation(*inv, deps_.cluster_issuers, now, &token);
  // Ours (#11.6): a genuine invocation delivered a second time is refused, not run again. The
  // key is the signed invocation id and token id (the envelope id is not signed).
  if (valid && deps_.replay) valid = deps_.replay->check(token.replay_key(), token.iat, now);
  if (!valid) {
    resp.error = rpc::anti_forgery_message(valid.error().message);
    return respond();
  }
  if (auto allowed = authorizer_.authorize_inbound(*inv, target.claims); !allowed) {
    resp.error = allowed.error().message;
    return respond();
  }
  std::span<const std::uint8_t> payload = inv->msg;
  Bytes dechunked;
  if (rpc::is_chunked(*inv)) {
    // 3.6 / 4.4 step 4.6: the payload is the object named by the invocation id, deleted once
    // read. Unlike the reference (actor invoked with an empty payload) a failed read fails the
    // call with the object store's reason.
    auto full = deps_.objects->take(inv->id);
    if (!full) {
      spdlog::warn("Invocation {}: {}", inv->id, full.error().message);
      resp.error = full.error().message;
      return respond();
    }
    dechunked = std::move(*full);
    payload = dechunked;
  }
  auto out = run_guest(target, inv->operation, payload);
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
    if (auto st = deps_.objects->put(topics::obj_response_name(inv->id), resp.msg); !st) {
      spdlog::warn("Invocation {}: {}", inv->id, st.error().message);
      resp.error = st.error().message;
      resp.content_length = 0;
    }
    resp.msg.clear();
  }
  return respond();
}

Result<wasm::InvokeOutput> RpcDispatcher::run_guest(const InvocationTarget& target,
                                                    std::string_view operation,
                                                    std::span<const std::uint8_t> payload) {
  const std::string& actor_key = target.actor_key;
  const std::vector<std::string> no_caps;
  const std::vector<std::string>& caps = target.claims.caps ? *target.claims.caps : no_caps;
  wasm::HostCallHandler host_call_handler = [this, &actor_key, &caps](const wasm::HostCall& call) {
    return host_call(actor_key, caps, call);
  };
  wasm::LogHandler log = [&actor_key](std::string_view stream, std::string_view text) {
    spdlog::info("[{}] {}: {}", actor_key, stream, text);
  };
  return target.module->invoke(operation, payload, host_call_handler, log);
}

Result<Bytes> RpcDispatcher::invoke_local(const InvocationTarget& target,
                                          const rpc::WasmCloudEntity& origin,
                                          std::string_view operation,
                                          std::span<const std::uint8_t> payload) {
  const auto received = std::chrono::steady_clock::now();
  json event_data = ed::invocation(
      event_end(origin), {target.actor_key, std::nullopt, std::nullopt}, operation, payload.size());
  auto finish = [&](Result<Bytes> r) {
    const auto took = std::chrono::steady_clock::now() - received;
    if (target.metrics) target.metrics->invocation(r.has_value(), took);
    event_data["duration_ms"] = std::chrono::duration<double, std::milli>(took).count();
    rpc_event(r.has_value(), event_data);
    return r;
  };
  // The authorizer decides on an Invocation; this one is never signed or sent.
  rpc::Invocation inv;
  inv.origin = origin;
  inv.target = rpc::actor_entity(target.actor_key);
  inv.operation = std::string(operation);
  if (auto allowed = authorizer_.authorize_inbound(inv, target.claims); !allowed)
    return finish(fail(allowed.error()));
  auto out = run_guest(target, operation, payload);
  if (!out) return finish(fail(out.error()));
  return finish(std::move(out->response));
}

Result<Bytes> RpcDispatcher::call_actor(const rpc::WasmCloudEntity& origin,
                                        const std::string& actor_key, std::string_view operation,
                                        Bytes payload) {
  return request(origin, rpc::actor_entity(actor_key),
                 topics::rpc_actor(deps_.lattice_prefix, actor_key), operation, std::move(payload));
}

Result<Bytes> RpcDispatcher::host_call(const std::string& actor_key,
                                       const std::vector<std::string>& caps,
                                       const wasm::HostCall& call) {
  const std::string ns(call.ns);
  if (ns == "wasmcloud:builtin:logging") return builtin_logging(actor_key, call);
  if (ns == "wasmcloud:builtin:numbergen") return builtin_numbergen(call);
  if (ns.starts_with(kBuiltinPrefix)) return fail(Code::kTrap, errors::unknown_builtin(ns));
  auto host_fail = [](const std::string& text) {
    return fail(Code::kUnavailable, std::string(rpc::errors::kHostCallFailedPrefix) + text);
  };
  const std::string& L = deps_.lattice_prefix;
  std::string binding = call.binding.empty() ? "default" : std::string(call.binding);
  std::optional<rpc::WasmCloudEntity> target;
  std::string subject;
  bool provider = false;
  if (auto ld = deps_.metadata->link(topics::linkdef_id(actor_key, ns, binding))) {
    target = rpc::provider_entity(ld->provider_id, ns, binding);
    subject = topics::rpc_provider(L, ld->provider_id, binding);
    provider = true;
  } else if (ns.size() == 56 && ns[0] == 'M') {
    target = rpc::actor_entity(ns);
  } else if (auto a = deps_.metadata->alias(ns)) {
    target = rpc::actor_entity(*a);
  }
  if (!target) return host_fail(std::string(rpc::errors::kMissingLinkPrefix) + ns + " on " + L);
  if (provider) {
    if (auto allowed = InvocationAuthorizer::authorize_provider_call(caps, ns); !allowed)
      return host_fail(allowed.error().message);
  } else {
    // Same host first (issue #14.5): an actor with an instance here runs in-process (its
    // authorization, deadline, metrics and event as for any invocation); else the lattice.
    if (deps_.call_local) {
      if (auto local = deps_.call_local(target->public_key, rpc::actor_entity(actor_key),
                                        call.operation, call.payload)) {
        if (!*local) return host_fail(local->error().message);
        return std::move(**local);
      }
    }
    subject = topics::rpc_actor(L, target->public_key);
  }
  return request(rpc::actor_entity(actor_key), *target, subject, call.operation,
                 Bytes(call.payload.begin(), call.payload.end()));
}

Result<Bytes> RpcDispatcher::request(const rpc::WasmCloudEntity& origin,
                                     const rpc::WasmCloudEntity& target, const std::string& subject,
                                     std::string_view operation, Bytes payload) {
  auto host_fail = [](const std::string& text) {
    return fail(Code::kUnavailable, std::string(rpc::errors::kHostCallFailedPrefix) + text);
  };
  rpc::SignOptions sign;
  sign.chunk_threshold = SIZE_MAX;  // chunked below; the token hashes the full payload (3.4)
  auto inv = rpc::make_invocation(*deps_.cluster_key, origin, target, std::string(operation),
                                  payload, deps_.cluster_public_key, sign);
  if (!inv) return host_fail(inv.error().message);
  if (inv->msg.size() > rpc::kHostChunkThreshold) {
    // 2.5 step 2: above 700 KiB the payload goes to the object store under the invocation id.
    if (auto st = deps_.objects->put(inv->id, inv->msg); !st) return host_fail(st.error().message);
    inv->msg.clear();
  }
  // An actor end has no contract id or link name; a provider end has both.
  auto end = [](const rpc::WasmCloudEntity& e) {
    return e.is_actor() ? ed::InvocationEnd{e.public_key, std::nullopt, std::nullopt}
                        : ed::InvocationEnd{e.public_key, std::string_view(e.contract_id),
                                            std::string_view(e.link_name)};
  };
  const json event = ed::invocation(end(origin), end(target), operation, payload.size());
  // The guest runs on the invocation's thread: the call continues its trace (traceparent).
  note_host_call_wait();
  auto reply = deps_.rpc->request(subject, rpc::encode_invocation(*inv),
                                  rpc::rpc_timeout_for(payload.size(), deps_.rpc_timeout),
                                  lattice::current_trace_headers());
  if (!reply) {
    rpc_event(false, event);
    return host_fail(std::string(rpc::errors::kRequestTimeout));
  }
  auto resp = rpc::decode_response(*reply);
  if (!resp) {
    rpc_event(false, event);
    return host_fail(std::string(rpc::errors::kDeserializeResponse));
  }
  if (resp->error) {
    rpc_event(false, event);
    return host_fail(*resp->error);
  }
  rpc_event(true, event);
  if (resp->content_length && *resp->content_length > resp->msg.size()) {
    // 2.5 step 5: a chunked response is the object `<id>-r`. Unlike the reference (empty bytes)
    // a failed read is a host-call error.
    auto full = deps_.objects->take(topics::obj_response_name(inv->id));
    if (!full) {
      spdlog::warn("Host call {}: {}", inv->id, full.error().message);
      return host_fail(full.error().message);
    }
    return std::move(*full);
  }
  return std::move(resp->msg);
}

}  // namespace wc::host

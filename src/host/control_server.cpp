// ControlServer (control_server.h): control-interface subscriptions, the handlers of get/ping/
// linkdefs/registries/auction requests and host commands, and the supplemental configuration
// service (2.7) queried before host_started.
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "host/control_server.h"
#include "host/errors.h"
#include "host/util.h"
#include "lattice/event_data.h"
#include "lattice/events.h"
#include "lattice/topics.h"
#include "lattice/tracing.h"

namespace wc::host {
namespace {

using json = nlohmann::json;
namespace topics = lattice::topics;
namespace ev = lattice::events;
namespace ed = lattice::event_data;

/// Runs one lifecycle task. Handlers turn expected failures into Errors; an exception escaping
/// anyway (a bug, e.g. a JSON accessor meeting an unexpected null) is logged and reported
/// through `on_failure` with errors::kUnexpectedFailurePrefix + its text, so that no request
/// ends without its `*_start_failed` event or failure ack (issue #12.1: a throw used to be
/// swallowed by the executor and the client waited forever).
template <class Task, class OnFailure>
void run_guarded(std::string_view what, Task&& task, OnFailure&& on_failure) {
  std::string error;
  try {
    task();
    return;
  } catch (const std::exception& e) {
    error = std::string(errors::kUnexpectedFailurePrefix) + e.what();
  } catch (...) {
    error = std::string(errors::kUnexpectedFailurePrefix) + "unknown exception";
  }
  spdlog::error("{} failed: {}", what, error);
  try {
    on_failure(error);
  } catch (...) {
    spdlog::error("{}: reporting the failure failed too", what);
  }
}

}  // namespace

/// Asks `wasmbus.cfg.{prefix}.req` for supplemental configuration before host_started.
void ControlServer::query_config_service() {
  auto r = deps_.ctl->request_text(topics::config_request(deps_.lattice_prefix),
                                   json{{"labels", deps_.labels}}.dump(), std::chrono::seconds(2));
  json reply = r ? json::parse(r->begin(), r->end(), nullptr, false) : json();
  if (!r || reply.is_discarded() || !reply.is_object()) {
    spdlog::warn("Failed to obtain supplemental configuration: {}",
                 r ? std::string("reply is not a JSON object") : r.error().message);
    return;
  }
  if (auto it = reply.find("registryCredentials"); it != reply.end() && it->is_object()) {
    std::map<std::string, oci::RegistryCredential> entries;
    for (auto& [server, v] : it->items()) {
      if (!v.is_object()) continue;
      oci::RegistryCredential c;
      if (v.contains("registryType") && v["registryType"].is_string())
        c.registry_type = v["registryType"];
      if (v.contains("username") && v["username"].is_string()) c.username = v["username"];
      if (v.contains("password") && v["password"].is_string()) c.password = v["password"];
      if (v.contains("token") && v["token"].is_string()) c.token = v["token"];
      entries[server] = std::move(c);
    }
    deps_.creds->replace(std::move(entries));
  }
  if (auto it = reply.find("autoStartProviders");
      it != reply.end() && it->is_array() && !it->empty())
    for (const auto& p : *it) {
      if (!p.is_object() || !p.contains("providerRef") || !p["providerRef"].is_string()) continue;
      StartProviderRequest req;
      req.provider_ref = p["providerRef"].get<std::string>();
      if (auto ln = p.find("linkName"); ln != p.end() && ln->is_string())
        req.link_name = ln->get<std::string>();
      else
        req.link_name = "default";  // null, absent or not a string
      deps_.post_lifecycle([this, req] { guarded_launch_provider(req); });
    }
  if (auto it = reply.find("autoStartActors"); it != reply.end() && it->is_array()) {
    for (const auto& ref : *it) {
      if (!ref.is_string()) continue;
      LaunchActorRequest req;
      req.actor_ref = ref.get<std::string>();
      deps_.post_lifecycle([this, req] { guarded_launch(req, 0); });
    }
  }
}

void ControlServer::reply(const ControlRequest& m, const std::string& body) {
  if (m.reply.empty()) return;
  auto st = deps_.ctl->publish_text(m.reply, body);
  if (!st) spdlog::warn("Failed to reply on {}: {}", m.subject, st.error().message);
}

void ControlServer::ack(const ControlRequest& m, bool accepted, std::string_view error) {
  reply(m, ack_json(accepted, error));
}

ControlServer::ControlServer(ControlServerDeps deps) : deps_(std::move(deps)) {}

ControlServer::~ControlServer() { close(); }

void ControlServer::close() {
  for (auto& sub : subs_) sub.unsubscribe();
  subs_.clear();
}

void ControlServer::emit(std::string_view type, const json& data) const {
  if (deps_.emit) deps_.emit(type, data, false);
}

StringMap ControlServer::labels_now() const {
  return deps_.current_labels ? deps_.current_labels() : deps_.labels;
}

Status ControlServer::subscribe() {
  const auto& L = deps_.lattice_prefix;
  const auto& C = deps_.ctl_topic_prefix;
  auto handler = [this](lattice::Message m) {
    auto msg = std::make_shared<lattice::Message>(std::move(m));
    deps_.post_control([this, msg] {
      // Continue the requester's trace (traceparent header) or start one: log lines, events and
      // the lifecycle work posted from here (Executor carries the trace) belong to it.
      trace::Scope trace_scope(lattice::trace_for(*msg));
      handle(ControlRequest{msg->subject(), msg->reply(), msg->data()});
    });
  };
  struct Spec {
    std::string subject;
    std::string queue;
  };
  std::vector<Spec> specs = {
      {topics::ctl_cmd_subscribe(L, deps_.host_id, C), ""},
      {topics::ctl_get_inventory(L, deps_.host_id, C), ""},
      {topics::ctl_ping_hosts(L, C), ""},
      {topics::ctl_get_subscribe(L, C), topics::ctl_queue_group(L, C)},
      {topics::ctl_linkdefs_subscribe(L, C), topics::ctl_queue_group(L, C)},
      {topics::ctl_registries_put(L, C), ""},
      {topics::ctl_auction_subscribe(L, C), ""},
  };
  for (const auto& s : specs) {
    auto sub = s.queue.empty() ? deps_.ctl->subscribe(s.subject, handler)
                               : deps_.ctl->queue_subscribe(s.subject, s.queue, handler);
    if (!sub) return fail(sub.error());
    subs_.push_back(std::move(*sub));
  }
  if (!deps_.policy_changes_topic.empty()) {
    auto sub = deps_.ctl->subscribe(deps_.policy_changes_topic, [this](lattice::Message m) {
      auto msg = std::make_shared<lattice::Message>(std::move(m));
      deps_.post_control([this, msg] {
        handle_policy_change(ControlRequest{msg->subject(), msg->reply(), msg->data()});
      });
    });
    if (!sub) return fail(sub.error());
    subs_.push_back(std::move(*sub));
  }
  return deps_.ctl->flush(std::chrono::seconds(5));
}

void ControlServer::handle_policy_change(const ControlRequest& m) {
  if (!check_request_size(m.data.size())) return reply(m, R"({"success":false})");
  reply(m, deps_.policy->apply_change(m.text()));
}

bool ControlServer::bids_for_actor(const StringMap& labels, bool allow_file_load,
                                   const ActorAuctionRequest& r) {
  // Beyond 2.4.7: a host that would refuse a file:// reference (file loading off) does not bid,
  // so it never wins an auction it cannot serve.
  return labels_satisfy(labels, r.constraints) &&
         (allow_file_load || !r.actor_ref.starts_with("file://"));
}

bool ControlServer::bids_for_provider(const StringMap& labels, bool allow_file_load,
                                      const ProviderAuctionRequest& r, bool running_here) {
  // 2.4.8: bid when the labels match and the provider is not already running here.
  return labels_satisfy(labels, r.constraints) &&
         (allow_file_load || !r.provider_ref.starts_with("file://")) && !running_here;
}

void ControlServer::handle(const ControlRequest& m) {
  auto topic = parse_control_topic(m.subject, deps_.ctl_topic_prefix, deps_.lattice_prefix);
  if (!topic) {
    ack(m, false, errors::kInvalidTopic);
    return;
  }
  const auto& t = *topic;
  // Limits before any work (ours): the body is neither copied nor parsed past the size limit.
  if (auto size = check_request_size(m.data.size()); !size) {
    spdlog::warn("Refusing control request on {}: {}", m.subject, size.error().message);
    return ack(m, false, size.error().message);
  }
  const std::string body(m.text());
  if (t.kind == "cmd") {
    if (t.host != deps_.host_id) return ack(m, false, errors::kIncorrectHost);
    return handle_command(m, t.op, body);
  }
  if (t.kind == "get" && !t.host.empty() && t.op == "inv") {
    if (t.host != deps_.host_id) return ack(m, false, errors::kIncorrectHost);
    return reply(m,
                 inventory_json(deps_.facts(), deps_.actors->snapshot(), deps_.providers()).dump());
  }
  if (t.kind == "ping" && t.op == "hosts" && t.host.empty()) {
    reply(m, ping_reply_json(deps_.facts()).dump());
    deps_.heartbeat();
    return;
  }
  if (t.kind == "get" && t.host.empty() && t.op == "claims") {
    json list = json::array();
    for (auto& v : deps_.metadata->all_claims()) list.push_back(std::move(v));
    return reply(m, json{{"claims", list}}.dump());
  }
  if (t.kind == "get" && t.host.empty() && t.op == "links") {
    json list = json::array();
    for (const auto& v : deps_.metadata->links()) list.push_back(linkdef_json(v));
    return reply(m, json{{"links", list}}.dump());
  }
  if (t.kind == "linkdefs" && t.host.empty() && t.op == "put") return linkdef_put(m, body);
  if (t.kind == "linkdefs" && t.host.empty() && t.op == "del") return linkdef_del(m, body);
  if (t.kind == "registries" && t.host.empty() && t.op == "put") {
    auto st = deps_.creds->merge_json(body);
    return st ? ack(m, true) : ack(m, false, errors::kRegistryPutFailed);
  }
  if (t.kind == "auction" && t.host.empty() && t.op == "actor") {
    auto r = parse_actor_auction(body);
    if (!r) return ack(m, false, r.error().message);
    if (bids_for_actor(labels_now(), deps_.allow_file_load, *r))
      reply(m, json{{"actor_ref", r->actor_ref},
                    {"constraints", r->constraints},
                    {"host_id", deps_.host_id}}
                   .dump());
    return;
  }
  if (t.kind == "auction" && t.host.empty() && t.op == "provider") {
    auto r = parse_provider_auction(body);
    if (!r) return ack(m, false, r.error().message);
    auto key = deps_.resolve_provider_key(r->provider_ref);
    const bool running_here = key && deps_.provider_supervised(*key, r->link_name);
    if (bids_for_provider(labels_now(), deps_.allow_file_load, *r, running_here))
      reply(m, json{{"provider_ref", r->provider_ref},
                    {"link_name", r->link_name},
                    {"constraints", r->constraints},
                    {"host_id", deps_.host_id}}
                   .dump());
    return;
  }
  spdlog::warn("Received control message on unhandled subject {}", m.subject);
}

void ControlServer::handle_command(const ControlRequest& m, const std::string& op,
                                   const std::string& body) {
  if (op == topics::kCmdScaleActor) {
    auto r = parse_scale_actor(body);
    if (!r) return ack(m, false, r.error().message);
    // The host instance limit (ours) is checked against the instances running and those already
    // accepted; past it the request is refused in the ack and with actor_start_failed.
    auto reserved = deps_.actors->reserve(r->count, &r->actor_id);
    if (!reserved) {
      ack(m, false, reserved.error().message);
      deps_.actors->scale_failed(*r, r->actor_ref, reserved.error().message);
      return;
    }
    ack(m, true);  // 2.3.4: ack before the work
    if (!deps_.post_lifecycle([this, req = *r, n = *reserved] {
          deps_.actors->begin_task(n);
          run_guarded(
              "Scaling actor", [&] { deps_.actors->scale(req); },
              [&](const std::string& error) {
                deps_.actors->scale_failed(req, req.actor_ref, error);
              });
          deps_.actors->end_task();
        }))
      deps_.actors->release(*reserved);
    return;
  }
  if (op == topics::kCmdLaunchActor) {
    auto r = parse_launch_actor(body);
    if (!r) return ack(m, false, r.error().message);
    auto reserved = deps_.actors->reserve(r->count);
    if (!reserved) {
      ack(m, false, reserved.error().message);
      spdlog::error("Failed to start actor from '{}': {}", r->actor_ref, reserved.error().message);
      emit(ev::kActorStartFailed,
           ed::actor_start_failed(r->actor_ref, inspect(reserved.error().message)));
      return;
    }
    ack(m, true);  // 2.3.2: immediately
    if (!deps_.post_lifecycle([this, req = *r, n = *reserved] { guarded_launch(req, n); }))
      deps_.actors->release(*reserved);
    return;
  }
  if (op == topics::kCmdStopActor) {
    auto r = parse_stop_actor(body);
    if (!r) return ack(m, false, r.error().message);
    auto msg = std::make_shared<std::string>(m.reply);
    // 2.3.3: synchronous - ack after the instances are halted.
    deps_.post_lifecycle([this, req = *r, msg] {
      std::string text = ack_json(true);
      run_guarded(
          "Stopping actor", [&] { deps_.actors->stop(req.actor_id, req.count, req.annotations); },
          [&](const std::string& error) { text = ack_json(false, error); });
      if (!msg->empty()) (void)deps_.ctl->publish_text(*msg, text);
    });
    return;
  }
  if (op == topics::kCmdUpdateActor) {
    auto r = parse_update_actor(body);
    if (!r) return ack(m, false, r.error().message);
    auto msg = std::make_shared<std::string>(m.reply);
    deps_.post_lifecycle([this, req = *r, msg] {
      std::string text;
      run_guarded(
          "Live update",
          [&] {
            auto st = deps_.actors->live_update(req.new_actor_ref);
            text =
                st ? ack_json(true)
                   : ack_json(false, std::string(errors::kLiveUpdatePrefix) + st.error().message);
          },
          [&](const std::string& error) {
            text = ack_json(false, std::string(errors::kLiveUpdatePrefix) + error);
          });
      if (!msg->empty()) (void)deps_.ctl->publish_text(*msg, text);
    });
    return;
  }
  if (op == topics::kCmdLaunchProvider) {
    auto r = parse_start_provider(body);
    if (!r) return ack(m, false, r.error().message);
    // 2.3.6: synchronous duplicate check on the resolved key.
    if (auto key = deps_.resolve_provider_key(r->provider_ref);
        key && deps_.provider_supervised(*key, r->link_name)) {
      emit(ev::kProviderStartFailed, ed::provider_start_failed(r->provider_ref, r->link_name,
                                                               errors::provider_duplicate_ignored(
                                                                   r->provider_ref, r->link_name)));
      return ack(m, false, errors::kProviderAlreadyRunning);
    }
    ack(m, true);
    deps_.post_lifecycle([this, req = *r] { guarded_launch_provider(req); });
    return;
  }
  if (op == topics::kCmdStopProvider) {
    auto r = parse_stop_provider(body);
    if (!r) return ack(m, false, r.error().message);
    // 2.3.7: synchronous - ack after the matching instances are stopped.
    auto msg = std::make_shared<std::string>(m.reply);
    deps_.post_lifecycle([this, req = *r, msg] {
      std::string text = ack_json(true);
      run_guarded(
          "Stopping provider", [&] { deps_.stop_provider(req.provider_id, req.link_name); },
          [&](const std::string& error) { text = ack_json(false, error); });
      if (!msg->empty()) (void)deps_.ctl->publish_text(*msg, text);
    });
    return;
  }
  if (op == topics::kCmdStopHost) {
    auto r = parse_stop_host(body);
    if (!r) return ack(m, false, r.error().message);
    ack(m, true);
    (void)deps_.ctl->flush(std::chrono::seconds(1));
    deps_.request_stop();
    return;
  }
  spdlog::warn("Received unknown host command {}", op);
}

void ControlServer::guarded_launch(const LaunchActorRequest& req, std::int64_t reserved) {
  deps_.actors->begin_task(reserved);
  run_guarded(
      "Starting actor", [&] { deps_.actors->launch(req); },
      [&](const std::string& error) {
        emit(ev::kActorStartFailed, ed::actor_start_failed(req.actor_ref, inspect(error)));
      });
  deps_.actors->end_task();
}

void ControlServer::guarded_launch_provider(const StartProviderRequest& req) {
  run_guarded(
      "Starting provider", [&] { deps_.launch_provider(req); },
      [&](const std::string& error) {
        emit(ev::kProviderStartFailed,
             ed::provider_start_failed(req.provider_ref, req.link_name, inspect(error)));
      });
}

void ControlServer::linkdef_put(const ControlRequest& m, const std::string& body) {
  auto r = parse_linkdef_put(body);
  if (!r) return ack(m, false, r.error().message);
  deps_.metadata->put_link(*r);
  ack(m, true);
}

void ControlServer::linkdef_del(const ControlRequest& m, const std::string& body) {
  auto r = parse_linkdef_del(body);
  if (!r) return ack(m, false, r.error().message);
  if (!deps_.metadata->delete_link(r->id))
    spdlog::info("Link definition {} not found, nothing to delete", r->id);
  ack(m, true);
}

}  // namespace wc::host

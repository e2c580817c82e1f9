// Control-interface client (see ctl_client.h).
#include "lattice/ctl_client.h"

#include "lattice/tracing.h"

#include <condition_variable>
#include <mutex>
#include <thread>

namespace wc::lattice {
namespace {

using nlohmann::json;

Result<json> parse_json(std::string_view text, std::string_view what) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    return fail(Code::kInvalidArgument, std::string(what) + ": reply is not JSON");
  }
  return j;
}

std::string body_text(const json& body) {
  if (body.is_null()) return {};
  return body.dump(-1, ' ', false, json::error_handler_t::replace);
}

json string_map(const std::map<std::string, std::string>& m) {
  json j = json::object();
  for (const auto& [k, v] : m) j[k] = v;
  return j;
}

}  // namespace

Result<CtlAck> parse_ack(const nlohmann::json& reply) {
  if (!reply.is_object() || !reply.contains("accepted") || !reply["accepted"].is_boolean()) {
    return fail(Code::kInvalidArgument, "control reply is not an acknowledgement");
  }
  CtlAck ack;
  ack.accepted = reply["accepted"].get<bool>();
  if (reply.contains("error") && reply["error"].is_string()) {
    ack.error = reply["error"].get<std::string>();
  }
  return ack;
}

CtlClient::CtlClient(Connection& nc, std::string lattice, std::string ctl_prefix,
                     std::chrono::milliseconds timeout, std::chrono::milliseconds auction_timeout)
    : nc_(nc),
      lattice_(std::move(lattice)),
      ctl_(std::move(ctl_prefix)),
      timeout_(timeout),
      auction_timeout_(auction_timeout) {}

Result<json> CtlClient::request(std::string_view operation, const json& body) {
  return request_at(topics::ctl_subject(lattice_, operation, ctl_), body);
}

Result<json> CtlClient::request_at(const std::string& subject, const json& body) {
  auto reply = nc_.request(subject, body_text(body), timeout_, current_trace_headers());
  if (!reply) return fail(reply.error());
  return parse_json(reply->text(), subject);
}

Result<std::vector<json>> CtlClient::collect(std::string_view operation, const json& body,
                                             std::chrono::milliseconds wait) {
  return collect_at(topics::ctl_subject(lattice_, operation, ctl_), body, wait);
}

Result<std::vector<json>> CtlClient::collect_at(const std::string& subject, const json& body,
                                                std::chrono::milliseconds wait) {
  std::string inbox = nc_.new_inbox();
  if (inbox.empty()) return fail(Code::kInternal, "could not create a NATS inbox");
  struct Shared {
    std::mutex mu;
    std::vector<json> replies;
  };
  auto shared = std::make_shared<Shared>();
  auto sub = nc_.subscribe(inbox, [shared](Message m) {
    json j = json::parse(m.text(), nullptr, false);
    if (j.is_discarded()) return;
    std::lock_guard<std::mutex> lock(shared->mu);
    shared->replies.push_back(std::move(j));
  });
  if (!sub) return fail(sub.error());
  if (auto st = nc_.flush(timeout_); !st) return fail(st.error());  // subscription is live
  if (auto st = nc_.publish(subject, body_text(body), current_trace_headers(), inbox); !st)
    return fail(st.error());
  std::this_thread::sleep_for(wait);
  sub->unsubscribe();
  std::lock_guard<std::mutex> lock(shared->mu);
  return std::move(shared->replies);
}

Result<CtlAck> CtlClient::command_at(const std::string& subject, const json& body) {
  auto reply = request_at(subject, body);
  if (!reply) return fail(reply.error());
  return parse_ack(*reply);
}

Result<std::vector<json>> CtlClient::ping_hosts() {
  return collect_at(topics::ctl_ping_hosts(lattice_, ctl_), nullptr, auction_timeout_);
}

Result<json> CtlClient::host_inventory(std::string_view host_id) {
  return request_at(topics::ctl_get_inventory(lattice_, host_id, ctl_));
}

Result<json> CtlClient::get_claims() { return request_at(topics::ctl_get_claims(lattice_, ctl_)); }
Result<json> CtlClient::get_links() { return request_at(topics::ctl_get_links(lattice_, ctl_)); }

Result<CtlAck> CtlClient::start_actor(std::string_view host_id, std::string_view actor_ref,
                                      int count,
                                      const std::map<std::string, std::string>& annotations) {
  json body = {{"actor_ref", actor_ref},
               {"host_id", host_id},
               {"count", count},
               {"annotations", string_map(annotations)}};
  return command_at(topics::ctl_cmd(lattice_, host_id, topics::kCmdLaunchActor, ctl_), body);
}

Result<CtlAck> CtlClient::stop_actor(std::string_view host_id, std::string_view actor_id, int count,
                                     const std::map<std::string, std::string>& annotations) {
  json body = {{"actor_ref", actor_id},
               {"host_id", host_id},
               {"count", count},
               {"annotations", string_map(annotations)}};
  return command_at(topics::ctl_cmd(lattice_, host_id, topics::kCmdStopActor, ctl_), body);
}

Result<CtlAck> CtlClient::scale_actor(std::string_view host_id, std::string_view actor_id,
                                      std::string_view actor_ref, int count,
                                      const std::map<std::string, std::string>& annotations) {
  json body = {
      {"actor_id", actor_id}, {"actor_ref", actor_ref}, {"count", count}, {"host_id", host_id}};
  if (!annotations.empty()) body["annotations"] = string_map(annotations);
  return command_at(topics::ctl_cmd(lattice_, host_id, topics::kCmdScaleActor, ctl_), body);
}

Result<CtlAck> CtlClient::update_actor(std::string_view host_id, std::string_view actor_id,
                                       std::string_view new_actor_ref) {
  json body = {{"actor_id", actor_id}, {"new_actor_ref", new_actor_ref}, {"host_id", host_id}};
  return command_at(topics::ctl_cmd(lattice_, host_id, topics::kCmdUpdateActor, ctl_), body);
}

Result<CtlAck> CtlClient::start_provider(std::string_view host_id, std::string_view provider_ref,
                                         std::string_view link_name, std::string_view configuration,
                                         const std::map<std::string, std::string>& annotations) {
  json body = {{"provider_ref", provider_ref},
               {"link_name", link_name},
               {"host_id", host_id},
               {"configuration", configuration},
               {"annotations", string_map(annotations)}};
  return command_at(topics::ctl_cmd(lattice_, host_id, topics::kCmdLaunchProvider, ctl_), body);
}

Result<CtlAck> CtlClient::stop_provider(std::string_view host_id, std::string_view provider_id,
                                        std::string_view link_name, std::string_view contract_id) {
  json body = {{"provider_ref", provider_id},
               {"link_name", link_name},
               {"contract_id", contract_id},
               {"host_id", host_id}};
  return command_at(topics::ctl_cmd(lattice_, host_id, topics::kCmdStopProvider, ctl_), body);
}

Result<CtlAck> CtlClient::stop_host(std::string_view host_id, int timeout_ms) {
  json body = {{"host_id", host_id}, {"timeout", timeout_ms}};
  return command_at(topics::ctl_cmd(lattice_, host_id, topics::kCmdStopHost, ctl_), body);
}

Result<CtlAck> CtlClient::advertise_link(std::string_view actor_id, std::string_view provider_id,
                                         std::string_view contract_id, std::string_view link_name,
                                         const std::map<std::string, std::string>& values) {
  json body = {{"actor_id", actor_id},
               {"provider_id", provider_id},
               {"link_name", link_name},
               {"contract_id", contract_id},
               {"values", string_map(values)}};
  return command_at(topics::ctl_linkdefs_put(lattice_, ctl_), body);
}

Result<CtlAck> CtlClient::remove_link(std::string_view actor_id, std::string_view contract_id,
                                      std::string_view link_name) {
  json body = {{"actor_id", actor_id}, {"contract_id", contract_id}, {"link_name", link_name}};
  return command_at(topics::ctl_linkdefs_del(lattice_, ctl_), body);
}

Result<std::vector<CtlAck>> CtlClient::put_registries(const json& credentials) {
  auto replies =
      collect_at(topics::ctl_registries_put(lattice_, ctl_), credentials, auction_timeout_);
  if (!replies) return fail(replies.error());
  std::vector<CtlAck> acks;
  for (const auto& r : *replies) {
    auto ack = parse_ack(r);
    if (ack) acks.push_back(std::move(*ack));
  }
  return acks;
}

Result<std::vector<json>> CtlClient::auction_actor(
    std::string_view actor_ref, const std::map<std::string, std::string>& constraints) {
  json body = {{"actor_ref", actor_ref}, {"constraints", string_map(constraints)}};
  return collect_at(topics::ctl_auction_actor(lattice_, ctl_), body, auction_timeout_);
}

Result<std::vector<json>> CtlClient::auction_provider(
    std::string_view provider_ref, std::string_view link_name,
    const std::map<std::string, std::string>& constraints) {
  json body = {{"provider_ref", provider_ref},
               {"link_name", link_name},
               {"constraints", string_map(constraints)}};
  return collect_at(topics::ctl_auction_provider(lattice_, ctl_), body, auction_timeout_);
}

}  // namespace wc::lattice

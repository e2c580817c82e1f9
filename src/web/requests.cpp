// Control-interface request bodies of the dashboard (see requests.h).
#include "web/requests.h"

#include "lattice/topics.h"

namespace wc::web {
namespace {

using nlohmann::json;
namespace topics = lattice::topics;

// The operation part (after `{ctl}.{lattice}.`) of a control subject topics.h builds; built for
// the default lattice and prefix, CtlClient puts the dashboard's own in front.
std::string operation_of(const std::string& subject) {
  return topics::ctl_operation(subject, topics::kDefaultLattice).value_or(subject);
}

std::string host_op(std::string_view host_id, std::string_view op) {
  return operation_of(topics::ctl_cmd(topics::kDefaultLattice, host_id, op));
}

}  // namespace

CtlRequest scale_request(std::string_view host_id, std::string_view actor_id,
                         std::string_view actor_ref, int count) {
  return {host_op(host_id, topics::kCmdScaleActor),
          json{{"actor_id", actor_id}, {"actor_ref", actor_ref}, {"count", count}}};
}

CtlRequest update_request(std::string_view host_id, std::string_view actor_id,
                          std::string_view new_actor_ref) {
  return {host_op(host_id, topics::kCmdUpdateActor),
          json{{"actor_id", actor_id}, {"new_actor_ref", new_actor_ref}}};
}

CtlRequest launch_provider_request(std::string_view host_id, std::string_view provider_ref,
                                   std::string_view link_name, std::string_view configuration) {
  return {host_op(host_id, topics::kCmdLaunchProvider), json{{"provider_ref", provider_ref},
                                                             {"link_name", link_name},
                                                             {"configuration", configuration}}};
}

CtlRequest stop_provider_request(std::string_view host_id, std::string_view provider_id,
                                 std::string_view link_name) {
  return {host_op(host_id, topics::kCmdStopProvider),
          json{{"provider_ref", provider_id}, {"link_name", link_name}}};
}

CtlRequest actor_auction_request(std::string_view actor_ref) {
  return {operation_of(topics::ctl_auction_actor(topics::kDefaultLattice)),
          json{{"actor_ref", actor_ref}, {"constraints", json::object()}}};
}

CtlRequest provider_auction_request(std::string_view provider_ref, std::string_view link_name) {
  return {operation_of(topics::ctl_auction_provider(topics::kDefaultLattice)),
          json{{"provider_ref", provider_ref},
               {"link_name", link_name},
               {"constraints", json::object()}}};
}

CtlRequest put_link_request(std::string_view actor_id, std::string_view provider_id,
                            std::string_view contract_id, std::string_view link_name,
                            const std::map<std::string, std::string>& values) {
  json v = json::object();
  for (const auto& [k, val] : values) v[k] = val;
  return {operation_of(topics::ctl_linkdefs_put(topics::kDefaultLattice)),
          json{{"actor_id", actor_id},
               {"contract_id", contract_id},
               {"link_name", link_name},
               {"provider_id", provider_id},
               {"values", std::move(v)}}};
}

CtlRequest delete_link_request(std::string_view actor_id, std::string_view contract_id,
                               std::string_view link_name) {
  return {operation_of(topics::ctl_linkdefs_del(topics::kDefaultLattice)),
          json{{"actor_id", actor_id}, {"contract_id", contract_id}, {"link_name", link_name}}};
}

}  // namespace wc::web

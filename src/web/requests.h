// The control-interface requests the dashboard sends: the operation (the subject after
// `{ctl}.{lattice}.`) and the exact JSON body of each.
//
// Owned by src/web. The bodies are the ones the original dashboard sends (wasmcloud_host's
// lattice control-interface module, control-interface.md 7.2): the target host is named in the
// subject only, never in the body, and no field the original does not send is added (the Rust
// control-interface client that lattice::CtlClient follows also sends `host_id` and
// `annotations`; the dashboard does not). Pure functions; thread-safe.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace wc::web {

/// One control-interface request: `{ctl}.{lattice}.{operation}` with `body` as its JSON payload.
struct CtlRequest {
  std::string operation;
  nlohmann::json body;
};

/// `cmd.{host}.scale` `{"actor_id","actor_ref","count"}` (2.3.4; "Start actor" and "Scale").
/// `count` is the desired total on that host.
CtlRequest scale_request(std::string_view host_id, std::string_view actor_id,
                         std::string_view actor_ref, int count);

/// `cmd.{host}.upd` `{"actor_id","new_actor_ref"}` (2.3.5; hot reload, which the original did
/// in-process and this dashboard does over the lattice).
CtlRequest update_request(std::string_view host_id, std::string_view actor_id,
                          std::string_view new_actor_ref);

/// `cmd.{host}.lp` `{"provider_ref","link_name","configuration"}` (2.3.6).
CtlRequest launch_provider_request(std::string_view host_id, std::string_view provider_ref,
                                   std::string_view link_name, std::string_view configuration);

/// `cmd.{host}.sp` `{"provider_ref","link_name"}` with provider_ref = the provider key (2.3.7).
CtlRequest stop_provider_request(std::string_view host_id, std::string_view provider_id,
                                 std::string_view link_name);

/// `auction.actor` `{"actor_ref","constraints":{}}` (2.4.7).
CtlRequest actor_auction_request(std::string_view actor_ref);

/// `auction.provider` `{"provider_ref","link_name","constraints":{}}` (2.4.8).
CtlRequest provider_auction_request(std::string_view provider_ref, std::string_view link_name);

/// `linkdefs.put` `{"actor_id","contract_id","link_name","provider_id","values"}` (2.4.4);
/// `values` is a JSON object of strings (`{}` when empty).
CtlRequest put_link_request(std::string_view actor_id, std::string_view provider_id,
                            std::string_view contract_id, std::string_view link_name,
                            const std::map<std::string, std::string>& values);

/// `linkdefs.del` `{"actor_id","contract_id","link_name"}` (2.4.5).
CtlRequest delete_link_request(std::string_view actor_id, std::string_view contract_id,
                               std::string_view link_name);

}  // namespace wc::web

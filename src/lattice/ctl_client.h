// A thin control-interface client: JSON requests to `{ctl}.{lattice}.…` as `wasmcloud ctl` and the
// dashboard send them, reply JSON parsed, scatter/gather collection for ping and auctions.
//
// Owned by src/lattice. Request shapes: control-interface.md section 2 (field names as the Rust
// control-interface 0.28 client sends them). The client does not interpret replies beyond JSON
// parsing (and CtlAck for commands). Every request carries a `traceparent` header while the
// calling thread works for a trace (open a trace::Scope, common/trace.h; lattice/tracing.h).
// Thread-safe as far as the Connection is (it only holds a reference to it; the Connection must
// outlive the client).
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "lattice/nats.h"
#include "lattice/topics.h"

namespace wc::lattice {

/// The common command reply `{"accepted": bool, "error": string}` (control-interface.md 2.2).
struct CtlAck {
  bool accepted = false;
  std::string error;
};

/// Parses a CtlAck from reply JSON. Missing `error` reads as ""; kInvalidArgument when
/// `accepted` is missing or not a bool.
Result<CtlAck> parse_ack(const nlohmann::json& reply);

/// Control-interface requests over one Connection.
class CtlClient {
 public:
  /// `timeout` bounds single-reply requests; `auction_timeout` is how long scatter/gather
  /// requests (ping, auctions) collect replies.
  CtlClient(Connection& nc, std::string lattice,
            std::string ctl_prefix = std::string(topics::kDefaultCtlPrefix),
            std::chrono::milliseconds timeout = std::chrono::seconds(2),
            std::chrono::milliseconds auction_timeout = std::chrono::seconds(2));

  /// Sends `body` (serialized; a null body sends an empty payload) to
  /// `{ctl}.{lattice}.{operation}` and parses the single reply as JSON. Errors:
  /// kDeadlineExceeded (no reply in time), kUnavailable (no responders), kInvalidArgument (reply
  /// is not JSON).
  Result<nlohmann::json> request(std::string_view operation, const nlohmann::json& body = nullptr);
  /// Publishes `body` to `{ctl}.{lattice}.{operation}` with a fresh inbox as reply subject and
  /// collects every JSON reply that arrives within `wait` (replies that are not JSON are
  /// skipped). Zero replies is not an error.
  Result<std::vector<nlohmann::json>> collect(std::string_view operation,
                                              const nlohmann::json& body,
                                              std::chrono::milliseconds wait);

  /// `ping.hosts`: every host's ping reply, collected for auction_timeout (2.4.1).
  Result<std::vector<nlohmann::json>> ping_hosts();
  /// `get.{host}.inv` (2.3.1).
  Result<nlohmann::json> host_inventory(std::string_view host_id);
  /// `get.claims` (2.4.2): the reply object `{"claims": [...]}`.
  Result<nlohmann::json> get_claims();
  /// `get.links` (2.4.3): the reply object `{"links": [...]}`.
  Result<nlohmann::json> get_links();

  /// `cmd.{host}.la` with actor_ref, host_id, count, annotations (2.3.2).
  Result<CtlAck> start_actor(std::string_view host_id, std::string_view actor_ref, int count = 1,
                             const std::map<std::string, std::string>& annotations = {});
  /// `cmd.{host}.sa` with actor_ref (= the actor public key), count (0 = all), annotations,
  /// host_id (2.3.3).
  Result<CtlAck> stop_actor(std::string_view host_id, std::string_view actor_id, int count,
                            const std::map<std::string, std::string>& annotations = {});
  /// `cmd.{host}.scale` with actor_id, actor_ref, count (desired total), host_id (2.3.4).
  Result<CtlAck> scale_actor(std::string_view host_id, std::string_view actor_id,
                             std::string_view actor_ref, int count,
                             const std::map<std::string, std::string>& annotations = {});
  /// `cmd.{host}.upd` with new_actor_ref, actor_id, host_id (2.3.5).
  Result<CtlAck> update_actor(std::string_view host_id, std::string_view actor_id,
                              std::string_view new_actor_ref);
  /// `cmd.{host}.lp` with provider_ref, link_name, configuration, annotations, host_id (2.3.6).
  Result<CtlAck> start_provider(std::string_view host_id, std::string_view provider_ref,
                                std::string_view link_name = "default",
                                std::string_view configuration = "",
                                const std::map<std::string, std::string>& annotations = {});
  /// `cmd.{host}.sp` with provider_ref (= the provider public key), link_name, contract_id,
  /// host_id (2.3.7).
  Result<CtlAck> stop_provider(std::string_view host_id, std::string_view provider_id,
                               std::string_view link_name, std::string_view contract_id);
  /// `cmd.{host}.stop` with host_id and timeout in milliseconds (2.3.8).
  Result<CtlAck> stop_host(std::string_view host_id, int timeout_ms = 500);
  /// `linkdefs.put` with actor_id, provider_id, link_name, contract_id, values (2.4.4).
  Result<CtlAck> advertise_link(std::string_view actor_id, std::string_view provider_id,
                                std::string_view contract_id, std::string_view link_name,
                                const std::map<std::string, std::string>& values = {});
  /// `linkdefs.del` with actor_id, contract_id, link_name (2.4.5).
  Result<CtlAck> remove_link(std::string_view actor_id, std::string_view contract_id,
                             std::string_view link_name);
  /// `registries.put` as a request; collects every host's ack for auction_timeout (2.4.6).
  /// `credentials` maps a server to `{"registryType", "username", "password", "token"}`.
  Result<std::vector<CtlAck>> put_registries(const nlohmann::json& credentials);
  /// `auction.actor` with actor_ref and constraints; every bid within auction_timeout (2.4.7).
  Result<std::vector<nlohmann::json>> auction_actor(
      std::string_view actor_ref, const std::map<std::string, std::string>& constraints = {});
  /// `auction.provider` with provider_ref, link_name, constraints (2.4.8).
  Result<std::vector<nlohmann::json>> auction_provider(
      std::string_view provider_ref, std::string_view link_name = "default",
      const std::map<std::string, std::string>& constraints = {});

 private:
  // The *_at forms take the full subject, built by the caller with lattice/topics.h.
  Result<nlohmann::json> request_at(const std::string& subject,
                                    const nlohmann::json& body = nullptr);
  Result<std::vector<nlohmann::json>> collect_at(const std::string& subject,
                                                 const nlohmann::json& body,
                                                 std::chrono::milliseconds wait);
  /// request_at + the 2.2 acknowledgement parse.
  Result<CtlAck> command_at(const std::string& subject, const nlohmann::json& body);
  Connection& nc_;
  std::string lattice_;
  std::string ctl_;
  std::chrono::milliseconds timeout_;
  std::chrono::milliseconds auction_timeout_;
};

}  // namespace wc::lattice

// Small host <-> provider payloads on the RPC subjects: link definitions (msgpack), health
// checks, shutdown requests.
//
// Owned by src/rpc. Spec: actor-rpc-providers.md 5.5 (health), 5.6 (shutdown), 6.1-6.3 (link
// definitions), 7.6 (HealthCheckResponse), vectors in 10.5. Pure functions; thread-safe.
// Decoders take untrusted bytes and fail with kInvalidArgument, never throw.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/encoding.h"
#include "common/error.h"

namespace wc::rpc {

/// A link definition (6.1). `id` = topics::linkdef_id(actor_id, contract_id, link_name).
struct LinkDefinition {
  std::string id;
  std::string actor_id;
  std::string provider_id;
  std::string link_name;
  std::string contract_id;
  std::map<std::string, std::string> values;
  bool operator==(const LinkDefinition&) const = default;
};

/// msgpack map with the keys in the host's (alphabetical) order `actor_id, contract_id, id,
/// link_name, provider_id, values` (values as a str→str map, keys sorted), as published on
/// `….linkdefs.put` / `.del` (6.3; 10.5 vector).
Bytes encode_linkdef(const LinkDefinition& ld);
/// Decodes a linkdef map (any key order; `id` optional; `values` missing/nil → empty; values
/// must be strings). Errors: kInvalidArgument.
Result<LinkDefinition> decode_linkdef(std::span<const std::uint8_t> bytes);
/// The JSON object `{"id","actor_id","provider_id","link_name","contract_id","values"}` used in
/// KV values, `linkdef_set`/`linkdef_deleted` event data and `get.links` (control-interface.md
/// 5.3, 4.4.15).
nlohmann::json linkdef_to_json(const LinkDefinition& ld);
/// Parses that JSON object; a missing `id` is left empty (clients may omit it, 5.3); `values`
/// missing or null → {}. Errors: kInvalidArgument when a required string field is missing.
Result<LinkDefinition> linkdef_from_json(const nlohmann::json& j);

/// Body of the provider health-check request: msgpack `{"placeholder": true}` (5.5).
inline constexpr std::array<std::uint8_t, 14> kHealthRequest = {
    0x81, 0xab, 'p', 'l', 'a', 'c', 'e', 'h', 'o', 'l', 'd', 'e', 'r', 0xc3};
/// Body of `Actor.HealthRequest` (`HealthCheckRequest {}`): msgpack empty map (7.6).
inline constexpr std::array<std::uint8_t, 1> kActorHealthRequest = {0x80};

/// HealthCheckResponse (7.6).
struct HealthCheckResponse {
  bool healthy = false;
  std::optional<std::string> message;
};
/// msgpack `{"healthy": bool[, "message": str]}` (`message` omitted when unset).
Bytes encode_health_response(const HealthCheckResponse& r);
/// Decodes a HealthCheckResponse (message missing or nil → nullopt). kInvalidArgument on
/// malformed input. The host's provider supervisor uses it: `healthy: false` makes a provider
/// unhealthy (beyond 5.5, where any reply counted as healthy).
Result<HealthCheckResponse> decode_health_response(std::span<const std::uint8_t> bytes);

/// Body of the provider shutdown request: JSON `{"host_id":"<host key>"}` (5.6).
std::string shutdown_request_json(std::string_view host_id);

}  // namespace wc::rpc

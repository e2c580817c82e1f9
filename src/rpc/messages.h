// Small host <-> provider payloads on the RPC subjects: link definitions (msgpack and JSON, one
// type and one codec for host, provider SDK, dashboard and CLI), health checks, shutdown requests.
//
// Owned by src/rpc (the wire layer, docs/ARCHITECTURE.md). Spec: actor-rpc-providers.md 5.5
// (health), 5.6 (shutdown), 6.1-6.3 (link definitions), 7.6 (HealthCheckResponse), vectors in 10.5.
// Pure functions; thread-safe. Decoders take untrusted bytes and fail with kInvalidArgument, never
// throw.
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

/// A link definition (actor-rpc-providers.md 6.1; control-interface.md 2.4.3-2.4.5, 5.3): the one
/// type the host, the provider SDK, the dashboard and the CLI share (the SDK and host/control.h
/// alias it). Field order is the SDK's (aggregate initialisation in tests relies on it).
struct LinkDefinition {
  std::string actor_id;                       ///< actor public key (M...)
  std::string provider_id;                    ///< provider public key (V...)
  std::string link_name;                      ///< e.g. "default"
  std::string contract_id;                    ///< e.g. "wasmcloud:keyvalue"
  std::map<std::string, std::string> values;  ///< link configuration; may be empty
  /// Host-computed identity, topics::linkdef_id(actor_id, contract_id, link_name); may be empty
  /// on input (clients omit it, control-interface.md 5.3; providers ignore it, 6.1).
  std::string id;
  bool operator==(const LinkDefinition&) const = default;
};

// The `values` rule, the same for every decoder below (msgpack and JSON) and for
// host/control.h's `linkdefs.put` parser:
//  - absent or null (msgpack nil)  -> {}   (control-interface.md 2.4.4: "`null`/missing -> {}",
//    the one decoding rule the spec states; 5.3: what clients write is read back from KV)
//  - an empty map                  -> {}
//  - anything but a map, or a map with a non-string value -> kInvalidArgument (stricter than
//    the OTP host, which does not type-check `linkdefs.put` values, 2.4.4: a mistyped value
//    would be stored and then fail every wasmbus-rpc provider's decoder)
// Encoders always write `values` (possibly {}): actor-rpc-providers.md 6.1 says it must be present
// because the wasmbus-rpc SDK's decoder has no default for it. The other fields: actor_id,
// provider_id, link_name, contract_id are required strings (absent or null = missing); `id` is
// optional (absent or null = ""), and a present field of the wrong type is an error.

/// msgpack map with the keys in the host's (alphabetical) order `actor_id, contract_id, id,
/// link_name, provider_id, values` (values as a str->str map, keys sorted; `id` and `values`
/// always written), as published on `....linkdefs.put` / `.del` (6.3; 10.5 vector).
Bytes encode_linkdef(const LinkDefinition& ld);
/// Decodes a linkdef msgpack map (any key order, unknown keys ignored) with the rules above.
/// Errors: kInvalidArgument "link definition: <detail>" (not a map, missing field `x`, `x` is not
/// a string, `values` is not a map / must map strings to strings, malformed msgpack).
Result<LinkDefinition> decode_linkdef(std::span<const std::uint8_t> bytes);
/// The JSON object `{"id","actor_id","provider_id","link_name","contract_id","values"}` of KV
/// values, `linkdef_set`/`linkdef_deleted` event data, `get.links` and host data
/// `link_definitions` (control-interface.md 5.3, 2.4.3, 3.6.2; actor-rpc-providers.md 5.4).
nlohmann::json linkdef_to_json(const LinkDefinition& ld);
/// Parses that JSON object with the rules above. Errors: kInvalidArgument "link definition:
/// <detail>" (expected an object, missing field `x`, `x` is not a string, `values` is not a map /
/// must map strings to strings).
Result<LinkDefinition> linkdef_from_json(const nlohmann::json& j);
/// Case-insensitive lookup of a link value: keys are matched ignoring ASCII case, as the
/// reference providers do for `PORT`/`port`, `URL`/`url`. nullopt when absent.
std::optional<std::string> link_value(const LinkDefinition& ld, std::string_view key);

/// Body of the provider health-check request: msgpack `{"placeholder": true}` (5.5).
inline constexpr std::array<std::uint8_t, 14> kHealthRequest = {
    0x81, 0xab, 'p', 'l', 'a', 'c', 'e', 'h', 'o', 'l', 'd', 'e', 'r', 0xc3};
/// Body of `Actor.HealthRequest` (`HealthCheckRequest {}`): msgpack empty map (7.6).
inline constexpr std::array<std::uint8_t, 1> kActorHealthRequest = {0x80};

/// HealthCheckResponse (7.6).
struct HealthCheckResponse {
  bool healthy = false;
  std::optional<std::string> message;
  bool operator==(const HealthCheckResponse&) const = default;
};
/// msgpack `{"healthy": bool[, "message": str]}` (`message` omitted when unset).
Bytes encode_health_response(const HealthCheckResponse& r);
/// Decodes a HealthCheckResponse (message missing or nil → nullopt). kInvalidArgument on
/// malformed input. The host's provider supervisor uses it: `healthy: false` makes a provider
/// unhealthy (beyond 5.5, where any reply counted as healthy).
Result<HealthCheckResponse> decode_health_response(std::span<const std::uint8_t> bytes);
/// The JSON form `{"healthy": bool[, "message": str]}` a provider in test mode answers with (the
/// SDK's choice for `host_id` "_TEST_", actor-rpc-providers.md 5.4).
nlohmann::json health_response_to_json(const HealthCheckResponse& r);
/// Parses that JSON form (same rules as the msgpack decoder: `healthy` a required bool,
/// `message` an optional string, null = absent). Errors: kInvalidArgument "health check
/// response: <detail>" (also for text that is not a JSON object).
Result<HealthCheckResponse> health_response_from_json(std::string_view text);

/// Body of the provider shutdown request: JSON `{"host_id":"<host key>"}` (5.6).
std::string shutdown_request_json(std::string_view host_id);

}  // namespace wc::rpc

// Link definitions as providers receive them (actor-rpc-providers.md 6.1, 6.3): the msgpack map
// published on `...linkdefs.put|del` and the JSON objects of host data `link_definitions`.
//
// Owned by providers/sdk; the host may use the encoders to publish links (the msgpack encoder
// reproduces the host's bytes of vector 10.5). Plain values and pure functions; thread-safe.
#pragma once

#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/encoding.h"
#include "common/error.h"

namespace wc::provider {

/// One link definition (6.1).
struct LinkDefinition {
  std::string actor_id;                       ///< actor public key (M...)
  std::string provider_id;                    ///< provider public key (V...)
  std::string link_name;                      ///< e.g. "default"
  std::string contract_id;                    ///< e.g. "wasmcloud:keyvalue"
  std::map<std::string, std::string> values;  ///< link configuration
  std::string id;  ///< host-computed id (ignored by providers); may be empty
  bool operator==(const LinkDefinition&) const = default;
};

/// Encodes as the host publishes it (6.3): msgpack map with keys in alphabetical order
/// `actor_id, contract_id, id, link_name, provider_id, values` (`id` omitted when empty).
Bytes encode_linkdef(const LinkDefinition& ld);
/// Decodes the msgpack map of 6.3 (any key order; `id` optional; `values` required, may be {}).
/// Errors: kInvalidArgument "Deserialization error: ...".
Result<LinkDefinition> decode_linkdef(std::span<const std::uint8_t> bytes);

/// JSON object `{"id","actor_id","provider_id","link_name","contract_id","values"}` (5.4).
nlohmann::json linkdef_to_json(const LinkDefinition& ld);
/// Parses that JSON object; `id` optional, the others required strings, `values` a string map.
/// Errors: kInvalidArgument with a detail.
Result<LinkDefinition> linkdef_from_json(const nlohmann::json& j);

/// Case-insensitive lookup of a link value (link value keys are matched ignoring ASCII case,
/// as the reference providers do for `PORT`/`port`, `URL`/`url`).
std::optional<std::string> link_value(const LinkDefinition& ld, std::string_view key);

}  // namespace wc::provider

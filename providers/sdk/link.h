// Link definitions as providers receive them (actor-rpc-providers.md 6.1, 6.3): the type and its
// codecs are the wire layer's (rpc/messages.h, one rule for `values`); this header names them in
// the SDK's namespace, with the case-insensitive value lookup.
//
// Owned by providers/sdk. Plain values and pure functions; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "rpc/messages.h"

namespace wc::provider {

/// One link definition (6.1): rpc::LinkDefinition.
using LinkDefinition = rpc::LinkDefinition;
/// The wire layer's codecs (rpc/messages.h): msgpack as published on `...linkdefs.put|del`, the
/// JSON object of host data `link_definitions`.
using rpc::decode_linkdef;
using rpc::encode_linkdef;
using rpc::linkdef_from_json;
using rpc::linkdef_to_json;

/// Case-insensitive lookup of a link value (rpc/messages.h).
using rpc::link_value;

}  // namespace wc::provider

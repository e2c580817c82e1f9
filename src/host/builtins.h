// The host's builtin capabilities (actor-rpc-providers.md 2.2): wasmcloud:builtin:logging
// (Logging.WriteLog) and wasmcloud:builtin:numbergen (GenerateGuid, Random32, RandomInRange),
// answered in-process without a link.
//
// Owned by src/host; used by the RPC dispatcher's host-call routing. Pure functions over the
// guest's msgpack payload (randomness from libsodium, output through spdlog); thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "common/encoding.h"
#include "common/error.h"
#include "wasm/engine.h"

namespace wc::host {

/// Namespace prefix of every builtin (`wasmcloud:builtin:`).
inline constexpr std::string_view kBuiltinPrefix = "wasmcloud:builtin:";

/// `Logging.WriteLog` with a msgpack map `{level, text}`: logs `[<actor_key>] <text>` at that
/// level (unknown levels at debug, 2.2.1) and returns empty bytes. Errors (kTrap): unknown
/// operation (errors::unknown_operation), undecodable payload ("failed to deserialize log
/// request: ...").
Result<Bytes> builtin_logging(const std::string& actor_key, const wasm::HostCall& call);

/// NumberGen: `GenerateGuid` (msgpack string, UUID v4), `Random32` (u32), `RandomInRange` with
/// `{min, max}` u32 (swapped when min > max, inclusive). Errors (kTrap): unknown operation,
/// undecodable payload ("failed to deserialize range request: ...").
Result<Bytes> builtin_numbergen(const wasm::HostCall& call);

}  // namespace wc::host

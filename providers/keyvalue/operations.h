// The wasmcloud:keyvalue operations of actor-rpc-providers.md 7.3 on Redis: decode the msgpack
// input, run the Redis command(s), encode the msgpack output.
//
// Owned by providers/keyvalue. Stateless; thread-safe (the pool is).
#pragma once

#include <span>
#include <string_view>

#include "common/encoding.h"
#include "common/error.h"
#include "keyvalue/redis.h"

namespace wc::keyvalue {

/// Runs `operation` (e.g. "KeyValue.Increment") with its msgpack `payload` against `pool`.
/// Errors: "Deserialization error: ..." for bad input, the RedisPool errors, and
/// "Method not handled <operation>" (kUnsupported) for unknown operations.
Result<Bytes> run_operation(RedisPool& pool, std::string_view operation,
                            std::span<const std::uint8_t> payload);

}  // namespace wc::keyvalue

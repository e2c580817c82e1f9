// Lattice RPC wire types: WasmCloudEntity, Invocation, InvocationResponse (msgpack maps), the
// bus URLs and the invocation hash.
//
// Owned by src/rpc. Spec: actor-rpc-providers.md 0.2 (msgpack conventions), 3.1-3.3, 3.6
// (thresholds), 4.5 (timeouts); vectors in section 10. Plain value types and pure functions;
// thread-safe. Decoders take untrusted bytes: any malformed input gives
// Code::kInvalidArgument with the texts of rpc/errors.h and never crashes or throws.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "common/encoding.h"
#include "common/error.h"

namespace wc::rpc {

/// An actor or provider on the lattice (3.1). Actors have empty contract_id and link_name.
struct WasmCloudEntity {
  std::string public_key;
  std::string contract_id;
  std::string link_name;

  /// The SDK rule: an actor when `link_name` or `contract_id` is empty.
  bool is_actor() const { return link_name.empty() || contract_id.empty(); }
  /// The entity URL of 3.1: `wasmbus://<key>` when the upper-cased key starts with `M`, else
  /// `wasmbus://<contract with ':'→'/', ' '→'_', lower-cased>/<link, ' '→'_', lower-cased>/<key>`
  /// (so a non-M key with empty contract/link gives `wasmbus:////<key>`).
  std::string url() const;
  bool operator==(const WasmCloudEntity&) const = default;
};

/// Builds an actor entity (contract and link empty).
inline WasmCloudEntity actor_entity(std::string public_key) {
  return WasmCloudEntity{std::move(public_key), {}, {}};
}
/// Builds a provider entity.
inline WasmCloudEntity provider_entity(std::string public_key, std::string contract_id,
                                       std::string link_name) {
  return WasmCloudEntity{std::move(public_key), std::move(contract_id), std::move(link_name)};
}

/// Target URL of 3.1: `target.url() + "/" + operation`.
std::string target_url(const WasmCloudEntity& target, std::string_view operation);

/// Invocation hash (3.4): upper-case hex SHA-256 of origin URL ‖ target URL ‖ operation ‖ msg,
/// no separators (the operation therefore appears twice).
std::string invocation_hash(std::string_view origin_url, std::string_view target_url,
                            std::string_view operation, std::span<const std::uint8_t> msg);

/// One lattice invocation (3.2).
struct Invocation {
  WasmCloudEntity origin;
  WasmCloudEntity target;
  std::string operation;       ///< `Service.Method`
  Bytes msg;                   ///< payload; empty when chunked
  std::string id;              ///< invocation id (UUID v4 or 32 hex chars)
  std::string encoded_claims;  ///< anti-forgery JWT (3.4)
  std::string host_id;         ///< cluster key (host senders) or host N key (providers)
  std::optional<std::uint64_t> content_length;  ///< full payload length before chunking
  bool operator==(const Invocation&) const = default;
};

/// Key order of WasmCloudEntity maps when encoding (3.2): the reference host writes
/// `public_key, contract_id, link_name`; wasmbus-rpc (Rust SDK) writes `public_key, link_name,
/// contract_id`. Decoders accept any order.
enum class EntityOrder { kHost, kSdk };

/// Encodes an Invocation as a msgpack map of 7 or 8 keys in the order `origin, target,
/// operation, msg (bin), id, encoded_claims, host_id[, content_length]` (content_length omitted
/// when unset). Integers in shortest form; strings as fixstr/str8/str16/str32.
Bytes encode_invocation(const Invocation& inv, EntityOrder order = EntityOrder::kHost);

/// Decodes an Invocation from untrusted msgpack (3.2, 0.2): keys in any order, unknown keys
/// ignored, `nil` = absent, byte fields as bin, str or array of integers 0..255, integers of
/// any width. Required: origin, target (each with public_key, contract_id, link_name as
/// strings), operation, msg, id, encoded_claims, host_id. Trailing bytes after the map are
/// ignored. Errors: kInvalidArgument whose message is exactly errors::kDeserializeInvocation (the
/// reply text of 3.5 step 1; what was wrong is logged at debug level).
Result<Invocation> decode_invocation(std::span<const std::uint8_t> bytes);

/// True when the payload travelled through the object store (3.6): content_length is present
/// and larger than msg.
inline bool is_chunked(const Invocation& inv) {
  return inv.content_length && *inv.content_length > inv.msg.size();
}

/// Reply to an invocation (3.3). `error` present (even empty) means failure.
struct InvocationResponse {
  Bytes msg;
  std::optional<std::string> invocation_id;
  std::optional<std::string> error;
  std::optional<std::uint64_t> content_length;
  std::optional<std::string> instance_id;
  bool failed() const { return error.has_value(); }
  bool operator==(const InvocationResponse&) const = default;
};

/// Success reply of the actor host (4.4 step 4.8): `msg`, `invocation_id`, `instance_id`,
/// `content_length` = result size.
InvocationResponse success_response(std::string invocation_id, std::string instance_id,
                                    Bytes result);
/// Failure reply of the actor host with `msg` empty. `with_content_length`: true for a failed
/// actor run (4.4 step 4.8, content_length 0); false for the decode / anti-forgery / claim /
/// policy failures of steps 4.2-4.5, which carry no content_length.
InvocationResponse failure_response(std::string invocation_id, std::string instance_id,
                                    std::string error, bool with_content_length);
/// `{msg: empty, error: "Invocation received for actor <key> that is not running"}` without
/// invocation_id (4.4 step 2; the reference writes msg as an empty array, bin is accepted by
/// every peer).
InvocationResponse not_running_response(std::string_view actor_key);

/// How InvocationResponse is encoded (3.3). Absent optional fields are omitted in every style.
enum class ResponseStyle {
  /// Host, alphabetical keys (`content_length, error, instance_id, invocation_id, msg`), `msg` as
  /// bin: the recommended host encoding (Vector B with byte 119 = c4).
  kHost,
  /// Exactly as the reference host: alphabetical keys, `msg` as msgpack str (Vector B.2).
  kHostReference,
  /// wasmbus-rpc order `msg, invocation_id, error, content_length, instance_id`, msg as bin
  /// (Vector C.4).
  kSdk,
};

/// Encodes an InvocationResponse as a msgpack map.
Bytes encode_response(const InvocationResponse& resp, ResponseStyle style = ResponseStyle::kHost);

/// Decodes an InvocationResponse from untrusted msgpack: every field optional (a missing `msg`
/// is empty), byte field rules as for decode_invocation. Errors: kInvalidArgument whose message
/// is exactly errors::kDeserializeResponse (detail logged at debug level).
Result<InvocationResponse> decode_response(std::span<const std::uint8_t> bytes);

// --- Thresholds and timeouts (2.5, 3.6, 4.5) --------------------------------------------------

/// Host (actor-originated call) chunks request payloads strictly larger than this (700 KiB).
inline constexpr std::size_t kHostChunkThreshold = 716800;
/// Host chunks actor replies, and wasmbus-rpc senders chunk requests and replies, strictly
/// larger than this (900 KiB).
inline constexpr std::size_t kSdkChunkThreshold = 921600;
/// Requests whose payload is larger than kSdkChunkThreshold use this timeout instead of
/// rpc_timeout_ms.
inline constexpr std::chrono::milliseconds kLargePayloadTimeout{15000};
/// Default `rpc_timeout_ms` (WASMCLOUD_RPC_TIMEOUT_MS).
inline constexpr std::chrono::milliseconds kDefaultRpcTimeout{2000};
/// Timeout of the provider shutdown request.
inline constexpr std::chrono::milliseconds kProviderShutdownTimeout{2000};

/// The timeout of an actor-originated request with a payload of `payload_size` bytes (4.5).
inline std::chrono::milliseconds rpc_timeout_for(std::size_t payload_size,
                                                 std::chrono::milliseconds rpc_timeout) {
  return payload_size > kSdkChunkThreshold ? kLargePayloadTimeout : rpc_timeout;
}

}  // namespace wc::rpc

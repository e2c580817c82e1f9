// Client-visible error texts of lattice RPC: invocation decoding, anti-forgery validation,
// routing and authorization, as the reference host writes them into InvocationResponse.error
// or hands them to the guest.
//
// Owned by src/rpc. Texts from actor-rpc-providers.md sections 2.5, 3.5, 4.4, 4.7; callers and
// tests match on them, so they are spelled here once. Constants only; thread-safe.
#pragma once

#include <string_view>

namespace wc::rpc::errors {

// --- Decoding (3.5 step 1, 4.4) ---------------------------------------------------------------
/// An inbound body that is not a valid Invocation.
inline constexpr std::string_view kDeserializeInvocation = "Failed to deserialize invocation";
/// A reply that is not a valid InvocationResponse (our recommendation, 2.5 step 5).
inline constexpr std::string_view kDeserializeResponse =
    "Failed to deserialize invocation response";
/// A provider's operation input that does not decode (wasmbus-rpc RpcError::Deser, 7.1);
/// followed by a detail (see rpc/msgpack.h, `mp::serde`).
inline constexpr std::string_view kDeserializePrefix = "Deserialization error: ";
/// Host data that does not decode (actor-rpc-providers.md 5.4, rpc/host_data.h); followed by a
/// detail ("missing field `host_id`", "not a JSON object", ...).
inline constexpr std::string_view kHostDataPrefix = "Invalid host data: ";

// --- Anti-forgery (3.5, steps 3-11; step 2 uses the JWT texts of wascap/errors.h) -------------
/// Prefix the actor host puts before every reason below in the response error.
inline constexpr std::string_view kAntiForgeryPrefix = "Anti-forgery check failed: ";
inline constexpr std::string_view kTokenExpired = "Invocation claims token expired";
inline constexpr std::string_view kSignatureInvalid = "Invocation claims signature invalid";
inline constexpr std::string_view kNotYetValid =
    "Attempt to use invocation before claims token allows";
inline constexpr std::string_view kNoWascap = "No wascap metadata found on claims";
/// Followed by `<claimed> / <computed>)`.
inline constexpr std::string_view kHashMismatchPrefix =
    "Invocation hash does not match signed claims hash (";
/// Followed by the host id and a closing `'`.
inline constexpr std::string_view kInvalidHostIdPrefix = "Invalid host ID on invocation: '";
inline constexpr std::string_view kUnknownIssuer =
    "Issuer of this invocation is not among the list of valid issuers";
inline constexpr std::string_view kTargetUrlMismatch =
    "Invocation claims and invocation target URL do not match";
inline constexpr std::string_view kOriginUrlMismatch =
    "Invocation claims and invocation origin URL do not match";

// --- Replay refusal (ours, rpc/replay.h; after the anti-forgery prefix) ---------------------
/// The same signed invocation (same invocation id) arrived again within its validity window.
inline constexpr std::string_view kReplayedInvocation =
    "Invocation was already received (replayed invocation ID refused)";
/// The token's `iat` lies further back than the host's replay window
/// (WASMCLOUD_INVOCATION_REPLAY_WINDOW_S), so a replay of it could not be recognised.
inline constexpr std::string_view kTokenTooOld =
    "Invocation claims token is older than the replay window";

// --- Inbound pipeline (4.4) -------------------------------------------------------------------
/// `Invocation received for actor <key> that is not running`.
inline constexpr std::string_view kNotRunningPrefix = "Invocation received for actor ";
inline constexpr std::string_view kNotRunningSuffix = " that is not running";
/// Followed by the origin's contract id.
inline constexpr std::string_view kMissingCapabilityClaim =
    "Invocation source does not have the required capability claim ";
inline constexpr std::string_view kPolicyRejected = "Policy evaluation rejected invocation attempt";
/// Followed by a description of the failure.
inline constexpr std::string_view kHandleFailedPrefix = "Failed to handle actor RPC: ";

// --- Outbound (actor-originated) calls (2.5, 4.7) ---------------------------------------------
/// No responders or no reply in time (same text for both).
inline constexpr std::string_view kRequestTimeout = "Failed to perform RPC call: request timeout";
/// What the guest sees (host error) for a failed call; followed by the error.
inline constexpr std::string_view kHostCallFailedPrefix = "Host call function failed: ";
/// `Invocation not authorized: missing link definition for <namespace> on <prefix>`.
inline constexpr std::string_view kMissingLinkPrefix =
    "Invocation not authorized: missing link definition for ";
/// `Invocation not authorized: missing capability claim for <ns>`.
inline constexpr std::string_view kMissingClaimPrefix =
    "Invocation not authorized: missing capability claim for ";

// --- Chunking (3.6) ---------------------------------------------------------------------------
/// make_invocation() refuses payloads above its chunk threshold: the caller has to move them to
/// the object store (lattice/objstore.h) itself (see SignOptions::chunk_threshold).
inline constexpr std::string_view kChunkingUnsupported =
    "Payload exceeds the chunking threshold; store it in the object store and send it chunked";

}  // namespace wc::rpc::errors

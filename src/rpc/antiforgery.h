// The anti-forgery token of lattice invocations: creating signed invocations and validating
// received ones.
//
// Owned by src/rpc. Spec: actor-rpc-providers.md 3.4 (token), 3.5 (validation order and texts),
// 2.5 (outbound invocation), vectors in section 10. Pure functions; thread-safe (a const
// KeyPair may sign from several threads).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "common/error.h"
#include "rpc/invocation.h"
#include "wascap/nkeys.h"

namespace wc::rpc {

/// Fixed inputs for reproducible tokens (tests, vectors); empty/nullopt = generate.
struct SignOptions {
  std::string id;                   ///< invocation id; default: a fresh UUID v4 (host style)
  std::string jti;                  ///< token id; default: a fresh 22-character base62 id
  std::optional<std::int64_t> iat;  ///< issued-at (Unix seconds); default: now
  /// Payloads strictly larger than this are refused with kUnsupported
  /// (errors::kChunkingUnsupported): the caller must chunk them. To chunk (3.6), pass
  /// SIZE_MAX here, then store inv.msg with lattice::ObjectStore under inv.id and clear inv.msg
  /// (content_length keeps the full size; the token hashes the full payload). Default: the
  /// host threshold.
  std::size_t chunk_threshold = kHostChunkThreshold;
};

/// The claims JSON of 3.4, compact, keys in the order `jti, iat, iss, sub, wascap{target_url,
/// origin_url, hash}, wascap_revision` (3), no exp/nbf.
std::string invocation_claims_json(std::string_view jti, std::int64_t iat, std::string_view issuer,
                                   std::string_view subject, std::string_view target_url_text,
                                   std::string_view origin_url_text, std::string_view hash);

/// Builds a signed Invocation (3.2, 3.4): hash over origin URL ‖ target URL ‖ operation ‖ msg,
/// token signed by `cluster_key` (a cluster 'C' key pair; any type is accepted), `host_id` as
/// given (host senders put the cluster public key there, 3.2), content_length = msg size.
/// Errors: kUnsupported (errors::kChunkingUnsupported) above options.chunk_threshold.
Result<Invocation> make_invocation(const wascap::KeyPair& cluster_key, WasmCloudEntity origin,
                                   WasmCloudEntity target, std::string operation, Bytes msg,
                                   std::string host_id, const SignOptions& options = {});

/// The signed identity of a validated invocation token (3.4 claims).
struct TokenFacts {
  std::string sub;       ///< the invocation id as signed (`sub`; the envelope `id` is not signed)
  std::string jti;       ///< the token id
  std::int64_t iat = 0;  ///< issued at, Unix seconds (0 when absent)
  /// `sub` and `jti` joined: the key under which a replay of this token is recognised.
  [[nodiscard]] std::string replay_key() const { return sub + "\n" + jti; }
};

/// Validates a received Invocation as the actor host does (3.5 steps 2-11, in order) against
/// the host's cluster issuers (its own cluster key plus WASMCLOUD_CLUSTER_ISSUERS) at `now`
/// (Unix seconds). Does not compare target.public_key with the receiving actor (3.5).
/// Errors: kPermissionDenied; the message is the bare reason (wrap it with
/// anti_forgery_message() for the response): the wascap JWT texts for malformed tokens
/// (step 2), then errors::kTokenExpired, kSignatureInvalid, kNotYetValid, kNoWascap,
/// kHashMismatchPrefix…, kInvalidHostIdPrefix…, kUnknownIssuer, kTargetUrlMismatch,
/// kOriginUrlMismatch. When `facts` is not null it receives the signed identity of the token
/// on success, for the replay check (rpc/replay.h).
Status validate_invocation(const Invocation& inv, std::span<const std::string> cluster_issuers,
                           std::int64_t now, TokenFacts* facts = nullptr);

/// `Anti-forgery check failed: <reason>`, the InvocationResponse error of a rejected call.
std::string anti_forgery_message(std::string_view reason);

}  // namespace wc::rpc

// Client-visible error texts of the provider SDK (the provider side of lattice RPC).
//
// Owned by providers/sdk. Texts of the wasmbus-rpc provider validation as actor-rpc-providers.md
// 3.5 ("Provider side") gives them; the shared anti-forgery texts (expired, signature, hash,
// host id) come from rpc/errors.h. Constants only; thread-safe.
#pragma once

#include <string_view>

#include "rpc/errors.h"

namespace wc::provider::errors {

/// Followed by `<claimed> != <computed>`.
inline constexpr std::string_view kTargetUrlMismatchPrefix =
    "Invocation claims and invocation target URL do not match: ";
/// Followed by `<claimed> != <computed>`.
inline constexpr std::string_view kOriginUrlMismatchPrefix =
    "Invocation claims and invocation origin URL do not match: ";
/// The token issuer is not one of the host data's `cluster_issuers`.
inline constexpr std::string_view kIssuerNotInList =
    "Issuer of this invocation is not in list of cluster issuers";
/// Followed by `<invocation target key> != <this provider's key>`.
inline constexpr std::string_view kTargetKeyMismatchPrefix = "target key mismatch: ";
/// `unlinked actor: '<actor key>'`.
inline constexpr std::string_view kUnlinkedActorPrefix = "unlinked actor: '";
/// An operation the provider does not implement; followed by the operation.
inline constexpr std::string_view kMethodNotHandledPrefix = "Method not handled ";
/// Host data line problems (5.4); followed by a detail (the rpc text).
inline constexpr std::string_view kHostDataPrefix = rpc::errors::kHostDataPrefix;
/// Payload decoding failure of an operation's input; followed by a detail (the rpc text).
inline constexpr std::string_view kDeserializePrefix = rpc::errors::kDeserializePrefix;

}  // namespace wc::provider::errors

// Provider-side validation of inbound invocations (actor-rpc-providers.md 3.5 "Provider side",
// the checks of wasmbus-rpc's provider), in the reference's order.
//
// Owned by providers/sdk. Pure function; thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>

#include "common/error.h"
#include "rpc/invocation.h"

namespace wc::provider {

/// Validates `inv` as received by the provider `provider_key` at `now` (Unix seconds):
/// token checks 2-6 of 3.5 (the wascap JWT texts, then rpc::errors kTokenExpired,
/// kSignatureInvalid, kNotYetValid, kNoWascap), the hash ALWAYS (rpc::errors::kHashMismatchPrefix
/// ...), the host id (rpc::errors::kInvalidHostIdPrefix ...), target URL and origin URL
/// (errors::kTargetUrlMismatchPrefix / kOriginUrlMismatchPrefix + "<claimed> != <computed>"),
/// the issuer among `cluster_issuers` (errors::kIssuerNotInList), target.public_key ==
/// provider_key (errors::kTargetKeyMismatchPrefix), and finally `is_linked(origin key)`
/// (errors::kUnlinkedActorPrefix + key + "'"). Errors: kPermissionDenied with the bare text.
Status validate_provider_invocation(const rpc::Invocation& inv, std::string_view provider_key,
                                    std::span<const std::string> cluster_issuers,
                                    const std::function<bool(const std::string&)>& is_linked,
                                    std::int64_t now);

}  // namespace wc::provider

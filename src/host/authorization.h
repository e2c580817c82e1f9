// wc::host::InvocationAuthorizer: the one place where the host decides whether an invocation may
// happen (issue 13.1). Before it, the capability-claim check of inbound invocations, the claim
// check of outbound calls to linked providers and the perform_invocation policy lived in three
// places of the RPC code.
//
// Decisions, in the order the reference host makes them:
//   inbound (actor-rpc-providers.md 4.4 steps 4.4-4.5), after the anti-forgery check:
//     1. an origin that is a provider (contract id or link name set) must use a contract the
//        target actor claims                  -> rpc::errors::kMissingCapabilityClaim + contract
//     2. the perform_invocation policy (8.1) when a policy service is configured; origin or
//        target claims unknown to the metadata cache deny without asking
//                                             -> rpc::errors::kPolicyRejected
//   outbound (2.5 step 1): a host call to a linked provider needs the calling actor to claim the
//     provider's contract                     -> rpc::errors::kMissingClaimPrefix + contract
// Calls to builtins and to other actors are not checked (as in the reference host).
//
// Owned by the RpcDispatcher. Holds non-owning pointers to the metadata cache (claims) and the
// policy manager, both outliving it. Thread-safe (const; the policy manager and the cache lock
// internally); the policy request blocks up to the policy timeout, so call from an RPC worker.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "host/metadata_cache.h"
#include "host/policy.h"
#include "rpc/invocation.h"
#include "wascap/claims.h"

namespace wc::host {

class InvocationAuthorizer {
 public:
  /// `cache`: claims lookups for the policy request (required when `policy` is enabled).
  /// `policy`: null or disabled = no policy check.
  InvocationAuthorizer(const MetadataCache* cache, PolicyManager* policy)
      : cache_(cache), policy_(policy) {}

  /// Inbound decision for `inv` to a local actor with `target_claims` (steps 1-2 above). ok()
  /// or kPermissionDenied whose message is the InvocationResponse error text.
  Status authorize_inbound(const rpc::Invocation& inv,
                           const wascap::ActorClaims& target_claims) const;

  /// Outbound decision for a call of an actor claiming `caps` to a provider linked under
  /// `contract_id`. ok() or kPermissionDenied with kMissingClaimPrefix + contract id (the caller
  /// wraps it as a host-call failure).
  static Status authorize_provider_call(const std::vector<std::string>& caps,
                                        std::string_view contract_id);

  /// Step 1 alone (pure): ok() for an actor origin or a provider origin whose contract is among
  /// `caps`; kPermissionDenied kMissingCapabilityClaim + contract otherwise (no caps = none).
  static Status check_capability_claim(const rpc::WasmCloudEntity& origin,
                                       const std::optional<std::vector<std::string>>& caps);

  /// The `source` and `target` maps of a perform_invocation policy request (8.1) from the
  /// invocation and the cached (flat, 5.3) claims of origin and target: source publicKey,
  /// contractId, linkName, capabilities (the comma-joined caps string), issuer, issuedOn null,
  /// expiresAt null, expired false; target publicKey, contractId, linkName, issuer.
  static std::pair<nlohmann::json, nlohmann::json> perform_invocation_request(
      const rpc::Invocation& inv, const nlohmann::json& origin_claims,
      const nlohmann::json& target_claims);

 private:
  bool policy_permits(const rpc::Invocation& inv) const;

  const MetadataCache* cache_;
  PolicyManager* policy_;
};

}  // namespace wc::host

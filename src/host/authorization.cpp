// InvocationAuthorizer (authorization.h): capability claims and the perform_invocation policy.
#include "host/authorization.h"

#include <algorithm>

#include "common/json.h"
#include "rpc/errors.h"

namespace wc::host {

using json = nlohmann::json;

Status InvocationAuthorizer::check_capability_claim(
    const rpc::WasmCloudEntity& origin, const std::optional<std::vector<std::string>>& caps) {
  if (origin.contract_id.empty() && origin.link_name.empty()) return ok();
  if (caps && std::find(caps->begin(), caps->end(), origin.contract_id) != caps->end()) return ok();
  return fail(Code::kPermissionDenied,
              std::string(rpc::errors::kMissingCapabilityClaim) + origin.contract_id);
}

Status InvocationAuthorizer::authorize_provider_call(const std::vector<std::string>& caps,
                                                     std::string_view contract_id) {
  if (std::find(caps.begin(), caps.end(), contract_id) != caps.end()) return ok();
  return fail(Code::kPermissionDenied,
              std::string(rpc::errors::kMissingClaimPrefix) + std::string(contract_id));
}

std::pair<json, json> InvocationAuthorizer::perform_invocation_request(const rpc::Invocation& inv,
                                                                       const json& origin_claims,
                                                                       const json& target_claims) {
  json source{{"publicKey", inv.origin.public_key},
              {"contractId", inv.origin.contract_id},
              {"linkName", inv.origin.link_name},
              {"capabilities", json_string(origin_claims, "caps")},
              {"issuer", json_string(origin_claims, "iss")},
              {"issuedOn", nullptr},
              {"expiresAt", nullptr},
              {"expired", false}};
  json target{{"publicKey", inv.target.public_key},
              {"contractId", inv.target.contract_id},
              {"linkName", inv.target.link_name},
              {"issuer", json_string(target_claims, "iss")}};
  return {std::move(source), std::move(target)};
}

/// perform_invocation (8.1): denied without asking when the origin or target claims are unknown.
bool InvocationAuthorizer::policy_permits(const rpc::Invocation& inv) const {
  if (!cache_) return false;
  auto o = cache_->claims(inv.origin.public_key);
  auto t = cache_->claims(inv.target.public_key);
  if (!o || !t) return false;
  auto [source, target] = perform_invocation_request(inv, *o, *t);
  return policy_->evaluate("perform_invocation", source, target).permitted;
}

Status InvocationAuthorizer::authorize_inbound(const rpc::Invocation& inv,
                                               const wascap::ActorClaims& target_claims) const {
  if (auto st = check_capability_claim(inv.origin, target_claims.caps); !st) return st;
  if (policy_ && policy_->enabled() && !policy_permits(inv))
    return fail(Code::kPermissionDenied, std::string(rpc::errors::kPolicyRejected));
  return ok();
}

}  // namespace wc::host

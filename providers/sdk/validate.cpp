// Provider-side invocation validation (see validate.h).
#include "sdk/validate.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "rpc/errors.h"
#include "sdk/errors.h"
#include "wascap/jwt.h"

namespace wc::provider {
namespace {

Status deny(std::string reason) { return fail(Code::kPermissionDenied, std::move(reason)); }

std::string string_member(const nlohmann::json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_string()) return {};
  return it->get<std::string>();
}

}  // namespace

Status validate_provider_invocation(const rpc::Invocation& inv, std::string_view provider_key,
                                    std::span<const std::string> cluster_issuers,
                                    const std::function<bool(const std::string&)>& is_linked,
                                    std::int64_t now) {
  auto validation = wascap::validate_jwt(inv.encoded_claims, now);
  if (!validation) return deny(validation.error().message);
  auto decoded = wascap::decode_jwt(inv.encoded_claims);
  if (!decoded) return deny(decoded.error().message);
  const nlohmann::json& claims = decoded->claims;
  auto wascap_it = claims.find("wascap");
  const bool has_wascap = wascap_it != claims.end() && wascap_it->is_object();
  if (validation->expired) return deny(std::string(rpc::errors::kTokenExpired));
  if (!validation->signature_valid) return deny(std::string(rpc::errors::kSignatureInvalid));
  if (validation->cannot_use_yet) return deny(std::string(rpc::errors::kNotYetValid));
  if (!has_wascap) return deny(std::string(rpc::errors::kNoWascap));
  const std::string claimed_target = string_member(*wascap_it, "target_url");
  const std::string claimed_origin = string_member(*wascap_it, "origin_url");
  const std::string claimed_hash = string_member(*wascap_it, "hash");

  const std::string origin_url = inv.origin.url();
  const std::string target = rpc::target_url(inv.target, inv.operation);
  const std::string computed = rpc::invocation_hash(origin_url, target, inv.operation, inv.msg);
  if (computed != claimed_hash) {
    return deny(std::string(rpc::errors::kHashMismatchPrefix) + claimed_hash + " / " + computed +
                ")");
  }
  if (!inv.host_id.starts_with('N') && inv.host_id.size() != 56) {
    return deny(std::string(rpc::errors::kInvalidHostIdPrefix) + inv.host_id + "'");
  }
  if (claimed_target != target) {
    return deny(std::string(errors::kTargetUrlMismatchPrefix) + claimed_target + " != " + target);
  }
  if (claimed_origin != origin_url) {
    return deny(std::string(errors::kOriginUrlMismatchPrefix) + claimed_origin +
                " != " + origin_url);
  }
  const std::string issuer = string_member(claims, "iss");
  if (std::find(cluster_issuers.begin(), cluster_issuers.end(), issuer) == cluster_issuers.end()) {
    return deny(std::string(errors::kIssuerNotInList));
  }
  if (inv.target.public_key != provider_key) {
    return deny(std::string(errors::kTargetKeyMismatchPrefix) + inv.target.public_key +
                " != " + std::string(provider_key));
  }
  if (!is_linked(inv.origin.public_key)) {
    return deny(std::string(errors::kUnlinkedActorPrefix) + inv.origin.public_key + "'");
  }
  return ok();
}

}  // namespace wc::provider

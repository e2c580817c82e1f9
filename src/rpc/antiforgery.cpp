// Anti-forgery token creation and validation (see antiforgery.h).
#include "rpc/antiforgery.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include <sodium.h>

#include <array>
#include "rpc/errors.h"
#include "wascap/jwt.h"

namespace wc::rpc {
namespace {

/// UUID v4, lower-case hyphenated: the host's invocation id form (3.2).
std::string new_invocation_id() {
  wascap::ensure_sodium();
  std::array<std::uint8_t, 16> b{};
  randombytes_buf(b.data(), b.size());
  b[6] = static_cast<std::uint8_t>((b[6] & 0x0F) | 0x40);
  b[8] = static_cast<std::uint8_t>((b[8] & 0x3F) | 0x80);
  std::string hex = hex_lower(b);
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
         hex.substr(16, 4) + "-" + hex.substr(20);
}

}  // namespace

std::string invocation_claims_json(std::string_view jti, std::int64_t iat, std::string_view issuer,
                                   std::string_view subject, std::string_view target_url_text,
                                   std::string_view origin_url_text, std::string_view hash) {
  nlohmann::ordered_json claims;
  claims["jti"] = std::string(jti);
  claims["iat"] = iat;
  claims["iss"] = std::string(issuer);
  claims["sub"] = std::string(subject);
  nlohmann::ordered_json wascap;
  wascap["target_url"] = std::string(target_url_text);
  wascap["origin_url"] = std::string(origin_url_text);
  wascap["hash"] = std::string(hash);
  claims["wascap"] = std::move(wascap);
  claims["wascap_revision"] = wascap::kWascapRevision;
  // Invalid UTF-8 (only possible in caller-supplied names) is replaced rather than thrown.
  return claims.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

Result<Invocation> make_invocation(const wascap::KeyPair& cluster_key, WasmCloudEntity origin,
                                   WasmCloudEntity target, std::string operation, Bytes msg,
                                   std::string host_id, const SignOptions& options) {
  if (msg.size() > options.chunk_threshold) {
    return fail(Code::kUnsupported, std::string(errors::kChunkingUnsupported));
  }
  Invocation inv;
  inv.id = options.id.empty() ? new_invocation_id() : options.id;
  const std::string origin_url = origin.url();
  const std::string target_text = target_url(target, operation);
  const std::string hash = invocation_hash(origin_url, target_text, operation, msg);
  const std::string jti = options.jti.empty() ? wascap::new_jti() : options.jti;
  const std::int64_t iat = options.iat ? *options.iat : wascap::now_seconds();
  inv.encoded_claims =
      wascap::encode_jwt(invocation_claims_json(jti, iat, cluster_key.public_key(), inv.id,
                                                target_text, origin_url, hash),
                         cluster_key);
  inv.origin = std::move(origin);
  inv.target = std::move(target);
  inv.operation = std::move(operation);
  inv.content_length = msg.size();
  inv.msg = std::move(msg);
  inv.host_id = std::move(host_id);
  return inv;
}

namespace {

Status deny(std::string reason) { return fail(Code::kPermissionDenied, std::move(reason)); }

/// A string member of a JSON object, nullopt when absent or not a string.
std::optional<std::string> string_member(const nlohmann::json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

}  // namespace

Status validate_invocation(const Invocation& inv, std::span<const std::string> cluster_issuers,
                           std::int64_t now, TokenFacts* facts) {
  // Step 2: token well-formed (the JWT library's texts).
  // One parse and one signature verification per invocation (issue #14.2): validate_jwt hands
  // back the claims it parsed.
  auto validation = wascap::validate_jwt(inv.encoded_claims, now);
  if (!validation) return deny(validation.error().message);
  const nlohmann::json& claims = validation->claims;

  // Step 2 (continued): a `wascap` member that is present must have the invocation shape
  // (serde fails on it while decoding the claims).
  auto wascap_it = claims.find("wascap");
  const bool has_wascap = wascap_it != claims.end() && !wascap_it->is_null();
  std::string claimed_target, claimed_origin, claimed_hash;
  if (has_wascap) {
    if (!wascap_it->is_object()) {
      return deny("Serialization error: invalid type: expected struct Invocation");
    }
    for (auto [key, dst] :
         {std::pair{"target_url", &claimed_target}, std::pair{"origin_url", &claimed_origin},
          std::pair{"hash", &claimed_hash}}) {
      auto v = string_member(*wascap_it, key);
      if (!v) return deny(std::string("Serialization error: missing field `") + key + "`");
      *dst = std::move(*v);
    }
  }

  if (validation->expired) return deny(std::string(errors::kTokenExpired));               // 3
  if (!validation->signature_valid) return deny(std::string(errors::kSignatureInvalid));  // 4
  if (validation->cannot_use_yet) return deny(std::string(errors::kNotYetValid));         // 5
  if (!has_wascap) return deny(std::string(errors::kNoWascap));                           // 6

  const std::string origin_url = inv.origin.url();
  const std::string target = target_url(inv.target, inv.operation);
  if (!inv.msg.empty()) {  // 7: chunked invocations (empty msg) are not hash-checked
    std::string computed = invocation_hash(origin_url, target, inv.operation, inv.msg);
    if (computed != claimed_hash) {
      return deny(std::string(errors::kHashMismatchPrefix) + claimed_hash + " / " + computed + ")");
    }
  }
  // 8: the reference accepts any 56-character id, and any id starting with N.
  if (!(inv.host_id.starts_with('N')) && inv.host_id.size() != 56) {
    return deny(std::string(errors::kInvalidHostIdPrefix) + inv.host_id + "'");
  }
  // 9
  std::string issuer = string_member(claims, "iss").value_or("");
  if (std::find(cluster_issuers.begin(), cluster_issuers.end(), issuer) == cluster_issuers.end()) {
    return deny(std::string(errors::kUnknownIssuer));
  }
  if (claimed_target != target) return deny(std::string(errors::kTargetUrlMismatch));      // 10
  if (claimed_origin != origin_url) return deny(std::string(errors::kOriginUrlMismatch));  // 11
  if (facts != nullptr) {
    auto iat = claims.find("iat");
    facts->iat = iat != claims.end() && iat->is_number_integer() ? iat->get<std::int64_t>() : 0;
    facts->sub = string_member(claims, "sub").value_or("");
    facts->jti = string_member(claims, "jti").value_or("");
  }
  return ok();
}

std::string anti_forgery_message(std::string_view reason) {
  return std::string(errors::kAntiForgeryPrefix) + std::string(reason);
}

}  // namespace wc::rpc

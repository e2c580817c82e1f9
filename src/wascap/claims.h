// Typed wascap claims: actor claims embedded in modules and provider claims of provider
// archives - parse, validate, derive, sign (spec claims-oci-par.md 2.2-2.10, 2.12, 3.4).
//
// Owned by src/wascap. Plain value types and pure functions (the clock is a parameter where it
// matters); thread-safe. Error texts come from errors.h.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/encoding.h"
#include "common/error.h"
#include "wascap/jwt.h"
#include "wascap/nkeys.h"

namespace wc::wascap {

/// Claims of an actor token: registered claims (spec 2.2) and the `wascap` actor metadata
/// (spec 2.3), flattened. Optional JSON keys are std::optional (JSON null = absent).
struct ActorClaims {
  // Registered claims.
  std::optional<std::uint64_t> exp;              ///< expiry, seconds since epoch
  std::string jti;                               ///< token id
  std::uint64_t iat = 0;                         ///< issued-at, seconds since epoch
  std::string iss;                               ///< issuer public key (normally 'A...')
  std::string sub;                               ///< subject = actor public key ('M...')
  std::optional<std::uint64_t> nbf;              ///< not-before, seconds since epoch
  std::optional<std::uint32_t> wascap_revision;  ///< format revision (3 for current signers)
  // Actor metadata ("wascap" object).
  std::optional<std::string> name;               ///< friendly name
  std::string hash;                              ///< module hash, 64 upper-case hex (2.5)
  std::optional<std::vector<std::string>> tags;  ///< tags
  std::optional<std::vector<std::string>> caps;  ///< capability contract ids
  std::optional<std::int32_t> rev;               ///< revision claim
  std::optional<std::string> ver;                ///< human version
  std::optional<std::string> call_alias;         ///< call alias
  bool prov = false;                             ///< "is a capability provider" (ignored)
};

/// Parses an actor token payload (spec 2.2/2.3 typing rules: unknown keys ignored, null =
/// absent, integers non-negative where unsigned, rev a signed 32-bit int). Errors
/// (kInvalidArgument): errors::kSerializationError + detail (e.g. "missing field `hash`");
/// errors::kInvalidAlgorithm when the payload has no `wascap` object (the reference's misnamed
/// text, spec 2.3).
Result<ActorClaims> parse_actor_claims(const nlohmann::json& payload);

/// Compact JSON of the claims in the signer's order (spec 2.2/2.3): exp?, jti, iat, iss, sub,
/// nbf?, wascap{name?, hash, tags?, caps?, rev?, ver?, call_alias?, prov}, wascap_revision?.
std::string serialize_actor_claims(const ActorClaims& claims);

/// Effective revision (spec 2.8): `rev` if present and > 0, else `iat` truncated to int32.
std::int32_t effective_revision(const ActorClaims& claims);
/// "never" or human_relative_time(exp, now) (spec 2.8).
std::string expires_human(const ActorClaims& claims, std::int64_t now);
/// "immediately" or human_relative_time(nbf, now) (spec 2.8).
std::string not_before_human(const ActorClaims& claims, std::int64_t now);

/// Everything read from a signed module.
struct ModuleClaims {
  ActorClaims claims;          ///< the parsed claims
  std::string token;           ///< the raw JWT text from the custom section
  std::string computed_hash;   ///< module hash computed from the bytes (spec 2.5)
  TokenValidation validation;  ///< signature / date results (spec 2.7 step 5)
};

/// Reads and validates the claims of a module up to spec 2.7 step 5 (hard failures only): parse
/// sections and hash, find the token, decode, metadata present, hash gate (wascap_revision >=
/// 3), validate_jwt(). Does NOT fail on expiry, nbf or a bad signature (see
/// ModuleClaims::validation; `claims inspect` shows those). Errors carry the host's full texts:
/// "Failed to extract claims from module: I/O error: <parser message>" (kInvalidArgument),
/// "No claims found in source module" (kNotFound), "Failed to extract claims from module: ..."
/// for token decoding / metadata / "Invalid module hash" (kPermissionDenied),
/// "Failed to validate claims token: ..." for header/iss/sub failures.
Result<ModuleClaims> read_module_claims(std::span<const std::uint8_t> module, std::int64_t now);

/// The host's `extract_claims` (spec 2.7 steps 1-6): read_module_claims(); then, beyond spec
/// 2.6 (which accepts any key types), "Failed to validate claims token: " +
/// errors::kActorSubjectNotModule / errors::kActorIssuerNotAccount (kPermissionDenied) when
/// `sub` is not a canonical Module key or `iss` not a canonical Account key (check_public_key);
/// then fail, in this order, with "Claims token expired", "Claims token cannot be used yet",
/// "Invalid signature on module token" (all kPermissionDenied). `now` in seconds since the epoch.
Result<ModuleClaims> extract_claims(std::span<const std::uint8_t> module, std::int64_t now);

/// Inputs of the actor signer (spec 2.12). Absent optionals are not written.
struct SignOptions {
  std::optional<std::string> name;
  std::vector<std::string> caps;  ///< always written (possibly [])
  std::vector<std::string> tags;  ///< always written (possibly [])
  std::optional<std::int32_t> rev;
  std::optional<std::string> ver;
  std::optional<std::string> call_alias;  ///< normalized with normalize_call_alias()
  bool prov = false;
  std::optional<std::uint64_t> expires_in_days;  ///< exp = now + days * 86400
  std::optional<std::uint64_t> not_before_days;  ///< nbf = now + days * 86400
  std::optional<std::string> jti;                ///< fixed jti (tests/vectors); default new_jti()
  std::optional<std::int64_t> now;  ///< fixed clock (tests/vectors); default now_seconds()
};

/// A freshly signed module.
struct SignedModule {
  Bytes module;        ///< the input without old token sections, plus one `wasmcloud_jwt`
  std::string token;   ///< the embedded JWT
  ActorClaims claims;  ///< the claims inside it
};

/// Signs a module (spec 2.12/2.4): strip old tokens, hash, build claims with
/// wascap_revision 3, sign with `issuer`, append `wasmcloud_jwt`. Errors: scan_sections()
/// errors (kInvalidArgument, prefixed "I/O error: "); errors::kIssuerNotAccount /
/// kSubjectNotModule (kInvalidArgument) when the keys have the wrong types.
Result<SignedModule> sign_module(std::span<const std::uint8_t> module, const KeyPair& issuer,
                                 const KeyPair& subject, const SignOptions& options);

/// wash's call-alias check (spec 2.3): non-empty, not 56 uppercase/digit characters, only
/// [a-z0-9_/]. Errors (kInvalidArgument): kCallAliasEmpty, kCallAliasIsKey, kCallAliasInvalid.
Status validate_call_alias(std::string_view alias);
/// wascap's normalization (spec 2.3): trim, lowercase, drop non-ASCII, ' ', '-', '.' -> '_'.
std::string normalize_call_alias(std::string_view alias);

/// Friendly name of a capability contract id (spec 3.4); unknown ids are returned unchanged.
std::string capability_friendly_name(std::string_view contract_id);
/// Label of a key by its first character (spec 3.1): Account, Module, Operator, Server, User,
/// else "<Unknown>".
std::string key_label(std::string_view key);

/// Claims of a capability provider archive (spec 2.10).
struct ProviderClaims {
  std::optional<std::uint64_t> exp;
  std::string jti;
  std::uint64_t iat = 0;
  std::string iss;  ///< issuer account key
  std::string sub;  ///< provider service key ('V...')
  std::optional<std::uint64_t> nbf;
  std::optional<std::uint32_t> wascap_revision;
  std::optional<std::string> name;  ///< written as null when absent
  std::string capid;                ///< contract id
  std::string vendor;
  std::optional<std::int32_t> rev;
  std::optional<std::string> ver;
  std::map<std::string, std::string> target_hashes;  ///< "<arch>-<os>" -> upper hex SHA-256
  std::optional<nlohmann::json> config_schema;
};

/// Parses a provider token payload. Errors: kSerializationError + detail; kInvalidAlgorithm when
/// the `wascap` object is absent.
Result<ProviderClaims> parse_provider_claims(const nlohmann::json& payload);
/// Compact JSON in the writer's order (spec 2.10): exp?, jti, iat, iss, sub, nbf?,
/// wascap{name (null if absent), capid, vendor, rev?, ver?, target_hashes, config_schema?},
/// wascap_revision?.
std::string serialize_provider_claims(const ProviderClaims& claims);
/// Signs provider claims with `issuer` (encode_jwt over serialize_provider_claims()).
std::string sign_provider_claims(const ProviderClaims& claims, const KeyPair& issuer);
/// Decodes a provider token without verifying it (the reference's behaviour). Errors as
/// decode_jwt() / parse_provider_claims().
Result<ProviderClaims> decode_provider_token(std::string_view token);
/// Decodes and verifies a provider token (our recommendation, spec 2.10): validate_jwt() hard
/// errors, then "Provider claims token expired", "Provider claims token cannot be used yet",
/// "Invalid signature on provider claims" (kPermissionDenied), checked in that order.
Result<ProviderClaims> verify_provider_token(std::string_view token, std::int64_t now);

}  // namespace wc::wascap

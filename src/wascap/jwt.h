// Compact Ed25519 JWTs as wascap writes and reads them (spec claims-oci-par.md 2.1, 2.2, 2.7).
//
// Owned by src/wascap. Generic over the claims payload: actor, provider and invocation tokens
// all use these functions (claims.h adds the typed actor/provider layers). Pure functions;
// thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/encoding.h"
#include "common/error.h"
#include "wascap/nkeys.h"

namespace wc::wascap {

/// The exact 29-byte header every producer emits (spec 2.1).
inline constexpr std::string_view kJwtHeader = R"({"typ":"jwt","alg":"Ed25519"})";
/// Current wascap internal format revision written by signers (spec 2.2).
inline constexpr std::uint32_t kWascapRevision = 3;

/// A token split into its three segments (as received) with the payload decoded.
struct DecodedJwt {
  std::string header_segment;     ///< first b64url segment, as received
  std::string payload_segment;    ///< second b64url segment, as received
  std::string signature_segment;  ///< third b64url segment, as received
  std::string payload;            ///< decoded payload text (valid UTF-8 JSON)
  nlohmann::json claims;          ///< parsed payload (an object)

  /// The signing input: `header_segment "." payload_segment` exactly as received.
  std::string signing_input() const { return header_segment + "." + payload_segment; }
};

/// Splits a compact token into exactly three segments and decodes + parses the payload
/// (spec 2.7 step 3). Does NOT check the header or signature. Errors (kInvalidArgument), texts
/// of errors.h without the host's "Failed to extract..." prefix: kInvalidTokenFormat,
/// kDecodeError + detail, kUtf8Error + detail, kSerializationError + detail (payload not a JSON
/// object).
Result<DecodedJwt> decode_jwt(std::string_view token);

/// Outcome of validating a token (spec 2.7 step 5). Hard failures are returned as an Error
/// instead; these soft results are for the caller to act on in its own order.
struct TokenValidation {
  bool signature_valid = false;  ///< Ed25519 signature over signing_input() verifies under iss
  bool expired = false;          ///< `exp` present and exp < now
  bool cannot_use_yet = false;   ///< `nbf` present and now < nbf
  std::string expires_human;     ///< "never" or humantime text (spec 2.8)
  std::string not_before_human;  ///< "immediately" or humantime text (spec 2.8)
  nlohmann::json claims;         ///< the parsed claims object (callers need no second parse)
};

/// Validates a token as wascap's `validate_token` does (spec 2.7 step 5, in its order): decode
/// the signature segment; check header `alg` then `typ`; decode claims; `iss` non-empty; `sub`
/// non-empty; decode `iss` as a public nkey (any public type); verify; compute dates against
/// `now` (seconds since the Unix epoch). Errors (texts without the "Failed to validate claims
/// token: " prefix): kDecodeError, kInvalidAlgorithm, kInvalidHeader, kSerializationError,
/// kMissingIssuer, kMissingSubject, kEncryptionError + nkeys message.
Result<TokenValidation> validate_jwt(std::string_view token, std::int64_t now);

/// Builds a token: b64url(kJwtHeader) "." b64url(payload_json) "." b64url(Ed25519 signature by
/// `issuer` over the first two segments). `payload_json` is used byte for byte (spec 2.1).
std::string encode_jwt(std::string_view payload_json, const KeyPair& issuer);

/// Serializes `claims` compactly (no whitespace, keys in the json's own order - use
/// nlohmann::ordered_json to control it, spec 2.2) and signs it with encode_jwt().
std::string sign_claims_json(const nlohmann::ordered_json& claims, const KeyPair& issuer);

/// A fresh 22-character base62 token id (the `jti` form wascap uses), from libsodium randomness.
std::string new_jti();
/// Current time in whole seconds since the Unix epoch (system clock).
std::int64_t now_seconds();

/// The humantime-style relative text of spec 2.8: `d = |now - t|` rounded down to days (d >=
/// 86400), hours (>= 3600) or minutes (>= 60); units year (31557600 s), month (2630016 s),
/// day(s), h, m, s; "in <text>" when t >= now, "<text> ago" otherwise. E.g. t = now + 86400 ->
/// "in 1day"; t = now - 30000 -> "8h ago".
std::string human_relative_time(std::int64_t t, std::int64_t now);

}  // namespace wc::wascap

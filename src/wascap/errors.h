// Client-visible error texts of the claims toolchain (nkeys, JWT, wasm sections, claims).
//
// Owned by src/wascap. Texts come from the reference host and its libraries (spec
// claims-oci-par.md sections 1.3, 2.1, 2.7, 2.10, 3.1); clients and tests match on them, so they
// are spelled here once and nowhere else. Constants only; thread-safe.
#pragma once

#include <string_view>

namespace wc::wascap::errors {

// --- nkeys (spec 1.3) -------------------------------------------------------------------------
/// Seed text not 58 characters long; followed by the length.
inline constexpr std::string_view kBadSeedLength = "Invalid seed length: Bad seed length: ";
/// base32 decoding failed; followed by a detail.
inline constexpr std::string_view kCodecFailure = "Codec failure: Data encoding failure: ";
/// Seed does not start with the seed marker; followed by the first character.
inline constexpr std::string_view kIncorrectBytePrefix =
    "Invalid byte prefix: Incorrect byte prefix: ";
/// Public key prefix byte not one of A C O N U M V; followed by the decimal byte.
inline constexpr std::string_view kNotPublicPrefix =
    "Invalid byte prefix: Not a valid public key prefix: ";
/// The 32 key bytes are not an Ed25519 point.
inline constexpr std::string_view kCouldNotReadPublicKey =
    "Signature verification failure: Could not read public key";
/// CRC16 of an nkey does not match (nkeys >= 0.4.1 behaviour; spec 1.3 recommendation).
inline constexpr std::string_view kChecksumMismatch = "Checksum match failure: CRC16 mismatch";
/// Public key text not 56 characters long; followed by the length.
inline constexpr std::string_view kBadPublicKeyLength = "Invalid public key length: ";
/// A signature did not verify under the given public key.
inline constexpr std::string_view kSignatureInvalid =
    "Signature verification failure: signature does not verify";
/// A public key of another type than required (ours, check_public_key()); followed by
/// "<type name> key (<letter>...)".
inline constexpr std::string_view kUnexpectedKeyType = "Unexpected key type: expected ";
/// Prefix of `pk_from_seed` failures in the host (spec 1.4).
inline constexpr std::string_view kPkFromSeed = "Failed to determine public key from seed: ";

// --- JWT (spec 2.1, 2.7) ----------------------------------------------------------------------
inline constexpr std::string_view kInvalidTokenFormat = "JWT error: invalid token format";
/// Prefix of base64url decoding failures; followed by a detail.
inline constexpr std::string_view kDecodeError = "Decode error: ";
/// Prefix of payloads that are not UTF-8.
inline constexpr std::string_view kUtf8Error = "UTF8 error: ";
/// Prefix of JSON / type / missing-field failures; followed by a detail.
inline constexpr std::string_view kSerializationError = "Serialization error: ";
/// Header `alg` is not Ed25519, or (misnamed, as in the reference) no `wascap` metadata.
inline constexpr std::string_view kInvalidAlgorithm =
    "Invalid JWT algorithm. WASCAP only supports Ed25519";
/// Header `typ` is not `jwt`.
inline constexpr std::string_view kInvalidHeader = "JWT error: Invalid header";
inline constexpr std::string_view kMissingIssuer =
    "Invalid JWT. WASCAP requires an issuer claim to be present";
inline constexpr std::string_view kMissingSubject =
    "Invalid JWT. WASCAP requires a sub claim to be present";
/// Prefix of `iss` decoding failures; followed by the nkeys message.
inline constexpr std::string_view kEncryptionError = "Encryption error: ";

// --- Module claims (spec 2.5, 2.7) ------------------------------------------------------------
inline constexpr std::string_view kNoClaims = "No claims found in source module";
inline constexpr std::string_view kExtractPrefix = "Failed to extract claims from module: ";
inline constexpr std::string_view kValidatePrefix = "Failed to validate claims token: ";
/// Prefix of module parse failures (after kExtractPrefix); followed by the parser message.
inline constexpr std::string_view kIoError = "I/O error: ";
inline constexpr std::string_view kInvalidModuleHash = "Invalid module hash";
inline constexpr std::string_view kTokenExpired = "Claims token expired";
inline constexpr std::string_view kTokenNotYetValid = "Claims token cannot be used yet";
inline constexpr std::string_view kInvalidModuleSignature = "Invalid signature on module token";

/// extract_claims(): the actor's `sub` is not a canonical Module key (ours, beyond spec 2.6: the
/// key becomes a NATS subject token and a cache name). Follows kValidatePrefix.
inline constexpr std::string_view kActorSubjectNotModule =
    "Actor claims subject must be a module key (M...)";
/// extract_claims(): the actor's `iss` is not a canonical Account key (ours, beyond spec 2.6,
/// which accepts any public key type). Follows kValidatePrefix.
inline constexpr std::string_view kActorIssuerNotAccount =
    "Actor claims issuer must be an account key (A...)";

// --- Provider claims (spec 2.10, our recommendation) ------------------------------------------
inline constexpr std::string_view kInvalidProviderSignature =
    "Invalid signature on provider claims";
inline constexpr std::string_view kProviderTokenExpired = "Provider claims token expired";
inline constexpr std::string_view kProviderTokenNotYetValid =
    "Provider claims token cannot be used yet";

// --- Signing and inspection (spec 2.3, 2.12, 3.1) ---------------------------------------------
inline constexpr std::string_view kCallAliasEmpty = "Call alias cannot be empty";
inline constexpr std::string_view kCallAliasIsKey = "Public key cannot be used as a call alias";
inline constexpr std::string_view kCallAliasInvalid =
    "Call alias contained invalid characters.\nValid aliases are lowercase alphanumeric and can "
    "contain underscores and slashes";
/// `wash claims inspect` on an unsigned module; followed by the target (note the space).
inline constexpr std::string_view kNoCapabilitiesDiscovered = "No capabilities discovered in : ";
/// Our signer refuses issuers that are not Account keys (wash signs with accounts, spec 2.6).
inline constexpr std::string_view kIssuerNotAccount = "Issuer key must be an account key (SA...)";
/// Our signer refuses actor subjects that are not Module keys (spec 2.6).
inline constexpr std::string_view kSubjectNotModule = "Subject key must be a module key (SM...)";

}  // namespace wc::wascap::errors

// nkeys: typed Ed25519 keys written as base32 text with a type prefix and a CRC16 (spec
// claims-oci-par.md section 1).
//
// Owned by src/wascap. Free functions are pure and thread-safe. KeyPair is a value type holding
// a private seed; a const KeyPair may be used from several threads at once (signing does not
// mutate it). libsodium is initialised once, lazily, by the first function that needs it.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "common/encoding.h"
#include "common/error.h"

namespace wc::wascap {

/// The nkey types of spec 1.1. Values are the prefix bytes (top five bits = base32 letter index).
enum class KeyType : std::uint8_t {
  kAccount = 0,     ///< 'A': issuer of actor and provider claims
  kCluster = 16,    ///< 'C': cluster key, issuer of invocation (anti-forgery) tokens
  kModule = 96,     ///< 'M': actor identity (`sub` of actor claims)
  kServer = 104,    ///< 'N': host identity
  kOperator = 112,  ///< 'O': operator tokens
  kPrivate = 120,   ///< 'P': defined by NATS, unused
  kUser = 160,      ///< 'U': NATS users
  kService = 168,   ///< 'V': capability provider identity
  kCurve = 184,     ///< 'X': X25519 keys; only the encoding is supported (spec 1.4)
};

/// Marker prefix byte of seeds ('S', 18 << 3).
inline constexpr std::uint8_t kSeedPrefixByte = 144;
/// Length of an encoded public key (56) and of an encoded seed (58) in characters.
inline constexpr std::size_t kPublicKeyLength = 56;
inline constexpr std::size_t kSeedLength = 58;

/// The prefix byte of a key type (spec 1.1 table).
constexpr std::uint8_t prefix_byte(KeyType t) { return static_cast<std::uint8_t>(t); }
/// The first letter of public keys of this type: 'A', 'C', 'M', 'N', 'O', 'P', 'U', 'V', 'X'.
char key_letter(KeyType t);
/// Lower-case name: "account", "cluster", "module", "server", "operator", "private", "user",
/// "service", "curve".
std::string_view key_type_name(KeyType t);
/// Parses key_type_name() output (as the CLI `keys gen <type>` accepts). nullopt if unknown.
std::optional<KeyType> key_type_from_name(std::string_view name);
/// Maps a prefix byte to its type; nullopt for bytes that are not in the table.
std::optional<KeyType> key_type_from_prefix(std::uint8_t prefix);
/// True for the prefixes nkeys 0.3.0 accepts as public keys: A, C, O, N, U, M, V (spec 1.3).
bool is_public_prefix(std::uint8_t prefix);

/// CRC-16/XMODEM (poly 0x1021, init 0, not reflected), as nkeys checksums use (spec 1.2).
std::uint16_t crc16(std::span<const std::uint8_t> data);

/// Encodes a 32-byte public key of type `t` (56 characters, spec 1.2).
std::string encode_public_key(KeyType t, std::span<const std::uint8_t, 32> key);
/// Encodes a 32-byte Ed25519 seed of type `t` (58 characters starting with 'S', spec 1.3).
std::string encode_seed(KeyType t, std::span<const std::uint8_t, 32> seed);

/// A decoded key: its type and its 32 raw bytes (public key or seed, depending on the decoder).
struct DecodedKey {
  KeyType type = KeyType::kAccount;
  std::array<std::uint8_t, 32> bytes{};
};

/// Decodes a public key text, checking in nkeys' order: base32, CRC16, public prefix (A C O N U
/// M V), then length 56 (our addition), then a valid Ed25519 point (libsodium
/// crypto_core_ed25519_is_valid_point: small-order points are refused; the calling thread
/// remembers the last 8 keys that passed, since the check costs about a verification). Errors
/// (Code::kInvalidArgument) carry the nkeys texts of errors.h (kBadPublicKeyLength, kCodecFailure,
/// kChecksumMismatch, kNotPublicPrefix, kCouldNotReadPublicKey).
Result<DecodedKey> decode_public_key(std::string_view text);
/// Decodes a seed text: length 58, base32, CRC16, seed marker, known type. Errors
/// (Code::kInvalidArgument): kBadSeedLength, kCodecFailure, kChecksumMismatch,
/// kIncorrectBytePrefix.
Result<DecodedKey> decode_seed(std::string_view text);
/// True when decode_public_key(text) succeeds.
bool is_valid_public_key(std::string_view text);

/// Checks that `text` is a well-formed public key of type `want`: decode_public_key() succeeds
/// (base32, CRC16, prefix, length 56, Ed25519 point), the type matches and the text is the
/// canonical upper-case encoding (so a key is safe to use as a NATS subject token or a path
/// component). Beyond the reference, which accepts any non-empty subject (spec 2.6): keys that
/// reach a path or a subject are checked here first. Errors (Code::kInvalidArgument): the
/// decode_public_key() texts, or errors::kUnexpectedKeyType + "<type name> key (<letter>...)".
Status check_public_key(std::string_view text, KeyType want);

/// An Ed25519 key pair of one nkey type, built from (or generating) a 32-byte seed.
class KeyPair {
 public:
  /// Parses a seed text ("SA...", "SM...", ...). Errors as decode_seed(); kUnsupported for
  /// curve ('X') seeds.
  static Result<KeyPair> from_seed(std::string_view seed_text);
  /// Builds a key pair from 32 raw seed bytes (RFC 8032 secret key). kUnsupported for kCurve.
  static Result<KeyPair> from_raw_seed(KeyType t, std::span<const std::uint8_t, 32> seed);
  /// Generates a fresh random key pair of type `t` (libsodium randombytes). `t` must not be
  /// kCurve (aborts: programming error).
  static KeyPair generate(KeyType t);

  /// The key type.
  KeyType type() const { return type_; }
  /// Encoded public key (56 chars).
  std::string public_key() const;
  /// Encoded seed (58 chars). Secret: never log it.
  std::string seed() const;
  /// Raw 32-byte Ed25519 public key.
  const std::array<std::uint8_t, 32>& raw_public_key() const { return public_; }
  /// Pure Ed25519 signature (64 bytes) over `data`; deterministic (spec 1.4).
  std::array<std::uint8_t, 64> sign(std::span<const std::uint8_t> data) const;

 private:
  KeyPair() = default;
  KeyType type_ = KeyType::kAccount;
  std::array<std::uint8_t, 32> seed_{};
  std::array<std::uint8_t, 32> public_{};
};

/// Verifies an Ed25519 signature over `data` with an encoded public key (any public type).
/// Errors: the decode_public_key() errors (kInvalidArgument); a signature that is not 64 bytes
/// or does not verify gives Code::kPermissionDenied with errors::kSignatureInvalid.
Status verify(std::string_view public_key, std::span<const std::uint8_t> data,
              std::span<const std::uint8_t> signature);
/// The same with a key decode_public_key() already returned: no second decode (issue #14.2).
/// Errors: kPermissionDenied errors::kSignatureInvalid.
Status verify(const DecodedKey& key, std::span<const std::uint8_t> data,
              std::span<const std::uint8_t> signature);

/// Initialises libsodium exactly once (std::call_once); aborts if libsodium cannot start.
void ensure_sodium();

}  // namespace wc::wascap

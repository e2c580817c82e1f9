// nkeys encoding and Ed25519 keys (spec claims-oci-par.md section 1).
#include "wascap/nkeys.h"

#include <algorithm>
#include <array>

#include <sodium.h>

#include <cstdlib>
#include <mutex>

#include "wascap/errors.h"

namespace wc::wascap {
namespace {

constexpr char kBase32Alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

std::string base32_encode(std::span<const std::uint8_t> data) {
  std::string out;
  out.reserve((data.size() * 8 + 4) / 5);
  std::uint32_t buffer = 0;
  int bits = 0;
  for (std::uint8_t b : data) {
    buffer = (buffer << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out.push_back(kBase32Alphabet[(buffer >> (bits - 5)) & 0x1F]);
      bits -= 5;
    }
  }
  if (bits > 0) out.push_back(kBase32Alphabet[(buffer << (5 - bits)) & 0x1F]);
  return out;
}

Result<Bytes> base32_decode(std::string_view text) {
  Bytes out;
  out.reserve(text.size() * 5 / 8);
  std::uint32_t buffer = 0;
  int bits = 0;
  for (char c : text) {
    int v = -1;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    if (c >= '2' && c <= '7') v = c - '2' + 26;
    if (v < 0) {
      return fail(Code::kInvalidArgument,
                  std::string(errors::kCodecFailure) + "invalid base32 character");
    }
    buffer = ((buffer << 5) | static_cast<std::uint32_t>(v)) & 0xFFFFu;
    bits += 5;
    if (bits >= 8) {
      out.push_back(static_cast<std::uint8_t>(buffer >> (bits - 8)));
      bits -= 8;
    }
  }
  return out;
}

const std::uint16_t* crc_table() {
  static const auto table = [] {
    static std::uint16_t t[256];
    for (int i = 0; i < 256; ++i) {
      std::uint16_t crc = static_cast<std::uint16_t>(i << 8);
      for (int j = 0; j < 8; ++j) {
        crc = static_cast<std::uint16_t>((crc & 0x8000) ? (crc << 1) ^ 0x1021 : (crc << 1));
      }
      t[i] = crc;
    }
    return t;
  }();
  return table;
}

// Appends the little-endian CRC16 and base32-encodes.
std::string seal(Bytes raw) {
  std::uint16_t crc = crc16(raw);
  raw.push_back(static_cast<std::uint8_t>(crc & 0xFF));
  raw.push_back(static_cast<std::uint8_t>(crc >> 8));
  return base32_encode(raw);
}

// Decodes base32 and checks the trailing little-endian CRC16; returns the bytes without it.
Result<Bytes> unseal(std::string_view text, std::size_t expected_len) {
  auto raw = base32_decode(text);
  if (!raw) return fail(raw.error());
  if (raw->size() != expected_len) {
    return fail(Code::kInvalidArgument, std::string(errors::kCodecFailure) + "bad length");
  }
  const std::size_t n = raw->size() - 2;
  const std::uint16_t stored =
      static_cast<std::uint16_t>((*raw)[n] | (static_cast<std::uint16_t>((*raw)[n + 1]) << 8));
  raw->resize(n);
  if (crc16(*raw) != stored) {
    return fail(Code::kInvalidArgument, std::string(errors::kChecksumMismatch));
  }
  return raw;
}

}  // namespace

void ensure_sodium() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (sodium_init() < 0) std::abort();
  });
}

char key_letter(KeyType t) { return kBase32Alphabet[prefix_byte(t) >> 3]; }

std::string_view key_type_name(KeyType t) {
  switch (t) {
    case KeyType::kAccount:
      return "account";
    case KeyType::kCluster:
      return "cluster";
    case KeyType::kModule:
      return "module";
    case KeyType::kServer:
      return "server";
    case KeyType::kOperator:
      return "operator";
    case KeyType::kPrivate:
      return "private";
    case KeyType::kUser:
      return "user";
    case KeyType::kService:
      return "service";
    case KeyType::kCurve:
      return "curve";
  }
  return "unknown";
}

std::optional<KeyType> key_type_from_name(std::string_view name) {
  for (KeyType t : {KeyType::kAccount, KeyType::kCluster, KeyType::kModule, KeyType::kServer,
                    KeyType::kOperator, KeyType::kPrivate, KeyType::kUser, KeyType::kService,
                    KeyType::kCurve}) {
    if (key_type_name(t) == name) return t;
  }
  return std::nullopt;
}

std::optional<KeyType> key_type_from_prefix(std::uint8_t prefix) {
  switch (prefix) {
    case 0:
      return KeyType::kAccount;
    case 16:
      return KeyType::kCluster;
    case 96:
      return KeyType::kModule;
    case 104:
      return KeyType::kServer;
    case 112:
      return KeyType::kOperator;
    case 120:
      return KeyType::kPrivate;
    case 160:
      return KeyType::kUser;
    case 168:
      return KeyType::kService;
    case 184:
      return KeyType::kCurve;
    default:
      return std::nullopt;
  }
}

bool is_public_prefix(std::uint8_t prefix) {
  switch (prefix) {
    case 0:
    case 16:
    case 96:
    case 104:
    case 112:
    case 160:
    case 168:
      return true;
    default:
      return false;
  }
}

std::uint16_t crc16(std::span<const std::uint8_t> data) {
  const std::uint16_t* t = crc_table();
  std::uint16_t crc = 0;
  for (std::uint8_t b : data) {
    crc = static_cast<std::uint16_t>((crc << 8) ^ t[((crc >> 8) ^ b) & 0xFF]);
  }
  return crc;
}

std::string encode_public_key(KeyType t, std::span<const std::uint8_t, 32> key) {
  Bytes raw;
  raw.reserve(35);
  raw.push_back(prefix_byte(t));
  raw.insert(raw.end(), key.begin(), key.end());
  return seal(std::move(raw));
}

std::string encode_seed(KeyType t, std::span<const std::uint8_t, 32> seed) {
  const std::uint8_t p = prefix_byte(t);
  Bytes raw;
  raw.reserve(36);
  raw.push_back(static_cast<std::uint8_t>(kSeedPrefixByte | (p >> 5)));
  raw.push_back(static_cast<std::uint8_t>((p & 0x1F) << 3));
  raw.insert(raw.end(), seed.begin(), seed.end());
  return seal(std::move(raw));
}

namespace {

/// libsodium's crypto_core_ed25519_is_valid_point (on the curve, not of small order, in the main
/// subgroup), remembered for the last few keys this thread accepted: the subgroup check is a full
/// scalar multiplication, about the cost of a signature verification, and every invocation token
/// of a lattice carries the same few cluster keys (issue #14.2). Only accepted keys are kept.
bool valid_point(const std::array<std::uint8_t, 32>& bytes) {
  constexpr std::size_t kRemembered = 8;
  thread_local std::array<std::array<std::uint8_t, 32>, kRemembered> seen{};
  thread_local std::size_t used = 0, next = 0;
  for (std::size_t i = 0; i < used; ++i)
    if (seen[i] == bytes) return true;
  ensure_sodium();
  if (crypto_core_ed25519_is_valid_point(bytes.data()) != 1) return false;
  seen[next] = bytes;
  next = (next + 1) % kRemembered;
  used = std::min(used + 1, kRemembered);
  return true;
}

}  // namespace

Result<DecodedKey> decode_public_key(std::string_view text) {
  // Order as nkeys: base32, checksum, prefix; then our stricter length check (spec 1.3).
  auto raw = base32_decode(text);
  if (!raw) return fail(raw.error());
  if (raw->size() < 3) {
    return fail(Code::kInvalidArgument,
                std::string(errors::kBadPublicKeyLength) + std::to_string(text.size()));
  }
  const std::size_t n = raw->size() - 2;
  const std::uint16_t stored =
      static_cast<std::uint16_t>((*raw)[n] | (static_cast<std::uint16_t>((*raw)[n + 1]) << 8));
  raw->resize(n);
  if (crc16(*raw) != stored) {
    return fail(Code::kInvalidArgument, std::string(errors::kChecksumMismatch));
  }
  const std::uint8_t prefix = (*raw)[0];
  if (!is_public_prefix(prefix)) {
    return fail(Code::kInvalidArgument,
                std::string(errors::kNotPublicPrefix) + std::to_string(prefix));
  }
  if (text.size() != kPublicKeyLength || raw->size() != 33) {
    return fail(Code::kInvalidArgument,
                std::string(errors::kBadPublicKeyLength) + std::to_string(text.size()));
  }
  DecodedKey key;
  key.type = *key_type_from_prefix(prefix);
  std::copy(raw->begin() + 1, raw->end(), key.bytes.begin());
  if (!valid_point(key.bytes)) {
    return fail(Code::kInvalidArgument, std::string(errors::kCouldNotReadPublicKey));
  }
  return key;
}

Result<DecodedKey> decode_seed(std::string_view text) {
  if (text.size() != kSeedLength) {
    return fail(Code::kInvalidArgument,
                std::string(errors::kBadSeedLength) + std::to_string(text.size()));
  }
  auto raw = unseal(text, 36);
  if (!raw) return fail(raw.error());
  if (((*raw)[0] & 0xF8) != kSeedPrefixByte) {
    return fail(Code::kInvalidArgument, std::string(errors::kIncorrectBytePrefix) + text[0]);
  }
  const std::uint8_t t =
      static_cast<std::uint8_t>((((*raw)[0] & 0x07) << 5) | (((*raw)[1] & 0xF8) >> 3));
  auto type = key_type_from_prefix(t);
  if (!type || ((*raw)[1] & 0x07) != 0) {
    return fail(Code::kInvalidArgument, std::string(errors::kIncorrectBytePrefix) + text[1]);
  }
  DecodedKey key;
  key.type = *type;
  std::copy(raw->begin() + 2, raw->end(), key.bytes.begin());
  return key;
}

bool is_valid_public_key(std::string_view text) { return decode_public_key(text).has_value(); }

Status check_public_key(std::string_view text, KeyType want) {
  auto key = decode_public_key(text);
  if (!key) return fail(key.error());
  if (key->type != want || encode_public_key(want, key->bytes) != text) {
    return fail(Code::kInvalidArgument, std::string(errors::kUnexpectedKeyType) +
                                            std::string(key_type_name(want)) + " key (" +
                                            key_letter(want) + "...)");
  }
  return ok();
}

Result<KeyPair> KeyPair::from_seed(std::string_view seed_text) {
  auto decoded = decode_seed(seed_text);
  if (!decoded) return fail(decoded.error());
  return from_raw_seed(decoded->type, decoded->bytes);
}

Result<KeyPair> KeyPair::from_raw_seed(KeyType t, std::span<const std::uint8_t, 32> seed) {
  if (t == KeyType::kCurve) {
    return fail(Code::kUnsupported, "curve (X25519) keys are not supported");
  }
  ensure_sodium();
  KeyPair kp;
  kp.type_ = t;
  std::copy(seed.begin(), seed.end(), kp.seed_.begin());
  unsigned char sk[crypto_sign_SECRETKEYBYTES];
  crypto_sign_seed_keypair(kp.public_.data(), sk, kp.seed_.data());
  sodium_memzero(sk, sizeof sk);
  return kp;
}

KeyPair KeyPair::generate(KeyType t) {
  if (t == KeyType::kCurve) std::abort();
  ensure_sodium();
  std::array<std::uint8_t, 32> seed{};
  randombytes_buf(seed.data(), seed.size());
  auto kp = from_raw_seed(t, seed);
  sodium_memzero(seed.data(), seed.size());
  return *kp;
}

std::string KeyPair::public_key() const { return encode_public_key(type_, public_); }

std::string KeyPair::seed() const { return encode_seed(type_, seed_); }

std::array<std::uint8_t, 64> KeyPair::sign(std::span<const std::uint8_t> data) const {
  ensure_sodium();
  unsigned char sk[crypto_sign_SECRETKEYBYTES];
  std::copy(seed_.begin(), seed_.end(), sk);
  std::copy(public_.begin(), public_.end(), sk + 32);
  std::array<std::uint8_t, 64> sig{};
  crypto_sign_detached(sig.data(), nullptr, data.data(), data.size(), sk);
  sodium_memzero(sk, sizeof sk);
  return sig;
}

Status verify(std::string_view public_key, std::span<const std::uint8_t> data,
              std::span<const std::uint8_t> signature) {
  auto key = decode_public_key(public_key);
  if (!key) return fail(key.error());
  return verify(*key, data, signature);
}

Status verify(const DecodedKey& key, std::span<const std::uint8_t> data,
              std::span<const std::uint8_t> signature) {
  ensure_sodium();
  if (signature.size() != crypto_sign_BYTES ||
      crypto_sign_verify_detached(signature.data(), data.data(), data.size(), key.bytes.data()) !=
          0) {
    return fail(Code::kPermissionDenied, std::string(errors::kSignatureInvalid));
  }
  return ok();
}

}  // namespace wc::wascap

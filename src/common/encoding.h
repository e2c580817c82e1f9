// Byte encodings used across the wire formats: base64 (standard and URL-safe without padding,
// as JWTs use), hex, and SHA-256 (libsodium). Pure functions, thread-safe.
// Decoders reject malformed input with Code::kInvalidArgument; they never throw.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace wc {

using Bytes = std::vector<std::uint8_t>;

/// View of a string's bytes.
inline std::span<const std::uint8_t> as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}
/// Copies bytes into a std::string (no validation).
inline std::string to_string(std::span<const std::uint8_t> b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

/// base64url without padding (RFC 4648 section 5), the JWT segment encoding.
std::string base64url_encode(std::span<const std::uint8_t> data);
/// Decodes base64url; padding '=' is tolerated, any other stray character is an error.
Result<Bytes> base64url_decode(std::string_view text);
/// Standard base64 with padding (RFC 4648 section 4).
std::string base64_encode(std::span<const std::uint8_t> data);
/// Decodes standard base64 (padding required as produced by base64_encode).
Result<Bytes> base64_decode(std::string_view text);

/// Lower-case hex.
std::string hex_lower(std::span<const std::uint8_t> data);
/// Upper-case hex (the wascap module hash format).
std::string hex_upper(std::span<const std::uint8_t> data);

/// SHA-256 digest (32 bytes).
std::array<std::uint8_t, 32> sha256(std::span<const std::uint8_t> data);
/// "sha256:<lower hex>", the OCI digest form.
std::string oci_digest(std::span<const std::uint8_t> data);

/// Reads a whole file. Errors: kNotFound "no such file: <path>" (missing), kInvalidArgument
/// "<path> is a directory, not a file", kUnavailable (read error).
Result<Bytes> read_file(const std::string& path);
/// Writes a whole file atomically (temp file + rename). Errors: kInvalidArgument "<path> is a
/// directory, not a file", kUnavailable.
Status write_file(const std::string& path, std::span<const std::uint8_t> data);

}  // namespace wc

// Compact Ed25519 JWTs (spec claims-oci-par.md 2.1, 2.7, 2.8).
#include "wascap/jwt.h"

#include <sodium.h>

#include <array>
#include <chrono>
#include <cstdlib>
#include <vector>

#include "wascap/errors.h"
#include "wascap/internal.h"

namespace wc::wascap {
namespace {

struct Segments {
  std::string_view header, payload, signature;
};

Result<Segments> split(std::string_view token) {
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = token.find('.', start);
    if (dot == std::string_view::npos) {
      parts.push_back(token.substr(start));
      break;
    }
    parts.push_back(token.substr(start, dot - start));
    start = dot + 1;
    if (parts.size() > 3) break;
  }
  if (parts.size() != 3)
    return fail(Code::kInvalidArgument, std::string(errors::kInvalidTokenFormat));
  return Segments{parts[0], parts[1], parts[2]};
}

Result<Bytes> decode_segment(std::string_view segment) {
  auto bytes = base64url_decode(segment);
  if (!bytes) {
    return fail(Code::kInvalidArgument, std::string(errors::kDecodeError) + bytes.error().message);
  }
  return bytes;
}

// base64url -> UTF-8 -> JSON, with the reference's error prefixes.
Result<nlohmann::json> decode_json_segment(std::string_view segment, std::string* text_out) {
  auto bytes = decode_segment(segment);
  if (!bytes) return fail(bytes.error());
  std::string text = to_string(*bytes);
  if (!internal::is_valid_utf8(text)) {
    return fail(Code::kInvalidArgument,
                std::string(errors::kUtf8Error) + "invalid utf-8 sequence in payload");
  }
  if (internal::json_nesting_depth(text) > internal::kMaxJsonDepth) {
    return fail(Code::kInvalidArgument,
                std::string(errors::kSerializationError) + "recursion limit exceeded");
  }
  nlohmann::json value;
  try {
    value = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    return fail(Code::kInvalidArgument, std::string(errors::kSerializationError) + e.what());
  }
  if (text_out != nullptr) *text_out = std::move(text);
  return value;
}

Error serialization(const std::string& detail) {
  return Error{Code::kInvalidArgument, std::string(errors::kSerializationError) + detail};
}

// Reads an optional non-negative integer claim (null = absent).
Result<std::optional<std::uint64_t>> optional_u64(const nlohmann::json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::optional<std::uint64_t>{};
  if (!it->is_number_unsigned()) {
    return fail(serialization(std::string("invalid type for field `") + key + "`, expected u64"));
  }
  return std::optional<std::uint64_t>{it->get<std::uint64_t>()};
}

Result<std::string> required_string(const nlohmann::json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end()) return fail(serialization(std::string("missing field `") + key + "`"));
  if (!it->is_string()) {
    return fail(
        serialization(std::string("invalid type for field `") + key + "`, expected a string"));
  }
  return it->get<std::string>();
}

// Appends "<n><unit>" with the humantime plural rule for year/month/day.
void add_unit(std::string& out, std::uint64_t n, const char* unit, bool plural) {
  if (n == 0) return;
  if (!out.empty()) out.push_back(' ');
  out += std::to_string(n);
  out += unit;
  if (plural && n > 1) out.push_back('s');
}

}  // namespace

Result<DecodedJwt> decode_jwt(std::string_view token) {
  auto seg = split(token);
  if (!seg) return fail(seg.error());
  DecodedJwt out;
  auto claims = decode_json_segment(seg->payload, &out.payload);
  if (!claims) return fail(claims.error());
  if (!claims->is_object()) {
    return fail(serialization("invalid type: expected a claims object"));
  }
  out.header_segment = std::string(seg->header);
  out.payload_segment = std::string(seg->payload);
  out.signature_segment = std::string(seg->signature);
  out.claims = std::move(*claims);
  return out;
}

Result<TokenValidation> validate_jwt(std::string_view token, std::int64_t now) {
  auto seg = split(token);
  if (!seg) return fail(seg.error());
  auto signature = decode_segment(seg->signature);
  if (!signature) return fail(signature.error());

  auto header = decode_json_segment(seg->header, nullptr);
  if (!header) return fail(header.error());
  if (!header->is_object()) return fail(serialization("invalid type: expected a header object"));
  auto alg = required_string(*header, "alg");
  if (!alg) return fail(alg.error());
  auto typ = required_string(*header, "typ");
  if (!typ) return fail(typ.error());
  if (*alg != "Ed25519")
    return fail(Code::kInvalidArgument, std::string(errors::kInvalidAlgorithm));
  if (*typ != "jwt") return fail(Code::kInvalidArgument, std::string(errors::kInvalidHeader));

  auto claims = decode_json_segment(seg->payload, nullptr);
  if (!claims) return fail(claims.error());
  if (!claims->is_object()) return fail(serialization("invalid type: expected a claims object"));
  auto iss = required_string(*claims, "iss");
  if (!iss) return fail(iss.error());
  auto sub = required_string(*claims, "sub");
  if (!sub) return fail(sub.error());
  auto exp = optional_u64(*claims, "exp");
  if (!exp) return fail(exp.error());
  auto nbf = optional_u64(*claims, "nbf");
  if (!nbf) return fail(nbf.error());
  if (iss->empty()) return fail(Code::kInvalidArgument, std::string(errors::kMissingIssuer));
  if (sub->empty()) return fail(Code::kInvalidArgument, std::string(errors::kMissingSubject));
  auto key = decode_public_key(*iss);
  if (!key) {
    return fail(Code::kInvalidArgument,
                std::string(errors::kEncryptionError) + key.error().message);
  }

  TokenValidation v;
  const std::string input = std::string(seg->header) + "." + std::string(seg->payload);
  v.signature_valid = verify(*key, as_bytes(input), *signature).has_value();
  const auto to_i64 = [](std::uint64_t x) {
    return x > static_cast<std::uint64_t>(INT64_MAX) ? INT64_MAX : static_cast<std::int64_t>(x);
  };
  if (*exp) {
    v.expired = to_i64(**exp) < now;
    v.expires_human = human_relative_time(to_i64(**exp), now);
  } else {
    v.expires_human = "never";
  }
  if (*nbf) {
    v.cannot_use_yet = now < to_i64(**nbf);
    v.not_before_human = human_relative_time(to_i64(**nbf), now);
  } else {
    v.not_before_human = "immediately";
  }
  v.claims = std::move(*claims);
  return v;
}

std::string encode_jwt(std::string_view payload_json, const KeyPair& issuer) {
  std::string input = base64url_encode(as_bytes(kJwtHeader));
  input.push_back('.');
  input += base64url_encode(as_bytes(payload_json));
  const auto sig = issuer.sign(as_bytes(input));
  input.push_back('.');
  input += base64url_encode(sig);
  return input;
}

std::string sign_claims_json(const nlohmann::ordered_json& claims, const KeyPair& issuer) {
  return encode_jwt(claims.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace),
                    issuer);
}

std::string new_jti() {
  static constexpr char kAlphabet[] =
      "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  constexpr std::size_t kLength = 22;
  ensure_sodium();
  // One randombytes_buf() for the whole id (randombytes_uniform() per character cost one
  // getrandom() system call each: 22 per signed invocation, a fifth of make_invocation()'s time
  // in perf, #14.2). Each character is a random byte below 248 (4 x 62) taken modulo 62; bytes
  // of 248 and above are skipped (no bias), and more are drawn in the rare case the buffer runs
  // short.
  std::array<std::uint8_t, 32> buf{};
  randombytes_buf(buf.data(), buf.size());
  std::string out;
  out.reserve(kLength);
  std::size_t next = 0;
  while (out.size() < kLength) {
    if (next == buf.size()) {
      randombytes_buf(buf.data(), buf.size());
      next = 0;
    }
    const std::uint8_t b = buf[next++];
    if (b < 248) out.push_back(kAlphabet[b % 62]);
  }
  return out;
}

std::int64_t now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string human_relative_time(std::int64_t t, std::int64_t now) {
  // |now - t| without overflow.
  const std::uint64_t d0 = t >= now
                               ? static_cast<std::uint64_t>(t) - static_cast<std::uint64_t>(now)
                               : static_cast<std::uint64_t>(now) - static_cast<std::uint64_t>(t);
  std::uint64_t d = d0;
  if (d >= 86400) {
    d -= d % 86400;
  } else if (d >= 3600) {
    d -= d % 3600;
  } else if (d >= 60) {
    d -= d % 60;
  }
  std::string text;
  std::uint64_t rest = d;
  add_unit(text, rest / 31557600, "year", true);
  rest %= 31557600;
  add_unit(text, rest / 2630016, "month", true);
  rest %= 2630016;
  add_unit(text, rest / 86400, "day", true);
  rest %= 86400;
  add_unit(text, rest / 3600, "h", false);
  rest %= 3600;
  add_unit(text, rest / 60, "m", false);
  add_unit(text, rest % 60, "s", false);
  if (text.empty()) text = "0s";
  return t >= now ? "in " + text : text + " ago";
}

}  // namespace wc::wascap

// Lenient member reads of nlohmann::json values that come from untrusted peers (lattice
// messages, metadata-bucket entries, registry and JetStream answers, provider configuration).
// nlohmann's `value(key, default)` throws `type_error` when the member exists but is null or of
// another type (issue #12.1: a policy permit with `"message": null` made a start vanish); these
// helpers never throw: a missing, null or mistyped member, or a value that is not an object at
// all, yields the fallback.
//
// Header-only, pure functions, thread-safe. Compiles as C++20 with clang 14 (src/common rule).
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace wc {

/// The member `key` of `obj` when `obj` is an object that has it, else nullptr (never throws).
inline const nlohmann::json* json_member(const nlohmann::json& obj, std::string_view key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(key);
  return it == obj.end() ? nullptr : &*it;
}

/// `obj[key]` when it is a JSON string; `fallback` when `obj` is not an object or the member is
/// absent, null or of another type.
inline std::string json_string(const nlohmann::json& obj, std::string_view key,
                               std::string_view fallback = {}) {
  const nlohmann::json* m = json_member(obj, key);
  return m != nullptr && m->is_string() ? m->get<std::string>() : std::string(fallback);
}

/// `obj[key]` when it is a JSON integer that fits in int64 (floats are not integers here);
/// `fallback` when `obj` is not an object or the member is absent, null or of another type.
inline std::int64_t json_int(const nlohmann::json& obj, std::string_view key,
                             std::int64_t fallback) {
  const nlohmann::json* m = json_member(obj, key);
  if (m == nullptr || !m->is_number_integer()) return fallback;
  if (m->is_number_unsigned() &&
      m->get<std::uint64_t>() >
          static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
    return fallback;
  return m->get<std::int64_t>();
}

/// `obj[key]` when it is a JSON boolean; `fallback` when `obj` is not an object or the member is
/// absent, null or of another type.
inline bool json_bool(const nlohmann::json& obj, std::string_view key, bool fallback) {
  const nlohmann::json* m = json_member(obj, key);
  return m != nullptr && m->is_boolean() ? m->get<bool>() : fallback;
}

}  // namespace wc

// Internal helpers of src/wascap shared by its .cpp files (not part of the public API).
// Pure functions; thread-safe.
#pragma once

#include <string_view>

namespace wc::wascap::internal {

/// True when `text` is well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF).
bool is_valid_utf8(std::string_view text);

/// Nesting depth of JSON arrays/objects in `text` (strings are skipped). Used to refuse deeply
/// nested untrusted payloads before parsing (serde_json's limit is 128).
int json_nesting_depth(std::string_view text);

/// Maximum JSON nesting depth accepted in token segments.
inline constexpr int kMaxJsonDepth = 128;

}  // namespace wc::wascap::internal

// Link value lookup (see link.h); the codecs are rpc/messages.cpp's.
#include "sdk/link.h"

#include <cctype>

namespace wc::provider {

std::optional<std::string> link_value(const LinkDefinition& ld, std::string_view key) {
  for (const auto& [k, v] : ld.values) {
    if (k.size() != key.size()) continue;
    bool same = true;
    for (std::size_t i = 0; i < k.size() && same; ++i) {
      same = std::tolower(static_cast<unsigned char>(k[i])) ==
             std::tolower(static_cast<unsigned char>(key[i]));
    }
    if (same) return v;
  }
  return std::nullopt;
}

}  // namespace wc::provider

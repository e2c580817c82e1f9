// Process-wide logging setup over spdlog. Code logs with spdlog::info/warn/error directly;
// this file only chooses the format once at start-up (not thread-safe: call before threads).
// Registry credentials and seeds are never passed to a log call (docs/ARCHITECTURE.md).
#pragma once

#include <string_view>

namespace wc {

/// Configures the default logger on stderr. `structured` = one JSON object per line
/// (WASMCLOUD_STRUCTURED_LOGGING_ENABLED); `level` is trace|debug|info|warn|error|off
/// (unknown values mean info).
void init_logging(bool structured, std::string_view level);

}  // namespace wc

// Process-wide logging setup over spdlog. Code logs with spdlog::info/warn/error directly;
// this file only chooses the format and destination once at start-up (not thread-safe: call
// before other threads log). Registry credentials and seeds are never passed to a log call
// (docs/ARCHITECTURE.md).
#pragma once

#include <spdlog/common.h>
#include <spdlog/formatter.h>

#include <memory>
#include <string_view>

namespace wc {

/// Makes the default logger (named "wasmcloud") write to stderr. `structured` = one JSON object
/// per line (WASMCLOUD_STRUCTURED_LOGGING_ENABLED, see make_json_formatter); otherwise
/// `<UTC timestamp> <level> <message>[ trace_id=<32 hex> span_id=<16 hex>]` (the suffix while the
/// logging thread works for a trace, common/trace.h). `level` is
/// trace|debug|info|warn|error|critical|off (unknown values mean info). May be called again; the
/// last call wins.
void init_logging(bool structured, std::string_view level);

/// As above, but the default logger writes to `sink` instead of stderr (tests pass an
/// spdlog::sinks::ostream_sink_mt to read the lines back).
void init_logging(bool structured, std::string_view level, spdlog::sink_ptr sink);

/// The structured-log formatter: each record becomes one line holding one JSON object,
/// `{"timestamp":"2026-11-30T07:40:00.123456Z","level":"info","thread":1234,
/// "logger":"wasmcloud","message":"..."}` (UTC, microseconds; level names as spdlog writes them),
/// plus `"trace_id"` (32 hex) and `"span_id"` (16 hex) while the logging thread works for a trace
/// (a trace::Scope is alive on it, common/trace.h).
/// The message is JSON-escaped (quotes, backslashes, control characters); UTF-8 passes through
/// and invalid UTF-8 bytes become U+FFFD, so every line is valid JSON.
std::unique_ptr<spdlog::formatter> make_json_formatter();

}  // namespace wc

// Process-wide logging setup over spdlog. Code logs with spdlog::info/warn/error directly;
// this file only chooses the format and destination once at start-up (not thread-safe: call
// before other threads log). Registry credentials and seeds are never passed to a log call
// (docs/ARCHITECTURE.md).
#pragma once

#include <spdlog/common.h>
#include <spdlog/formatter.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace wc {

/// Makes the default logger (named "wasmcloud") write to stderr. `structured` = one JSON object
/// per line (WASMCLOUD_STRUCTURED_LOGGING_ENABLED, see make_json_formatter); otherwise
/// `<UTC timestamp> <level> <message>[ <key>=<value>...][ trace_id=<32 hex> span_id=<16 hex>]`
/// (the fields of a LogFields scope alive on the logging thread, then the trace suffix while the
/// thread works for a trace, common/trace.h). One record is one line: in the text format a CR or
/// LF inside the message or a field value is written as `\r` / `\n` and line breaks ending the
/// message are dropped (so a compiler's diagnostics cannot start lines of their own). The provider
/// SDK uses the same two formats, so a host and its providers write one format per stream (issue
/// #17.6). `level` is trace|debug|info|warn|error|critical|off (unknown values mean info). May be
/// called again; the last call wins.
void init_logging(bool structured, std::string_view level);

/// As above, but the default logger writes to `sink` instead of stderr (tests pass an
/// spdlog::sinks::ostream_sink_mt to read the lines back).
void init_logging(bool structured, std::string_view level, spdlog::sink_ptr sink);

/// The structured-log formatter: each record becomes one line holding one JSON object,
/// `{"timestamp":"2026-11-30T07:40:00.123456Z","level":"info","thread":1234,
/// "logger":"wasmcloud","message":"..."}` (UTC, microseconds; level names as spdlog writes them),
/// plus `"trace_id"` (32 hex) and `"span_id"` (16 hex) while the logging thread works for a trace
/// (a trace::Scope is alive on it, common/trace.h), and before them the members of a LogFields
/// scope alive on the logging thread (string values).
/// The message is JSON-escaped (quotes, backslashes, control characters); UTF-8 passes through
/// and invalid UTF-8 bytes become U+FFFD, so every line is valid JSON.
std::unique_ptr<spdlog::formatter> make_json_formatter();

/// Extra key/value pairs for every line the constructing thread logs while the scope is alive:
/// JSON members in the structured format, ` key=value` after the message in the text format.
/// Scopes nest (the inner one replaces the outer one's fields until it ends). Keys must not be
/// one of the fixed members (timestamp, level, thread, logger, message, trace_id, span_id). Not
/// movable; create and destroy it on the same thread.
class LogFields {
 public:
  using Fields = std::vector<std::pair<std::string, std::string>>;
  /// Installs `fields` for the calling thread.
  explicit LogFields(Fields fields);
  /// Restores the fields installed before this scope (none for the outermost).
  ~LogFields();
  LogFields(const LogFields&) = delete;
  LogFields& operator=(const LogFields&) = delete;

 private:
  Fields fields_;
  const Fields* previous_;
};

/// One log line written in either of the formats above, taken apart (how the host reads its
/// providers' output, src/host/providers.cpp).
struct ParsedLogLine {
  spdlog::level::level_enum level = spdlog::level::info;
  std::string message;
  std::string trace_id;  ///< "" when the line has none
  std::string span_id;   ///< "" when the line has none
};

/// Parses a line of the structured format (a JSON object with a string "message" and a known
/// "level") or of the text format (`<YYYY-MM-DDTHH:MM:SS.ffffffZ> <level> <message>`, an
/// optional trace suffix split off); nullopt for any other text. Extra JSON members and text
/// fields stay out of the result (the text format's fields remain part of the message). Never
/// throws.
std::optional<ParsedLogLine> parse_log_line(std::string_view line);

}  // namespace wc

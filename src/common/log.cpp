#include "common/log.h"

#include <spdlog/details/os.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>
#include <string>

#include "common/trace.h"

namespace wc {
namespace {

/// The fields of the innermost LogFields scope alive on this thread.
thread_local const LogFields::Fields* t_fields = nullptr;

/// ISO 8601 UTC with microseconds, e.g. 2026-11-30T07:40:00.123456Z.
std::string utc_timestamp(spdlog::log_clock::time_point when) {
  using namespace std::chrono;
  const auto since_epoch = duration_cast<microseconds>(when.time_since_epoch());
  auto secs = duration_cast<seconds>(since_epoch);
  auto micros = since_epoch - duration_cast<microseconds>(secs);
  if (micros.count() < 0) {  // before 1970: keep the fraction positive
    secs -= seconds(1);
    micros += seconds(1);
  }
  const std::time_t t = static_cast<std::time_t>(secs.count());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  const std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof buf - n, ".%06lldZ", static_cast<long long>(micros.count()));
  return buf;
}

/// One JSON object per record; see make_json_formatter.
class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    nlohmann::ordered_json j;
    j["timestamp"] = utc_timestamp(msg.time);
    const auto level = spdlog::level::to_string_view(msg.level);
    j["level"] = std::string(level.data(), level.size());
    j["thread"] = msg.thread_id;
    j["logger"] = std::string(msg.logger_name.data(), msg.logger_name.size());
    j["message"] = std::string(msg.payload.data(), msg.payload.size());
    if (t_fields != nullptr)
      for (const auto& [key, value] : *t_fields) j[key] = value;
    if (const trace::Context* t = trace::current()) {
      j["trace_id"] = t->trace_id_hex();
      j["span_id"] = t->span_id_hex();
    }
    // `replace`: invalid UTF-8 becomes U+FFFD instead of throwing inside the logger.
    const std::string line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    dest.append(line.data(), line.data() + line.size());
    const std::string_view eol = spdlog::details::os::default_eol;
    dest.append(eol.data(), eol.data() + eol.size());
  }

  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>();
  }
};

/// Appends `text` to a text-format line: CR and LF become the two characters `\r` and `\n`, so a
/// record never spans lines (a reader, the host parsing its providers' output included, takes one
/// line for one record); line breaks at the end are dropped. Everything else passes unchanged.
void append_one_line(std::string_view text, spdlog::memory_buf_t& dest) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
  std::size_t start = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\n' && text[i] != '\r') continue;
    dest.append(text.data() + start, text.data() + i);
    const char* escaped = text[i] == '\n' ? "\\n" : "\\r";
    dest.append(escaped, escaped + 2);
    start = i + 1;
  }
  dest.append(text.data() + start, text.data() + text.size());
}

/// Pattern flag `%~`: the message on one line (append_one_line).
class MessageFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    append_one_line(std::string_view(msg.payload.data(), msg.payload.size()), dest);
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<MessageFlag>();
  }
};

/// Pattern flag `%*`: " key=value" per LogFields field, then " trace_id=<32 hex> span_id=<16 hex>"
/// while the logging thread works for a trace (common/trace.h); nothing otherwise.
class TraceFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg&, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    if (t_fields != nullptr) {
      for (const auto& [key, value] : *t_fields) {
        dest.push_back(' ');
        dest.append(key.data(), key.data() + key.size());
        dest.push_back('=');
        append_one_line(value, dest);
      }
    }
    const trace::Context* t = trace::current();
    if (t == nullptr) return;
    const std::string text = " trace_id=" + t->trace_id_hex() + " span_id=" + t->span_id_hex();
    dest.append(text.data(), text.data() + text.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<TraceFlag>();
  }
};

bool is_hex(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

/// True for `YYYY-MM-DDTHH:MM:SS.ffffffZ` (the text format's timestamp).
bool is_text_timestamp(std::string_view s) {
  static constexpr std::string_view kShape = "0000-00-00T00:00:00.000000Z";
  if (s.size() != kShape.size()) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (kShape[i] == '0' ? !is_digit(s[i]) : s[i] != kShape[i]) return false;
  }
  return true;
}

/// spdlog's level for a name it writes ("warning", "info", ...); nullopt for anything else.
std::optional<spdlog::level::level_enum> level_of(std::string_view name) {
  if (name.empty() || name == "off") return std::nullopt;
  const auto level = spdlog::level::from_str(std::string(name));
  if (level == spdlog::level::off) return std::nullopt;
  return level;
}

std::optional<ParsedLogLine> parse_json_line(std::string_view line) {
  const auto j = nlohmann::json::parse(line, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  const auto message = j.find("message");
  const auto level_name = j.find("level");
  if (message == j.end() || !message->is_string() || level_name == j.end() ||
      !level_name->is_string())
    return std::nullopt;
  const auto level = level_of(level_name->get_ref<const std::string&>());
  if (!level) return std::nullopt;
  ParsedLogLine out;
  out.level = *level;
  out.message = message->get<std::string>();
  if (auto t = j.find("trace_id"); t != j.end() && t->is_string())
    out.trace_id = t->get<std::string>();
  if (auto s = j.find("span_id"); s != j.end() && s->is_string())
    out.span_id = s->get<std::string>();
  return out;
}

std::optional<ParsedLogLine> parse_text_line(std::string_view line) {
  static constexpr std::size_t kStamp = 27;
  if (line.size() < kStamp + 2 || line[kStamp] != ' ' || !is_text_timestamp(line.substr(0, kStamp)))
    return std::nullopt;
  std::string_view rest = line.substr(kStamp + 1);
  const std::size_t space = rest.find(' ');
  const auto level = level_of(rest.substr(0, space));
  if (!level) return std::nullopt;
  ParsedLogLine out;
  out.level = *level;
  std::string_view message =
      space == std::string_view::npos ? std::string_view() : rest.substr(space + 1);
  // " trace_id=<32 hex> span_id=<16 hex>" at the end.
  static constexpr std::size_t kSuffix = 1 + 9 + 32 + 1 + 8 + 16;
  if (message.size() >= kSuffix) {
    const std::string_view tail = message.substr(message.size() - kSuffix);
    if (tail.starts_with(" trace_id=") && tail.substr(42, 9) == " span_id=" &&
        is_hex(tail.substr(10, 32)) && is_hex(tail.substr(51, 16))) {
      out.trace_id = std::string(tail.substr(10, 32));
      out.span_id = std::string(tail.substr(51, 16));
      message.remove_suffix(kSuffix);
    }
  }
  out.message = std::string(message);
  return out;
}

}  // namespace

LogFields::LogFields(Fields fields) : fields_(std::move(fields)), previous_(t_fields) {
  t_fields = &fields_;
}

LogFields::~LogFields() { t_fields = previous_; }

std::optional<ParsedLogLine> parse_log_line(std::string_view line) {
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.remove_suffix(1);
  if (line.starts_with('{')) return parse_json_line(line);
  return parse_text_line(line);
}

std::unique_ptr<spdlog::formatter> make_json_formatter() {
  return std::make_unique<JsonFormatter>();
}

void init_logging(bool structured, std::string_view level, spdlog::sink_ptr sink) {
  auto logger = std::make_shared<spdlog::logger>("wasmcloud", std::move(sink));
  if (structured) {
    logger->set_formatter(make_json_formatter());
  } else {
    auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
    formatter->add_flag<TraceFlag>('*');
    formatter->add_flag<MessageFlag>('~').set_pattern("%Y-%m-%dT%H:%M:%S.%fZ %^%l%$ %~%*");
    logger->set_formatter(std::move(formatter));
  }
  logger->set_level(spdlog::level::from_str(std::string(level)));
  if (logger->level() == spdlog::level::off && level != "off") {
    logger->set_level(spdlog::level::info);
  }
  spdlog::set_default_logger(std::move(logger));
}

void init_logging(bool structured, std::string_view level) {
  init_logging(structured, level, std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
}

}  // namespace wc

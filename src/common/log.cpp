#include "common/log.h"

#include <spdlog/details/os.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <nlohmann/json.hpp>
#include <string>

#include "common/trace.h"

namespace wc {
namespace {

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

/// Pattern flag `%*`: " trace_id=<32 hex> span_id=<16 hex>" while the logging thread works for a
/// trace (common/trace.h), nothing otherwise.
class TraceFlag final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg&, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    const trace::Context* t = trace::current();
    if (t == nullptr) return;
    const std::string text = " trace_id=" + t->trace_id_hex() + " span_id=" + t->span_id_hex();
    dest.append(text.data(), text.data() + text.size());
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<TraceFlag>();
  }
};

}  // namespace

std::unique_ptr<spdlog::formatter> make_json_formatter() {
  return std::make_unique<JsonFormatter>();
}

void init_logging(bool structured, std::string_view level, spdlog::sink_ptr sink) {
  auto logger = std::make_shared<spdlog::logger>("wasmcloud", std::move(sink));
  if (structured) {
    logger->set_formatter(make_json_formatter());
  } else {
    auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
    formatter->add_flag<TraceFlag>('*').set_pattern("%Y-%m-%dT%H:%M:%S.%fZ %^%l%$ %v%*");
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

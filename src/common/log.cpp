#include "common/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <string>

namespace wc {

void init_logging(bool structured, std::string_view level) {
  auto logger = spdlog::stderr_color_mt("wasmcloud");
  if (structured) {
    logger->set_pattern(R"({"timestamp":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l","thread":%t,"message":"%v"})",
                        spdlog::pattern_time_type::utc);
  } else {
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%fZ %^%l%$ %v", spdlog::pattern_time_type::utc);
  }
  logger->set_level(spdlog::level::from_str(std::string(level)));
  if (logger->level() == spdlog::level::off && level != "off") logger->set_level(spdlog::level::info);
  spdlog::set_default_logger(logger);
}

}  // namespace wc

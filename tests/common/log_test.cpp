// Structured logging (src/common/log.h): every record is one line of valid JSON whose
// "message" is exactly what was logged, whatever characters it holds.
#include "common/log.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

namespace {

/// Routes the default logger into a string stream for the duration of a test.
class LogCapture : public ::testing::Test {
 protected:
  void SetUp() override {
    wc::init_logging(true, "debug", std::make_shared<spdlog::sinks::ostream_sink_mt>(out_));
  }
  void TearDown() override { wc::init_logging(false, "info"); }

  std::vector<std::string> lines() const {
    std::vector<std::string> result;
    std::istringstream in(out_.str());
    for (std::string line; std::getline(in, line);) result.push_back(line);
    return result;
  }

  /// Logs `message` once and returns the single JSON object written.
  nlohmann::json log_one(const std::string& message) {
    spdlog::info("{}", message);
    spdlog::default_logger()->flush();
    const auto written = lines();
    EXPECT_EQ(written.size(), 1u) << out_.str();
    if (written.empty()) return {};
    auto parsed = nlohmann::json::parse(written.back(), nullptr, false);
    EXPECT_FALSE(parsed.is_discarded()) << written.back();
    return parsed;
  }

  std::ostringstream out_;
};

TEST_F(LogCapture, PlainMessageHasAllFields) {
  const auto j = log_one("host started");
  EXPECT_EQ(j["message"], "host started");
  EXPECT_EQ(j["level"], "info");
  EXPECT_EQ(j["logger"], "wasmcloud");
  EXPECT_TRUE(j["thread"].is_number_unsigned());
  const std::string ts = j["timestamp"];
  // 2026-11-30T07:40:00.123456Z
  ASSERT_EQ(ts.size(), 27u) << ts;
  EXPECT_EQ(ts[10], 'T');
  EXPECT_EQ(ts[19], '.');
  EXPECT_EQ(ts.back(), 'Z');
}

TEST_F(LogCapture, QuotesSurvive) {
  EXPECT_EQ(log_one(R"(actor "echo" said "hi")")["message"], R"(actor "echo" said "hi")");
}

TEST_F(LogCapture, BackslashesSurvive) {
  EXPECT_EQ(log_one(R"(C:\path\to\file \" \\)")["message"], R"(C:\path\to\file \" \\)");
}

TEST_F(LogCapture, NewlinesStayInsideOneLine) {
  EXPECT_EQ(log_one("first\nsecond\r\nthird\ttab")["message"], "first\nsecond\r\nthird\ttab");
}

TEST_F(LogCapture, ControlCharactersAreEscaped) {
  const std::string message = std::string("nul\0bell\x07esc\x1b", 13);
  EXPECT_EQ(log_one(message)["message"], message);
}

TEST_F(LogCapture, NonAsciiUtf8Survives) {
  EXPECT_EQ(log_one("h\xC3\xA9llo \xE2\x9C\x93 \xF0\x9F\x98\x80")["message"],
            "h\xC3\xA9llo \xE2\x9C\x93 \xF0\x9F\x98\x80");
}

TEST_F(LogCapture, InvalidUtf8BecomesReplacementCharacter) {
  EXPECT_EQ(log_one("bad \xFF\xFE byte")["message"], "bad \xEF\xBF\xBD\xEF\xBF\xBD byte");
}

TEST_F(LogCapture, LevelNamesAndFiltering) {
  spdlog::trace("not shown at debug");
  spdlog::debug("d");
  spdlog::warn("w");
  spdlog::error("e");
  spdlog::default_logger()->flush();
  const auto written = lines();
  ASSERT_EQ(written.size(), 3u) << out_.str();
  EXPECT_EQ(nlohmann::json::parse(written[0])["level"], "debug");
  EXPECT_EQ(nlohmann::json::parse(written[1])["level"], "warning");
  EXPECT_EQ(nlohmann::json::parse(written[2])["level"], "error");
}

TEST(Logging, UnknownLevelMeansInfo) {
  std::ostringstream out;
  wc::init_logging(false, "loud", std::make_shared<spdlog::sinks::ostream_sink_mt>(out));
  spdlog::debug("hidden");
  spdlog::info("shown");
  spdlog::default_logger()->flush();
  EXPECT_EQ(out.str().find("hidden"), std::string::npos);
  EXPECT_NE(out.str().find(" info shown"), std::string::npos) << out.str();
  wc::init_logging(false, "info");
}

TEST(Logging, TextModeIsNotJson) {
  std::ostringstream out;
  wc::init_logging(false, "info", std::make_shared<spdlog::sinks::ostream_sink_mt>(out));
  spdlog::info("plain");
  spdlog::default_logger()->flush();
  EXPECT_EQ(out.str().find('{'), std::string::npos) << out.str();
  EXPECT_TRUE(out.str().ends_with("Z info plain\n")) << out.str();
  wc::init_logging(false, "info");
}

}  // namespace

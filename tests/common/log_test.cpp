// Structured logging (src/common/log.h): every record is one line of valid JSON whose
// "message" is exactly what was logged, whatever characters it holds.
#include "common/log.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <algorithm>
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

// Issue #17.6: one record is one line in the text format too. A message carrying line breaks
// (a compiler's diagnostics, "cc cancelled (...)\n") once wrote its tail as a line of its own,
// which is no log line at all (HostLogging.LongStepsAreLoggedAndOutputHasOneFormat/Plain failed
// on a lone ")" line whenever the host stopped during a native compile).
TEST(Logging, TextModeKeepsOneRecordOnOneLine) {
  std::ostringstream out;
  wc::init_logging(false, "info", std::make_shared<spdlog::sinks::ostream_sink_mt>(out));
  {
    wc::LogFields fields(wc::LogFields::Fields{{"link_name", "two\nlines"}});
    spdlog::info("staying on the interpreter (cc failed: a.c:1: error\r\na.c:2: error\n)\n\n");
  }
  spdlog::default_logger()->flush();
  wc::init_logging(false, "info");
  const std::string text = out.str();
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1) << text;
  EXPECT_EQ(text.find('\r'), std::string::npos) << text;
  EXPECT_TRUE(text.ends_with(
      "Z info staying on the interpreter (cc failed: a.c:1: error\\r\\na.c:2: error\\n) "
      "link_name=two\\nlines\n"))
      << text;
  auto parsed = wc::parse_log_line(text);
  ASSERT_TRUE(parsed) << text;
  EXPECT_EQ(parsed->message,
            "staying on the interpreter (cc failed: a.c:1: error\\r\\na.c:2: error\\n) "
            "link_name=two\\nlines");
}

// Issue #17.6: a provider's lines (written by the SDK in the host's format) are parsed by the
// host and re-logged with the provider's fields; one format per stream.
TEST_F(LogCapture, FieldsBecomeJsonMembersWhileTheScopeLives) {
  {
    wc::LogFields fields(wc::LogFields::Fields{{"provider_id", "VABC"}, {"link_name", "default"}});
    spdlog::info("from a provider");
  }
  spdlog::info("after");
  spdlog::default_logger()->flush();
  const auto written = lines();
  ASSERT_EQ(written.size(), 2u) << out_.str();
  const auto first = nlohmann::json::parse(written[0]);
  EXPECT_EQ(first["message"], "from a provider");
  EXPECT_EQ(first["provider_id"], "VABC");
  EXPECT_EQ(first["link_name"], "default");
  const auto second = nlohmann::json::parse(written[1]);
  EXPECT_FALSE(second.contains("provider_id")) << written[1];
}

TEST(Logging, FieldsFollowTheTextMessage) {
  std::ostringstream out;
  wc::init_logging(false, "info", std::make_shared<spdlog::sinks::ostream_sink_mt>(out));
  {
    wc::LogFields outer(wc::LogFields::Fields{{"a", "1"}});
    {
      wc::LogFields inner(wc::LogFields::Fields{{"provider_id", "VABC"}, {"link_name", "default"}});
      spdlog::info("inner");
    }
    spdlog::info("outer");
  }
  spdlog::default_logger()->flush();
  EXPECT_NE(out.str().find("Z info inner provider_id=VABC link_name=default\n"), std::string::npos)
      << out.str();
  EXPECT_NE(out.str().find("Z info outer a=1\n"), std::string::npos) << out.str();
  wc::init_logging(false, "info");
}

/// Writes one record in the given format and returns the line.
std::string one_line(bool structured, spdlog::level::level_enum level, const std::string& text) {
  std::ostringstream out;
  wc::init_logging(structured, "trace", std::make_shared<spdlog::sinks::ostream_sink_mt>(out));
  spdlog::log(level, "{}", text);
  spdlog::default_logger()->flush();
  wc::init_logging(false, "info");
  std::string line = out.str();
  if (!line.empty() && line.back() == '\n') line.pop_back();
  return line;
}

TEST(ParseLogLine, ReadsBothFormatsBack) {
  for (bool structured : {false, true}) {
    for (auto level :
         {spdlog::level::debug, spdlog::level::info, spdlog::level::warn, spdlog::level::err}) {
      const std::string message = "HTTP server listening on 0.0.0.0:8080 \"quoted\" é";
      const std::string line = one_line(structured, level, message);
      auto parsed = wc::parse_log_line(line);
      ASSERT_TRUE(parsed) << line;
      EXPECT_EQ(parsed->level, level) << line;
      EXPECT_EQ(parsed->message, message) << line;
      EXPECT_TRUE(parsed->trace_id.empty());
    }
  }
}

TEST(ParseLogLine, SplitsTheTextTraceSuffix) {
  auto parsed = wc::parse_log_line(
      "2026-12-07T13:00:00.123456Z warning linked actor MB "
      "trace_id=4bf92f3577b34da6a3ce929d0e0e4736 span_id=00f067aa0ba902b7\r\n");
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->level, spdlog::level::warn);
  EXPECT_EQ(parsed->message, "linked actor MB");
  EXPECT_EQ(parsed->trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(parsed->span_id, "00f067aa0ba902b7");
  auto json = wc::parse_log_line(
      R"({"timestamp":"x","level":"error","message":"m","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7"})");
  ASSERT_TRUE(json);
  EXPECT_EQ(json->level, spdlog::level::err);
  EXPECT_EQ(json->trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
}

TEST(ParseLogLine, OtherTextIsNotALogLine) {
  for (const char* line :
       {"", "plain text from a provider", "[2026-12-07 13:00:00.123] [provider] [info] old style",
        "2026-12-07T13:00:00.123456Z loud not a level", "2026-12-07T13:00:00Z info short stamp",
        R"({"level":"info"})", R"({"level":"nonsense","message":"m"})", R"({"message":1})",
        "{not json", "[1,2]"}) {
    EXPECT_FALSE(wc::parse_log_line(line)) << line;
  }
}

}  // namespace

// W3C traceparent (src/common/trace.h): parse/format round trips, each malformed value ignored
// (a new trace instead), the thread-local current context and its use by the log formatters.
#include "common/trace.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "common/log.h"

namespace wc::trace {
namespace {

// The example of the W3C Trace Context recommendation, section 3.2.
constexpr std::string_view kExample = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

TEST(Traceparent, ParsesTheW3cExample) {
  auto c = parse_traceparent(kExample);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->trace_id_hex(), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(c->span_id_hex(), "00f067aa0ba902b7");
  EXPECT_EQ(c->flags, 0x01);
  EXPECT_EQ(format_traceparent(*c), kExample);
}

TEST(Traceparent, FlagsZeroRoundTrip) {
  const std::string text = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00";
  auto c = parse_traceparent(text);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->flags, 0);
  EXPECT_EQ(format_traceparent(*c), text);
}

TEST(Traceparent, SurroundingWhitespaceIgnored) {
  auto c = parse_traceparent(" \t" + std::string(kExample) + " ");
  ASSERT_TRUE(c);
  EXPECT_EQ(format_traceparent(*c), kExample);
}

TEST(Traceparent, FutureVersionWithMoreFieldsAccepted) {
  auto c = parse_traceparent("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-ever");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->trace_id_hex(), "4bf92f3577b34da6a3ce929d0e0e4736");
  // Formatting always writes version 00.
  EXPECT_EQ(format_traceparent(*c), kExample);
}

TEST(Traceparent, EmptyRejected) { EXPECT_FALSE(parse_traceparent("")); }
TEST(Traceparent, TooShortRejected) { EXPECT_FALSE(parse_traceparent(kExample.substr(0, 54))); }
TEST(Traceparent, Version00WithTrailingDataRejected) {
  EXPECT_FALSE(parse_traceparent(std::string(kExample) + "-01"));
}
TEST(Traceparent, FutureVersionWithoutDashAfterFlagsRejected) {
  EXPECT_FALSE(parse_traceparent("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x"));
}
TEST(Traceparent, VersionFfRejected) {
  EXPECT_FALSE(parse_traceparent("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
}
TEST(Traceparent, UpperCaseHexRejected) {
  EXPECT_FALSE(parse_traceparent("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"));
}
TEST(Traceparent, NonHexRejected) {
  EXPECT_FALSE(parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01"));
}
TEST(Traceparent, WrongSeparatorRejected) {
  EXPECT_FALSE(parse_traceparent("00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
  EXPECT_FALSE(parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7-01"));
  EXPECT_FALSE(parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7_01"));
}
TEST(Traceparent, ShiftedFieldsRejected) {
  // Right length, but the trace id is one digit short and the span id one digit long.
  EXPECT_FALSE(parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e473-600f067aa0ba902b7-01"));
}
TEST(Traceparent, ZeroTraceIdRejected) {
  EXPECT_FALSE(parse_traceparent("00-00000000000000000000000000000000-00f067aa0ba902b7-01"));
}
TEST(Traceparent, ZeroSpanIdRejected) {
  EXPECT_FALSE(parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01"));
}

TEST(Traceparent, NewTraceIsValidSampledAndUnique) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    auto c = new_trace();
    EXPECT_TRUE(c.valid());
    EXPECT_EQ(c.flags, 0x01);
    auto text = format_traceparent(c);
    ASSERT_EQ(text.size(), 55u);
    EXPECT_EQ(parse_traceparent(text), c);
    seen.insert(c.trace_id_hex());
  }
  EXPECT_EQ(seen.size(), 1000u);
}

TEST(Traceparent, ChildKeepsTraceAndFlagsWithNewSpan) {
  auto parent = *parse_traceparent(kExample);
  auto child = child_of(parent);
  EXPECT_EQ(child.trace_id, parent.trace_id);
  EXPECT_EQ(child.flags, parent.flags);
  EXPECT_NE(child.span_id, parent.span_id);
  EXPECT_TRUE(child.valid());
}

TEST(Traceparent, ContinueOrStartContinuesAValidHeader) {
  auto c = continue_or_start(kExample);
  EXPECT_EQ(c.trace_id_hex(), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_NE(c.span_id_hex(), "00f067aa0ba902b7");
}

TEST(Traceparent, ContinueOrStartIgnoresBadHeader) {
  auto c = continue_or_start(std::string_view("00-garbage"));
  EXPECT_TRUE(c.valid());
  EXPECT_NE(c.trace_id_hex(), "4bf92f3577b34da6a3ce929d0e0e4736");
  auto none = continue_or_start(std::nullopt);
  EXPECT_TRUE(none.valid());
  EXPECT_NE(none.trace_id, c.trace_id);
}

TEST(TraceScope, NestsAndRestores) {
  EXPECT_EQ(current(), nullptr);
  auto a = new_trace();
  {
    Scope sa(a);
    ASSERT_NE(current(), nullptr);
    EXPECT_EQ(*current(), a);
    auto b = child_of(a);
    {
      Scope sb(b);
      EXPECT_EQ(*current(), b);
    }
    EXPECT_EQ(*current(), a);
    // Other threads do not see this thread's context.
    bool other_sees = true;
    std::thread([&] { other_sees = current() != nullptr; }).join();
    EXPECT_FALSE(other_sees);
  }
  EXPECT_EQ(current(), nullptr);
}

std::vector<std::string> log_lines(bool structured, const std::function<void()>& body) {
  std::ostringstream out;
  init_logging(structured, "info", std::make_shared<spdlog::sinks::ostream_sink_mt>(out));
  body();
  spdlog::default_logger()->flush();
  init_logging(false, "info");
  std::vector<std::string> lines;
  std::istringstream in(out.str());
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

TEST(TraceLogging, JsonLinesCarryTheCurrentTrace) {
  auto ctx = *parse_traceparent(kExample);
  auto lines = log_lines(true, [&] {
    spdlog::info("outside");
    Scope s(ctx);
    spdlog::info("inside");
  });
  ASSERT_EQ(lines.size(), 2u);
  auto outside = nlohmann::json::parse(lines[0]);
  auto inside = nlohmann::json::parse(lines[1]);
  EXPECT_FALSE(outside.contains("trace_id"));
  EXPECT_FALSE(outside.contains("span_id"));
  EXPECT_EQ(inside["message"], "inside");
  EXPECT_EQ(inside["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(inside["span_id"], "00f067aa0ba902b7");
}

TEST(TraceLogging, PlainLinesCarryTheCurrentTrace) {
  auto ctx = *parse_traceparent(kExample);
  auto lines = log_lines(false, [&] {
    spdlog::info("outside");
    Scope s(ctx);
    spdlog::info("inside");
  });
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_TRUE(lines[0].ends_with(" info outside")) << lines[0];
  EXPECT_TRUE(lines[1].ends_with(
      " info inside trace_id=4bf92f3577b34da6a3ce929d0e0e4736 span_id=00f067aa0ba902b7"))
      << lines[1];
}

}  // namespace
}  // namespace wc::trace

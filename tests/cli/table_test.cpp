// The wash-style table renderer shared by `claims inspect` and `par inspect` (src/cli/table.h).
// Full command output is checked byte for byte in claims_cli_test.cpp and tests/par.
#include "cli/table.h"

#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

namespace {

using wc::cli::Align;
using wc::cli::render_table;
using wc::cli::Row;

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

TEST(Table, SmallTableExactly) {
  const std::vector<Row> rows = {{{"T", Align::kCenter}},
                                 {{"a", Align::kLeft}, {"bb", Align::kRight}}};
  EXPECT_EQ(render_table(rows), "          \n     T    \n  a   bb  \n          \n");
}

TEST(Table, EveryLineHasTheSameWidthAndBlankBorders) {
  const std::vector<Row> rows = {
      {{"Echo - Module", Align::kCenter}},
      {{"Account", Align::kLeft},
       {"ACOJJN6WUP4ODD75XEBKKTCCUJJCY5ZKQ56XVKYK4BEJWGVAOOQHZMCW", Align::kRight}},
      {{"Capabilities", Align::kCenter}},
      {{"HTTP Server\nKey Value", Align::kLeft}},
  };
  const auto lines = lines_of(render_table(rows));
  ASSERT_EQ(lines.size(), 7u);  // blank, title, account, heading, two capability lines, blank
  for (const auto& line : lines) EXPECT_EQ(line.size(), lines[0].size()) << "[" << line << "]";
  EXPECT_EQ(lines.front().find_first_not_of(' '), std::string::npos);
  EXPECT_EQ(lines.back().find_first_not_of(' '), std::string::npos);
  EXPECT_EQ(lines[2].rfind("ZMCW  "), lines[2].size() - 6);  // right-aligned, one margin
  EXPECT_EQ(lines[4].find("HTTP Server"), 2u);               // left-aligned multi-line cell
  EXPECT_EQ(lines[5].find("Key Value"), 2u);
}

TEST(Table, TwoCellRowWithUnevenLineCounts) {
  const std::vector<Row> rows = {{{"k", Align::kLeft}, {"v1\nv2", Align::kLeft}}};
  const auto lines = lines_of(render_table(rows));
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[1], "  k   v1  ");
  EXPECT_EQ(lines[2], "      v2  ");
}

TEST(Table, NoRowsIsJustTheBorders) { EXPECT_EQ(render_table({}), "   \n   \n"); }

}  // namespace

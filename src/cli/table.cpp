#include "cli/table.h"

#include <algorithm>
#include <cstddef>

namespace wc::cli {
namespace {

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t start = 0;
  while (true) {
    const std::size_t nl = text.find('\n', start);
    lines.push_back(text.substr(start, nl == std::string::npos ? std::string::npos : nl - start));
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
  return lines;
}

/// Width of a cell: its longest line plus the two margin spaces.
std::size_t cell_width(const Cell& c) {
  std::size_t longest = 0;
  for (const auto& line : split_lines(c.text)) longest = std::max(longest, line.size());
  return longest + 2;
}

/// One line of a cell with its margins, padded to `width` according to `align`.
std::string pad(const std::string& line, std::size_t width, Align align) {
  const std::string text = " " + line + " ";
  if (text.size() >= width) return text;
  const std::size_t p = width - text.size();
  switch (align) {
    case Align::kLeft:
      return text + std::string(p, ' ');
    case Align::kRight:
      return std::string(p, ' ') + text;
    case Align::kCenter:
      return std::string((p + 1) / 2, ' ') + text + std::string(p / 2, ' ');
  }
  return text;
}

}  // namespace

std::string render_table(const std::vector<Row>& rows) {
  std::size_t w0 = 0;
  std::size_t w1 = 0;
  for (const Row& row : rows) {
    if (row.size() == 1) {
      const std::size_t w = cell_width(row[0]);
      w0 = std::max(w0, w / 2);
      w1 = std::max(w1, row[0].text.empty() ? w / 2 : w / 2 + 1);
    } else {
      w0 = std::max(w0, cell_width(row[0]));
      w1 = std::max(w1, cell_width(row[1]));
    }
  }
  bool grown = false;
  for (const Row& row : rows) {
    if (grown || row.size() != 1 || row[0].align != Align::kCenter) continue;
    if (cell_width(row[0]) != w0 + w1 && (w0 + w1) % 2 == 0) {
      ++w0;
      grown = true;
    }
  }
  const std::size_t total = 1 + w0 + 1 + w1 + 1;
  std::string out = std::string(total, ' ') + "\n";
  for (const Row& row : rows) {
    if (row.size() == 1) {
      for (const auto& line : split_lines(row[0].text)) {
        out += " " + pad(line, w0 + 1 + w1, row[0].align) + " \n";
      }
    } else {
      const auto left = split_lines(row[0].text);
      const auto right = split_lines(row[1].text);
      for (std::size_t i = 0; i < std::max(left.size(), right.size()); ++i) {
        out += " " + pad(i < left.size() ? left[i] : "", w0, row[0].align) + " " +
               pad(i < right.size() ? right[i] : "", w1, row[1].align) + " \n";
      }
    }
  }
  out += std::string(total, ' ') + "\n";
  return out;
}

}  // namespace wc::cli

// The two-column text table of `claims inspect` and `par inspect`, laid out as wash's
// term-table output (claims-oci-par.md 3.2): space borders, no separators, a blank line of
// spaces at the top and bottom. Pure functions; thread-safe.
#pragma once

#include <string>
#include <vector>

namespace wc::cli {

/// Horizontal alignment of a cell's lines inside its column(s).
enum class Align { kLeft, kCenter, kRight };

/// One cell; `text` may hold several lines separated by '\n' (each becomes a table line).
struct Cell {
  std::string text;
  Align align = Align::kLeft;
};

/// One table row: either one cell spanning both columns, or exactly two cells.
using Row = std::vector<Cell>;

/// Renders `rows` (claims-oci-par.md 3.2). Column widths are the longest line of each column
/// plus one margin space either side; a spanning cell widens both columns to fit. Every output
/// line, including the first and last blank ones, is 3 + width0 + width1 characters plus '\n'.
/// Widths count bytes (the output is ASCII in practice: keys, dates, names).
std::string render_table(const std::vector<Row>& rows);

}  // namespace wc::cli

// Table: human-readable, column-aligned output for segctl.
#ifndef SEGMENTD_CLIENTS_SEGCTL_TABLE_H_
#define SEGMENTD_CLIENTS_SEGCTL_TABLE_H_

#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace segmentd::segctl {

// Returns `text` fit for one line of human output: backslash and the ASCII
// control characters are written C-style (\\, \n, \r, \t, others \xNN, e.g.
// \x1b), and the UTF-8 C1 controls and line/paragraph separators as \uNNNN
// (e.g. \u0085, \u2028), so a value (a customer id is any UTF-8) can neither
// split a row nor drive the terminal. Other bytes, UTF-8 included, are kept.
std::string EscapeCell(std::string_view text);

// The columns `text` takes on a terminal, counted as UTF-8 code points
// (wide East Asian characters take two and are undercounted).
size_t DisplayWidth(std::string_view text);

// Rows of strings printed under a header, each column as wide as its widest
// cell (DisplayWidth), two spaces apart. Every cell is kept (and printed) as EscapeCell
// writes it. Not thread-safe.
class Table {
 public:
  explicit Table(std::vector<std::string> header) : header_(Escaped(std::move(header))) {}
  void AddRow(std::vector<std::string> row) { rows_.push_back(Escaped(std::move(row))); }
  size_t size() const { return rows_.size(); }
  // Prints the header and the rows to `out`.
  void Print(std::ostream& out) const;

 private:
  static std::vector<std::string> Escaped(std::vector<std::string> cells);

  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace segmentd::segctl

#endif  // SEGMENTD_CLIENTS_SEGCTL_TABLE_H_

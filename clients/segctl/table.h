// Table: human-readable, column-aligned output for segctl.
#ifndef SEGMENTD_CLIENTS_SEGCTL_TABLE_H_
#define SEGMENTD_CLIENTS_SEGCTL_TABLE_H_

#include <ostream>
#include <string>
#include <vector>

namespace segmentd::segctl {

// Rows of strings printed under a header, each column as wide as its widest
// cell, two spaces apart. Not thread-safe.
class Table {
 public:
  explicit Table(std::vector<std::string> header) : header_(std::move(header)) {}
  void AddRow(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  size_t size() const { return rows_.size(); }
  // Prints the header and the rows to `out`.
  void Print(std::ostream& out) const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace segmentd::segctl

#endif  // SEGMENTD_CLIENTS_SEGCTL_TABLE_H_

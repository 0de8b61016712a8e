// OrderMapping: turns the lines of one export format into whole orders.
//
// An import feeds every line of a file, in order, to `AddLine`, then calls
// `Finish` once. A mapping either emits complete orders for a line or reports
// the line as bad and emits nothing for it; a mapping that groups several rows
// into one order (the online-retail export) holds its orders back until
// `Finish`, so an order is never sent before all its rows are read, and a group
// with a bad row is dropped whole. The output is a pure function of the file's
// bytes: the same file always gives the same orders in the same order (which
// is what makes `--resume` by order count safe).
//
// Implementations are not thread-safe: one import drives one mapping.
#ifndef SEGMENTD_CLIENTS_IMPORT_ORDER_MAPPING_H_
#define SEGMENTD_CLIENTS_IMPORT_ORDER_MAPPING_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "clients/import/imported_order.h"

namespace segmentd::clients {

class OrderMapping {
 public:
  virtual ~OrderMapping() = default;

  // Returns a short name for progress files and reports, e.g. "cdnow".
  virtual std::string name() const = 0;

  // Maps line number `line` (1-based) whose text is `text` (no line break,
  // but inside a quoted field when csv_delimiter()).
  // Appends the orders it completes to `out`. Returns INVALID_ARGUMENT with a
  // message (without the line number) when the row is bad; then nothing was
  // appended for it.
  virtual absl::Status AddLine(int64_t line, absl::string_view text,
                               std::vector<ImportedOrder>* out) = 0;

  // Called once after the last line: appends the orders held back for
  // grouping (sorted by their first line) and appends to `errors` the groups
  // that turned out bad as a whole.
  virtual void Finish(std::vector<ImportedOrder>* out, std::vector<RowError>* errors) = 0;

  // Returns the rows skipped on purpose (not errors), by reason, e.g.
  // {"row without CustomerID": 2000}.
  virtual std::map<std::string, int64_t> skipped() const = 0;
  // For a format whose fields may be enclosed in double quotes (RFC 4180),
  // its delimiter: a quoted field may then span lines, and the import passes
  // AddLine such a record whole, its lines joined by '\n', numbered by its
  // first line (CsvRecordScanner). nullopt: one line is one record.
  virtual std::optional<char> csv_delimiter() const { return std::nullopt; }
};

}  // namespace segmentd::clients

#endif  // SEGMENTD_CLIENTS_IMPORT_ORDER_MAPPING_H_

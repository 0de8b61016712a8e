// Splitting one line of a delimited text file into fields.
#ifndef SEGMENTD_CLIENTS_IMPORT_CSV_LINE_H_
#define SEGMENTD_CLIENTS_IMPORT_CSV_LINE_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace segmentd::clients {

// Splits `line` at `delimiter` into `fields` (replacing its contents), RFC 4180
// style: a field may be enclosed in double quotes, inside which the delimiter is
// literal and `""` is one quote. A trailing '\r' is dropped. A quoted field
// may hold line breaks ('\n'): the importer passes a record whose quoted field
// spans lines whole (OrderMapping::csv_delimiter). An unterminated quote is
// INVALID_ARGUMENT, as is a quote followed by anything but the delimiter or
// the end of the line.
absl::Status SplitCsvLine(absl::string_view line, char delimiter, std::vector<std::string>* fields);

// Whether a record of `delimiter`-separated fields ends inside a quoted field,
// fed line by line (without line breaks), by SplitCsvLine's rules: a quote
// opens a field only as its first character, `""` inside is a quote, and `"`
// closes it. While open, the next line belongs to the record. A record
// SplitCsvLine refuses whatever follows (a quote inside an unquoted field,
// text after a closing quote) is never open: it is bad on its own line, and
// takes no later line with it. Each line is scanned once. A value type.
class CsvRecordScanner {
 public:
  explicit CsvRecordScanner(char delimiter) : delimiter_(delimiter) {}
  void Feed(absl::string_view line);
  bool open() const { return in_quotes_ && !bad_; }

 private:
  char delimiter_;
  bool in_quotes_ = false;
  bool field_start_ = true;
  bool bad_ = false;
};

// Splits `line` at runs of spaces and tabs, ignoring leading and trailing ones.
std::vector<absl::string_view> SplitWhitespace(absl::string_view line);

}  // namespace segmentd::clients

#endif  // SEGMENTD_CLIENTS_IMPORT_CSV_LINE_H_

#include "clients/import/csv_line.h"

#include "absl/strings/str_split.h"

namespace segmentd::clients {

absl::Status SplitCsvLine(absl::string_view line, char delimiter, std::vector<std::string>* fields) {
  fields->clear();
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  std::string field;
  size_t i = 0;
  while (true) {
    field.clear();
    if (i < line.size() && line[i] == '"') {
      ++i;
      while (true) {
        if (i >= line.size()) return absl::InvalidArgumentError("unterminated quoted field");
        if (line[i] == '"') {
          if (i + 1 < line.size() && line[i + 1] == '"') {
            field.push_back('"');
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        field.push_back(line[i++]);
      }
      if (i < line.size() && line[i] != delimiter) {
        return absl::InvalidArgumentError("text after a closing quote");
      }
    } else {
      while (i < line.size() && line[i] != delimiter) {
        if (line[i] == '"') return absl::InvalidArgumentError("quote inside an unquoted field");
        field.push_back(line[i++]);
      }
    }
    fields->push_back(field);
    if (i >= line.size()) break;
    ++i;  // the delimiter
  }
  return absl::OkStatus();
}

void CsvRecordScanner::Feed(absl::string_view line) {
  for (size_t i = 0; i < line.size() && !bad_; ++i) {
    const char c = line[i];
    if (in_quotes_) {
      if (c != '"') continue;
      if (i + 1 < line.size() && line[i + 1] == '"') {
        ++i;  // an escaped quote
        continue;
      }
      in_quotes_ = false;
      // Only the delimiter or the line's end may follow a closing quote (a
      // CRLF line's '\r' makes it bad here, where it is closed either way).
      if (i + 1 < line.size() && line[i + 1] != delimiter_) bad_ = true;
      continue;
    }
    if (c == '"') {
      if (!field_start_) bad_ = true;  // a quote inside an unquoted field
      in_quotes_ = true;
      field_start_ = false;
      continue;
    }
    field_start_ = c == delimiter_;
  }
}

std::vector<absl::string_view> SplitWhitespace(absl::string_view line) {
  return absl::StrSplit(line, absl::ByAnyChar(" \t\r"), absl::SkipEmpty());
}

}  // namespace segmentd::clients

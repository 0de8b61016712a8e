// ColumnMapping: any delimited export, one order per row, described by a
// column spec such as
//   customer_id=1,order_id=2,placed_at=3:%Y-%m-%d,amount=4:decimal
// Columns are 1-based. Keys:
//   customer_id=N            required
//   placed_at=N[:FORMAT]     required; FORMAT is an absl::ParseTime format read
//                            as UTC (default RFC 3339, "%Y-%m-%d%ET%H:%M:%E*S%Ez"),
//                            or "unix" (seconds) or "unix_ms"
//   amount=N[:decimal|cents] required; decimal = major units ("12.34" -> 1234
//                            cents, exact, half away from zero), cents = an
//                            integer in minor units. Default decimal.
//   order_id=N               optional; without it the id is
//                            "<customer>@<placed_at field>#<n>", n counting the
//                            customer's rows with that placed_at so far
//   categories=N[:SEP]       optional; categories separated by SEP (default '|')
// A FORMAT containing ',' cannot be written in the spec. Fields may be
// double-quoted (RFC 4180), and a quoted field may span lines.
//
// Not thread-safe.
#ifndef SEGMENTD_CLIENTS_IMPORT_COLUMN_MAPPING_H_
#define SEGMENTD_CLIENTS_IMPORT_COLUMN_MAPPING_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "clients/import/order_mapping.h"

namespace segmentd::clients {

class ColumnMapping : public OrderMapping {
 public:
  struct Options {
    // The column spec (see above). Required.
    std::string columns;
    // The field delimiter. Default ','.
    char delimiter = ',';
    // Whether the first line is a header to skip. Default true.
    bool header = true;
  };

  // Returns a mapping, or INVALID_ARGUMENT explaining what is wrong with the spec.
  static absl::StatusOr<std::unique_ptr<ColumnMapping>> Create(const Options& options);

  std::string name() const override { return "csv"; }
  absl::Status AddLine(int64_t line, absl::string_view text,
                       std::vector<ImportedOrder>* out) override;
  void Finish(std::vector<ImportedOrder>* out, std::vector<RowError>* errors) override {}
  std::map<std::string, int64_t> skipped() const override { return skipped_; }
  std::optional<char> csv_delimiter() const override { return options_.delimiter; }

 private:
  enum class TimeKind { kFormat, kUnixSeconds, kUnixMillis };
  ColumnMapping() = default;

  Options options_;
  int customer_ = -1, order_ = -1, placed_at_ = -1, amount_ = -1, categories_ = -1;  // 0-based
  TimeKind time_kind_ = TimeKind::kFormat;
  std::string time_format_ = "%Y-%m-%d%ET%H:%M:%E*S%Ez";
  bool amount_in_cents_ = false;
  char category_separator_ = '|';
  absl::flat_hash_map<std::string, int> rows_per_instant_;
  std::map<std::string, int64_t> skipped_;
  std::vector<std::string> fields_;  // scratch
};

}  // namespace segmentd::clients

#endif  // SEGMENTD_CLIENTS_IMPORT_COLUMN_MAPPING_H_

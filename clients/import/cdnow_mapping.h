// CdnowMapping: the CDNOW purchase records (cdnow_master.txt, cdnow_sample.txt).
//
// Each line is one order, whitespace-separated:
//   master: customer_id  yyyymmdd  number_of_cds  dollar_value
//   sample: customer_id  sample_id  yyyymmdd  number_of_cds  dollar_value
// The sample's second column renumbers the sample's customers 0001, 0002, ...;
// the first column is the original CDNOW id (every sample row appears in the
// master file under it), so the customer id is always the first column and the
// two files name the same customers the same way. A first line whose first
// field is not a number is a header and is skipped.
//
// An order is placed at 00:00 UTC of its date, for `dollar_value` in cents
// (read as an exact decimal, >= 0; digits past the cents rounded half away
// from zero, as the files have none). The order id is "cdnow-<customer>-<yyyymmdd>-<n>",
// where n counts that customer's rows of that date so far (1, 2, ...): it
// depends only on the rows' content and order, not on line numbers, so the
// sample and the master file give a shared purchase the same id.
//
// Not thread-safe.
#ifndef SEGMENTD_CLIENTS_IMPORT_CDNOW_MAPPING_H_
#define SEGMENTD_CLIENTS_IMPORT_CDNOW_MAPPING_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "clients/import/order_mapping.h"

namespace segmentd::clients {

class CdnowMapping : public OrderMapping {
 public:
  std::string name() const override { return "cdnow"; }
  absl::Status AddLine(int64_t line, absl::string_view text,
                       std::vector<ImportedOrder>* out) override;
  void Finish(std::vector<ImportedOrder>* out, std::vector<RowError>* errors) override {}
  std::map<std::string, int64_t> skipped() const override { return skipped_; }

 private:
  // Rows seen per "customer date", for the order id's ordinal.
  absl::flat_hash_map<std::string, int> rows_per_day_;
  std::map<std::string, int64_t> skipped_;
};

}  // namespace segmentd::clients

#endif  // SEGMENTD_CLIENTS_IMPORT_CDNOW_MAPPING_H_

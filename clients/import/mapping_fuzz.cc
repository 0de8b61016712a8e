// Fuzz target: feeds arbitrary bytes, as a file, through every mapping and the
// importer (with a sink that accepts everything, checking each order: ids
// present, amount >= 0, a line number). The report must account for every
// order sent. The first byte picks the mapping. Its seeds are files
// (testdata/mapping_fuzz); scripts/fuzz.sh runs it.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "clients/import/cdnow_mapping.h"
#include "clients/import/column_mapping.h"
#include "clients/import/importer.h"
#include "clients/import/retail_mapping.h"
#include "tests/fuzz/fuzz_target.h"

namespace {

// Accepts every order, after checking what every mapping promises of one.
class AcceptAll : public segmentd::clients::OrderSink {
 public:
  absl::StatusOr<segmentd::clients::BatchAck> Send(
      const std::vector<segmentd::clients::ImportedOrder>& batch) override {
    for (const segmentd::clients::ImportedOrder& order : batch) {
      FUZZ_CHECK(!order.customer_id.empty() && !order.order_id.empty() && order.amount >= 0 &&
                     order.line >= 1,
                 absl::StrCat("line ", order.line, ": ", order.customer_id, "/", order.order_id,
                              " amount ", order.amount));
    }
    sent += static_cast<int64_t>(batch.size());
    segmentd::clients::BatchAck ack;
    ack.applied = static_cast<int64_t>(batch.size());
    return ack;
  }
  int64_t sent = 0;
};

}  // namespace

// The seeds are files: testdata/mapping_fuzz.
std::vector<std::string> segmentd::fuzz::Seeds() { return {}; }

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  using namespace segmentd::clients;
  std::unique_ptr<OrderMapping> mapping;
  switch (data[0] % 3) {
    case 0:
      mapping = std::make_unique<CdnowMapping>();
      break;
    case 1:
      mapping = std::make_unique<RetailMapping>();
      break;
    default: {
      ColumnMapping::Options o;
      o.columns = "customer_id=1,order_id=2,placed_at=3:%Y-%m-%d,amount=4:decimal,categories=5";
      mapping = *ColumnMapping::Create(o);
    }
  }
  std::istringstream in(std::string(reinterpret_cast<const char*>(data + 1), size - 1));
  AcceptAll sink;
  ImportOptions options;
  options.batch_size = 7;
  absl::StatusOr<ImportReport> report =
      RunImport(in, static_cast<int64_t>(size), *mapping, sink, options);
  // The sink never fails, so neither does the import, and its report
  // accounts for every order it sent.
  FUZZ_CHECK(report.ok(), report.status().ToString());
  FUZZ_CHECK(
      report->orders == sink.sent && report->applied == sink.sent &&
          report->duplicates + report->rejected + report->ignored == 0,
      absl::StrCat("orders ", report->orders, " applied ", report->applied, " sent ", sink.sent));
  return 0;
}

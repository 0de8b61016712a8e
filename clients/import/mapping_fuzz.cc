// Fuzz target: feeds arbitrary bytes, as a file, through every mapping and the
// importer (with a sink that accepts everything). The first byte picks the
// mapping. Its seeds are files (testdata/mapping_fuzz); scripts/fuzz.sh runs it.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <sstream>
#include <string>

#include "clients/import/cdnow_mapping.h"
#include "clients/import/column_mapping.h"
#include "clients/import/importer.h"
#include "clients/import/retail_mapping.h"
#include "tests/fuzz/fuzz_target.h"

namespace {

class AcceptAll : public segmentd::clients::OrderSink {
 public:
  absl::StatusOr<segmentd::clients::BatchAck> Send(
      const std::vector<segmentd::clients::ImportedOrder>& batch) override {
    segmentd::clients::BatchAck ack;
    ack.applied = static_cast<int64_t>(batch.size());
    return ack;
  }
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
  (void)RunImport(in, static_cast<int64_t>(size), *mapping, sink, options);
  return 0;
}

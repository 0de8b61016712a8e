// The plain values an import produces: orders ready to send, bad rows, and the
// counters of rows skipped on purpose. No gRPC, no I/O.
#ifndef SEGMENTD_CLIENTS_IMPORT_IMPORTED_ORDER_H_
#define SEGMENTD_CLIENTS_IMPORT_IMPORTED_ORDER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace segmentd::clients {

// One whole order mapped from one row or from a group of rows.
struct ImportedOrder {
  std::string customer_id;
  // Deterministic: the same file always yields the same ids, so re-running an
  // import is a no-op on the server (a re-sent order id is a duplicate).
  std::string order_id;
  absl::Time placed_at;
  // Net amount in minor currency units (cents), >= 0.
  int64_t amount = 0;
  std::vector<std::string> categories;
  // The 1-based line of the file the order comes from (the first line of its
  // group for grouped mappings), for error messages.
  int64_t line = 0;
};

// A row (or a group of rows) that could not be mapped.
struct RowError {
  int64_t line = 0;  // 1-based line number in the file
  std::string message;
};

}  // namespace segmentd::clients

#endif  // SEGMENTD_CLIENTS_IMPORT_IMPORTED_ORDER_H_

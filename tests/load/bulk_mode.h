// Bulk mode: imports a generated tenant through BulkIngest streams and
// reports acknowledged orders per second.
#ifndef SEGMENTD_TESTS_LOAD_BULK_MODE_H_
#define SEGMENTD_TESTS_LOAD_BULK_MODE_H_

#include "absl/status/status.h"
#include "tests/load/load_client.h"

namespace segmentd::load {

// Sends registration + orders of customers [0, options.customers) of the
// generator population (seed options.seed) over options.streams parallel
// BulkIngest streams of options.batch events per request, with at most
// options.window unacknowledged batches per stream. Prints a summary and one
// JSON line. Returns an error when a stream fails or an event is rejected.
absl::Status RunBulk(const LoadOptions& options);

}  // namespace segmentd::load

#endif  // SEGMENTD_TESTS_LOAD_BULK_MODE_H_

// Config mode: times UpdateConfig on a loaded tenant, end to end (the server
// returns once every customer's new membership is written).
#ifndef SEGMENTD_TESTS_LOAD_CONFIG_MODE_H_
#define SEGMENTD_TESTS_LOAD_CONFIG_MODE_H_

#include "absl/status/status.h"
#include "tests/load/load_client.h"

namespace segmentd::load {

// Reads the config, then changes frequent_buyer.min_orders by one (up, or
// down when already >= 10) and back again, timing each UpdateConfig. Prints
// seconds and customers_changed of both, and one JSON line per update.
absl::Status RunConfig(const LoadOptions& options);

}  // namespace segmentd::load

#endif  // SEGMENTD_TESTS_LOAD_CONFIG_MODE_H_

// Latency mode: open-loop unary event calls at a fixed rate (PlaceOrder by
// default; RecordActivity, RecordEngagement or UpdateCart with --event); the
// latency of each call is event-to-visible-membership, because the server
// commits the new membership to Redis before it answers.
#ifndef SEGMENTD_TESTS_LOAD_LATENCY_MODE_H_
#define SEGMENTD_TESTS_LOAD_LATENCY_MODE_H_

#include "absl/status/status.h"
#include "tests/load/load_client.h"

namespace segmentd::load {

// Sends options.event calls (PlaceOrder unless told) for random customers of [0, options.customers)
// at options.rate calls/s for options.warmup (not measured) then options.duration, on a schedule
// fixed in advance (open loop: a slow answer never delays the next send). Latency is measured from
// each call's scheduled send instant to its answer, so client lag counts against the server rather
// than hiding it. Stops early, marked saturated, when options.max_in_flight calls are outstanding.
// Prints p50/p90/p99/p99.9/max, the achieved rate and errors, and one JSON line.
absl::Status RunLatency(const LoadOptions& options);

}  // namespace segmentd::load

#endif  // SEGMENTD_TESTS_LOAD_LATENCY_MODE_H_

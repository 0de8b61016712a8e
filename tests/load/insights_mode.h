// Insights mode (issue 6): the cost of GetSegmentKpis and GetSegmentFlows
// over the loaded tenant, and whether they slow the hot path down.
#ifndef SEGMENTD_TESTS_LOAD_INSIGHTS_MODE_H_
#define SEGMENTD_TESTS_LOAD_INSIGHTS_MODE_H_

#include "absl/status/status.h"
#include "tests/load/load_client.h"

namespace segmentd::load {

// Times GetSegmentKpis (last 30 days, all segments) and GetSegmentFlows (30
// days ago -> now) alone, then for each: an open loop of hot-path calls
// (CheckEligibility and PlaceOrder alternating, options.hot_rate calls/s in
// all) for options.duration without it, then the same open loop while it
// runs (measured until it answers). Reports per-kind p50/p90/p99/max of each
// phase, the call's time under load and the CPU of segmentd / redis-server
// when their pids are given. One JSON line per phase.
absl::Status RunInsights(const LoadOptions& options);

}  // namespace segmentd::load

#endif  // SEGMENTD_TESTS_LOAD_INSIGHTS_MODE_H_

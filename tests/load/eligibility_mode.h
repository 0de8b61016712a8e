// Eligibility mode (issue 5): CheckEligibility throughput against the
// server's own grpc.health.v1.Health/Check in the same run, and
// CheckEligibility latency at half of its peak rate.
#ifndef SEGMENTD_TESTS_LOAD_ELIGIBILITY_MODE_H_
#define SEGMENTD_TESTS_LOAD_ELIGIBILITY_MODE_H_

#include "absl/status/status.h"
#include "tests/load/load_client.h"

namespace segmentd::load {

// Registers voucher "bench-eligibility" (HotPathExpression(), arms 90/10),
// waits for the membership index, then runs options.rounds pairs of closed-loop
// phases (Health/Check, then CheckEligibility of random loaded customers),
// each options.callers concurrent callers for options.warmup +
// options.duration, and reports QPS, latency and the ratio per pair. Then an
// open loop of CheckEligibility at half the median eligibility QPS for
// options.duration (latency from the scheduled send instant). One JSON line
// per phase.
absl::Status RunEligibility(const LoadOptions& options);

}  // namespace segmentd::load

#endif  // SEGMENTD_TESTS_LOAD_ELIGIBILITY_MODE_H_

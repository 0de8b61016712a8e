// The end-state check of the population-statistics segments after a bulk
// import: the stored VIP and value-tier member sets must hold exactly the
// buyers the engine's cut-offs over the whole generated population put there.
// A sample of customers (verify mode) cannot see a StatisticsMover that
// misses a few customers out of a million; whole-set counts can.
#ifndef SEGMENTD_TESTS_LOAD_STATISTICS_SETS_H_
#define SEGMENTD_TESTS_LOAD_STATISTICS_SETS_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "engine/config.h"
#include "engine/stats.h"
#include "tests/load/load_client.h"

namespace segmentd::load {

// Lifetime valid orders and net revenue of every buyer of the population.
struct BuyerMeasures {
  std::vector<int64_t> orders;
  std::vector<int64_t> revenue;
};

// Counts VIP, HIGH_VALUE, MEDIUM_VALUE and LOW_VALUE members from `buyers`
// and the cut-offs of `stats` under `config`, then asks the server
// (CountTargets of each segment: its membership index over the stored sets)
// until its counts equal them, for at most `timeout` (the index loads on
// first use, and the StatisticsMover finishes its last moves a pass or two
// after the import). Prints both; DATA_LOSS when they still differ.
absl::Status CheckStatisticsSegments(const LoadOptions& options,
                                     const engine::SegmentConfig& config,
                                     const engine::PopulationStats& stats,
                                     const BuyerMeasures& buyers, absl::Duration timeout);

}  // namespace segmentd::load

#endif  // SEGMENTD_TESTS_LOAD_STATISTICS_SETS_H_

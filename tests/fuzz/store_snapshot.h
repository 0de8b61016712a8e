#ifndef SEGMENTD_TESTS_FUZZ_STORE_SNAPSHOT_H_
#define SEGMENTD_TESTS_FUZZ_STORE_SNAPSHOT_H_

// Everything a CustomerStore answers about one tenant, as text, so that two
// implementations driven alike can be compared (redis_live_fuzz: Redis
// against the in-memory store). One line per fact, in a canonical order; what
// the contract leaves to the implementation is left out: change-stream
// positions, and the order of entries of different customers.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "store/customer_store.h"

namespace segmentd::fuzz {

struct DescribeOptions {
  // The daily totals of the ten years before `now` and the ten after: two
  // reads of 3,660 days, most of a Redis store's description's time, so a
  // caller may leave them out where no order was written.
  bool daily_totals = true;
};

// Describes `tenant`: its config and rechecks, every customer's stored state,
// every member set, the schedule, the measure, AOV and registration indexes
// (whole, and point by point at every value they hold), the population
// statistics, the daily totals (DescribeOptions), the owners of `order_ids`,
// the category dictionary, and each customer's change-stream entries in
// order.
absl::StatusOr<std::vector<std::string>> DescribeStore(store::CustomerStore& store,
                                                       const std::string& tenant, absl::Time now,
                                                       absl::Span<const std::string> order_ids,
                                                       const DescribeOptions& options = {});

// The fixed segments, and "category:<name>" for every category of the
// tenant's dictionary (every segment a customer can be in).
absl::StatusOr<std::vector<std::string>> SegmentNames(store::CustomerStore& store,
                                                      const std::string& tenant);

// The members of `segment` as the store's member set holds them, sorted.
absl::StatusOr<std::vector<std::string>> SegmentMembers(store::CustomerStore& store,
                                                        const std::string& tenant,
                                                        const std::string& segment);

// "" when `a` and `b` are equal; otherwise the first line where they part,
// with a few lines of context from each.
std::string FirstDifference(const std::vector<std::string>& a, const std::vector<std::string>& b);

}  // namespace segmentd::fuzz

#endif  // SEGMENTD_TESTS_FUZZ_STORE_SNAPSHOT_H_

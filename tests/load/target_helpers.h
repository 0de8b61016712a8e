// Helpers of the issue 5/6 modes: building target expressions, registering a
// voucher target, waiting until the server's membership index is loaded.
#ifndef SEGMENTD_TESTS_LOAD_TARGET_HELPERS_H_
#define SEGMENTD_TESTS_LOAD_TARGET_HELPERS_H_

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "segmentd/v1/targeting.grpc.pb.h"
#include "tests/load/load_client.h"

namespace segmentd::load {

v1::TargetExpression Leaf(const std::string& segment);
v1::TargetExpression AllOf(std::vector<v1::TargetExpression> children);
v1::TargetExpression AnyOf(std::vector<v1::TargetExpression> children);
v1::TargetExpression NoneOf(std::vector<v1::TargetExpression> children);

// Compact text of an expression: "all_of(VIP, any_of(LAPSED, LOW_VALUE))".
std::string ExpressionText(const v1::TargetExpression& expression);

// The expression of the bench vouchers checked on the hot path:
// any_of(LOYAL_CUSTOMER, VIP, REPEAT_CUSTOMER), three common segments.
v1::TargetExpression HotPathExpression();

// Registers (or replaces) voucher `voucher_id` with `expression` and arms
// given as (name, weight) pairs.
absl::Status PutVoucher(v1::TargetingService::Stub& stub, const LoadOptions& options,
                        const std::string& voucher_id, const v1::TargetExpression& expression,
                        const std::vector<std::pair<std::string, uint32_t>>& arms);

// One CountTargets call for `target` (at `as_of` when given; whole seconds);
// `ms`, when given, receives its wall time.
absl::StatusOr<int64_t> Count(v1::TargetingService::Stub& stub, const LoadOptions& options,
                              const v1::TargetRef& target, double* ms = nullptr,
                              std::optional<absl::Time> as_of = std::nullopt);

// Counts `expression` until the server answers (the tenant's membership index
// loads on its first query and answers UNAVAILABLE meanwhile), at most
// `timeout`. Returns the seconds from the first call to the first answer.
absl::StatusOr<double> WaitForIndex(v1::TargetingService::Stub& stub, const LoadOptions& options,
                                    absl::Duration timeout);

}  // namespace segmentd::load

#endif  // SEGMENTD_TESTS_LOAD_TARGET_HELPERS_H_

#ifndef SEGMENTD_SERVER_TARGETING_TARGETS_AT_H_
#define SEGMENTD_SERVER_TARGETING_TARGETS_AT_H_

// Targets at an explicit instant (a request's `as_of`). The membership index
// holds current membership only, so at any other instant each customer's
// stored facts are classified there (SegmentsAt) and the expression is
// evaluated on the segments that gives. A single customer costs one store
// read; a whole tenant, a read and a classification per customer (seconds
// per million), which is why calls without `as_of` never come here.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "segmentd/v1/targeting.pb.h"
#include "server/targeting/arm_cache.h"
#include "server/targeting/membership_index.h"
#include "server/targeting/target_resolution.h"

namespace segmentd::targeting {

// The segment names (as expressions name them: "VIP", "category:shoes") of
// each of `customer_ids` at `as_of`, classified from stored facts; nullopt
// for an id the store does not hold, or for a customer none of whose facts
// is at or before `as_of` (not a customer yet). Fails like
// ClassifyCustomers with `as_of` (OUT_OF_RANGE before a customer's earliest
// exact instant). Thread-safe.
using SegmentsAt =
    std::function<absl::StatusOr<std::vector<std::optional<std::vector<std::string>>>>(
        const std::string& tenant, const std::vector<std::string>& customer_ids, absl::Time as_of)>;

// Customers classified per store read when walking a whole tenant.
inline constexpr size_t kClassifyPage = 500;

// Evaluates a (valid) expression for a customer in `segments` (nullopt: not
// a customer, eligible for nothing); fills `matched` (when not null) with the
// mentioned segments the customer is in.
bool EvaluateAt(const v1::TargetExpression& expression,
                const std::optional<std::vector<std::string>>& segments,
                std::vector<std::string>* matched);

// Calls `fn(ordinals, ids)` with the customers of `tenant` after ordinal
// `after` who satisfy `expression` at `as_of`, in ordinal order: one call
// per page of kClassifyPage customers classified, with that page's matches
// (possibly none). `fn` returns false to stop. The tenant's customers are
// those the index knows after a fresh read (every customer committed before
// the call); their ordinals are never reused, so `after` may come from an
// earlier call.
absl::Status WalkTargetsAt(
    MembershipIndex& index, const SegmentsAt& segments_at, const std::string& tenant,
    const v1::TargetExpression& expression, absl::Time as_of, uint32_t after,
    const std::function<bool(const std::vector<uint32_t>&, const std::vector<std::string>&)>& fn);

// `target`'s size at `as_of`, and per arm (in the voucher's arm order) when
// split. `cancelled` is polled between pages.
absl::StatusOr<TargetCounts> CountTargetsAt(MembershipIndex& index, const SegmentsAt& segments_at,
                                            const std::string& tenant, const Target& target,
                                            absl::Time as_of,
                                            const std::function<bool()>& cancelled);

// What a count-reading RPC (CountTargets, GetVoucherStats) answers: the
// index's count now (CountTargets, target_resolution.h) without `as_of`,
// CountTargetsAt with it.
absl::StatusOr<TargetCounts> CountTargetsNowOrAt(MembershipIndex& index, ArmCache& arm_cache,
                                                 const SegmentsAt& segments_at,
                                                 const std::string& tenant, const Target& target,
                                                 std::optional<absl::Time> as_of,
                                                 const std::function<bool()>& cancelled);

}  // namespace segmentd::targeting

#endif  // SEGMENTD_SERVER_TARGETING_TARGETS_AT_H_

#ifndef SEGMENTD_SERVER_TARGETING_TARGET_RESOLUTION_H_
#define SEGMENTD_SERVER_TARGETING_TARGET_RESOLUTION_H_

// Turning a TargetRef into a target, walking the customers of a result, and
// counting a target's customers per A/B arm: shared by TargetingService and
// InsightsService (voucher conversion). Functions are thread-safe.

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "segmentd/v1/targeting.pb.h"
#include "server/targeting/arm_cache.h"
#include "server/targeting/membership_index.h"
#include "server/targeting/voucher_store.h"

namespace segmentd::targeting {


// A target to resolve: an expression and, for a registered voucher, its id
// and arms (empty for inline expressions).
struct Target {
  v1::TargetExpression expression;
  std::string voucher_id;
  google::protobuf::RepeatedPtrField<v1::Arm> arms;
};

// Resolves a TargetRef named `field`: validates an inline expression or loads
// a registered voucher (NOT_FOUND when unknown), as of `voucher_version` when
// given (VoucherStore::GetAt), else as of now (VoucherStore::Get).
absl::StatusOr<Target> Resolve(VoucherStore& vouchers, absl::string_view tenant,
                               const v1::TargetRef& ref, absl::string_view field,
                               const std::string* voucher_version = nullptr);

// A target's size now, and per arm (in the voucher's arm order) when split.
struct TargetCounts {
  int64_t customers = 0;
  std::vector<std::pair<std::string, int64_t>> arms;
};

// Counts `target` over a fresh read of the index (fails closed like every
// index read); per arm through `arm_cache`, which hashes only customers it
// has not seen. `cancelled` is polled between batches of those.
absl::StatusOr<TargetCounts> CountTargets(MembershipIndex& index, ArmCache& arm_cache,
                                          absl::string_view tenant, const Target& target,
                                          const std::function<bool()>& cancelled);

}  // namespace segmentd::targeting

#endif  // SEGMENTD_SERVER_TARGETING_TARGET_RESOLUTION_H_

#ifndef SEGMENTD_SERVER_TARGETING_DISABLED_SEGMENTS_H_
#define SEGMENTD_SERVER_TARGETING_DISABLED_SEGMENTS_H_

// What PutVoucherTarget warns about: segments a target names that the
// tenant's config disables. Such a segment has no members while disabled, so
// the target selects nobody through it (and `none_of` it, everyone): valid,
// but rarely what a merchant means (a reviewer's finding, 2026-12-06).

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "engine/config.h"
#include "segmentd/v1/targeting.pb.h"

namespace segmentd::targeting {

// The tenant's current config (TenantContexts' snapshot).
using ConfigOf = std::function<absl::StatusOr<engine::SegmentConfig>(const std::string& tenant)>;

// One warning per segment `expression` (valid) names that `config` disables,
// in order of first mention, e.g. "VIP is disabled in the tenant's config: it
// has no members while disabled". `category:<name>` segments are disabled
// with category affinity.
std::vector<std::string> DisabledSegmentWarnings(const v1::TargetExpression& expression,
                                                 const engine::SegmentConfig& config);

}  // namespace segmentd::targeting

#endif  // SEGMENTD_SERVER_TARGETING_DISABLED_SEGMENTS_H_

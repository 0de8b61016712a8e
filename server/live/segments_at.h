#ifndef SEGMENTD_SERVER_LIVE_SEGMENTS_AT_H_
#define SEGMENTD_SERVER_LIVE_SEGMENTS_AT_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/live/live_membership.h"

namespace segmentd {

// The segment names (SegmentNames: "VIP", "category:shoes") of each of
// `customer_ids` at `as_of`, classified from their stored facts by `live`
// (LiveMembership::Classify at a named instant: OUT_OF_RANGE before a
// customer's earliest exact instant); nullopt for a customer not stored, or
// not yet at `as_of` (before any fact of theirs: a voucher sent then could
// not have targeted them, even through none_of).
// What targeting::SegmentsAt asks for, for targeting at an explicit as_of.
absl::StatusOr<std::vector<std::optional<std::vector<std::string>>>> SegmentsAt(
    LiveMembership& live, const std::string& tenant, const std::vector<std::string>& customer_ids,
    absl::Time as_of);

}  // namespace segmentd

#endif  // SEGMENTD_SERVER_LIVE_SEGMENTS_AT_H_

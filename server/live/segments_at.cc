#include "server/live/segments_at.h"

#include "server/live/membership_codec.h"

namespace segmentd {

absl::StatusOr<std::vector<std::optional<std::vector<std::string>>>> SegmentsAt(
    LiveMembership& live, const std::string& tenant, const std::vector<std::string>& customer_ids,
    absl::Time as_of) {
  absl::StatusOr<std::vector<CustomerClassification>> classified =
      live.Classify(tenant, customer_ids, as_of, /*with_reasons=*/false, /*historical=*/true,
                    /*with_next_change=*/false);
  if (!classified.ok()) return classified.status();
  std::vector<std::optional<std::vector<std::string>>> out(classified->size());
  for (size_t i = 0; i < classified->size(); ++i) {
    const CustomerClassification& c = (*classified)[i];
    if (c.existed) out[i] = SegmentNames(MembershipOf(c.classification), *c.category_names);
  }
  return out;
}

}  // namespace segmentd

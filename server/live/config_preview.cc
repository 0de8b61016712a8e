#include "server/live/config_preview.h"

#include <algorithm>
#include <vector>

#include "engine/classify.h"
#include "server/live/membership_codec.h"
#include "server/live/stored_profile.h"

namespace segmentd {

absl::StatusOr<std::map<std::string, SegmentDelta>> PreviewConfig(
    store::CustomerStore* store, TenantContexts* contexts, const std::string& tenant,
    const engine::SegmentConfig& proposed, absl::Time as_of) {
  absl::StatusOr<std::shared_ptr<const TenantSnapshot>> snapshot = contexts->GetCurrent(tenant);
  if (!snapshot.ok()) return snapshot.status();
  const TenantSnapshot& ctx = **snapshot;
  absl::StatusOr<engine::PopulationStats> stats = contexts->ComputeStats(tenant, proposed, as_of);
  if (!stats.ok()) return stats.status();
  absl::StatusOr<engine::Classifier> next = engine::Classifier::Create(proposed, *stats);
  if (!next.ok()) return next.status();

  std::map<std::string, SegmentDelta> deltas;
  // Every fixed segment is listed, even when empty under both configs.
  for (int i = 0; i < engine::kNumSegments; ++i) {
    deltas[std::string(engine::SegmentName(static_cast<engine::Segment>(i)))];
  }
  engine::Classification before, after;
  std::string cursor;
  do {
    absl::StatusOr<store::IdPage> page = store->ScanCustomers(tenant, cursor, 500);
    if (!page.ok()) return page.status();
    absl::StatusOr<std::vector<store::CustomerState>> states = store->Read(tenant, page->ids);
    if (!states.ok()) return states.status();
    for (const store::CustomerState& state : *states) {
      if (state.version == 0) continue;  // removed between scan and read
      absl::StatusOr<engine::Profile> profile = DecodeStoredProfile(state);
      if (!profile.ok()) return profile.status();
      ctx.classifier->Classify(profile->view(), as_of, &before);
      next->Classify(profile->view(), as_of, &after);
      const std::vector<std::string> was = SegmentNames(MembershipOf(before), *ctx.category_names);
      const std::vector<std::string> will = SegmentNames(MembershipOf(after), *ctx.category_names);
      for (const std::string& name : was) {
        SegmentDelta& d = deltas[name];
        ++d.current;
        if (!std::binary_search(will.begin(), will.end(), name)) ++d.leaving;
      }
      for (const std::string& name : will) {
        SegmentDelta& d = deltas[name];
        ++d.proposed;
        if (!std::binary_search(was.begin(), was.end(), name)) ++d.entering;
      }
    }
    cursor = page->next_cursor;
  } while (!cursor.empty());
  return deltas;
}

}  // namespace segmentd

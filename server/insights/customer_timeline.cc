#include "server/insights/customer_timeline.h"

namespace segmentd {

HistoryEntry CustomerTimeline::At(absl::Time t) const {
  if (std::optional<HistoryEntry> recorded = history_->At(t)) return *recorded;
  engine::Classification c;
  steps_->At(t).ClassifyMembership(profile_->view(), t, &c);
  return HistoryEntry{t, c.segments, c.primary};
}

engine::Classification CustomerTimeline::Reconstruct(absl::Time t, absl::Time until) const {
  engine::Classification c;
  steps_->At(t).ClassifyUntil(profile_->view(), t, until, &c);
  return c;
}

}  // namespace segmentd

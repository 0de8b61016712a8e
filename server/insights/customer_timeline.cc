#include "server/insights/customer_timeline.h"

namespace segmentd {

HistoryEntry CustomerTimeline::At(absl::Time t) const {
  if (std::optional<HistoryEntry> recorded = history_->At(t)) return *recorded;
  const engine::Classification c = Reconstruct(t);
  return HistoryEntry{t, c.segments, c.primary};
}

engine::Classification CustomerTimeline::Reconstruct(absl::Time t) const {
  return classifier_->Classify(profile_->view(), t);
}

}  // namespace segmentd

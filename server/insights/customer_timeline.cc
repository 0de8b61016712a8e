#include "server/insights/customer_timeline.h"

namespace segmentd {

HistoryEntry CustomerTimeline::At(absl::Time t) const {
  if (std::optional<HistoryEntry> recorded = history_->At(t)) return *recorded;
  const engine::Classification c = classifier_->Classify(profile_->view(), t);
  return HistoryEntry{t, c.segments, c.primary};
}

}  // namespace segmentd

#include "server/insights/segment_kpis.h"

namespace segmentd {

void KpiAccumulator::Add(const engine::ProfileView& profile, const CustomerTimeline& timeline) {
  const HistoryEntry at_start = timeline.At(start_);
  const HistoryEntry at_end = timeline.At(end_ - absl::Milliseconds(1));
  const engine::Millis start_ms = absl::ToUnixMillis(start_);
  const engine::Millis end_ms = absl::ToUnixMillis(end_);
  int64_t orders = 0, revenue = 0;
  // Folded orders by placement when they keep one (as lifetime value counts
  // them); otherwise only the itemised orders.
  engine::UnfoldedOrders unfolded;
  const engine::ProfileView view = unfolded.View(profile, start_ms - 1);
  for (const engine::OrderFacts& o : view.orders) {
    if (o.cancelled || o.placed_ms < start_ms || o.placed_ms >= end_ms) continue;
    ++orders;
    revenue += o.net_amount;
  }
  // Folded orders without placements (an older build's) still count when
  // their first and last lie inside the period (none left when unfolded).
  const engine::FoldedTotals& folded = view.folded;
  if (folded.orders > 0 && folded.first_order_ms >= start_ms && folded.last_order_ms < end_ms) {
    orders += folded.orders;
    revenue += folded.net_revenue;
  }
  const int64_t lifetime = engine::ComputeLifetime(profile, end_ms - 1).net_revenue;
  for (int i = 0; i < engine::kNumSegments; ++i) {
    const auto segment = static_cast<engine::Segment>(i);
    SegmentTotals& t = totals_[i];
    if (at_start.segments.Contains(segment)) {
      ++t.size_at_start;
      if (orders > 0) ++t.converted;
    }
    if (at_end.segments.Contains(segment)) {
      ++t.size_at_end;
      t.orders += orders;
      t.net_revenue += revenue;
      t.lifetime_value_sum += lifetime;
    }
  }
  timeline.ForEachChange(start_, end_,
                         [this](absl::Time, const HistoryEntry& before, const HistoryEntry& after) {
                           for (int i = 0; i < engine::kNumSegments; ++i) {
                             const auto segment = static_cast<engine::Segment>(i);
                             const bool was = before.segments.Contains(segment);
                             const bool is = after.segments.Contains(segment);
                             if (!was && is) ++totals_[i].entered;
                             if (was && !is) ++totals_[i].left;
                           }
                         });
}

void FlowAccumulator::Add(const CustomerTimeline& timeline) {
  const HistoryEntry from = timeline.At(from_);
  const HistoryEntry to = timeline.At(to_);
  ++cells_[{from.primary, to.primary}];
  for (int i = 0; i < engine::kNumSegments; ++i) {
    const auto segment = static_cast<engine::Segment>(i);
    const bool was = from.segments.Contains(segment);
    const bool is = to.segments.Contains(segment);
    if (!was && is) ++movements_[i].first;
    if (was && !is) ++movements_[i].second;
  }
}

}  // namespace segmentd

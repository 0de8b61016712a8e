#ifndef SEGMENTD_SERVER_INSIGHTS_SEGMENT_KPIS_H_
#define SEGMENTD_SERVER_INSIGHTS_SEGMENT_KPIS_H_

// KPIs per fixed segment over a period, and the flow of customers between
// primary segments across two instants, accumulated one customer at a time
// (so a scan over a tenant holds O(segments^2) state, not O(customers)).
// Definitions (SPEC 7, docs/insights.md):
//   size_at_start / size_at_end: members at `start` / just before `end`;
//   entered / left: recorded transitions into / out of the segment in
//     (start, end), each counted (a customer may enter twice);
//   orders / net_revenue: valid orders placed in [start, end) by customers who
//     are members at the end, at their current net amounts;
//   mean_lifetime_value: mean lifetime net revenue (at end) of end members;
//   conversion: members at start who placed a valid order in [start, end).
// Value types; thread-compatible.

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <utility>

#include "absl/time/time.h"
#include "engine/segment.h"
#include "server/insights/customer_timeline.h"

namespace segmentd {

struct SegmentTotals {
  int64_t size_at_start = 0;
  int64_t size_at_end = 0;
  int64_t entered = 0;
  int64_t left = 0;
  int64_t orders = 0;
  int64_t net_revenue = 0;
  int64_t lifetime_value_sum = 0;  // over end members
  int64_t converted = 0;           // start members who ordered in the period
};

class KpiAccumulator {
 public:
  // [start, end)
  KpiAccumulator(absl::Time start, absl::Time end) : start_(start), end_(end) {}

  void Add(const engine::ProfileView& profile, const CustomerTimeline& timeline);

  const std::array<SegmentTotals, engine::kNumSegments>& totals() const { return totals_; }

 private:
  absl::Time start_, end_;
  std::array<SegmentTotals, engine::kNumSegments> totals_;
};

// Primary segment at `from` -> at `to` (nullopt: none), customer counts, plus
// net entered/left per segment between the two instants.
class FlowAccumulator {
 public:
  FlowAccumulator(absl::Time from, absl::Time to) : from_(from), to_(to) {}

  void Add(const CustomerTimeline& timeline);

  using Primary = std::optional<engine::Segment>;
  const std::map<std::pair<Primary, Primary>, int64_t>& cells() const { return cells_; }
  // entered = members at `to` not members at `from`; left the other way.
  const std::array<std::pair<int64_t, int64_t>, engine::kNumSegments>& movements() const {
    return movements_;
  }

 private:
  absl::Time from_, to_;
  std::map<std::pair<Primary, Primary>, int64_t> cells_;
  std::array<std::pair<int64_t, int64_t>, engine::kNumSegments> movements_{};
};

}  // namespace segmentd

#endif  // SEGMENTD_SERVER_INSIGHTS_SEGMENT_KPIS_H_

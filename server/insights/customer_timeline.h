#ifndef SEGMENTD_SERVER_INSIGHTS_CUSTOMER_TIMELINE_H_
#define SEGMENTD_SERVER_INSIGHTS_CUSTOMER_TIMELINE_H_

#include <algorithm>
#include <optional>

#include "absl/time/time.h"
#include "engine/classify.h"
#include "engine/profile.h"
#include "server/live/membership_history.h"

namespace segmentd {

// One customer's fixed-segment membership at any instant: what segmentd
// recorded (MembershipHistory) where it has a record, and before the first
// record (e.g. for order history imported in bulk) what the rules give when
// applied to the customer's facts at that instant with the current config and
// statistics. Holds pointers: the arguments must outlive it. Thread-compatible.
class CustomerTimeline {
 public:
  CustomerTimeline(const MembershipHistory* history, const engine::Profile* profile,
                   const engine::Classifier* classifier)
      : history_(history), profile_(profile), classifier_(classifier) {}

  // Membership in force at `t`.
  HistoryEntry At(absl::Time t) const;

  // Calls `on_change(at, before, after)` for every change of the fixed
  // segments or the primary in (start, end), in order: before the first
  // record, those the rules give (each next change of the reconstruction,
  // as At answers there), then the recorded ones.
  template <typename F>
  void ForEachChange(absl::Time start, absl::Time end, F on_change) const {
    HistoryEntry before = At(start);
    const absl::Time first_record =
        history_->entries().empty() ? absl::InfiniteFuture() : history_->entries().front().from;
    if (start < first_record) {
      const absl::Time until = std::min(end, first_record);
      // A next change may move only categories: those are not reported.
      for (engine::Classification c = Reconstruct(start, until); c.next_change.has_value();) {
        const absl::Time at = *c.next_change;
        c = Reconstruct(at, until);
        if (c.segments != before.segments || c.primary != before.primary) {
          const HistoryEntry after{at, c.segments, c.primary};
          on_change(at, before, after);
          before = after;
        }
      }
    }
    for (const HistoryEntry& e : history_->entries()) {
      if (e.from <= start) continue;
      if (e.from >= end) break;
      on_change(e.from, before, e);
      before = e;
    }
  }

 private:
  // The rules applied to the customer's facts at `t` (current config and
  // statistics), as At answers before the first record, with the next
  // change looked for before `until` only.
  engine::Classification Reconstruct(absl::Time t, absl::Time until) const;

  const MembershipHistory* history_;
  const engine::Profile* profile_;
  const engine::Classifier* classifier_;
};

}  // namespace segmentd

#endif  // SEGMENTD_SERVER_INSIGHTS_CUSTOMER_TIMELINE_H_

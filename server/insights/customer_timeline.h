#ifndef SEGMENTD_SERVER_INSIGHTS_CUSTOMER_TIMELINE_H_
#define SEGMENTD_SERVER_INSIGHTS_CUSTOMER_TIMELINE_H_

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

  // Calls `on_change(at, before, after)` for every recorded change in (start,
  // end), in order.
  template <typename F>
  void ForEachChange(absl::Time start, absl::Time end, F on_change) const {
    HistoryEntry before = At(start);
    for (const HistoryEntry& e : history_->entries()) {
      if (e.from <= start) continue;
      if (e.from >= end) break;
      on_change(e.from, before, e);
      before = e;
    }
  }

 private:
  const MembershipHistory* history_;
  const engine::Profile* profile_;
  const engine::Classifier* classifier_;
};

}  // namespace segmentd

#endif  // SEGMENTD_SERVER_INSIGHTS_CUSTOMER_TIMELINE_H_

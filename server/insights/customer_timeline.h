#ifndef SEGMENTD_SERVER_INSIGHTS_CUSTOMER_TIMELINE_H_
#define SEGMENTD_SERVER_INSIGHTS_CUSTOMER_TIMELINE_H_

#include <algorithm>
#include <iterator>
#include <optional>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "engine/classify.h"
#include "engine/profile.h"
#include "server/live/membership_history.h"

namespace segmentd {

// The classifiers a reconstruction applies (the current config, each with
// the statistics at its instant: the store AOV of the spender rules as
// ClassifyCustomer at that `as_of` has it), each in force from its instant
// to the next one's, the first one before it too. So a membership asked at
// one of the instants is the one ClassifyCustomers gives there. Holds
// pointers: the classifiers must outlive it.
class StatisticsSteps {
 public:
  // One classifier at every instant.
  explicit StatisticsSteps(const engine::Classifier* only) {
    steps_.push_back({absl::InfinitePast(), only});
  }
  StatisticsSteps() = default;

  // Adds the classifier in force from `from` on; instants ascending.
  void Add(absl::Time from, const engine::Classifier* classifier) {
    steps_.push_back({from, classifier});
  }
  // The classifier in force at `t`. At least one must have been added.
  const engine::Classifier& At(absl::Time t) const {
    auto it = std::upper_bound(steps_.begin(), steps_.end(), t,
                               [](absl::Time x, const Step& s) { return x < s.first; });
    return *(it == steps_.begin() ? it : std::prev(it))->second;
  }

 private:
  using Step = std::pair<absl::Time, const engine::Classifier*>;
  std::vector<Step> steps_;
};

// One customer's fixed-segment membership at any instant: what segmentd
// recorded (MembershipHistory) where it has a record, and before the first
// record (e.g. for order history imported in bulk) what the rules give when
// applied to the customer's facts at that instant with the current config and
// the statistics `steps` has there. Holds pointers: the arguments must
// outlive it. Thread-compatible.
class CustomerTimeline {
 public:
  CustomerTimeline(const MembershipHistory* history, const engine::Profile* profile,
                   const StatisticsSteps* steps)
      : history_(history), profile_(profile), steps_(steps) {}

  // Membership in force at `t`.
  HistoryEntry At(absl::Time t) const;

  // Calls `on_change(at, before, after)` for every change of the fixed
  // segments or the primary in (start, end), in order: before the first
  // record, those the rules give (each next change of the reconstruction,
  // as At answers there), then the recorded ones. A reconstruction's next
  // change holds the statistics of its instant until then, so a move the
  // statistics alone made by `end` (a spender rule's store AOV moving) is
  // found at end - 1 ms, where At answers with the statistics there: the
  // changes always lead from At(start) to At(end - 1 ms).
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
      const absl::Time last = end - absl::Milliseconds(1);
      if (until == end && last > start) {
        const HistoryEntry after = At(last);
        if (after.segments != before.segments || after.primary != before.primary) {
          on_change(last, before, after);
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
  // The rules applied to the customer's facts at `t` (the current config and
  // the statistics of `steps_` there), as At answers before the first record,
  // with the next change looked for before `until` only.
  engine::Classification Reconstruct(absl::Time t, absl::Time until) const;

  const MembershipHistory* history_;
  const engine::Profile* profile_;
  const StatisticsSteps* steps_;
};

}  // namespace segmentd

#endif  // SEGMENTD_SERVER_INSIGHTS_CUSTOMER_TIMELINE_H_

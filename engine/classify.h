#ifndef SEGMENTD_ENGINE_CLASSIFY_H_
#define SEGMENTD_ENGINE_CLASSIFY_H_

// Classification: profile + config + population statistics + as_of ->
// membership (fixed segments, category-affinity categories, abandoned-cart
// categories, primary segment) and the next instant at which this
// customer's membership changes by the passage of time alone.
//
// Rules are SPEC.md sections 3-5 exactly; docs/engine.md spells out every
// boundary. Events later than as_of are ignored at as_of (they become visible
// at their own instant, which is then a candidate for next_change).
//
// next_change is exact: the earliest instant T > as_of at which Classify(T)
// would report a different membership, assuming no new event and unchanged
// statistics; nullopt if membership never changes by time alone. Membership
// at every instant in [as_of, T) equals membership at as_of.
//
// Usage:
//   absl::StatusOr<Classifier> c = Classifier::Create(config, stats);
//   Classification out;                       // reuse across customers
//   for (...) c->Classify(profile.view(), as_of, &out);
//
// Thread-safety: a Classifier is immutable after Create; Classify and Explain
// may run concurrently from many threads (each with its own output object).
// Performance: Classify does no heap allocation once `out`'s vectors have
// grown to their working size.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "engine/config.h"
#include "engine/profile.h"
#include "engine/segment.h"
#include "engine/stats.h"
#include "engine/time_ms.h"

namespace segmentd::engine {

// The result of classifying one customer at one instant.
struct Classification {
  SegmentSet segments;
  // Highest-priority member segment (fixed segments only), or nullopt.
  std::optional<Segment> primary;
  // Category-affinity memberships ("category:<name>"), ascending ids.
  std::vector<CategoryId> categories;
  // The abandoned cart's categories (empty unless ABANDONED_CART).
  std::vector<CategoryId> cart_categories;
  // Earliest instant > as_of at which membership changes by time alone.
  std::optional<absl::Time> next_change;

  // True when segments, categories and cart categories are equal (primary
  // is a function of those; next_change is not membership).
  bool SameMembership(const Classification& other) const {
    return segments == other.segments && categories == other.categories &&
           cart_categories == other.cart_categories;
  }
};

// Why a customer is (or is not) in one segment, for humans.
struct SegmentExplanation {
  std::string segment;  // canonical name, or "category:<name>"
  bool member = false;
  std::string reason;  // e.g. "6 orders in the last 30 days (>= 5)"
};

class Classifier {
 public:
  // Returns a classifier for a config (validated here) and the population
  // statistics computed for that config.
  static absl::StatusOr<Classifier> Create(const SegmentConfig& config,
                                           const PopulationStats& stats);

  // Classifies `profile` at `as_of` into `*out` (overwritten entirely).
  void Classify(const ProfileView& profile, absl::Time as_of,
                Classification* out) const;
  // Classify, with the next change looked for only before `until`:
  // next_change is unset when membership does not change before it. Cheaper
  // for a profile with many events after `as_of` (a reader walking changes
  // up to an instant).
  void ClassifyUntil(const ProfileView& profile, absl::Time as_of, absl::Time until,
                     Classification* out) const;
  // Membership at `as_of` without the next change (next_change unset): one
  // evaluation, where Classify also scans the events after `as_of`.
  void ClassifyMembership(const ProfileView& profile, absl::Time as_of, Classification* out) const;
  Classification Classify(const ProfileView& profile, absl::Time as_of) const;

  // Returns one explanation per enabled fixed segment (in enum order), then
  // one per category-affinity membership. `category_name` maps ids to names;
  // if null, ids are printed as numbers.
  std::vector<SegmentExplanation> Explain(
      const ProfileView& profile, absl::Time as_of,
      const std::function<std::string(CategoryId)>& category_name =
          nullptr) const;

  const SegmentConfig& config() const { return config_; }
  const PopulationStats& stats() const { return stats_; }

 private:
  Classifier() = default;

  // Membership at instant t. When `next` is non-null, *next receives the
  // exact next change as if no event happened after t (kNeverMillis if
  // none): exact when the profile has no order, registration, message,
  // open, action or cart event after t, and exact until the first such
  // event otherwise. When `future_open` is non-null, it is set when an open
  // or action after t of a message in the engagement window counts later.
  void Evaluate(const ProfileView& p, Millis t, Classification* out, Millis* next,
                bool* future_open = nullptr) const;
  // Evaluate on `p` with its folded orders unfolded (UnfoldedOrders), for a
  // window reaching them; false, doing nothing, when their placements are
  // not all kept.
  bool EvaluateUnfolded(const ProfileView& p, Millis t, Classification* out, Millis* next,
                        bool* future_open) const;
  // Exact next change of a profile with events after t: `now` and
  // `next_without_events` are Evaluate's answers at t. Walks from one event
  // or next change to the next, evaluating at each, until membership differs.
  // `corrected`: the view `p` was made from by OrdersAsOf (corrections after
  // t), evaluated as of each instant; null when `p` has none. Only instants
  // before `until` are looked at: kNeverMillis when none before it differs.
  Millis ScanNextChange(const ProfileView& p, Millis t, const Classification& now,
                        Millis next_without_events, Millis until,
                        const ProfileView* corrected = nullptr) const;
  // Classify at t with the next change looked for before `until` only.
  void ClassifyBefore(const ProfileView& view, Millis t, Millis until, Classification* out) const;
  bool BigOk(int64_t revenue, int64_t orders) const;
  bool LowOk(int64_t revenue, int64_t orders) const;
  int EngagementState(int64_t sent, int64_t opened, int64_t acted) const;

  SegmentConfig config_;
  PopulationStats stats_;

  // Compiled parameters (milliseconds, flags, thresholds).
  bool enabled_[kNumSegments] = {};
  bool category_enabled_ = false;
  Millis fb_ms_ = 0, nd_ms_ = 0, ws_ms_ = 0, nc_ms_ = 0, ret_ms_ = 0;
  Millis loyal_ms_ = 0, ll_ms_ = 0, otw_ms_ = 0, big_ms_ = 0, low_ms_ = 0;
  Millis lc_ms_ = 0, lapsed_ms_ = 0, cat_ms_ = 0, eng_ms_ = 0;
  Millis cart_after_ms_ = 0, cart_window_ms_ = 0;
  // The longest window counting orders (FREQUENT_BUYER, RETURNING_CUSTOMER,
  // the spenders, category affinity when on): one reaching folded orders
  // evaluates them unfolded.
  Millis counted_ms_ = 0;
  int64_t fb_min_ = 0, ret_min_ = 0, loyal_min_ = 0, ll_min_ = 0;
  int64_t lc_min_ = 0, lc_max_ = 0, rep_min_ = 0, rep_max_ = 0;
  int64_t cat_min_ = 0, eng_min_ = 0;
  int64_t vip_threshold_ = 0;  // kNoThreshold when nobody qualifies
  int64_t high_cutoff_ = 0, medium_cutoff_ = 0;  // kNoThreshold if none
  // Spender thresholds: absolute (int) or relative (double, already
  // multiplied by the store AOV); `defined` false when relative and the
  // store has no orders in the lookback, or none worth anything
  // (WindowTotals::StoreAov; then nobody qualifies).
  // A relative one is compared exactly (CompareToRelative): the multiple
  // read to millionths, the store AOV as its two totals; `*_threshold_` is
  // its value for reasons only.
  struct Relative {
    int64_t multiple_millionths = 0;
    int64_t store_revenue = 0;
    int64_t store_orders = 0;
    double approximate = 0;  // the same in doubles, for a fast first test
  };
  // The sign of revenue / orders - t's threshold (orders > 0), exactly.
  static int CompareToRelative(int64_t revenue, int64_t orders, const Relative& t);
  bool big_absolute_ = false, big_defined_ = false;
  int64_t big_amount_ = 0;
  double big_threshold_ = 0;
  Relative big_relative_;
  bool low_absolute_ = false, low_defined_ = false;
  int64_t low_amount_ = 0;
  double low_threshold_ = 0;
  Relative low_relative_;
  double high_open_ = 0, high_action_ = 0, moderate_open_ = 0;
  // EngagementState's rate comparisons for windows of up to
  // kRateTableMessages messages, tabulated: the least opened / acted counts
  // whose rates reach each threshold. Saves two divisions per state, and a
  // next-change search computes a state per message.
  static constexpr int kRateTableMessages = 128;
  struct RateMinimums {
    uint8_t high_open = 0, high_action = 0, moderate_open = 0;
  };
  RateMinimums rate_minimums_[kRateTableMessages + 1] = {};
  Segment priority_[kNumSegments] = {};
  uint8_t rank_[kNumSegments] = {};  // rank_[s]: s's index in priority_
};

// The earliest instant at which classifying `profile` under `config` is
// exact. Folding (docs/engine.md) keeps orders placed at or before the fold
// horizon as lifetime totals and per-order facts, and drops messages sent
// before it. Orders folded by builds that kept no placement or, while
// category affinity is on, no categories (both before 2026-12-06) are
// summarized: at an earlier `as_of` a window could reach them
// (and lifetime totals would include orders placed after as_of), so the
// answer there would be a guess. Messages count only when some were dropped
// (ProfileView::messages_dropped, always assumed for profiles stored before
// that was recorded) and engagement is enabled; a folded order's correction
// bounds it at its instant when some folded order keeps no placement (else
// OrdersAsOf undoes it). InfinitePast() when nothing bounds it.
absl::Time EarliestExactInstant(const ProfileView& profile, const SegmentConfig& config);

// Whether classifying `profile` at `as_of` under `config` is exact: at or
// after EarliestExactInstant, or before it when only dropped messages bound
// it and every one of them was sent after `as_of`
// (ProfileView::messages_dropped_from_ms): they are ignored there. So a
// message older than the fold horizon arriving today leaves instants before
// its send answerable.
bool ExactAt(const ProfileView& profile, const SegmentConfig& config, absl::Time as_of);

// How far past `as_of` the profile's facts are known when ExactAt holds:
// the earliest dropped send when `as_of` is before EarliestExactInstant
// (membership at `as_of` is exact, but a next change at or after that send
// is unknown: it may lie among the dropped messages), else InfiniteFuture().
absl::Time KnownUntil(const ProfileView& profile, const SegmentConfig& config, absl::Time as_of);

// Convenience for one-off calls (compiles the config each time).
absl::StatusOr<Classification> Classify(const ProfileView& profile,
                                        const SegmentConfig& config,
                                        const PopulationStats& stats,
                                        absl::Time as_of);

}  // namespace segmentd::engine

#endif  // SEGMENTD_ENGINE_CLASSIFY_H_

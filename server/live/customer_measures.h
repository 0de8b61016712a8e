#ifndef SEGMENTD_SERVER_LIVE_CUSTOMER_MEASURES_H_
#define SEGMENTD_SERVER_LIVE_CUSTOMER_MEASURES_H_

// What one customer contributes to the tenant's population statistics, for the
// store's indexes: the tenant's order totals (store AOV) and the customer's own AOV
// over the spender lookbacks (to find who a store-AOV move affects). Pure
// functions; thread-safe.

#include <optional>
#include <vector>

#include "absl/time/time.h"
#include "engine/config.h"
#include "engine/profile.h"
#include "store/customer_store.h"

namespace segmentd {

// Returns how the tenant's order totals change when a customer's profile goes
// from `before` (nullptr: new customer) to `after`, written at `now`: one
// delta per order whose contribution moves, at its placement instant. The
// totals hold a customer's valid orders placed at or before its last write:
// an order dated later is booked by the write that finds it placed (the
// schedule wakes the customer then), so the store AOV never counts an order
// ahead of its time (SPEC: events later than as_of are ignored).
// `before_next_change` is the stored schedule entry of `before`'s write: it
// tells which of `before`'s orders were booked, since it is after that write
// and no later than the first order then still ahead (Derive in
// live_membership.cc). Folded orders count at their kept placements
// (FoldedOrderFacts::placed_ms), so folding alone moves nothing (it is no
// cancellation), while an order placed straight into the lifetime totals, or
// cancelled or refunded once folded, moves the totals at its instant. Those
// folded by builds before 2026-12-06 keep no placement and move nothing.
std::vector<store::OrderTotalsDelta> OrderTotalsDeltas(const engine::Profile* before,
                                                       std::optional<absl::Time> before_next_change,
                                                       const engine::Profile& after,
                                                       absl::Time now);

// The customer's AOV over the `lookback_days` before `now` (orders placed in
// (now - lookback, now], folded ones too as the spender rules count them:
// by their placements, or, folded by builds before 2026-12-06, their totals
// when the lookback holds them all), in thousandths of a minor unit,
// floored; nullopt without an order in the lookback.
std::optional<int64_t> AovMilli(const engine::ProfileView& profile, absl::Time now,
                                int32_t lookback_days);

// The customer's registration index entry as of `now`
// (CustomerWrite::registered_non_buyer_ms): its registration instant, if it
// registered and has no visible valid order; nullopt otherwise. NEW_DOWNLOAD
// and WINDOW_SHOPPER concern such customers alone, so the index bounds a
// change of either rule.
std::optional<int64_t> RegisteredNonBuyerMs(const engine::ProfileView& profile, absl::Time now);
// The same, given how many visible valid orders the customer has then
// (engine::ComputeLifetime), for a caller that computed it already.
std::optional<int64_t> RegisteredNonBuyerMs(const engine::ProfileView& profile,
                                            int64_t lifetime_orders);

// The earliest instant after `now` at which AovMilli changes by time alone (an
// order, folded ones included, leaves the lookback, a future-dated order
// enters it, or folded orders without placements stop being all within it);
// nullopt if never.
std::optional<absl::Time> NextAovChange(const engine::ProfileView& profile, absl::Time now,
                                        int32_t lookback_days);

// Whether a valid order of `profile` became visible, moving the lifetime
// measures, since the write that stored `stored_next_change` (the customer's
// schedule entry) and `now`. Every write schedules the customer no later than
// its next future-dated valid order (LiveMembership), so only an order placed
// in [stored_next_change, now] can have; none without a schedule entry.
bool OrderBecameVisibleSince(const engine::ProfileView& profile,
                             std::optional<absl::Time> stored_next_change, absl::Time now);

// What the AOV indexes depend on of the spender rule behind `index`
// (BIG_SPENDER's and LOW_SPENDER's blocks are distinct types).
struct SpenderRuleFields {
  bool enabled = false;
  int32_t lookback_days = 0;
  std::optional<double> threshold_store_aov_multiple;
  std::optional<int64_t> threshold_amount;
};
SpenderRuleFields SpenderRuleOf(const engine::SegmentConfig& config, store::AovIndex index);

// The lookback each store::AovIndex is kept at: every write keeps the
// customer's entry in both indexes, whatever the rules' threshold modes and
// whether they are enabled. With a relative threshold, at the rule's
// lookback; with an absolute one (whose lookback no index serves), at the
// rule's default lookback (365 days for BIG_SPENDER, 180 for LOW_SPENDER),
// which the defaults and every preset use. So applying a preset (a spender
// rule made absolute, its lookback possibly changed) and going back,
// changing an absolute rule's lookback, and switching a rule off and on
// move no entry.
int32_t AovIndexLookback(const engine::SegmentConfig& config, store::AovIndex index);

// How many days of order history profiles keep under `config`: its longest
// rule window, or an AOV index's lookback if longer (an absolute rule's
// index may be kept at a lookback longer than any rule's), and never less
// than the default config's longest window (365 days). Folding cannot be
// undone: without the floor, a merchant who tried shorter windows for a
// while and went back to the defaults (or a preset) would have lost the
// history those need.
int32_t FoldHorizonDays(const engine::SegmentConfig& config);

// Whether anything reads the index: only while its rule is enabled and
// relative to the store AOV does a store-AOV move matter (config updates;
// the StatisticsMover compares the thresholds writes used, StatsInUse).
// Entries of an index not in use may wait for the background after a config
// update (LiveMembership::DrainRechecks); the update that brings an index
// back into use compares the stored entries, not the ones derived under the
// replaced config.
bool AovIndexInUse(const engine::SegmentConfig& config, store::AovIndex index);

}  // namespace segmentd

#endif  // SEGMENTD_SERVER_LIVE_CUSTOMER_MEASURES_H_

#include "server/live/customer_measures.h"

#include <algorithm>
#include <limits>

#include "absl/container/flat_hash_map.h"
#include "absl/numeric/int128.h"
#include "engine/time_ms.h"

namespace segmentd {

namespace {

// What the tenant's order totals hold of one order, at its placement instant.
struct Booked {
  engine::Millis placed_ms = 0;
  int64_t orders = 0;
  int64_t revenue = 0;
};

// Calls `f(fingerprint, Booked)` for every order of `profile` the totals can
// know: live orders (nothing once cancelled, or while placed at or after
// `booked_before`: still ahead when written) and folded orders whose
// placement is kept (nothing once cancelled). Orders folded by builds before
// 2026-12-06 keep no placement: their later corrections are not booked.
template <typename F>
void ForEachBooked(const engine::Profile& profile, engine::Millis booked_before, F f) {
  for (size_t i = 0; i < profile.orders().size(); ++i) {
    const engine::OrderFacts& o = profile.orders()[i];
    const bool counted = !o.cancelled && o.placed_ms < booked_before;
    f(profile.order_ids()[i], Booked{o.placed_ms, counted ? 1 : 0, counted ? o.net_amount : 0});
  }
  for (const engine::FoldedOrderFacts& o : profile.folded_orders()) {
    if (o.placed_ms == engine::kNeverMillis) continue;
    f(o.id_fingerprint, Booked{o.placed_ms, o.cancelled ? 0 : 1, o.cancelled ? 0 : o.net_amount});
  }
}

}  // namespace

std::vector<store::OrderTotalsDelta> OrderTotalsDeltas(const engine::Profile* before,
                                                       std::optional<absl::Time> before_next_change,
                                                       const engine::Profile& after,
                                                       absl::Time now) {
  absl::flat_hash_map<uint64_t, Booked> was;
  if (before != nullptr) {
    const engine::Millis booked_before = before_next_change
                                             ? absl::ToUnixMillis(*before_next_change)
                                             : std::numeric_limits<engine::Millis>::max();
    ForEachBooked(*before, booked_before, [&](uint64_t fp, Booked b) { was[fp] = b; });
  }
  // Placed at or before now. An order `before` held live and `after` folded
  // keeps its instant, so folding alone moves nothing (it is no
  // cancellation); an order folded on arrival is booked at its instant.
  const engine::Millis booked_before = absl::ToUnixMillis(now) + 1;
  std::vector<store::OrderTotalsDelta> out;
  ForEachBooked(after, booked_before, [&](uint64_t fp, Booked will) {
    Booked old;  // a new order: nothing booked yet
    if (auto it = was.find(fp); it != was.end()) old = it->second;
    if (will.orders == old.orders && will.revenue == old.revenue) return;
    out.push_back({will.placed_ms, will.orders - old.orders, will.revenue - old.revenue});
  });
  std::stable_sort(out.begin(), out.end(),
                   [](const store::OrderTotalsDelta& a, const store::OrderTotalsDelta& b) {
                     return a.placed_ms < b.placed_ms;
                   });
  return out;
}

std::optional<int64_t> AovMilli(const engine::ProfileView& folded_profile, absl::Time now,
                                int32_t lookback_days) {
  const engine::Millis end = absl::ToUnixMillis(now);
  const engine::Millis start = end - engine::DaysToMillis(lookback_days);
  engine::UnfoldedOrders unfolded;  // folded orders the lookback reaches, as the rules count them
  const engine::ProfileView profile = unfolded.View(folded_profile, start);
  int64_t orders = 0;
  absl::int128 revenue = 0;
  if (profile.folded.AllWithin(start, end)) {  // as the spender rules count them
    orders = profile.folded.orders;
    revenue = profile.folded.net_revenue;
  }
  for (const engine::OrderFacts& o : profile.orders) {
    if (o.cancelled || o.placed_ms <= start || o.placed_ms > end) continue;
    ++orders;
    revenue += o.net_amount;
  }
  if (orders == 0) return std::nullopt;
  return static_cast<int64_t>(revenue * 1000 / orders);
}

std::optional<int64_t> RegisteredNonBuyerMs(const engine::ProfileView& profile, absl::Time now) {
  return RegisteredNonBuyerMs(profile,
                              engine::ComputeLifetime(profile, absl::ToUnixMillis(now)).orders);
}

std::optional<int64_t> RegisteredNonBuyerMs(const engine::ProfileView& profile,
                                            int64_t lifetime_orders) {
  if (profile.registered_ms == engine::kNeverMillis || lifetime_orders > 0) return std::nullopt;
  return profile.registered_ms;
}

std::optional<absl::Time> NextAovChange(const engine::ProfileView& folded_profile, absl::Time now,
                                        int32_t lookback_days) {
  const engine::Millis t = absl::ToUnixMillis(now);
  engine::UnfoldedOrders unfolded;  // as AovMilli counts them
  const engine::ProfileView profile =
      unfolded.View(folded_profile, t - engine::DaysToMillis(lookback_days));
  std::optional<engine::Millis> next;
  for (const engine::OrderFacts& o : profile.orders) {
    if (o.cancelled) continue;
    // Enters the lookback at placed_ms; leaves it at placed_ms + lookback.
    for (engine::Millis edge : {o.placed_ms, o.placed_ms + engine::DaysToMillis(lookback_days)}) {
      if (edge > t && (!next || edge < *next)) next = edge;
    }
  }
  // Folded orders without placements (not unfolded above), all within the
  // lookback, leave it, for the AOV, when its start reaches the first of
  // them (AllWithin).
  const engine::FoldedTotals& folded = profile.folded;
  if (folded.orders > 0) {
    const engine::Millis edge = folded.first_order_ms + engine::DaysToMillis(lookback_days);
    if (edge > t && (!next || edge < *next)) next = edge;
  }
  if (!next) return std::nullopt;
  return absl::FromUnixMillis(*next);
}

bool OrderBecameVisibleSince(const engine::ProfileView& profile,
                             std::optional<absl::Time> stored_next_change, absl::Time now) {
  if (!stored_next_change) return false;
  const engine::Millis from = absl::ToUnixMillis(*stored_next_change);
  const engine::Millis to = absl::ToUnixMillis(now);
  for (const engine::OrderFacts& o : profile.orders) {
    if (!o.cancelled && o.placed_ms >= from && o.placed_ms <= to) return true;
  }
  return false;
}

SpenderRuleFields SpenderRuleOf(const engine::SegmentConfig& config, store::AovIndex index) {
  auto fields = [](const auto& rule) {
    return SpenderRuleFields{rule.enabled, rule.lookback_days, rule.threshold_store_aov_multiple,
                             rule.threshold_amount};
  };
  return index == store::AovIndex::kBigSpender ? fields(config.big_spender)
                                               : fields(config.low_spender);
}

bool AovIndexInUse(const engine::SegmentConfig& config, store::AovIndex index) {
  const SpenderRuleFields rule = SpenderRuleOf(config, index);
  return rule.enabled && rule.threshold_store_aov_multiple.has_value();
}

int32_t AovIndexLookback(const engine::SegmentConfig& config, store::AovIndex index) {
  static const engine::SegmentConfig* const kDefaults = new engine::SegmentConfig();
  const SpenderRuleFields rule = SpenderRuleOf(config, index);
  const bool absolute = !rule.threshold_store_aov_multiple.has_value();
  return absolute ? SpenderRuleOf(*kDefaults, index).lookback_days : rule.lookback_days;
}

int32_t FoldHorizonDays(const engine::SegmentConfig& config) {
  static const int32_t kDefaultDays = engine::LongestWindowDays(engine::SegmentConfig());
  return std::max({kDefaultDays, engine::LongestWindowDays(config),
                   AovIndexLookback(config, store::AovIndex::kBigSpender),
                   AovIndexLookback(config, store::AovIndex::kLowSpender)});
}

}  // namespace segmentd

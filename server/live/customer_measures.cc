#include "server/live/customer_measures.h"

#include <algorithm>
#include <limits>
#include <map>

#include "absl/numeric/int128.h"
#include "engine/time_ms.h"

namespace segmentd {

std::vector<store::OrderTotalsDelta> OrderTotalsDeltas(const engine::Profile* before,
                                                       std::optional<absl::Time> before_next_change,
                                                       const engine::Profile& after,
                                                       absl::Time now) {
  // Contribution of every live (unfolded) order, by id fingerprint.
  struct Contribution {
    int64_t orders = 0;
    int64_t revenue = 0;
  };
  // What the totals hold of `o`: nothing once cancelled, or while placed at
  // or after `booked_before` (orders still ahead when written).
  auto contribution = [](const engine::OrderFacts& o, engine::Millis booked_before) {
    const bool counted = !o.cancelled && o.placed_ms < booked_before;
    return Contribution{counted ? 1 : 0, counted ? o.net_amount : 0};
  };
  std::map<uint64_t, Contribution> old_orders;
  if (before != nullptr) {
    const engine::Millis booked_before = before_next_change
                                             ? absl::ToUnixMillis(*before_next_change)
                                             : std::numeric_limits<engine::Millis>::max();
    for (size_t i = 0; i < before->orders().size(); ++i) {
      old_orders[before->order_ids()[i]] = contribution(before->orders()[i], booked_before);
    }
  }
  const engine::Millis booked_before = absl::ToUnixMillis(now) + 1;  // placed at or before now
  std::vector<store::OrderTotalsDelta> out;
  for (size_t i = 0; i < after.orders().size(); ++i) {
    const Contribution will = contribution(after.orders()[i], booked_before);
    Contribution was;
    if (auto it = old_orders.find(after.order_ids()[i]); it != old_orders.end()) was = it->second;
    if (will.orders == was.orders && will.revenue == was.revenue) continue;
    out.push_back(
        {after.orders()[i].placed_ms, will.orders - was.orders, will.revenue - was.revenue});
  }
  // Orders placed straight into the lifetime totals since `after` was
  // decoded (older than the fold horizon): booked at their instants, as they
  // are now (a cancellation or refund since included).
  for (const auto& [fp, placed_ms] : after.placed_folded()) {
    for (const engine::FoldedOrderFacts& f : after.folded_orders()) {
      if (f.id_fingerprint != fp || f.cancelled) continue;
      out.push_back({placed_ms, 1, f.net_amount});
      break;
    }
  }
  return out;
}

std::optional<int64_t> AovMilli(const engine::ProfileView& profile, absl::Time now,
                                int32_t lookback_days) {
  const engine::Millis end = absl::ToUnixMillis(now);
  const engine::Millis start = end - engine::DaysToMillis(lookback_days);
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

std::optional<absl::Time> NextAovChange(const engine::ProfileView& profile, absl::Time now,
                                        int32_t lookback_days) {
  const engine::Millis t = absl::ToUnixMillis(now);
  std::optional<engine::Millis> next;
  for (const engine::OrderFacts& o : profile.orders) {
    if (o.cancelled) continue;
    // Enters the lookback at placed_ms; leaves it at placed_ms + lookback.
    for (engine::Millis edge : {o.placed_ms, o.placed_ms + engine::DaysToMillis(lookback_days)}) {
      if (edge > t && (!next || edge < *next)) next = edge;
    }
  }
  // Folded orders all within the lookback leave it, for the AOV, when its
  // start reaches the first of them (AllWithin).
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

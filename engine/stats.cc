#include "engine/stats.h"

#include <algorithm>
#include <cassert>
#include <functional>
#include <initializer_list>
#include <limits>

#include "absl/base/optimization.h"

namespace segmentd::engine {
namespace {

std::vector<int32_t> SpenderLookbacks(const SegmentConfig& config) {
  std::vector<int32_t> out = {config.big_spender.lookback_days,
                              config.low_spender.lookback_days};
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

// Returns, for each 1-based place in `places`, the value at that place in
// descending order of `values` (a place past the end: the last; nullopt for
// a place <= 0 or no values). A radix select: one pass finds the range, one
// counts the values per bucket (at most 2^16 equal-width buckets over it),
// and per place one pass gathers the bucket holding it, among which
// nth_element finds the value (unless each bucket holds one value, as the
// lifetime order counts' do). The places share the range and the counts,
// and nothing copies all the values, so the value tiers' two cut-offs cost
// less than one nth_element over a copy of every buyer's revenue did.
std::vector<std::optional<int64_t>> ValuesAtPlaces(const std::vector<int64_t>& values,
                                                   std::initializer_list<int64_t> places) {
  std::vector<std::optional<int64_t>> out(places.size());
  if (values.empty()) return out;
  const auto [min_it, max_it] = std::minmax_element(values.begin(), values.end());
  // Unsigned differences: the range of any two int64 values fits.
  const uint64_t lowest = static_cast<uint64_t>(*min_it);
  const uint64_t range = static_cast<uint64_t>(*max_it) - lowest;
  constexpr int kBucketBits = 16;
  int shift = 0;
  while ((range >> shift) >> kBucketBits != 0) ++shift;
  auto bucket_of = [&](int64_t v) { return (static_cast<uint64_t>(v) - lowest) >> shift; };
  std::vector<int64_t> counts((range >> shift) + 1, 0);
  for (int64_t v : values) ++counts[bucket_of(v)];
  std::vector<int64_t> bucket;
  size_t k = 0;
  for (int64_t place : places) {
    const size_t at = k++;
    if (place <= 0) continue;
    place = std::min<int64_t>(place, values.size());
    // The bucket holding the place, counting down from the top one.
    size_t b = counts.size() - 1;
    while (place > counts[b]) place -= counts[b--];
    if (shift == 0) {  // a bucket per value (order counts): no gathering
      out[at] = static_cast<int64_t>(lowest + b);
      continue;
    }
    bucket.clear();
    for (int64_t v : values) {
      if (bucket_of(v) == b) bucket.push_back(v);
    }
    auto nth = bucket.begin() + (place - 1);
    std::nth_element(bucket.begin(), nth, bucket.end(), std::greater<int64_t>());
    out[at] = *nth;
  }
  return out;
}

}  // namespace

const WindowTotals* PopulationStats::FindWindow(int32_t lookback_days) const {
  for (const WindowTotals& w : windows) {
    if (w.lookback_days == lookback_days) return &w;
  }
  return nullptr;
}

int64_t PercentilePlaces(int64_t n, int32_t percent) {
  return (n * percent + 99) / 100;
}

StatsBuilder::StatsBuilder(const SegmentConfig& config, absl::Time as_of)
    : config_(config), as_of_ms_(ToMillis(as_of)) {
  for (int32_t days : SpenderLookbacks(config)) {
    windows_.push_back({days, 0, 0});
    window_starts_[windows_.size() - 1] = as_of_ms_ - DaysToMillis(days);
  }
}

void StatsBuilder::Add(const ProfileView& p) {
  // One pass: lifetime totals and the store windows together. The window
  // sums live in locals (at most two windows: one per spender lookback), so
  // the loop keeps them in registers; a second window that does not exist
  // starts after as_of and counts nothing.
  static_assert(kMaxWindows == 2);
  int64_t orders = p.folded.orders, revenue = p.folded.net_revenue;
  int64_t w_orders[kMaxWindows] = {0, 0}, w_revenue[kMaxWindows] = {0, 0};
  const Millis start0 = window_starts_[0], start1 = window_starts_[1];
  for (const OrderFacts& o : p.orders) {
    if (o.placed_ms > as_of_ms_) break;
    if (o.cancelled) continue;
    ++orders;
    revenue += o.net_amount;
    const bool in0 = o.placed_ms > start0, in1 = o.placed_ms > start1;
    w_orders[0] += in0;
    w_revenue[0] += in0 ? o.net_amount : 0;
    w_orders[1] += in1;
    w_revenue[1] += in1 ? o.net_amount : 0;
  }
  // Folded orders a store window reaches (a lookback lengthened past the fold
  // horizon), by their kept placements, as the server's order totals book
  // them; those folded by builds before 2026-12-06 keep none and count in no
  // window.
  if (ABSL_PREDICT_FALSE(p.folded.orders > 0 &&
                         p.folded.last_order_ms > std::min(start0, start1))) {
    for (const FoldedOrderFacts& o : p.folded_orders) {
      if (o.cancelled || o.placed_ms == kNeverMillis || o.placed_ms > as_of_ms_) continue;
      for (size_t w = 0; w < kMaxWindows; ++w) {
        if (o.placed_ms <= window_starts_[w]) continue;
        ++w_orders[w];
        w_revenue[w] += o.net_amount;
      }
    }
  }
  for (size_t w = 0; w < windows_.size(); ++w) {
    windows_[w].orders += w_orders[w];
    windows_[w].net_revenue += w_revenue[w];
  }
  if (orders > 0) {
    order_counts_.push_back(orders);
    revenues_.push_back(revenue);
  }
}

void StatsBuilder::Merge(const StatsBuilder& other) {
  // Same config and instant, so the same windows in the same order (and
  // never itself: appending a vector's own range is undefined).
  assert(&other != this);
  assert(other.as_of_ms_ == as_of_ms_ && other.windows_.size() == windows_.size());
  for (size_t w = 0; w < windows_.size(); ++w) {
    windows_[w].orders += other.windows_[w].orders;
    windows_[w].net_revenue += other.windows_[w].net_revenue;
  }
  order_counts_.insert(order_counts_.end(), other.order_counts_.begin(), other.order_counts_.end());
  revenues_.insert(revenues_.end(), other.revenues_.begin(), other.revenues_.end());
}

PopulationStats StatsBuilder::Build() const {
  PopulationStats s;
  s.buyers = static_cast<int64_t>(order_counts_.size());
  s.windows = windows_;
  s.vip_order_cutoff =
      ValuesAtPlaces(order_counts_, {PercentilePlaces(s.buyers, config_.vip.top_percent)})[0];
  const ValueTiersConfig& t = config_.value_tiers;
  const std::vector<std::optional<int64_t>> tiers =
      ValuesAtPlaces(revenues_, {PercentilePlaces(s.buyers, t.high_percent),
                                 PercentilePlaces(s.buyers, t.high_percent + t.medium_percent)});
  s.high_value_cutoff = tiers[0];
  s.medium_value_cutoff = tiers[1];
  return s;
}

PopulationStats ComputeStats(absl::Span<const ProfileView> profiles,
                             const SegmentConfig& config, absl::Time as_of) {
  StatsBuilder builder(config, as_of);
  for (const ProfileView& p : profiles) builder.Add(p);
  return builder.Build();
}

void LiveStats::UpdateCustomer(const LifetimeTotals& before,
                               const LifetimeTotals& after) {
  if (before.orders > 0) {
    order_counts_.Add(before.orders, -1, 0);
    revenues_.Add(before.net_revenue, -1, 0);
  }
  if (after.orders > 0) {
    order_counts_.Add(after.orders, 1, 0);
    revenues_.Add(after.net_revenue, 1, 0);
  }
}

void LiveStats::AddOrder(absl::Time placed_at, int64_t net_amount) {
  timeline_.Add(ToMillis(placed_at), 1, net_amount);
}

void LiveStats::RemoveOrder(absl::Time placed_at, int64_t net_amount) {
  timeline_.Add(ToMillis(placed_at), -1, -net_amount);
}

void LiveStats::PruneOrdersUpTo(absl::Time horizon) {
  // Remove the smallest key while it is <= horizon.
  const Millis h = ToMillis(horizon);
  while (timeline_.total_count() > 0) {
    const auto [count, weight] = timeline_.PrefixUpTo(h);
    if (count == 0) break;
    // The smallest key is the KthLargest(total) one.
    const int64_t smallest = timeline_.KthLargest(timeline_.total_count());
    const auto [c1, w1] = timeline_.PrefixUpTo(smallest);
    timeline_.Add(smallest, -c1, -w1);
  }
}

PopulationStats LiveStats::Snapshot(const SegmentConfig& config,
                                    absl::Time as_of) const {
  PopulationStats s;
  const Millis as_of_ms = ToMillis(as_of);
  s.buyers = buyers();
  auto at_place = [&](const OrderStatisticTree& tree,
                      int64_t place) -> std::optional<int64_t> {
    if (place <= 0 || s.buyers == 0) return std::nullopt;
    return tree.KthLargest(std::min(place, s.buyers));
  };
  s.vip_order_cutoff =
      at_place(order_counts_, PercentilePlaces(s.buyers, config.vip.top_percent));
  const ValueTiersConfig& t = config.value_tiers;
  s.high_value_cutoff =
      at_place(revenues_, PercentilePlaces(s.buyers, t.high_percent));
  s.medium_value_cutoff = at_place(
      revenues_, PercentilePlaces(s.buyers, t.high_percent + t.medium_percent));
  for (int32_t days : SpenderLookbacks(config)) {
    const auto [c_end, w_end] = timeline_.PrefixUpTo(as_of_ms);
    const auto [c_start, w_start] =
        timeline_.PrefixUpTo(as_of_ms - DaysToMillis(days));
    s.windows.push_back({days, w_end - w_start, c_end - c_start});
  }
  return s;
}

std::optional<MeasureRange> MovedRange(std::optional<int64_t> old_threshold,
                                       std::optional<int64_t> new_threshold) {
  constexpr int64_t kInf = std::numeric_limits<int64_t>::max();
  const int64_t a = old_threshold.value_or(kInf);
  const int64_t b = new_threshold.value_or(kInf);
  if (a == b) return std::nullopt;
  return MeasureRange{std::min(a, b), std::max(a, b)};
}

std::optional<int64_t> VipThreshold(const PopulationStats& stats,
                                    const SegmentConfig& config) {
  if (!stats.vip_order_cutoff.has_value()) return std::nullopt;
  return std::max<int64_t>(*stats.vip_order_cutoff, config.vip.min_orders);
}

StatsChange DiffStats(const PopulationStats& before,
                      const PopulationStats& after,
                      const SegmentConfig& config) {
  StatsChange change;
  if (auto r = MovedRange(VipThreshold(before, config),
                          VipThreshold(after, config))) {
    change.lifetime_orders.push_back(*r);
  }
  if (auto r = MovedRange(before.high_value_cutoff, after.high_value_cutoff)) {
    change.lifetime_revenue.push_back(*r);
  }
  if (auto r =
          MovedRange(before.medium_value_cutoff, after.medium_value_cutoff)) {
    change.lifetime_revenue.push_back(*r);
  }
  for (const WindowTotals& w : after.windows) {
    const WindowTotals* old = before.FindWindow(w.lookback_days);
    const bool relative_used =
        (config.big_spender.lookback_days == w.lookback_days &&
         config.big_spender.threshold_store_aov_multiple.has_value()) ||
        (config.low_spender.lookback_days == w.lookback_days &&
         config.low_spender.threshold_store_aov_multiple.has_value());
    if (relative_used && (old == nullptr || old->StoreAov() != w.StoreAov())) {
      change.changed_aov_lookback_days.push_back(w.lookback_days);
    }
  }
  return change;
}

}  // namespace segmentd::engine

#include "engine/stats.h"

#include <algorithm>
#include <functional>
#include <limits>

namespace segmentd::engine {
namespace {

std::vector<int32_t> SpenderLookbacks(const SegmentConfig& config) {
  std::vector<int32_t> out = {config.big_spender.lookback_days,
                              config.low_spender.lookback_days};
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

// Returns the value at 1-based place `place` in descending order.
std::optional<int64_t> ValueAtPlace(std::vector<int64_t>& values,
                                    int64_t place) {
  if (place <= 0 || values.empty()) return std::nullopt;
  place = std::min<int64_t>(place, values.size());
  auto nth = values.begin() + (place - 1);
  std::nth_element(values.begin(), nth, values.end(), std::greater<int64_t>());
  return *nth;
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
    window_starts_.push_back(as_of_ms_ - DaysToMillis(days));
  }
}

void StatsBuilder::Add(const ProfileView& p) {
  // One pass: lifetime totals and the store windows together.
  int64_t orders = p.folded.orders, revenue = p.folded.net_revenue;
  const size_t nw = windows_.size();
  for (const OrderFacts& o : p.orders) {
    if (o.placed_ms > as_of_ms_) break;
    if (o.cancelled) continue;
    ++orders;
    revenue += o.net_amount;
    for (size_t w = 0; w < nw; ++w) {
      if (o.placed_ms > window_starts_[w]) {
        windows_[w].orders += 1;
        windows_[w].net_revenue += o.net_amount;
      }
    }
  }
  if (orders > 0) {
    order_counts_.push_back(orders);
    revenues_.push_back(revenue);
  }
}

PopulationStats StatsBuilder::Build() const {
  PopulationStats s;
  s.buyers = static_cast<int64_t>(order_counts_.size());
  s.windows = windows_;
  // VIP: order counts are small integers; a histogram finds the place.
  const int64_t vip_places = PercentilePlaces(s.buyers, config_.vip.top_percent);
  if (vip_places > 0 && s.buyers > 0) {
    const int64_t max_count =
        *std::max_element(order_counts_.begin(), order_counts_.end());
    if (max_count <= (1 << 20)) {
      std::vector<int64_t> histogram(max_count + 1, 0);
      for (int64_t c : order_counts_) ++histogram[c];
      int64_t seen = 0;
      for (int64_t c = max_count; c >= 1; --c) {
        seen += histogram[c];
        if (seen >= vip_places) {
          s.vip_order_cutoff = c;
          break;
        }
      }
    } else {
      std::vector<int64_t> counts = order_counts_;
      s.vip_order_cutoff = ValueAtPlace(counts, vip_places);
    }
  }
  // Value tiers: select the medium place, then the high place within the
  // part that nth_element left above it.
  const ValueTiersConfig& t = config_.value_tiers;
  const int64_t high_places = PercentilePlaces(s.buyers, t.high_percent);
  const int64_t medium_places =
      PercentilePlaces(s.buyers, t.high_percent + t.medium_percent);
  std::vector<int64_t> revenues = revenues_;
  s.medium_value_cutoff = ValueAtPlace(revenues, medium_places);
  if (high_places > 0 && s.buyers > 0) {
    if (medium_places >= high_places && medium_places > 0) {
      // revenues[0, medium_places) holds the top medium_places values.
      std::vector<int64_t> top(revenues.begin(),
                               revenues.begin() + std::min<int64_t>(
                                   medium_places, revenues.size()));
      s.high_value_cutoff = ValueAtPlace(top, high_places);
    } else {
      s.high_value_cutoff = ValueAtPlace(revenues, high_places);
    }
  }
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

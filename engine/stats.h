#ifndef SEGMENTD_ENGINE_STATS_H_
#define SEGMENTD_ENGINE_STATS_H_

// Population statistics: the per-tenant numbers some rules compare a
// customer against (VIP and value-tier percentile cut-offs, store AOV per
// spender lookback), computed from scratch (StatsBuilder) or kept live as
// single customers change (LiveStats), and the measure ranges whose customers
// a change of cut-off moves (DiffStats).
//
// Percentile rule (SPEC section 5): rank buyers (lifetime valid orders >= 1)
// by the measure, highest first; with N buyers the top p% is the first
// ceil(p*N/100) places plus everyone tied with the last of them. So the top
// p% is exactly "measure >= cut-off", where the cut-off is the measure at
// place ceil(p*N/100) (no cut-off when that place is 0).
//
// Thread-safety: PopulationStats is a value. StatsBuilder and LiveStats are
// not thread-safe for writes; their const methods may run concurrently.

#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <vector>

#include "absl/time/time.h"
#include "absl/types/span.h"
#include "engine/config.h"
#include "engine/order_statistic_tree.h"
#include "engine/profile.h"
#include "engine/time_ms.h"

namespace segmentd::engine {

// Net revenue and valid-order count of the whole tenant over one lookback:
// orders placed in (as_of - lookback_days, as_of].
struct WindowTotals {
  int32_t lookback_days = 0;
  int64_t net_revenue = 0;
  int64_t orders = 0;

  // Returns net_revenue / orders, or nullopt without orders or when they are
  // all worth nothing: a relative spender threshold of 0 would make every
  // buyer a big spender (AOV >= 0) and a low spender (AOV <= 0) at once.
  std::optional<double> StoreAov() const {
    if (orders <= 0 || net_revenue <= 0) return std::nullopt;
    return static_cast<double>(net_revenue) / static_cast<double>(orders);
  }
  friend bool operator==(const WindowTotals& a, const WindowTotals& b) {
    return a.lookback_days == b.lookback_days &&
           a.net_revenue == b.net_revenue && a.orders == b.orders;
  }
};

// Statistics of one tenant's population at one instant, for one config.
struct PopulationStats {
  int64_t buyers = 0;
  // Lifetime order count at place ceil(vip.top_percent * buyers / 100).
  std::optional<int64_t> vip_order_cutoff;
  // Lifetime net revenue at place ceil(high_percent * buyers / 100).
  std::optional<int64_t> high_value_cutoff;
  // Lifetime net revenue at place ceil((high+medium)_percent * buyers / 100).
  std::optional<int64_t> medium_value_cutoff;
  // One entry per distinct spender lookback (big_spender, low_spender).
  std::vector<WindowTotals> windows;

  // Returns the totals for `lookback_days`, or nullptr.
  const WindowTotals* FindWindow(int32_t lookback_days) const;
  // A relative spender threshold: `multiple` (to millionths, as the
  // classifier compares it) x the store AOV over `lookback_days`, or nullopt
  // when there is none (then nobody qualifies).
  std::optional<double> RelativeThreshold(int32_t lookback_days, double multiple) const {
    const WindowTotals* w = FindWindow(lookback_days);
    const std::optional<double> aov = w == nullptr ? std::nullopt : w->StoreAov();
    if (!aov.has_value()) return std::nullopt;
    return static_cast<double>(MultipleMillionths(multiple)) / 1e6 * *aov;
  }
  // A configured multiple in millionths: what the rules compare with.
  static int64_t MultipleMillionths(double multiple) { return std::llround(multiple * 1e6); }

  friend bool operator==(const PopulationStats& a, const PopulationStats& b) {
    return a.buyers == b.buyers && a.vip_order_cutoff == b.vip_order_cutoff &&
           a.high_value_cutoff == b.high_value_cutoff &&
           a.medium_value_cutoff == b.medium_value_cutoff &&
           a.windows == b.windows;
  }
};

// Returns ceil(percent * n / 100): the number of top places a percentile
// covers before ties are added.
int64_t PercentilePlaces(int64_t n, int32_t percent);

// Computes PopulationStats from every profile of a tenant at `as_of`.
//   StatsBuilder b(config, as_of);
//   for (...) b.Add(profile.view());
//   PopulationStats stats = b.Build();
class StatsBuilder {
 public:
  StatsBuilder(const SegmentConfig& config, absl::Time as_of);

  void Add(const ProfileView& profile);
  // Adds everything `other` was given, as if Add() had been called here for
  // each of its profiles. `other` must be built for the same config and
  // as_of (builders filled by different threads, then merged into one).
  void Merge(const StatsBuilder& other);
  // Returns the statistics of everything added so far.
  PopulationStats Build() const;

 private:
  SegmentConfig config_;
  Millis as_of_ms_;
  std::vector<int64_t> order_counts_;  // one per buyer
  std::vector<int64_t> revenues_;      // one per buyer
  // At most one window per spender lookback.
  static constexpr size_t kMaxWindows = 2;
  std::vector<WindowTotals> windows_;
  // Exclusive lower bound per window; a window not in use starts at the
  // largest instant, so that no order is inside it.
  Millis window_starts_[kMaxWindows] = {std::numeric_limits<Millis>::max(),
                                        std::numeric_limits<Millis>::max()};
};

// Convenience: StatsBuilder over a span of views.
PopulationStats ComputeStats(absl::Span<const ProfileView> profiles,
                             const SegmentConfig& config, absl::Time as_of);

// Live statistics the server keeps as single customers change, giving exact
// cut-offs in O(log n) per update and exact store AOV at any instant.
//  - On every change of one customer, call UpdateCustomer(before, after)
//    with its LifetimeTotals before and after the event.
//  - For every valid order, AddOrder() once; on cancel RemoveOrder(); on a
//    refund RemoveOrder(old net) + AddOrder(new net). Orders older than the
//    longest lookback may be dropped with PruneOrdersUpTo().
class LiveStats {
 public:
  LiveStats() = default;

  void UpdateCustomer(const LifetimeTotals& before, const LifetimeTotals& after);
  void AddOrder(absl::Time placed_at, int64_t net_amount);
  void RemoveOrder(absl::Time placed_at, int64_t net_amount);
  // Forgets orders placed at or before `horizon`.
  void PruneOrdersUpTo(absl::Time horizon);

  int64_t buyers() const { return order_counts_.total_count(); }

  // Returns the statistics for `config` at `as_of` (the store-AOV windows
  // end at as_of; the cut-offs reflect the customers as last updated).
  PopulationStats Snapshot(const SegmentConfig& config, absl::Time as_of) const;

 private:
  OrderStatisticTree order_counts_;  // key: lifetime orders, one per buyer
  OrderStatisticTree revenues_;      // key: lifetime net revenue, per buyer
  OrderStatisticTree timeline_;      // key: placed_ms, weight: net amount
};

// Customers whose measure m lies in [lo, hi) (hi exclusive).
struct MeasureRange {
  int64_t lo = 0;
  int64_t hi = 0;
  friend bool operator==(const MeasureRange& a, const MeasureRange& b) {
    return a.lo == b.lo && a.hi == b.hi;
  }
};

// For a rule "member iff measure >= threshold" (nullopt: nobody), returns the
// range of measures whose membership differs between the old and the new
// threshold, or nullopt if none.
std::optional<MeasureRange> MovedRange(std::optional<int64_t> old_threshold,
                                       std::optional<int64_t> new_threshold);

// Returns the lifetime order count from which a buyer is VIP:
// max(vip_order_cutoff, vip.min_orders), or nullopt (no VIP).
std::optional<int64_t> VipThreshold(const PopulationStats& stats,
                                    const SegmentConfig& config);

// What a change of statistics (same config) means for membership: customers
// whose lifetime order count or revenue lies in one of these ranges must be
// re-classified, and so must every customer with an order in a lookback
// whose store AOV changed (when the matching spender threshold is relative).
struct StatsChange {
  std::vector<MeasureRange> lifetime_orders;   // VIP
  std::vector<MeasureRange> lifetime_revenue;  // value tiers
  std::vector<int32_t> changed_aov_lookback_days;
};
StatsChange DiffStats(const PopulationStats& before,
                      const PopulationStats& after,
                      const SegmentConfig& config);

}  // namespace segmentd::engine

#endif  // SEGMENTD_ENGINE_STATS_H_

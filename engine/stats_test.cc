#include "engine/stats.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <random>
#include <vector>

#include "absl/strings/str_cat.h"

namespace segmentd::engine {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1767225600);  // 2026-01-01
absl::Time Day(double d) { return kT0 + absl::Hours(24) * d; }

Profile Buyer(int orders, int64_t amount_each, double first_day = 0) {
  Profile p;
  for (int i = 0; i < orders; ++i) {
    OrderPlaced o;
    const std::string id = absl::StrCat("o", i);
    o.order_id = id;
    o.placed_at = Day(first_day + i);
    o.amount = amount_each;
    EXPECT_TRUE(p.PlaceOrder(o).ok());
  }
  return p;
}

PopulationStats StatsOf(const std::vector<Profile>& profiles,
                        const SegmentConfig& c, absl::Time at) {
  std::vector<ProfileView> views;
  for (const Profile& p : profiles) views.push_back(p.view());
  return ComputeStats(views, c, at);
}

TEST(Stats, PercentilePlaces) {
  EXPECT_EQ(PercentilePlaces(0, 10), 0);
  EXPECT_EQ(PercentilePlaces(1, 10), 1);
  EXPECT_EQ(PercentilePlaces(10, 10), 1);
  EXPECT_EQ(PercentilePlaces(11, 10), 2);
  EXPECT_EQ(PercentilePlaces(100, 20), 20);
  EXPECT_EQ(PercentilePlaces(7, 0), 0);
}

TEST(Stats, VipCutoffWithTies) {
  // Order counts: 9, 5, 5, 5, 3, 2, 1, 1, 1, 1, 1 (11 buyers) + 1 non-buyer.
  std::vector<Profile> ps;
  for (int n : {9, 5, 5, 5, 3, 2, 1, 1, 1, 1, 1}) ps.push_back(Buyer(n, 100));
  ps.push_back(Profile());
  SegmentConfig c;
  PopulationStats s = StatsOf(ps, c, Day(20));
  EXPECT_EQ(s.buyers, 11);
  // Top 10% of 11 = ceil(1.1) = 2 places: the 2nd place is 5, so all three
  // customers with 5 orders are tied in: the cut-off is 5.
  EXPECT_EQ(s.vip_order_cutoff, 5);
  c.vip.top_percent = 50;  // ceil(5.5) = 6 places: 6th is 2
  EXPECT_EQ(StatsOf(ps, c, Day(20)).vip_order_cutoff, 2);
  EXPECT_EQ(VipThreshold(StatsOf(ps, c, Day(20)), c), 2);
  c.vip.min_orders = 4;
  EXPECT_EQ(VipThreshold(StatsOf(ps, c, Day(20)), c), 4);
  // Orders after as_of are not counted.
  EXPECT_EQ(StatsOf(ps, c, Day(-1)).buyers, 0);
  EXPECT_FALSE(StatsOf(ps, c, Day(-1)).vip_order_cutoff.has_value());
}

TEST(Stats, ValueTierCutoffsTieGoesUp) {
  // Revenues 1000 x3, 500 x4, 100 x3 (10 buyers). Top 20% = 2 places: 1000,
  // tie group of three -> all HIGH. Top 70% = 7 places: 500 -> MEDIUM.
  std::vector<Profile> ps;
  for (int i = 0; i < 3; ++i) ps.push_back(Buyer(1, 1000));
  for (int i = 0; i < 4; ++i) ps.push_back(Buyer(1, 500));
  for (int i = 0; i < 3; ++i) ps.push_back(Buyer(1, 100));
  PopulationStats s = StatsOf(ps, SegmentConfig{}, Day(5));
  EXPECT_EQ(s.high_value_cutoff, 1000);
  EXPECT_EQ(s.medium_value_cutoff, 500);
}

TEST(Stats, StoreWindows) {
  std::vector<Profile> ps = {Buyer(3, 100, 0), Buyer(1, 700, 300)};
  SegmentConfig c;  // lookbacks 365 and 180
  PopulationStats s = StatsOf(ps, c, Day(300));
  ASSERT_EQ(s.windows.size(), 2u);
  EXPECT_EQ(*s.FindWindow(365), (WindowTotals{365, 1000, 4}));
  EXPECT_EQ(*s.FindWindow(180), (WindowTotals{180, 700, 1}));
  // At day 365 the day-0 order leaves the window (exclusive lower bound).
  EXPECT_EQ(StatsOf(ps, c, Day(365)).FindWindow(365)->orders, 3);
}

// A lookback lengthened past the fold horizon counts the folded orders it
// reaches, by their kept placements (as the server's order totals do).
TEST(Stats, StoreWindowsCountFoldedOrdersByPlacement) {
  Profile p = Buyer(3, 100, 0);  // days 0, 1, 2
  p.Fold(Day(1));                // the orders of days 0 and 1
  ASSERT_EQ(p.view().folded.orders, 2);
  SegmentConfig c;
  c.big_spender.lookback_days = 400;  // from day 0 (exclusive) on day 400
  PopulationStats s = StatsOf({p}, c, Day(400));
  EXPECT_EQ(*s.FindWindow(400), (WindowTotals{400, 200, 2}));
  EXPECT_EQ(*s.FindWindow(180), (WindowTotals{180, 0, 0}));
}

TEST(Stats, OneWindowWhenBothSpendersLookAsFarBack) {
  std::vector<Profile> ps = {Buyer(3, 100, 0), Buyer(1, 700, 300)};
  SegmentConfig c;
  c.low_spender.lookback_days = 365;
  PopulationStats s = StatsOf(ps, c, Day(300));
  ASSERT_EQ(s.windows.size(), 1u);
  EXPECT_EQ(s.windows[0], (WindowTotals{365, 1000, 4}));
}

// The cut-offs against every buyer's measures sorted, over revenues from 0
// to past 2^40 (so the selection's buckets are wide), many ties, and
// percentages from 0 to 100.
TEST(Stats, CutoffsAreTheSortedMeasuresAtTheirPlaces) {
  std::mt19937_64 rng(5);
  for (int trial = 0; trial < 40; ++trial) {
    std::vector<Profile> ps(1 + rng() % 300);
    std::vector<int64_t> counts, revenues;
    for (size_t i = 0; i < ps.size(); ++i) {
      const int orders = static_cast<int>(rng() % 9);  // 0: not a buyer
      int64_t revenue = 0;
      for (int k = 0; k < orders; ++k) {
        OrderPlaced o;
        const std::string id = absl::StrCat("o", k);
        o.order_id = id;
        o.placed_at = Day(k);
        switch (rng() % 3) {
          case 0:
            o.amount = 5000;
            break;  // ties
          case 1:
            o.amount = static_cast<int64_t>(rng() % 100);
            break;
          default:
            o.amount = static_cast<int64_t>(rng() % kMaxAmount);
            break;
        }
        ASSERT_TRUE(ps[i].PlaceOrder(o).ok());
        revenue += o.amount;
      }
      if (orders > 0) {
        counts.push_back(orders);
        revenues.push_back(revenue);
      }
    }
    std::sort(counts.rbegin(), counts.rend());
    std::sort(revenues.rbegin(), revenues.rend());
    auto at = [](const std::vector<int64_t>& sorted, int64_t place) -> std::optional<int64_t> {
      if (place <= 0 || sorted.empty()) return std::nullopt;
      return sorted[std::min<int64_t>(place, sorted.size()) - 1];
    };
    SegmentConfig c;
    c.vip.top_percent = 1 + static_cast<int>(rng() % 100);
    c.value_tiers.high_percent = static_cast<int>(rng() % 101);
    c.value_tiers.medium_percent = static_cast<int>(rng() % (101 - c.value_tiers.high_percent));
    const PopulationStats s = StatsOf(ps, c, Day(30));
    const int64_t n = static_cast<int64_t>(counts.size());
    ASSERT_EQ(s.buyers, n);
    EXPECT_EQ(s.vip_order_cutoff, at(counts, PercentilePlaces(n, c.vip.top_percent))) << trial;
    EXPECT_EQ(s.high_value_cutoff, at(revenues, PercentilePlaces(n, c.value_tiers.high_percent)))
        << trial;
    EXPECT_EQ(s.medium_value_cutoff,
              at(revenues,
                 PercentilePlaces(n, c.value_tiers.high_percent + c.value_tiers.medium_percent)))
        << trial;
  }
}

TEST(LiveStats, MatchesFromScratch) {
  std::mt19937_64 rng(11);
  SegmentConfig c;
  c.low_spender.lookback_days = 30;
  std::vector<Profile> ps(200);
  LiveStats live;
  const absl::Time now = Day(400);
  for (int step = 0; step < 2000; ++step) {
    Profile& p = ps[rng() % ps.size()];
    const LifetimeTotals before = ComputeLifetime(p.view(), ToMillis(now));
    OrderPlaced o;
    const std::string id = absl::StrCat("s", step);
    o.order_id = id;
    o.placed_at = Day(static_cast<double>(rng() % 400));
    o.amount = static_cast<int64_t>(rng() % 10000);
    ASSERT_TRUE(p.PlaceOrder(o).ok());
    live.AddOrder(o.placed_at, o.amount);
    if (rng() % 10 == 0) {
      ASSERT_TRUE(p.CancelOrder(id).ok());
      live.RemoveOrder(o.placed_at, o.amount);
    }
    live.UpdateCustomer(before, ComputeLifetime(p.view(), ToMillis(now)));
    if (step % 100 == 0) {
      ASSERT_EQ(live.Snapshot(c, now), StatsOf(ps, c, now)) << step;
      c.vip.top_percent = 1 + static_cast<int>(rng() % 50);
    }
  }
  live.PruneOrdersUpTo(Day(35));  // = now - longest lookback (365)
  EXPECT_EQ(live.Snapshot(c, now), StatsOf(ps, c, now));
}

TEST(MovedRange, IntervalBetweenThresholds) {
  EXPECT_FALSE(MovedRange(5, 5).has_value());
  EXPECT_EQ(*MovedRange(5, 7), (MeasureRange{5, 7}));
  EXPECT_EQ(*MovedRange(7, 5), (MeasureRange{5, 7}));
  EXPECT_EQ(MovedRange(std::nullopt, 3)->lo, 3);
  EXPECT_EQ(MovedRange(std::nullopt, 3)->hi,
            std::numeric_limits<int64_t>::max());
  EXPECT_FALSE(MovedRange(std::nullopt, std::nullopt).has_value());
}

TEST(DiffStats, ReportsMovedMeasures) {
  SegmentConfig c;
  PopulationStats a, b;
  a.vip_order_cutoff = 6;
  b.vip_order_cutoff = 8;
  a.high_value_cutoff = 100;
  b.high_value_cutoff = 100;
  a.medium_value_cutoff = 10;
  b.medium_value_cutoff = 20;
  a.windows = {{180, 100, 1}, {365, 100, 1}};
  b.windows = {{180, 100, 1}, {365, 300, 2}};
  StatsChange d = DiffStats(a, b, c);
  EXPECT_EQ(d.lifetime_orders, (std::vector<MeasureRange>{{6, 8}}));
  EXPECT_EQ(d.lifetime_revenue, (std::vector<MeasureRange>{{10, 20}}));
  EXPECT_EQ(d.changed_aov_lookback_days, (std::vector<int32_t>{365}));
}

TEST(Stats, MergedBuildersGiveOneBuildersAnswer) {
  // Buyers with 1-12 orders in and out of both spender lookbacks, split
  // between two builders in every way round, merged into either side.
  std::vector<Profile> ps;
  for (int i = 0; i < 40; ++i) ps.push_back(Buyer(1 + i % 12, 100 + 37 * i, i * 9.5));
  ps.push_back(Profile());
  SegmentConfig c;
  c.big_spender.lookback_days = 90;
  c.low_spender.lookback_days = 30;
  const absl::Time at = Day(400);
  const PopulationStats want = StatsOf(ps, c, at);
  ASSERT_EQ(want.windows.size(), 2u);
  for (size_t split = 0; split <= ps.size(); split += 5) {
    StatsBuilder a(c, at), b(c, at);
    for (size_t i = 0; i < ps.size(); ++i) (i < split ? a : b).Add(ps[i].view());
    StatsBuilder b_copy = b;
    a.Merge(b);
    EXPECT_EQ(a.Build(), want) << "split " << split;
    StatsBuilder a_again(c, at);
    for (size_t i = 0; i < split; ++i) a_again.Add(ps[i].view());
    b_copy.Merge(a_again);
    EXPECT_EQ(b_copy.Build(), want) << "split " << split << ", other way";
  }
}

}  // namespace
}  // namespace segmentd::engine

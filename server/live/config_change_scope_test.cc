#include "server/live/config_change_scope.h"

#include <gtest/gtest.h>

namespace segmentd {
namespace {

using Kind = ConfigChangeScope::Kind;

TEST(ConfigChangeScopeTest, DisplayNamesMoveNobody) {
  engine::SegmentConfig before, after;
  after.frequent_buyer.display_name = "Regulars";
  after.value_tiers.display_name = "Tiers";
  EXPECT_EQ(ScopeOfConfigChange(before, after).kind, Kind::kNobody);
  EXPECT_EQ(ScopeOfConfigChange(before, before).kind, Kind::kNobody);
}

TEST(ConfigChangeScopeTest, OrderCountRulesBoundByTheSmallerMinimum) {
  engine::SegmentConfig before, after;
  after.frequent_buyer.min_orders = 6;  // 5 -> 6
  ConfigChangeScope scope = ScopeOfConfigChange(before, after);
  EXPECT_EQ(scope.kind, Kind::kBuyers);
  EXPECT_EQ(scope.min_lifetime_orders, 5);
  EXPECT_EQ(ScopeOfConfigChange(after, before).min_lifetime_orders, 5);
  // A window change of the same rule: its minimum still bounds it.
  after = before;
  after.frequent_buyer.window_days = 90;
  EXPECT_EQ(ScopeOfConfigChange(before, after).min_lifetime_orders, 5);
  // Two blocks: the wider bound wins.
  after.repeat_customer.min_orders = 3;  // default 2
  EXPECT_EQ(ScopeOfConfigChange(before, after).min_lifetime_orders, 2);
  after.lapsed.inactive_days = 30;
  EXPECT_EQ(ScopeOfConfigChange(before, after).min_lifetime_orders, 1);
  EXPECT_EQ(ScopeOfConfigChange(before, after).kind, Kind::kBuyers);
}

TEST(ConfigChangeScopeTest, WindowedCountRulesNameTheStoredSegmentsHoldingEveryoneTheyMove) {
  using engine::Segment;
  engine::SegmentConfig before, after;
  // Defaults: FREQUENT_BUYER 5 in 30 days, RETURNING_CUSTOMER 2 in 60,
  // LOYAL_CUSTOMER 5 lifetime with an order in 90.
  after.frequent_buyer.min_orders = 6;  // Tightened: its own members too.
  EXPECT_EQ(ScopeOfConfigChange(before, after).member_supersets,
            (std::vector<Segment>{Segment::kFrequentBuyer, Segment::kReturningCustomer,
                                  Segment::kLoyalCustomer}));
  // Loosened (6 -> 5): the old members are not enough.
  EXPECT_EQ(ScopeOfConfigChange(after, before).member_supersets,
            (std::vector<Segment>{Segment::kReturningCustomer, Segment::kLoyalCustomer}));
  // A window wider than RETURNING_CUSTOMER's (60) but within LOYAL's (90).
  after = before;
  after.frequent_buyer.window_days = 75;
  EXPECT_EQ(ScopeOfConfigChange(before, after).member_supersets,
            (std::vector<Segment>{Segment::kLoyalCustomer}));
  // Down to 1 order: no segment holds every buyer with a recent order.
  after.frequent_buyer.min_orders = 1;
  EXPECT_TRUE(ScopeOfConfigChange(before, after).member_supersets.empty());
  // A disabled segment's stored set is empty: never a superset.
  engine::SegmentConfig without_loyal = before;
  without_loyal.loyal_customer.enabled = false;
  after = without_loyal;
  after.frequent_buyer.min_orders = 4;
  EXPECT_EQ(ScopeOfConfigChange(without_loyal, after).member_supersets,
            (std::vector<Segment>{Segment::kReturningCustomer}));
  // RETURNING_CUSTOMER changed (2 -> 3 in 60 days): only its own old members.
  after = before;
  after.returning_customer.min_orders = 3;
  EXPECT_EQ(ScopeOfConfigChange(before, after).member_supersets,
            (std::vector<Segment>{Segment::kReturningCustomer}));
  // Another changed block that is no windowed count: no superset.
  after = before;
  after.frequent_buyer.min_orders = 6;
  after.repeat_customer.min_orders = 3;
  EXPECT_TRUE(ScopeOfConfigChange(before, after).member_supersets.empty());
  EXPECT_TRUE(ScopeOfConfigChange(before, after).aov_index_supersets.empty());
}

// Windowed count rules move only customers with an order within their
// longest window: each AOV index in use before the change whose lookback
// covers it (defaults: BIG_SPENDER 365 days, LOW_SPENDER 180, both relative
// to the store AOV) holds them all.
TEST(ConfigChangeScopeTest, WindowedCountRulesNameTheAovIndexesCoveringTheirWindows) {
  using Indexes = std::vector<store::AovIndex>;
  const Indexes both = {store::AovIndex::kBigSpender, store::AovIndex::kLowSpender};
  engine::SegmentConfig before, after;
  after.returning_customer.min_orders = 3;  // 2 -> 3 in 60 days
  EXPECT_EQ(ScopeOfConfigChange(before, after).aov_index_supersets, both);
  EXPECT_EQ(ScopeOfConfigChange(after, before).aov_index_supersets, both);
  after = before;
  after.frequent_buyer.window_days = 200;  // longer than LOW_SPENDER's 180
  EXPECT_EQ(ScopeOfConfigChange(before, after).aov_index_supersets,
            Indexes{store::AovIndex::kBigSpender});
  EXPECT_EQ(ScopeOfConfigChange(after, before).aov_index_supersets,
            Indexes{store::AovIndex::kBigSpender});
  // The lookback that counts is the one before the change; an index not in
  // use (an absolute threshold, a disabled rule) may be stale.
  auto raising_returning_from = [](const engine::SegmentConfig& from) {
    engine::SegmentConfig to = from;
    to.returning_customer.min_orders = 3;
    return ScopeOfConfigChange(from, to).aov_index_supersets;
  };
  engine::SegmentConfig short_low = before;
  short_low.low_spender.lookback_days = 30;
  EXPECT_EQ(raising_returning_from(short_low), Indexes{store::AovIndex::kBigSpender});
  engine::SegmentConfig absolute = before;
  absolute.big_spender.threshold_store_aov_multiple.reset();
  absolute.big_spender.threshold_amount = 10000;
  EXPECT_EQ(raising_returning_from(absolute), Indexes{store::AovIndex::kLowSpender});
  engine::SegmentConfig low_off = before;
  low_off.low_spender.enabled = false;
  EXPECT_EQ(raising_returning_from(low_off), Indexes{store::AovIndex::kBigSpender});
  // Lifetime count rules reach customers without a recent order: none.
  after = before;
  after.lost_loyalty.min_orders = 4;
  EXPECT_TRUE(ScopeOfConfigChange(before, after).aov_index_supersets.empty());
}

// Rules over orders within a window, and the days alone of inactivity rules
// on under both configs, move only customers with an order within the
// longest of the days involved: the AOV indexes in use covering those days.
TEST(ConfigChangeScopeTest, RecentOrderRulesNameTheAovIndexesCoveringTheirDays) {
  using Indexes = std::vector<store::AovIndex>;
  const Indexes both = {store::AovIndex::kBigSpender, store::AovIndex::kLowSpender};
  const Indexes big = {store::AovIndex::kBigSpender};
  const engine::SegmentConfig before;  // BIG_SPENDER 365 days, LOW_SPENDER 180, relative
  auto indexes = [&](void (*change)(engine::SegmentConfig&)) {
    engine::SegmentConfig after = before;
    change(after);
    EXPECT_EQ(ScopeOfConfigChange(before, after).kind, Kind::kBuyers);
    return ScopeOfConfigChange(before, after).aov_index_supersets;
  };
  EXPECT_EQ(indexes([](auto& c) { c.new_customer.window_days = 60; }), both);
  EXPECT_EQ(indexes([](auto& c) { c.new_customer.enabled = false; }), both);
  EXPECT_EQ(indexes([](auto& c) { c.loyal_customer.active_days = 200; }), big);
  EXPECT_EQ(indexes([](auto& c) { c.loyal_customer.enabled = false; }), both);
  EXPECT_EQ(indexes([](auto& c) { c.category_affinity.min_orders = 3; }), big);
  EXPECT_EQ(indexes([](auto& c) { c.lapsed.inactive_days = 30; }), both);
  EXPECT_EQ(indexes([](auto& c) { c.one_time_wonder.inactive_days = 170; }), both);
  EXPECT_EQ(indexes([](auto& c) { c.lost_loyalty.inactive_days = 181; }), big);
  EXPECT_EQ(indexes([](auto& c) { c.lost_customer.inactive_days = 400; }), Indexes{});
  // Switched on or off, an inactivity rule moves its members of any age; a
  // count bound changed with the days, customers without a recent order.
  EXPECT_EQ(indexes([](auto& c) { c.lapsed.enabled = false; }), Indexes{});
  EXPECT_EQ(indexes([](auto& c) { c.one_time_wonder.enabled = false; }), Indexes{});
  EXPECT_EQ(indexes([](auto& c) {
              c.lost_customer.inactive_days = 30;
              c.lost_customer.max_orders = 5;
            }),
            Indexes{});
  // With a rule not bounded so: none. The longest days of all bound it.
  EXPECT_EQ(indexes([](auto& c) {
              c.lapsed.inactive_days = 30;
              c.first_time_buyer.enabled = false;
            }),
            Indexes{});
  EXPECT_EQ(indexes([](auto& c) {
              c.lapsed.inactive_days = 30;
              c.new_customer.window_days = 200;
            }),
            big);
  // A spender rule: any change, over its lookbacks old and new and its
  // index's (the default lookback when the threshold is absolute).
  EXPECT_EQ(indexes([](auto& c) { c.big_spender.threshold_store_aov_multiple = 3.0; }), big);
  EXPECT_EQ(indexes([](auto& c) { c.low_spender.threshold_store_aov_multiple = 0.5; }), both);
  EXPECT_EQ(indexes([](auto& c) { c.low_spender.lookback_days = 90; }), both);
  EXPECT_EQ(indexes([](auto& c) { c.low_spender.lookback_days = 200; }), big);
  EXPECT_EQ(indexes([](auto& c) {
              c.low_spender.threshold_store_aov_multiple.reset();
              c.low_spender.threshold_amount = 2000;
            }),
            both);
  // An index coming into use must be exact at once: an index covering its
  // lookback holds everyone it can move only while no rechecks are pending.
  // Back to the defaults from LOW_SPENDER absolute, or off:
  auto back_from = [&](void (*change)(engine::SegmentConfig&)) {
    engine::SegmentConfig from = before;
    change(from);
    const ConfigChangeScope scope = ScopeOfConfigChange(from, before);
    EXPECT_TRUE(scope.aov_index_supersets_need_no_rechecks);
    return scope.aov_index_supersets;
  };
  EXPECT_EQ(back_from([](auto& c) {
              c.low_spender.threshold_store_aov_multiple.reset();
              c.low_spender.threshold_amount = 2000;
            }),
            big);
  EXPECT_EQ(back_from([](auto& c) { c.low_spender.enabled = false; }), big);
  engine::SegmentConfig low_off = before;
  low_off.low_spender.enabled = false;
  EXPECT_FALSE(ScopeOfConfigChange(before, low_off).aov_index_supersets_need_no_rechecks);
  // An index not in use before the change is no superset for sure, but one
  // under conditions the caller checks, when its lookback there covers the
  // days: LOW_SPENDER's (off, 180 days) for a shorter LAPSED, or for the
  // way back from GROCERY; BIG_SPENDER's (absolute: the default 365 days)
  // for the way back from FAST_FOOD, where no index in use covers 365 days.
  const Indexes low = {store::AovIndex::kLowSpender};
  engine::SegmentConfig lapsed_shorter = low_off;
  lapsed_shorter.lapsed.inactive_days = 30;
  EXPECT_EQ(ScopeOfConfigChange(low_off, lapsed_shorter).aov_index_supersets, big);
  EXPECT_EQ(ScopeOfConfigChange(low_off, lapsed_shorter).unused_aov_index_supersets, low);
  EXPECT_EQ(ScopeOfConfigChange(before, lapsed_shorter).unused_aov_index_supersets, Indexes{});
  const engine::SegmentConfig grocery = engine::PresetConfig(engine::Preset::kGrocery);
  EXPECT_EQ(ScopeOfConfigChange(grocery, before).aov_index_supersets, big);
  EXPECT_EQ(ScopeOfConfigChange(grocery, before).unused_aov_index_supersets, low);
  const engine::SegmentConfig fast_food = engine::PresetConfig(engine::Preset::kFastFood);
  EXPECT_EQ(ScopeOfConfigChange(fast_food, before).aov_index_supersets, Indexes{});
  EXPECT_EQ(ScopeOfConfigChange(fast_food, before).unused_aov_index_supersets, big);
  EXPECT_EQ(ScopeOfConfigChange(before, fast_food).unused_aov_index_supersets, Indexes{});
}

// Rules over customers with few lifetime orders (ONE_TIME_WONDER and
// FIRST_TIME_BUYER: exactly 1; LOST_CUSTOMER and REPEAT_CUSTOMER: at most
// their max_orders, old or new) bound a change from above too, unless
// another changed block does not.
TEST(ConfigChangeScopeTest, FewOrderRulesBoundTheLifetimeOrdersFromAbove) {
  const engine::SegmentConfig before;
  auto range = [&](void (*change)(engine::SegmentConfig&)) {
    engine::SegmentConfig after = before;
    change(after);
    const ConfigChangeScope scope = ScopeOfConfigChange(before, after);
    EXPECT_EQ(scope.kind, Kind::kBuyers);
    return std::make_pair(scope.min_lifetime_orders, scope.max_lifetime_orders);
  };
  constexpr int64_t kNone = std::numeric_limits<int64_t>::max();
  EXPECT_EQ(range([](auto& c) { c.one_time_wonder.inactive_days = 90; }), std::make_pair(1L, 1L));
  EXPECT_EQ(range([](auto& c) { c.first_time_buyer.enabled = false; }), std::make_pair(1L, 1L));
  EXPECT_EQ(range([](auto& c) {
              c.lost_customer.inactive_days = 120;
              c.lost_customer.max_orders = 6;
            }),
            std::make_pair(int64_t{before.lost_customer.min_orders}, 6L));
  EXPECT_EQ(range([](auto& c) { c.repeat_customer.max_orders = 3; }),
            std::make_pair(int64_t{before.repeat_customer.min_orders},
                           int64_t{before.repeat_customer.max_orders}));
  EXPECT_EQ(range([](auto& c) {
              c.one_time_wonder.inactive_days = 90;
              c.lost_customer.inactive_days = 120;
            }),
            std::make_pair(1L, int64_t{before.lost_customer.max_orders}));
  EXPECT_EQ(range([](auto& c) {
              c.one_time_wonder.inactive_days = 90;
              c.lapsed.inactive_days = 30;
            }),
            std::make_pair(1L, kNone));
  EXPECT_EQ(range([](auto& c) { c.frequent_buyer.min_orders = 6; }), std::make_pair(5L, kNone));
  // Not a buyers' bound: none either way.
  engine::SegmentConfig after = before;
  after.engagement.enabled = !after.engagement.enabled;
  EXPECT_EQ(ScopeOfConfigChange(before, after).max_lifetime_orders, kNone);
}

TEST(ConfigChangeScopeTest, PercentileRulesAloneAreBoundByTheirCutoffs) {
  const engine::SegmentConfig before;
  engine::SegmentConfig after = before;
  after.vip.top_percent = 5;
  after.value_tiers.high_percent = 10;
  after.value_tiers.medium_percent = 60;
  ConfigChangeScope scope = ScopeOfConfigChange(before, after);
  EXPECT_EQ(scope.kind, Kind::kBuyers);
  EXPECT_TRUE(scope.cutoffs_only);
  after.vip.min_orders = 4;
  EXPECT_TRUE(ScopeOfConfigChange(before, after).cutoffs_only);
  // Switched on or off: everyone past the cut-off moves.
  engine::SegmentConfig toggled = before;
  toggled.vip.enabled = false;
  EXPECT_FALSE(ScopeOfConfigChange(before, toggled).cutoffs_only);
  EXPECT_FALSE(ScopeOfConfigChange(toggled, before).cutoffs_only);
  toggled = before;
  toggled.value_tiers.enabled = false;
  EXPECT_FALSE(ScopeOfConfigChange(before, toggled).cutoffs_only);
  // Changed while off (on neither side): nobody can move by it, but it is
  // not bounded by cut-offs either.
  engine::SegmentConfig off_before = before, off_after = before;
  off_before.vip.enabled = off_after.vip.enabled = false;
  off_after.vip.top_percent = 5;
  EXPECT_FALSE(ScopeOfConfigChange(off_before, off_after).cutoffs_only);
  // With another rule: that rule's bound.
  after.frequent_buyer.min_orders = 7;
  EXPECT_FALSE(ScopeOfConfigChange(before, after).cutoffs_only);
  EXPECT_FALSE(ScopeOfConfigChange(before, before).cutoffs_only);
}

TEST(ConfigChangeScopeTest, LifetimeCountBoundsAloneAreBoundByTheCountsBetween) {
  const engine::SegmentConfig before;  // LOYAL >= 5, LOST_CUSTOMER and REPEAT 2..4
  engine::SegmentConfig after = before;
  after.loyal_customer.min_orders = 7;     // 5, 6 move
  after.repeat_customer.max_orders = 6;    // 5, 6 move
  after.lost_customer.min_orders = 1;      // 1 moves
  ConfigChangeScope scope = ScopeOfConfigChange(before, after);
  EXPECT_TRUE(scope.cutoffs_only);
  using Range = engine::MeasureRange;
  EXPECT_EQ(scope.lifetime_order_ranges,
            (std::vector<Range>{Range{5, 7}, Range{1, 2}, Range{5, 7}}));
  // Anything else in those blocks (a window, enabled) is not bounded so.
  engine::SegmentConfig window = before;
  window.lost_loyalty.inactive_days += 1;
  EXPECT_FALSE(ScopeOfConfigChange(before, window).cutoffs_only);
  EXPECT_TRUE(ScopeOfConfigChange(before, window).lifetime_order_ranges.empty());
  engine::SegmentConfig off = before;
  off.repeat_customer.enabled = false;
  EXPECT_FALSE(ScopeOfConfigChange(before, off).cutoffs_only);
  // Together with a percentile rule: both bounds.
  after.vip.top_percent = 5;
  EXPECT_TRUE(ScopeOfConfigChange(before, after).cutoffs_only);
}

TEST(ConfigChangeScopeTest, RulesOfNonBuyersAndThePriorityMoveEveryone) {
  engine::SegmentConfig before;
  for (auto change : std::vector<void (*)(engine::SegmentConfig&)>{
           [](engine::SegmentConfig& c) { c.new_download.max_days = 7; },
           [](engine::SegmentConfig& c) { c.window_shopper.enabled = false; },
           [](engine::SegmentConfig& c) { c.engagement.min_messages = 5; },
           [](engine::SegmentConfig& c) { c.abandoned_cart.window_days = 3; },
           [](engine::SegmentConfig& c) { c.primary_priority = {"LAPSED"}; },
       }) {
    engine::SegmentConfig after = before;
    change(after);
    EXPECT_EQ(ScopeOfConfigChange(before, after).kind, Kind::kEveryone);
  }
  // A shorter NEW_DOWNLOAD alone moves only its members; a longer one, one
  // switched off, or one with another change, everyone (plainly).
  engine::SegmentConfig shorter = before;
  shorter.new_download.max_days = 7;
  shorter.new_download.display_name = "New";
  EXPECT_EQ(ScopeOfConfigChange(before, shorter).member_supersets,
            std::vector<engine::Segment>{engine::Segment::kNewDownload});
  EXPECT_TRUE(ScopeOfConfigChange(shorter, before).member_supersets.empty());
  engine::SegmentConfig off = before;
  off.new_download.enabled = false;
  EXPECT_TRUE(ScopeOfConfigChange(before, off).member_supersets.empty());
  engine::SegmentConfig more = shorter;
  more.window_shopper.min_days = 20;
  EXPECT_EQ(ScopeOfConfigChange(before, more).kind, Kind::kEveryone);
  EXPECT_TRUE(ScopeOfConfigChange(before, more).member_supersets.empty());
  // Any other change of NEW_DOWNLOAD and WINDOW_SHOPPER alone moves only
  // registered non-buyers; with another rule's change, everyone (plainly).
  EXPECT_TRUE(ScopeOfConfigChange(before, more).registration_index_superset);
  EXPECT_TRUE(ScopeOfConfigChange(shorter, before).registration_index_superset);
  EXPECT_TRUE(ScopeOfConfigChange(before, off).registration_index_superset);
  EXPECT_FALSE(ScopeOfConfigChange(before, shorter).registration_index_superset);
  engine::SegmentConfig shopper_on = before;
  shopper_on.window_shopper.enabled = false;
  EXPECT_TRUE(ScopeOfConfigChange(shopper_on, before).registration_index_superset);
  engine::SegmentConfig and_lapsed = more;
  and_lapsed.lapsed.inactive_days = 10;
  EXPECT_EQ(ScopeOfConfigChange(before, and_lapsed).kind, Kind::kEveryone);
  EXPECT_FALSE(ScopeOfConfigChange(before, and_lapsed).registration_index_superset);
  engine::SegmentConfig and_priority = more;
  and_priority.primary_priority = {"LAPSED"};
  EXPECT_FALSE(ScopeOfConfigChange(before, and_priority).registration_index_superset);
  // Bounded by the larger of the changed rules' days, unless
  // WINDOW_SHOPPER is switched on or off (then its members of any age move).
  EXPECT_EQ(ScopeOfConfigChange(shorter, before).registered_within_days, 14);  // 7 -> 14
  EXPECT_EQ(ScopeOfConfigChange(before, more).registered_within_days, 30);    // and WS 30 -> 20
  EXPECT_EQ(ScopeOfConfigChange(before, off).registered_within_days, 14);
  EXPECT_EQ(ScopeOfConfigChange(shopper_on, before).registered_within_days, std::nullopt);
  engine::SegmentConfig longer_shopper = before;
  longer_shopper.window_shopper.min_days = 90;
  EXPECT_EQ(ScopeOfConfigChange(before, longer_shopper).registered_within_days, 90);
  engine::SegmentConfig renamed = before;
  renamed.window_shopper.display_name = "Browsers";
  EXPECT_EQ(ScopeOfConfigChange(before, renamed).kind, Kind::kNobody);
  // A shorter relative spender lookback moves only customers with an order
  // within the old lookback: that rule's AOV index (and any other covering
  // it); a longer one, only customers within the new one, which the index
  // does not cover; an absolute rule's index, not in use, none.
  engine::SegmentConfig big = before;
  big.big_spender.lookback_days = 300;
  using Indexes = std::vector<store::AovIndex>;
  EXPECT_EQ(ScopeOfConfigChange(before, big).aov_index_supersets,
            Indexes{store::AovIndex::kBigSpender});
  EXPECT_TRUE(ScopeOfConfigChange(big, before).aov_index_supersets.empty());
  engine::SegmentConfig low = before;
  low.low_spender.lookback_days = 30;
  EXPECT_EQ(ScopeOfConfigChange(before, low).aov_index_supersets,
            (Indexes{store::AovIndex::kBigSpender, store::AovIndex::kLowSpender}));
  engine::SegmentConfig absolute = before;
  absolute.big_spender.threshold_store_aov_multiple.reset();
  absolute.big_spender.threshold_amount = 10000;
  engine::SegmentConfig absolute_shorter = absolute;
  absolute_shorter.big_spender.lookback_days = 300;
  EXPECT_TRUE(ScopeOfConfigChange(absolute, absolute_shorter).aov_index_supersets.empty());
  // The default priority spelled out is no change.
  engine::SegmentConfig spelled = before;
  for (engine::Segment s : engine::DefaultPrimaryPriority()) {
    spelled.primary_priority.emplace_back(engine::SegmentName(s));
  }
  EXPECT_EQ(ScopeOfConfigChange(before, spelled).kind, Kind::kNobody);
}

}  // namespace
}  // namespace segmentd

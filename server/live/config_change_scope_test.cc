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
  // The default priority spelled out is no change.
  engine::SegmentConfig spelled = before;
  for (engine::Segment s : engine::DefaultPrimaryPriority()) {
    spelled.primary_priority.emplace_back(engine::SegmentName(s));
  }
  EXPECT_EQ(ScopeOfConfigChange(before, spelled).kind, Kind::kNobody);
}

}  // namespace
}  // namespace segmentd

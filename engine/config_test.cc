#include "engine/config.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <vector>

namespace segmentd::engine {
namespace {

std::vector<std::string> Fields(const SegmentConfig& c) {
  std::vector<std::string> out;
  for (const FieldViolation& v : FindViolations(c)) out.push_back(v.field);
  return out;
}

TEST(Config, DefaultsAndPresetsAreValid) {
  EXPECT_TRUE(ValidateConfig(SegmentConfig{}).ok());
  for (Preset p : {Preset::kFastFood, Preset::kFashion, Preset::kGrocery,
                   Preset::kElectronics}) {
    EXPECT_TRUE(ValidateConfig(PresetConfig(p)).ok()) << PresetName(p);
    EXPECT_EQ(PresetFromName(PresetName(p)), p);
  }
}

TEST(Config, PresetsMatchTheGuide) {
  const SegmentConfig f = PresetConfig(Preset::kFastFood);
  EXPECT_EQ(f.frequent_buyer.min_orders, 8);
  EXPECT_EQ(f.frequent_buyer.window_days, 30);
  EXPECT_EQ(f.big_spender.threshold_amount, 15000);
  EXPECT_FALSE(f.big_spender.threshold_store_aov_multiple.has_value());
  EXPECT_EQ(f.big_spender.lookback_days, 180);
  const SegmentConfig fa = PresetConfig(Preset::kFashion);
  EXPECT_EQ(fa.frequent_buyer.min_orders, 4);
  EXPECT_EQ(fa.frequent_buyer.window_days, 90);
  EXPECT_EQ(fa.big_spender.threshold_amount, 60000);
  EXPECT_EQ(fa.big_spender.lookback_days, 365);
  const SegmentConfig g = PresetConfig(Preset::kGrocery);
  EXPECT_EQ(g.frequent_buyer.min_orders, 6);
  EXPECT_EQ(g.frequent_buyer.window_days, 45);
  EXPECT_EQ(g.low_spender.threshold_amount, 10000);
  EXPECT_EQ(g.low_spender.lookback_days, 180);
  EXPECT_EQ(g.big_spender.threshold_store_aov_multiple, 2.0);  // default kept
  const SegmentConfig e = PresetConfig(Preset::kElectronics);
  EXPECT_EQ(e.frequent_buyer.min_orders, 3);
  EXPECT_EQ(e.frequent_buyer.window_days, 120);
  EXPECT_EQ(e.big_spender.threshold_amount, 150000);
  EXPECT_EQ(e.big_spender.lookback_days, 365);
}

struct Case {
  std::string field;
  std::function<void(SegmentConfig&)> mutate;
};

TEST(Config, EveryFieldIsRangeChecked) {
  const std::vector<Case> cases = {
      {"frequent_buyer.min_orders", [](auto& c) { c.frequent_buyer.min_orders = 0; }},
      {"frequent_buyer.min_orders", [](auto& c) { c.frequent_buyer.min_orders = 1001; }},
      {"frequent_buyer.window_days", [](auto& c) { c.frequent_buyer.window_days = 3651; }},
      {"frequent_buyer.display_name",
       [](auto& c) { c.frequent_buyer.display_name = std::string(65, 'x'); }},
      {"frequent_buyer.display_name", [](auto& c) { c.frequent_buyer.display_name = "\xff"; }},
      {"new_download.max_days", [](auto& c) { c.new_download.max_days = 366; }},
      {"window_shopper.min_days", [](auto& c) { c.window_shopper.min_days = 0; }},
      {"new_customer.window_days", [](auto& c) { c.new_customer.window_days = 366; }},
      {"returning_customer.min_orders", [](auto& c) { c.returning_customer.min_orders = 1; }},
      {"returning_customer.window_days", [](auto& c) { c.returning_customer.window_days = 0; }},
      {"loyal_customer.min_orders", [](auto& c) { c.loyal_customer.min_orders = 1; }},
      {"loyal_customer.active_days", [](auto& c) { c.loyal_customer.active_days = 0; }},
      {"lost_loyalty.min_orders", [](auto& c) { c.lost_loyalty.min_orders = 1001; }},
      {"lost_loyalty.inactive_days", [](auto& c) { c.lost_loyalty.inactive_days = 0; }},
      {"one_time_wonder.inactive_days", [](auto& c) { c.one_time_wonder.inactive_days = 0; }},
      {"big_spender.lookback_days", [](auto& c) { c.big_spender.lookback_days = 0; }},
      {"big_spender.threshold_store_aov_multiple",
       [](auto& c) { c.big_spender.threshold_store_aov_multiple = 0.99; }},
      {"big_spender.threshold_amount", [](auto& c) { c.big_spender.threshold_amount = 5; }},
      {"big_spender.threshold_amount",
       [](auto& c) { c.big_spender.threshold_store_aov_multiple.reset(); }},
      {"big_spender.threshold_amount",
       [](auto& c) {
         c.big_spender.threshold_store_aov_multiple.reset();
         c.big_spender.threshold_amount = 0;
       }},
      {"low_spender.lookback_days", [](auto& c) { c.low_spender.lookback_days = 3651; }},
      {"low_spender.threshold_store_aov_multiple",
       [](auto& c) { c.low_spender.threshold_store_aov_multiple = 1.5; }},
      {"low_spender.threshold_store_aov_multiple",
       [](auto& c) { c.low_spender.threshold_store_aov_multiple = std::nan(""); }},
      {"lost_customer.min_orders", [](auto& c) { c.lost_customer.min_orders = 0; }},
      {"lost_customer.max_orders", [](auto& c) { c.lost_customer.max_orders = 1; }},
      {"lost_customer.inactive_days", [](auto& c) { c.lost_customer.inactive_days = 0; }},
      {"repeat_customer.min_orders", [](auto& c) { c.repeat_customer.min_orders = 1; }},
      {"repeat_customer.max_orders", [](auto& c) { c.repeat_customer.max_orders = 1001; }},
      {"vip.top_percent", [](auto& c) { c.vip.top_percent = 51; }},
      {"vip.top_percent", [](auto& c) { c.vip.top_percent = 0; }},
      {"vip.min_orders", [](auto& c) { c.vip.min_orders = 0; }},
      {"lapsed.inactive_days", [](auto& c) { c.lapsed.inactive_days = 0; }},
      {"value_tiers.high_percent",
       [](auto& c) {
         c.value_tiers.high_percent = -1;
         c.value_tiers.medium_percent = 71;
       }},
      {"value_tiers.low_percent", [](auto& c) { c.value_tiers.low_percent = 31; }},
      {"category_affinity.min_orders", [](auto& c) { c.category_affinity.min_orders = 0; }},
      {"category_affinity.lookback_days", [](auto& c) { c.category_affinity.lookback_days = 0; }},
      {"engagement.window_days", [](auto& c) { c.engagement.window_days = 0; }},
      {"engagement.min_messages", [](auto& c) { c.engagement.min_messages = 0; }},
      {"engagement.high_open_rate", [](auto& c) { c.engagement.high_open_rate = 1.5; }},
      {"engagement.high_action_rate", [](auto& c) { c.engagement.high_action_rate = -0.1; }},
      {"engagement.moderate_open_rate", [](auto& c) { c.engagement.moderate_open_rate = 0.6; }},
      {"abandoned_cart.abandon_after_minutes",
       [](auto& c) { c.abandoned_cart.abandon_after_minutes = 0; }},
      {"abandoned_cart.abandon_after_minutes",
       [](auto& c) {
         c.abandoned_cart.window_days = 1;
         c.abandoned_cart.abandon_after_minutes = 1440;
       }},
      {"abandoned_cart.window_days", [](auto& c) { c.abandoned_cart.window_days = 366; }},
      {"primary_priority[1]",
       [](auto& c) {
         c.primary_priority = {"VIP", "NOPE"};
       }},
      {"primary_priority[1]",
       [](auto& c) {
         c.primary_priority = {"VIP", "VIP"};
       }},
  };
  for (const Case& k : cases) {
    SegmentConfig c;
    k.mutate(c);
    const std::vector<std::string> fields = Fields(c);
    EXPECT_NE(std::find(fields.begin(), fields.end(), k.field), fields.end())
        << k.field;
    const absl::Status s = ValidateConfig(c);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << k.field;
    EXPECT_NE(s.message().find(k.field + ": "), absl::string_view::npos)
        << s.message();
  }
}

TEST(Config, NamesEveryOffendingField) {
  SegmentConfig c;
  c.frequent_buyer.min_orders = 0;
  c.vip.top_percent = 60;
  const absl::Status s = ValidateConfig(c);
  EXPECT_EQ(s.message(),
            "frequent_buyer.min_orders: must be in [1, 1000], got 0; "
            "vip.top_percent: must be in [1, 50], got 60");
  EXPECT_EQ(FindViolations(c).size(), 2u);
}

// A multiple just outside its range prints as given, not rounded to the
// range's end (a reviewer saw "got 100" for 100.0000004).
TEST(Config, AnOutOfRangeMultiplePrintsExactly) {
  SegmentConfig c;
  c.big_spender.threshold_amount.reset();
  c.big_spender.threshold_store_aov_multiple = 100.0000004;
  const absl::Status s = ValidateConfig(c);
  EXPECT_NE(std::string(s.message()).find("got 100.0000004"), std::string::npos) << s;
  c.big_spender.threshold_store_aov_multiple = 150.5;
  EXPECT_NE(std::string(ValidateConfig(c).message()).find("got 150.5"), std::string::npos);
}

// Whether each fixed segment's rule is on, as the classifier and
// PutVoucherTarget's warnings read it; the tiers and engagement levels share
// a switch.
TEST(Config, SegmentEnabledFollowsEachSwitch) {
  SegmentConfig c;
  for (int s = 0; s < kNumSegments; ++s) EXPECT_TRUE(SegmentEnabled(c, static_cast<Segment>(s)));
  c.vip.enabled = false;
  c.engagement.enabled = false;
  EXPECT_FALSE(SegmentEnabled(c, Segment::kVip));
  EXPECT_FALSE(SegmentEnabled(c, Segment::kHighlyEngaged));
  EXPECT_FALSE(SegmentEnabled(c, Segment::kDisengaged));
  EXPECT_TRUE(SegmentEnabled(c, Segment::kHighValue));
  EXPECT_TRUE(SegmentEnabled(c, Segment::kLapsed));
}

TEST(Config, BoundaryValuesAreAccepted) {
  SegmentConfig c;
  c.frequent_buyer.min_orders = 1000;
  c.frequent_buyer.window_days = 3650;
  c.vip.top_percent = 50;
  c.value_tiers = {true, "", 0, 100, 0};
  c.low_spender.threshold_store_aov_multiple = 1.0;
  c.big_spender.threshold_store_aov_multiple = 100.0;
  c.frequent_buyer.display_name = std::string(64, 'x');
  c.vip.display_name = "Très VIP ✨";
  EXPECT_TRUE(ValidateConfig(c).ok()) << ValidateConfig(c);
}

TEST(Config, PrimaryPriorityResolution) {
  SegmentConfig c;
  EXPECT_EQ(*ResolvePrimaryPriority(c), DefaultPrimaryPriority());
  c.primary_priority = {"LAPSED", "VIP"};
  const std::vector<Segment> p = *ResolvePrimaryPriority(c);
  ASSERT_EQ(p.size(), static_cast<size_t>(kNumSegments));
  EXPECT_EQ(p[0], Segment::kLapsed);
  EXPECT_EQ(p[1], Segment::kVip);
  EXPECT_EQ(p[2], Segment::kLoyalCustomer);  // then default order
}

TEST(Config, LongestWindow) {
  SegmentConfig c;
  EXPECT_EQ(LongestWindowDays(c), 365);
  c.lapsed.inactive_days = 1000;
  EXPECT_EQ(LongestWindowDays(c), 1000);
}

}  // namespace
}  // namespace segmentd::engine

#include "server/live/stats_in_use.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace segmentd {
namespace {

StatsInUse Example() {
  engine::PopulationStats stats;
  stats.buyers = 1200;
  stats.vip_order_cutoff = 7;
  stats.medium_value_cutoff = -350;  // revenue may be negative after refunds
  stats.windows = {{365, 1'234'567, 890}, {180, -5, 0}};
  engine::SegmentConfig config;  // BIG_SPENDER 2x over 365 days, LOW_SPENDER 0.6x over 180
  config.big_spender.threshold_store_aov_multiple = 1.5;
  return StatsInUseOf(config, stats);
}

TEST(StatsInUseTest, TheSpenderThresholdsAreTheConfigsOverTheStatistics) {
  const StatsInUse used = Example();
  EXPECT_TRUE(used.spenders[0].enabled);
  EXPECT_EQ(used.spenders[0].lookback_days, 365);
  EXPECT_EQ(*used.spenders[0].amount, 1.5 * (1'234'567.0 / 890.0));  // revenue / orders
  EXPECT_EQ(used.spenders[1].lookback_days, 180);
  EXPECT_FALSE(used.spenders[1].amount.has_value());  // no store AOV over 180 days
  engine::SegmentConfig absolute;
  absolute.big_spender.threshold_store_aov_multiple.reset();
  absolute.big_spender.threshold_amount = 60000;
  EXPECT_EQ(*StatsInUseOf(absolute, used.stats).spenders[0].amount, 60000.0);
  // A multiple finer than millionths counts as the rules compare it (the
  // statistics mover picks whom to re-check from this amount).
  engine::SegmentConfig fine;
  fine.big_spender.threshold_store_aov_multiple = 1.0000004;
  EXPECT_EQ(*StatsInUseOf(fine, used.stats).spenders[0].amount, 1'234'567.0 / 890.0);
}

TEST(StatsInUseTest, AnEntryReadsBackAsWritten) {
  const StatsInUse used = Example();
  const std::string field = StatsInUseField("r1", used);
  const StatsInUseEntry entry = ParseStatsInUse(field);
  EXPECT_EQ(entry.replica, "r1");
  ASSERT_TRUE(entry.used.has_value());
  EXPECT_EQ(*entry.used, used);  // doubles round-trip exactly
  EXPECT_FALSE(entry.used->stats.high_value_cutoff.has_value());
  // Equal statistics make the same field: one entry per replica and value.
  EXPECT_EQ(StatsInUseField("r1", used), field);
  EXPECT_EQ(ParseStatsInUse(StatsInUseField("r1", StatsInUse())).used, StatsInUse());
  EXPECT_EQ(StatsInUseValue(absl::FromUnixMillis(1'764'000'000'123)), "1764000000123");
}

// Whatever the statistics part holds, the replica is read: an entry of
// another format is its owner's to handle while it lives.
TEST(StatsInUseTest, AnyOtherFieldNamesItsReplicaButNothingUsed) {
  for (const std::string& field : std::vector<std::string>{
           "r1/1/1 2 3 s1:365:5 s1:180:-",          // a value missing
           "r1/1/1 2 x 4 s1:365:5 s1:180:-",        // not a number
           "r1/1/1 2 3 4 365:1 s1:365:5 s1:180:-",  // a window part missing
           "r1/1/1 2 3 4 s1:365:5",                 // a spender missing
           "r1/1/1 2 3 4 s2:365:5 s1:180:-",        // not a flag
           "r1/2/1 2 3 4 5 6",                      // a later format
           "r1/1 2 3 4",                            // no format
           "r1",                                    // nothing but the replica
       }) {
    const StatsInUseEntry entry = ParseStatsInUse(field);
    EXPECT_EQ(entry.replica, "r1") << field;
    EXPECT_FALSE(entry.used.has_value()) << field;
  }
}

}  // namespace
}  // namespace segmentd

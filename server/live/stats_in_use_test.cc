#include "server/live/stats_in_use.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace segmentd {
namespace {

TEST(StatsInUseTest, AnEntryReadsBackAsWritten) {
  engine::PopulationStats stats;
  stats.buyers = 1200;
  stats.vip_order_cutoff = 7;
  stats.medium_value_cutoff = -350;  // revenue may be negative after refunds
  stats.windows = {{365, 1'234'567, 890}, {180, -5, 0}};
  const std::string field = StatsInUseField("r1", stats);
  const StatsInUseEntry entry = ParseStatsInUse(field);
  EXPECT_EQ(entry.replica, "r1");
  ASSERT_TRUE(entry.stats.has_value());
  EXPECT_EQ(*entry.stats, stats);
  EXPECT_FALSE(entry.stats->high_value_cutoff.has_value());
  // Equal statistics make the same field: one entry per replica and value.
  EXPECT_EQ(StatsInUseField("r1", stats), field);
  EXPECT_EQ(ParseStatsInUse(StatsInUseField("r1", {})).stats, engine::PopulationStats());
  EXPECT_EQ(StatsInUseValue(absl::FromUnixMillis(1'764'000'000'123)), "1764000000123");
}

// Whatever the statistics part holds, the replica is read: an entry of
// another format is its owner's to handle while it lives.
TEST(StatsInUseTest, AnyOtherFieldNamesItsReplicaButNoStatistics) {
  for (const std::string& field : std::vector<std::string>{
           "r1/1/1 2 3",          // a value missing
           "r1/1/1 2 x 4",        // not a number
           "r1/1/1 2 3 4 365:1",  // a window part missing
           "r1/2/1 2 3 4 5 6",    // a later format
           "r1/1 2 3 4",          // no format
           "r1",                  // nothing but the replica
       }) {
    const StatsInUseEntry entry = ParseStatsInUse(field);
    EXPECT_EQ(entry.replica, "r1") << field;
    EXPECT_FALSE(entry.stats.has_value()) << field;
  }
}

}  // namespace
}  // namespace segmentd

#include "server/live/stats_in_use.h"

#include <gtest/gtest.h>

namespace segmentd {
namespace {

TEST(StatsInUseTest, AnEntryReadsBackAsWritten) {
  engine::PopulationStats stats;
  stats.buyers = 1200;
  stats.vip_order_cutoff = 7;
  stats.medium_value_cutoff = -350;  // revenue may be negative after refunds
  stats.windows = {{365, 1'234'567, 890}, {180, -5, 0}};
  const absl::Time at = absl::FromUnixMillis(1'764'000'000'123);
  const std::string field = StatsInUseField("r1", stats);
  absl::StatusOr<StatsInUseEntry> entry = ParseStatsInUse(field, StatsInUseValue(at));
  ASSERT_TRUE(entry.ok()) << entry.status();
  EXPECT_EQ(entry->replica, "r1");
  EXPECT_EQ(entry->stats, stats);
  EXPECT_FALSE(entry->stats.high_value_cutoff.has_value());
  EXPECT_EQ(entry->refreshed, at);
  // Equal statistics make the same field: one entry per replica and value.
  EXPECT_EQ(StatsInUseField("r1", stats), field);
  EXPECT_EQ(ParseStatsInUse(StatsInUseField("r1", {}), "0")->stats, engine::PopulationStats());
}

TEST(StatsInUseTest, AnythingElseIsDataLoss) {
  for (const auto& [field, value] : std::vector<std::pair<std::string, std::string>>{
           {"r1/1 2 3", "0"},          // a value missing
           {"/1 2 3 4", "0"},          // no replica
           {"r1 1 2 3 4", "0"},        // no separator
           {"r1/1 2 x 4", "0"},        // not a number
           {"r1/1 2 3 4 365:1", "0"},  // a window part missing
           {"r1/1 2 3 4", "soon"},     // not a time
       }) {
    EXPECT_EQ(ParseStatsInUse(field, value).status().code(), absl::StatusCode::kDataLoss)
        << field << " = " << value;
  }
}

}  // namespace
}  // namespace segmentd

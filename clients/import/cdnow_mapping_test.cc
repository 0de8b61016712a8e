#include "clients/import/cdnow_mapping.h"

#include <string>
#include <vector>

#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace segmentd::clients {
namespace {

using ::testing::HasSubstr;

absl::Time Day(int y, int m, int d) { return absl::FromCivil(absl::CivilDay(y, m, d), absl::UTCTimeZone()); }

TEST(CdnowMappingTest, MasterFormatWithHeader) {
  CdnowMapping m;
  std::vector<ImportedOrder> out;
  ASSERT_TRUE(m.AddLine(1, " customer_id  date number_of_cds  dollar_value", &out).ok());
  ASSERT_TRUE(m.AddLine(2, " 00001 19970101  1   11.77", &out).ok());
  ASSERT_TRUE(m.AddLine(3, " 00002 19970112  1   12.00", &out).ok());
  ASSERT_TRUE(m.AddLine(4, " 00002 19970112  5   77.00", &out).ok());
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].customer_id, "00001");
  EXPECT_EQ(out[0].order_id, "cdnow-00001-19970101-1");
  EXPECT_EQ(out[0].placed_at, Day(1997, 1, 1));
  EXPECT_EQ(out[0].amount, 1177);
  EXPECT_EQ(out[0].line, 2);
  // Two purchases of one customer on one day are two orders.
  EXPECT_EQ(out[1].order_id, "cdnow-00002-19970112-1");
  EXPECT_EQ(out[2].order_id, "cdnow-00002-19970112-2");
  EXPECT_EQ(out[2].amount, 7700);
  EXPECT_EQ(m.skipped().at("header line"), 1);
}

TEST(CdnowMappingTest, SampleFormatUsesTheOriginalIdAndTheSameOrderIds) {
  CdnowMapping sample, master;
  std::vector<ImportedOrder> a, b;
  ASSERT_TRUE(sample.AddLine(1, " 00004 0001 19970118  2   29.73", &a).ok());
  ASSERT_TRUE(master.AddLine(9, " 00004 19970118  2   29.73", &b).ok());
  ASSERT_EQ(a.size(), 1u);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(a[0].customer_id, "00004");
  EXPECT_EQ(a[0].order_id, b[0].order_id);
  EXPECT_EQ(a[0].placed_at, Day(1997, 1, 18));
}

TEST(CdnowMappingTest, BadRowsEmitNothing) {
  CdnowMapping m;
  std::vector<ImportedOrder> out;
  ASSERT_TRUE(m.AddLine(1, " 00001 19970101  1   11.77", &out).ok());
  EXPECT_THAT(std::string(m.AddLine(2, " 00001 19970101 1", &out).message()), HasSubstr("found 3"));
  EXPECT_THAT(std::string(m.AddLine(3, " 00001 19971301 1 2.00", &out).message()),
              HasSubstr("not a yyyymmdd date"));
  EXPECT_THAT(std::string(m.AddLine(4, " 00001 19970230 1 2.00", &out).message()),
              HasSubstr("not a yyyymmdd date"));
  EXPECT_THAT(std::string(m.AddLine(5, " 00001 19970101 x 2.00", &out).message()),
              HasSubstr("number of CDs"));
  EXPECT_THAT(std::string(m.AddLine(6, " 00001 19970101 1 -2.00", &out).message()),
              HasSubstr("negative"));
  EXPECT_THAT(std::string(m.AddLine(7, " 00001 19970101 1 $2", &out).message()),
              HasSubstr("dollar value"));
  EXPECT_THAT(std::string(m.AddLine(8, " abc 19970101 1 2.00", &out).message()),
              HasSubstr("customer id"));
  EXPECT_EQ(out.size(), 1u);
  // A bad row does not consume an ordinal: the next good row of that day is #2.
  ASSERT_TRUE(m.AddLine(9, " 00001 19970101  1   1.00", &out).ok());
  EXPECT_EQ(out.back().order_id, "cdnow-00001-19970101-2");
}

}  // namespace
}  // namespace segmentd::clients

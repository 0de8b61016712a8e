#include "clients/segctl/progress_bar.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace segmentd::segctl {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(RenderProgressTest, PercentRateAndEta) {
  clients::ImportProgress p;
  p.total_bytes = 1000;
  p.bytes_read = 400;
  p.rows = 27863;
  p.orders_acked = 27000;
  const std::string line = RenderProgress(p, absl::Seconds(2));
  EXPECT_THAT(line, HasSubstr("[########------------]  40%"));
  EXPECT_THAT(line, HasSubstr("27,863 rows"));
  EXPECT_THAT(line, HasSubstr("13,931 rows/s"));
  EXPECT_THAT(line, HasSubstr("ETA 3s"));
  EXPECT_THAT(line, HasSubstr("27,000 orders acknowledged"));
}

TEST(RenderProgressTest, DoneOrUnknownSizeHasNoEta) {
  clients::ImportProgress p;
  p.total_bytes = 10;
  p.bytes_read = 10;
  p.rows = 5;
  EXPECT_THAT(RenderProgress(p, absl::Seconds(1)), HasSubstr("100%"));
  EXPECT_THAT(RenderProgress(p, absl::Seconds(1)), Not(HasSubstr("ETA")));
  p.total_bytes = 0;
  EXPECT_THAT(RenderProgress(p, absl::Seconds(1)), Not(HasSubstr("%")));
}

}  // namespace
}  // namespace segmentd::segctl

#include "server/log_throttle.h"

#include <gtest/gtest.h>

namespace segmentd {
namespace {

TEST(LogThrottleTest, AMessageIsAdmittedOncePerPeriodWithTheCountWithheld) {
  LogThrottle throttle(absl::Minutes(1));
  const absl::Time t0 = absl::FromUnixSeconds(1000);
  EXPECT_EQ(throttle.Admit("corrupt c1", t0), 0);
  EXPECT_EQ(throttle.Admit("corrupt c1", t0 + absl::Seconds(1)), std::nullopt);
  EXPECT_EQ(throttle.Admit("corrupt c1", t0 + absl::Seconds(59)), std::nullopt);
  // Another message is its own.
  EXPECT_EQ(throttle.Admit("corrupt c2", t0 + absl::Seconds(2)), 0);
  EXPECT_EQ(throttle.Admit("corrupt c1", t0 + absl::Seconds(60)), 2);
  EXPECT_EQ(throttle.Admit("corrupt c1", t0 + absl::Seconds(61)), std::nullopt);
  EXPECT_EQ(throttle.Admit("corrupt c1", t0 + absl::Seconds(200)), 1);
}

TEST(LogThrottleTest, PastItsCapacityEveryMessageIsForgotten) {
  LogThrottle throttle(absl::Minutes(1), /*max_messages=*/2);
  const absl::Time t0 = absl::FromUnixSeconds(1000);
  EXPECT_EQ(throttle.Admit("a", t0), 0);
  EXPECT_EQ(throttle.Admit("b", t0), 0);
  EXPECT_EQ(throttle.Admit("c", t0), 0);  // forgets a and b
  EXPECT_EQ(throttle.Admit("a", t0), 0);
  EXPECT_EQ(throttle.Admit("c", t0), std::nullopt);
}

}  // namespace
}  // namespace segmentd

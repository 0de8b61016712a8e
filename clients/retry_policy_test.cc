#include "clients/retry_policy.h"

#include "gtest/gtest.h"

namespace segmentd::clients {
namespace {

TEST(RetryPolicyTest, RetryableCodes) {
  EXPECT_TRUE(IsRetryable(absl::StatusCode::kUnavailable));
  EXPECT_TRUE(IsRetryable(absl::StatusCode::kDeadlineExceeded));
  EXPECT_FALSE(IsRetryable(absl::StatusCode::kInvalidArgument));
  EXPECT_FALSE(IsRetryable(absl::StatusCode::kUnauthenticated));
  EXPECT_FALSE(IsRetryable(absl::StatusCode::kAborted));
}

TEST(RetryPolicyTest, ExponentialCappedWithJitterBounds) {
  RetryPolicy p;
  p.jitter = 0;
  EXPECT_EQ(BackoffAfter(p, 1, 0.5), absl::Milliseconds(100));
  EXPECT_EQ(BackoffAfter(p, 2, 0.5), absl::Milliseconds(200));
  EXPECT_EQ(BackoffAfter(p, 3, 0.5), absl::Milliseconds(400));
  EXPECT_EQ(BackoffAfter(p, 10, 0.5), absl::Seconds(2));
  p.jitter = 0.2;
  EXPECT_EQ(BackoffAfter(p, 1, 0.0), absl::Milliseconds(80));
  EXPECT_EQ(BackoffAfter(p, 1, 0.5), absl::Milliseconds(100));
  EXPECT_LE(BackoffAfter(p, 1, 0.999999), absl::Milliseconds(120));
}

}  // namespace
}  // namespace segmentd::clients

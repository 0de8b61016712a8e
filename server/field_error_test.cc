#include "server/field_error.h"

#include <gtest/gtest.h>

namespace segmentd {
namespace {

TEST(FieldErrorTest, NamesTheFieldInMessageAndPayload) {
  const absl::Status status = FieldError("events[2].order_placed.amount", "must be >= 0");
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "events[2].order_placed.amount: must be >= 0");
  EXPECT_EQ(FieldOf(status), "events[2].order_placed.amount");
}

TEST(FieldErrorTest, OtherStatusesNameNoField) {
  EXPECT_EQ(FieldOf(absl::InvalidArgumentError("x: y")), "");
  EXPECT_EQ(FieldOf(absl::OkStatus()), "");
}

}  // namespace
}  // namespace segmentd

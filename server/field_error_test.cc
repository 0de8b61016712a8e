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

TEST(FieldErrorTest, ScopesAnEngineErrorUnderThePrefixKeepingItsCode) {
  const absl::Status scoped =
      ScopeFieldError(absl::NotFoundError("order_id: unknown order"), "events[4].order_cancelled.");
  EXPECT_EQ(scoped.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(scoped.message(), "events[4].order_cancelled.order_id: unknown order");
  EXPECT_EQ(FieldOf(scoped), "events[4].order_cancelled.order_id");
}

TEST(FieldErrorTest, LeavesOkAndUnfieldedStatusesAlone) {
  EXPECT_TRUE(ScopeFieldError(absl::OkStatus(), "event.").ok());
  for (const absl::Status& s :
       {absl::InternalError("stored profile is corrupt"), absl::UnavailableError("Redis: down"),
        absl::InvalidArgumentError(": no field")}) {
    EXPECT_EQ(ScopeFieldError(s, "event."), s);
    EXPECT_EQ(FieldOf(ScopeFieldError(s, "event.")), "");
  }
}

}  // namespace
}  // namespace segmentd

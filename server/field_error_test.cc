#include "server/field_error.h"

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

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

TEST(FieldErrorTest, ExcerptsAndJoinsStayBounded) {
  EXPECT_EQ(Excerpt("a\nb"), "\"a\\nb\"");
  EXPECT_EQ(Excerpt(std::string(100, 'x')),
            absl::StrCat("\"", std::string(64, 'x'), "...\" (100 bytes)"));
  EXPECT_EQ(JoinErrors({"a: 1", "b: 2"}), "a: 1; b: 2");
  std::vector<std::string> many(25, "e");
  EXPECT_EQ(JoinErrors(many), absl::StrCat(absl::StrJoin(std::vector<std::string>(20, "e"), "; "),
                                           "; ... and 5 more"));
}

}  // namespace
}  // namespace segmentd

#include "server/proto_time.h"

#include <gtest/gtest.h>

namespace segmentd {
namespace {

TEST(ProtoTimeTest, RoundTripsWithNanos) {
  const absl::Time t = absl::FromUnixSeconds(1'700'000'123) + absl::Nanoseconds(456789);
  google::protobuf::Timestamp ts = ToProtoTime(t);
  EXPECT_EQ(ts.seconds(), 1'700'000'123);
  EXPECT_EQ(ts.nanos(), 456789);
  EXPECT_EQ(*FromProtoTime(ts, "x"), t);
}

TEST(ProtoTimeTest, BeforeEpochKeepsNanosPositive) {
  const absl::Time t = absl::FromUnixSeconds(-10) + absl::Milliseconds(250);
  google::protobuf::Timestamp ts = ToProtoTime(t);
  EXPECT_EQ(ts.seconds(), -10);
  EXPECT_EQ(ts.nanos(), 250'000'000);
  EXPECT_EQ(*FromProtoTime(ts, "x"), t);
}

TEST(ProtoTimeTest, OutOfRangeNamesTheField) {
  google::protobuf::Timestamp ts;
  ts.set_seconds(253402300800);
  absl::StatusOr<absl::Time> t = FromProtoTime(ts, "order.placed_at");
  EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(t.status().message().find("order.placed_at"), absl::string_view::npos);
  ts.set_seconds(0);
  ts.set_nanos(-1);
  EXPECT_EQ(FromProtoTime(ts, "x").status().code(), absl::StatusCode::kInvalidArgument);
  ts.set_nanos(1'000'000'000);
  EXPECT_EQ(FromProtoTime(ts, "x").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ProtoTimeTest, RequiredAndDefaulted) {
  google::protobuf::Timestamp ts = ToProtoTime(absl::FromUnixSeconds(42));
  EXPECT_EQ(*RequiredProtoTime(true, ts, "x"), absl::FromUnixSeconds(42));
  absl::StatusOr<absl::Time> missing = RequiredProtoTime(false, ts, "period.start");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(missing.status().message().find("period.start"), absl::string_view::npos);
  EXPECT_EQ(*ProtoTimeOr(false, ts, "as_of", absl::FromUnixSeconds(7)), absl::FromUnixSeconds(7));
  EXPECT_EQ(*ProtoTimeOr(true, ts, "as_of", absl::FromUnixSeconds(7)), absl::FromUnixSeconds(42));
  ts.set_nanos(-1);
  EXPECT_EQ(ProtoTimeOr(true, ts, "as_of", absl::FromUnixSeconds(7)).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace segmentd

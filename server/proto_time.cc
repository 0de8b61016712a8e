#include "server/proto_time.h"

#include "server/field_error.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace segmentd {
namespace {

// The range google.protobuf.Timestamp documents as valid.
constexpr int64_t kMinSeconds = -62135596800;  // 0001-01-01T00:00:00Z
constexpr int64_t kMaxSeconds = 253402300799;  // 9999-12-31T23:59:59Z

}  // namespace

google::protobuf::Timestamp ToProtoTime(absl::Time t) {
  google::protobuf::Timestamp ts;
  const int64_t seconds = absl::ToUnixSeconds(t);
  ts.set_seconds(seconds);
  ts.set_nanos(static_cast<int32_t>((t - absl::FromUnixSeconds(seconds)) / absl::Nanoseconds(1)));
  return ts;
}

absl::StatusOr<absl::Time> FromProtoTime(const google::protobuf::Timestamp& ts,
                                         absl::string_view field) {
  if (ts.seconds() < kMinSeconds || ts.seconds() > kMaxSeconds) {
    return FieldError(field,
                      absl::StrCat("seconds must be within years 0001-9999, got ", ts.seconds()));
  }
  if (ts.nanos() < 0 || ts.nanos() >= 1'000'000'000) {
    return FieldError(field, absl::StrCat("nanos must be in [0, 999999999], got ", ts.nanos()));
  }
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

absl::StatusOr<absl::Time> RequiredProtoTime(bool present, const google::protobuf::Timestamp& ts,
                                             absl::string_view field) {
  if (!present) return FieldError(field, "is required");
  return FromProtoTime(ts, field);
}

absl::StatusOr<absl::Time> ProtoTimeOr(bool present, const google::protobuf::Timestamp& ts,
                                       absl::string_view field, absl::Time fallback) {
  if (!present) return fallback;
  return FromProtoTime(ts, field);
}

}  // namespace segmentd

#ifndef SEGMENTD_SERVER_PROTO_TIME_H_
#define SEGMENTD_SERVER_PROTO_TIME_H_

#include <google/protobuf/timestamp.pb.h>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace segmentd {

// Returns `t` as a google.protobuf.Timestamp.
google::protobuf::Timestamp ToProtoTime(absl::Time t);

// Returns the instant of a Timestamp, or INVALID_ARGUMENT naming `field` when it
// is outside 0001-01-01..9999-12-31 or its nanos are outside [0, 1e9).
absl::StatusOr<absl::Time> FromProtoTime(const google::protobuf::Timestamp& ts,
                                         absl::string_view field);

// Returns the instant of a required Timestamp field (`present`: the message's
// has_<field>()), or INVALID_ARGUMENT naming `field` when absent or invalid.
absl::StatusOr<absl::Time> RequiredProtoTime(bool present, const google::protobuf::Timestamp& ts,
                                             absl::string_view field);

// Returns the instant of an optional Timestamp field, or `fallback` when the
// field is absent (e.g. an `as_of` that defaults to now).
absl::StatusOr<absl::Time> ProtoTimeOr(bool present, const google::protobuf::Timestamp& ts,
                                       absl::string_view field, absl::Time fallback);

}  // namespace segmentd

#endif  // SEGMENTD_SERVER_PROTO_TIME_H_

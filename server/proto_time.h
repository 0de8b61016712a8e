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

}  // namespace segmentd

#endif  // SEGMENTD_SERVER_PROTO_TIME_H_

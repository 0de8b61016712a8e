#ifndef SEGMENTD_SERVER_GRPC_STATUS_H_
#define SEGMENTD_SERVER_GRPC_STATUS_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace segmentd {

// Returns the grpc::Status carrying the same code and message as `status`.
// This is the one place where project errors (absl::Status) cross into gRPC.
grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace segmentd

#endif  // SEGMENTD_SERVER_GRPC_STATUS_H_

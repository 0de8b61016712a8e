// The one place where gRPC statuses become absl::Status in the client.
#ifndef SEGMENTD_CLIENTS_STATUS_H_
#define SEGMENTD_CLIENTS_STATUS_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace segmentd::clients {

// Returns an absl::Status with the same code and message as `status`
// (absl::StatusCode and grpc::StatusCode share the canonical numbering).
absl::Status FromGrpcStatus(const grpc::Status& status);

}  // namespace segmentd::clients

#endif  // SEGMENTD_CLIENTS_STATUS_H_

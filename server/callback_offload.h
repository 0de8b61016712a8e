#ifndef SEGMENTD_SERVER_CALLBACK_OFFLOAD_H_
#define SEGMENTD_SERVER_CALLBACK_OFFLOAD_H_

// Hands a callback method's blocking work (a store read) from gRPC's
// callback thread to a BoundedExecutor: those threads also serve the health
// check and the non-blocking eligibility checks, and a thread waiting on a
// hung Redis would hold them up.

#include <grpcpp/grpcpp.h>

#include <functional>

#include "absl/status/status.h"
#include "server/bounded_executor.h"

namespace segmentd {

// Runs `work` for the call of `context` on `executor`; `work` must finish
// `reactor` once. A call cancelled while it waited (its deadline passed, the
// server shut down) is finished CANCELLED without running `work`; when the
// executor's queue is full, the call is finished at once with `when_full`.
void RunOffCallbackThread(BoundedExecutor& executor, grpc::CallbackServerContext* context,
                          grpc::ServerUnaryReactor* reactor, const absl::Status& when_full,
                          std::function<void()> work);

}  // namespace segmentd

#endif  // SEGMENTD_SERVER_CALLBACK_OFFLOAD_H_

#include "server/callback_offload.h"

#include <utility>

#include "server/grpc_status.h"

namespace segmentd {

void RunOffCallbackThread(BoundedExecutor& executor, grpc::CallbackServerContext* context,
                          grpc::ServerUnaryReactor* reactor, const absl::Status& when_full,
                          std::function<void()> work) {
  const bool queued = executor.TrySchedule([context, reactor, work = std::move(work)] {
    if (context->IsCancelled()) {  // nothing read for a call no one waits for
      reactor->Finish(grpc::Status(grpc::StatusCode::CANCELLED, "cancelled"));
      return;
    }
    work();
  });
  if (!queued) reactor->Finish(ToGrpcStatus(when_full));
}

}  // namespace segmentd

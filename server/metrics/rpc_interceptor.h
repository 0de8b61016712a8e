#ifndef SEGMENTD_SERVER_METRICS_RPC_INTERCEPTOR_H_
#define SEGMENTD_SERVER_METRICS_RPC_INTERCEPTOR_H_

// A gRPC server interceptor factory that records every RPC's duration, method
// and status code in Metrics (segmentd_rpc_duration_seconds): one place for
// every service, health and reflection included, so no handler can forget.
// The duration runs from when gRPC matched the call to a handler until its
// status is sent.

#include <grpcpp/support/server_interceptor.h>

#include "server/metrics/metrics.h"

namespace segmentd {

class RpcMetricsInterceptorFactory : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  // `metrics` must outlive the server.
  explicit RpcMetricsInterceptorFactory(Metrics* metrics) : metrics_(metrics) {}

  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override;

 private:
  Metrics* const metrics_;
};

}  // namespace segmentd

#endif  // SEGMENTD_SERVER_METRICS_RPC_INTERCEPTOR_H_

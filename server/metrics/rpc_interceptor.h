#ifndef SEGMENTD_SERVER_METRICS_RPC_INTERCEPTOR_H_
#define SEGMENTD_SERVER_METRICS_RPC_INTERCEPTOR_H_

// A gRPC server interceptor factory that records every RPC's duration, method
// and status code in Metrics (segmentd_rpc_duration_seconds): one place for
// every service, health and reflection included, so no handler can forget.
// The duration runs from when gRPC matched the call to a handler until its
// status is sent.

#include <grpcpp/support/server_interceptor.h>

#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "server/metrics/metrics.h"

namespace segmentd {

class RpcMetricsInterceptorFactory : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  // `metrics` must outlive the server. `known_methods` are the full names
  // ("/pkg.Service/Method") the server implements; any other path a client
  // asks for is recorded as method "unknown", so that clients cannot make
  // the metrics grow without bound by inventing names.
  RpcMetricsInterceptorFactory(Metrics* metrics,
                               const absl::flat_hash_set<std::string>& known_methods);

  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override;

 private:
  // Each known method's series handle, looked up once per call.
  absl::flat_hash_map<std::string, Metrics::RpcMethodSeries*> methods_;
  Metrics::RpcMethodSeries* unknown_;
};

}  // namespace segmentd

#endif  // SEGMENTD_SERVER_METRICS_RPC_INTERCEPTOR_H_

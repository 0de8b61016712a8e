#ifndef SEGMENTD_SERVER_UNDECODABLE_REQUEST_H_
#define SEGMENTD_SERVER_UNDECODABLE_REQUEST_H_

// A gRPC server interceptor factory that answers a request gRPC could not
// parse (a proto3 string field that is not UTF-8, or bytes that are not the
// method's message) INVALID_ARGUMENT naming the request, instead of what
// gRPC answers by itself before any handler runs: UNIMPLEMENTED with an
// empty message for a callback method (the unary ingest RPCs: a mobile
// backend reads that as "wrong server"), INTERNAL for a sync one.
// Client-streaming methods are left alone: gRPC ends their reads as a
// half-close, so BulkIngest parses its requests itself.

#include <grpcpp/support/server_interceptor.h>

#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"

namespace segmentd {

class UndecodableRequestInterceptorFactory
    : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  // `skipped_methods` (full names, "/pkg.Service/Method") get no
  // interceptor, and gRPC's own answer: for a hot path whose throughput an
  // interceptor on every call would cost (it cost CheckEligibility ~10%,
  // docs/benchmarks.md, thirty-fifth pass).
  explicit UndecodableRequestInterceptorFactory(const std::vector<std::string>& skipped_methods);

  // Null (no interceptor) for client-streaming calls and skipped methods.
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override;

 private:
  const absl::flat_hash_set<std::string> skipped_methods_;
};

}  // namespace segmentd

#endif  // SEGMENTD_SERVER_UNDECODABLE_REQUEST_H_

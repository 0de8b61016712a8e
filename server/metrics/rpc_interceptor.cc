#include "server/metrics/rpc_interceptor.h"

#include "server/steady_clock.h"

namespace segmentd {
namespace {

class RpcMetricsInterceptor : public grpc::experimental::Interceptor {
 public:
  RpcMetricsInterceptor(Metrics* metrics, const char* method)
      : metrics_(metrics), method_(method), start_(SteadyNow()) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_STATUS)) {
      metrics_->ObserveRpc(method_, methods->GetSendStatus().error_code(), SteadyNow() - start_);
    }
    methods->Proceed();
  }

 private:
  Metrics* const metrics_;
  const char* const method_;
  const absl::Duration start_;
};

}  // namespace

grpc::experimental::Interceptor* RpcMetricsInterceptorFactory::CreateServerInterceptor(
    grpc::experimental::ServerRpcInfo* info) {
  const char* method = info->method();
  const bool known = method != nullptr && known_methods_.contains(absl::string_view(method));
  return new RpcMetricsInterceptor(metrics_, known ? method : "unknown");
}

}  // namespace segmentd

#include "server/metrics/rpc_interceptor.h"

#include "server/steady_clock.h"

namespace segmentd {
namespace {

class RpcMetricsInterceptor : public grpc::experimental::Interceptor {
 public:
  explicit RpcMetricsInterceptor(Metrics::RpcMethodSeries* series)
      : series_(series), start_(SteadyNow()) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::PRE_SEND_STATUS)) {
      series_->Observe(methods->GetSendStatus().error_code(), SteadyNow() - start_);
    }
    methods->Proceed();
  }

 private:
  Metrics::RpcMethodSeries* const series_;
  const absl::Duration start_;
};

}  // namespace

RpcMetricsInterceptorFactory::RpcMetricsInterceptorFactory(
    Metrics* metrics, const absl::flat_hash_set<std::string>& known_methods)
    : unknown_(metrics->ForRpcMethod("unknown")) {
  for (const std::string& method : known_methods) methods_[method] = metrics->ForRpcMethod(method);
}

grpc::experimental::Interceptor* RpcMetricsInterceptorFactory::CreateServerInterceptor(
    grpc::experimental::ServerRpcInfo* info) {
  const char* method = info->method();
  auto it = method == nullptr ? methods_.end() : methods_.find(absl::string_view(method));
  return new RpcMetricsInterceptor(it == methods_.end() ? unknown_ : it->second);
}

}  // namespace segmentd

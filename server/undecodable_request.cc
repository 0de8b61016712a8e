#include "server/undecodable_request.h"

namespace segmentd {
namespace {

using grpc::experimental::InterceptionHookPoints;

constexpr char kMessage[] =
    "request: could not be parsed as this method's request message (e.g. a string field "
    "that is not valid UTF-8: ids, names and categories are proto3 strings)";

class UndecodableRequestInterceptor : public grpc::experimental::Interceptor {
 public:
  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    // The request of a unary or server-streaming call is parsed once, before
    // its handler; a failed parse leaves the received message null.
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_MESSAGE) &&
        methods->GetRecvMessage() == nullptr) {
      undecodable_ = true;
    }
    // gRPC answers a failed parse INTERNAL (sync methods) or UNIMPLEMENTED
    // (callback ones); only those are rewritten. Its thread-pool-exhausted
    // handler also hands interceptors a null message, and its
    // RESOURCE_EXHAUSTED must stay what it is (retryable, not a bad request).
    if (undecodable_ &&
        methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      const grpc::StatusCode code = methods->GetSendStatus().error_code();
      if (code == grpc::StatusCode::INTERNAL || code == grpc::StatusCode::UNIMPLEMENTED) {
        methods->ModifySendStatus(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, kMessage));
      }
    }
    methods->Proceed();
  }

 private:
  bool undecodable_ = false;
};

}  // namespace

UndecodableRequestInterceptorFactory::UndecodableRequestInterceptorFactory(
    const std::vector<std::string>& skipped_methods)
    : skipped_methods_(skipped_methods.begin(), skipped_methods.end()) {}

grpc::experimental::Interceptor* UndecodableRequestInterceptorFactory::CreateServerInterceptor(
    grpc::experimental::ServerRpcInfo* info) {
  using Type = grpc::experimental::ServerRpcInfo::Type;
  if (info->type() == Type::CLIENT_STREAMING || info->type() == Type::BIDI_STREAMING) {
    return nullptr;
  }
  if (info->method() != nullptr && skipped_methods_.contains(info->method())) return nullptr;
  return new UndecodableRequestInterceptor();
}

}  // namespace segmentd

#include "server/auth/call_authorizer.h"

#include "absl/strings/str_cat.h"
#include "segmentd/v1/common.pb.h"

namespace segmentd {

v1::Scope RequiredScope(const google::protobuf::MethodDescriptor& method) {
  return method.options().GetExtension(v1::required_scope);
}

CallAuthorizer::CallAuthorizer(Authenticator* authenticator, absl::string_view service_full_name)
    : authenticator_(authenticator),
      serves_operator_(service_full_name == "segmentd.v1.AdminService") {
  const google::protobuf::ServiceDescriptor* service =
      google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(
          std::string(service_full_name));
  if (service == nullptr) return;
  for (int i = 0; i < service->method_count(); ++i) {
    const google::protobuf::MethodDescriptor& method = *service->method(i);
    scopes_[method.name()] = RequiredScope(method);
  }
}

absl::StatusOr<Caller> CallAuthorizer::Authorize(const grpc::ServerContextBase& context,
                                                 absl::string_view method) const {
  return *Authorize(context, method, /*may_read=*/true);
}

std::optional<absl::StatusOr<Caller>> CallAuthorizer::AuthorizeCached(
    const grpc::ServerContextBase& context, absl::string_view method) const {
  return Authorize(context, method, /*may_read=*/false);
}

std::optional<absl::StatusOr<Caller>> CallAuthorizer::Authorize(
    const grpc::ServerContextBase& context, absl::string_view method, bool may_read) const {
  auto scope = scopes_.find(method);
  if (scope == scopes_.end() || scope->second == v1::SCOPE_UNSPECIFIED) {
    // A method without a declared scope is a bug in the API; refuse rather than guess.
    return absl::PermissionDeniedError(absl::StrCat("method ", method, " declares no scope"));
  }
  absl::string_view authorization;
  const auto& metadata = context.client_metadata();
  // Two credentials are ambiguous: which tenant the call acts for would
  // depend on header order, so neither is taken.
  if (metadata.count("authorization") > 1) {
    return absl::UnauthenticatedError(
        "more than one authorization metadata entry: send exactly one `Bearer <API key>`");
  }
  if (auto it = metadata.find("authorization"); it != metadata.end()) {
    authorization = absl::string_view(it->second.data(), it->second.size());
  }
  std::optional<absl::StatusOr<Caller>> caller =
      may_read ? authenticator_->Authorize(authorization, scope->second)
               : authenticator_->AuthorizeCached(authorization, scope->second);
  if (caller.has_value() && caller->ok() && (*caller)->is_operator && !serves_operator_) {
    return absl::PermissionDeniedError(kOperatorHoldsNoTenantData);
  }
  return caller;
}

StreamReauthorizer::StreamReauthorizer(const CallAuthorizer& authorizer,
                                       const grpc::ServerContextBase& context,
                                       absl::string_view method, absl::Duration every)
    : authorizer_(authorizer),
      context_(context),
      method_(method),
      every_(every),
      checked_(absl::Now()) {}

absl::Status StreamReauthorizer::Check() {
  const absl::Time now = absl::Now();
  if (now - checked_ < every_) return absl::OkStatus();
  absl::StatusOr<Caller> caller = authorizer_.Authorize(context_, method_);
  if (!caller.ok()) return caller.status();
  checked_ = now;
  return absl::OkStatus();
}

}  // namespace segmentd

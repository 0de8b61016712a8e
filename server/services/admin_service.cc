#include "server/services/admin_service.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "server/auth/api_key.h"
#include "server/grpc_status.h"
#include "server/proto_time.h"

namespace segmentd {
namespace {

constexpr size_t kMaxNameBytes = 128;

void ToProto(const TenantRecord& record, v1::Tenant* out) {
  out->set_tenant_id(record.tenant_id);
  out->set_display_name(record.display_name);
  *out->mutable_created_at() = ToProtoTime(record.created_at);
}

void ToProto(const ApiKeyRecord& record, v1::ApiKey* out) {
  out->set_key_id(record.key_id);
  out->set_tenant_id(record.tenant_id);
  out->set_name(record.name);
  for (v1::Scope scope : record.scopes) out->add_scopes(scope);
  *out->mutable_created_at() = ToProtoTime(record.created_at);
  if (record.revoked_at.has_value()) *out->mutable_revoked_at() = ToProtoTime(*record.revoked_at);
}

absl::Status ValidateName(absl::string_view name, absl::string_view field) {
  if (name.size() > kMaxNameBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": at most ", kMaxNameBytes, " bytes, got ", name.size()));
  }
  return absl::OkStatus();
}

// Returns the distinct requested scopes, or INVALID_ARGUMENT naming the bad one.
absl::StatusOr<std::vector<v1::Scope>> ValidateKeyScopes(
    const google::protobuf::RepeatedField<int>& scopes) {
  if (scopes.empty()) {
    return absl::InvalidArgumentError("scopes: at least one of SCOPE_READ, SCOPE_WRITE, SCOPE_ADMIN");
  }
  std::vector<v1::Scope> out;
  for (int i = 0; i < scopes.size(); ++i) {
    const int scope = scopes[i];
    if (scope != v1::SCOPE_READ && scope != v1::SCOPE_WRITE && scope != v1::SCOPE_ADMIN) {
      return absl::InvalidArgumentError(absl::StrCat(
          "scopes[", i, "]: must be SCOPE_READ, SCOPE_WRITE or SCOPE_ADMIN, got ", scope));
    }
    if (std::find(out.begin(), out.end(), scope) == out.end()) {
      out.push_back(static_cast<v1::Scope>(scope));
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

AdminServiceImpl::AdminServiceImpl(TenantStore* store, Authenticator* authenticator,
                                   std::function<absl::Time()> now)
    : store_(store),
      authenticator_(authenticator),
      authorizer_(authenticator, v1::AdminService::service_full_name()),
      now_(std::move(now)) {}

absl::StatusOr<Caller> AdminServiceImpl::AuthorizeForTenant(const grpc::ServerContext& context,
                                                            absl::string_view method,
                                                            absl::string_view tenant_id) const {
  absl::StatusOr<Caller> caller = authorizer_.Authorize(context, method);
  if (!caller.ok()) return caller;
  if (absl::Status valid = ValidateTenantId(tenant_id, "tenant_id"); !valid.ok()) return valid;
  if (!caller->is_operator && caller->tenant_id != tenant_id) {
    return absl::PermissionDeniedError(
        absl::StrCat("an API key of tenant ", caller->tenant_id, " cannot manage tenant ",
                     tenant_id));
  }
  return caller;
}

grpc::Status AdminServiceImpl::CreateTenant(grpc::ServerContext* context,
                                            const v1::CreateTenantRequest* request,
                                            v1::CreateTenantResponse* response) {
  absl::StatusOr<Caller> caller = authorizer_.Authorize(*context, "CreateTenant");
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  if (absl::Status s = ValidateTenantId(request->tenant_id(), "tenant_id"); !s.ok()) {
    return ToGrpcStatus(s);
  }
  if (absl::Status s = ValidateName(request->display_name(), "display_name"); !s.ok()) {
    return ToGrpcStatus(s);
  }
  const TenantRecord tenant{request->tenant_id(), request->display_name(), now_()};
  if (absl::Status s = store_->CreateTenant(tenant); !s.ok()) return ToGrpcStatus(s);
  ToProto(tenant, response->mutable_tenant());
  return grpc::Status::OK;
}

grpc::Status AdminServiceImpl::ListTenants(grpc::ServerContext* context,
                                           const v1::ListTenantsRequest* /*request*/,
                                           v1::ListTenantsResponse* response) {
  absl::StatusOr<Caller> caller = authorizer_.Authorize(*context, "ListTenants");
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  absl::StatusOr<std::vector<TenantRecord>> tenants = store_->ListTenants();
  if (!tenants.ok()) return ToGrpcStatus(tenants.status());
  for (const TenantRecord& tenant : *tenants) ToProto(tenant, response->add_tenants());
  return grpc::Status::OK;
}

grpc::Status AdminServiceImpl::CreateApiKey(grpc::ServerContext* context,
                                            const v1::CreateApiKeyRequest* request,
                                            v1::CreateApiKeyResponse* response) {
  absl::StatusOr<Caller> caller =
      AuthorizeForTenant(*context, "CreateApiKey", request->tenant_id());
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  if (absl::Status s = ValidateName(request->name(), "name"); !s.ok()) return ToGrpcStatus(s);
  absl::StatusOr<std::vector<v1::Scope>> scopes = ValidateKeyScopes(request->scopes());
  if (!scopes.ok()) return ToGrpcStatus(scopes.status());

  const ApiKeyToken token = GenerateApiKeyToken();
  const ApiKeyRecord record{token.key_id,   request->tenant_id(),     request->name(),
                            *std::move(scopes), HashSecret(token.secret), now_(),
                            std::nullopt};
  if (absl::Status s = store_->CreateApiKey(record); !s.ok()) return ToGrpcStatus(s);
  ToProto(record, response->mutable_key());
  response->set_secret(FormatApiKeyToken(token));
  return grpc::Status::OK;
}

grpc::Status AdminServiceImpl::ListApiKeys(grpc::ServerContext* context,
                                           const v1::ListApiKeysRequest* request,
                                           v1::ListApiKeysResponse* response) {
  absl::StatusOr<Caller> caller = AuthorizeForTenant(*context, "ListApiKeys", request->tenant_id());
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  // A tenant's own admin names an existing tenant; the operator may name any,
  // and an unknown one is NOT_FOUND, as CreateApiKey says, not an empty list.
  if (caller->is_operator) {
    if (absl::Status s = store_->GetTenant(request->tenant_id()).status(); !s.ok()) {
      return ToGrpcStatus(s);
    }
  }
  absl::StatusOr<std::vector<ApiKeyRecord>> keys = store_->ListApiKeys(request->tenant_id());
  if (!keys.ok()) return ToGrpcStatus(keys.status());
  for (const ApiKeyRecord& key : *keys) ToProto(key, response->add_keys());
  return grpc::Status::OK;
}

grpc::Status AdminServiceImpl::RevokeApiKey(grpc::ServerContext* context,
                                            const v1::RevokeApiKeyRequest* request,
                                            v1::RevokeApiKeyResponse* response) {
  absl::StatusOr<Caller> caller =
      AuthorizeForTenant(*context, "RevokeApiKey", request->tenant_id());
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  if (request->key_id().empty()) {
    return ToGrpcStatus(absl::InvalidArgumentError("key_id: must not be empty"));
  }
  // Checked before the store is asked, whose NOT_FOUND would echo it (a
  // reviewer's 10 kB key_id came back in the message, past what gRPC clients
  // take as metadata).
  if (!IsKeyId(request->key_id())) {
    return ToGrpcStatus(absl::InvalidArgumentError(
        "key_id: not a key id (16 lowercase hex digits, as CreateApiKey returns it)"));
  }
  absl::StatusOr<ApiKeyRecord> key =
      store_->RevokeApiKey(request->tenant_id(), request->key_id(), now_());
  if (!key.ok()) return ToGrpcStatus(key.status());
  authenticator_->Forget(request->key_id());
  ToProto(*key, response->mutable_key());
  return grpc::Status::OK;
}

}  // namespace segmentd

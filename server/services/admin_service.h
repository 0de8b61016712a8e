#ifndef SEGMENTD_SERVER_SERVICES_ADMIN_SERVICE_H_
#define SEGMENTD_SERVER_SERVICES_ADMIN_SERVICE_H_

#include <functional>

#include "absl/time/time.h"
#include "segmentd/v1/admin.grpc.pb.h"
#include "server/auth/authenticator.h"
#include "server/auth/call_authorizer.h"
#include "server/tenants/tenant_store.h"

namespace segmentd {

// segmentd.v1.AdminService: tenants (operator only) and API keys (the operator,
// or the tenant's own admin key). Thread-safe.
class AdminServiceImpl final : public v1::AdminService::Service {
 public:
  // `store` and `authenticator` must outlive the service.
  AdminServiceImpl(TenantStore* store, Authenticator* authenticator,
                   std::function<absl::Time()> now);

  grpc::Status CreateTenant(grpc::ServerContext* context, const v1::CreateTenantRequest* request,
                            v1::CreateTenantResponse* response) override;
  grpc::Status ListTenants(grpc::ServerContext* context, const v1::ListTenantsRequest* request,
                           v1::ListTenantsResponse* response) override;
  grpc::Status CreateApiKey(grpc::ServerContext* context, const v1::CreateApiKeyRequest* request,
                            v1::CreateApiKeyResponse* response) override;
  grpc::Status ListApiKeys(grpc::ServerContext* context, const v1::ListApiKeysRequest* request,
                           v1::ListApiKeysResponse* response) override;
  grpc::Status RevokeApiKey(grpc::ServerContext* context, const v1::RevokeApiKeyRequest* request,
                            v1::RevokeApiKeyResponse* response) override;

 private:
  // Authorizes `method` and checks the caller may manage `tenant_id`'s keys.
  absl::StatusOr<Caller> AuthorizeForTenant(const grpc::ServerContext& context,
                                            absl::string_view method,
                                            absl::string_view tenant_id) const;

  TenantStore* const store_;
  Authenticator* const authenticator_;
  const CallAuthorizer authorizer_;
  const std::function<absl::Time()> now_;
};

}  // namespace segmentd

#endif  // SEGMENTD_SERVER_SERVICES_ADMIN_SERVICE_H_

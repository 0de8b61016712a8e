#ifndef SEGMENTD_SERVER_TENANTS_REDIS_TENANT_STORE_H_
#define SEGMENTD_SERVER_TENANTS_REDIS_TENANT_STORE_H_

#include "server/tenants/tenant_store.h"
#include "store/redis/redis_client.h"
#include "store/tenant_presence.h"

namespace segmentd {

// The set of every tenant id (docs/redis-keys.md).
using store::kTenantsKey;

// A TenantStore in Redis. Thread-safe. Key layout (docs/redis-keys.md):
//   sd:tenants                set of tenant ids
//   sd:tenant:<tenant_id>     hash {display_name, created_ms}
//   sd:key:<key_id>           hash {tenant, name, scopes, hash, created_ms[, revoked_ms]}
//   sd:{<tenant_id>}:keys     sorted set of the tenant's key ids by created_ms
//   sd:{<tenant_id>}:present  "1": the tenant's data is here (store/tenant_presence.h)
// Tenant and key ids are validated ([a-z0-9_-], hex) before they reach a key name.
class RedisTenantStore : public TenantStore {
 public:
  // `client` must outlive the store.
  explicit RedisTenantStore(store::redis::RedisClient* client) : client_(client) {}

  absl::Status CreateTenant(const TenantRecord& tenant) override;
  absl::StatusOr<TenantRecord> GetTenant(absl::string_view tenant_id) override;
  absl::StatusOr<std::vector<TenantRecord>> ListTenants() override;
  // The tenant set alone, by SSCAN pages (ListTenants also reads every
  // tenant's hash).
  absl::StatusOr<std::vector<std::string>> ListTenantIds() override;
  absl::Status CreateApiKey(const ApiKeyRecord& key) override;
  absl::StatusOr<ApiKeyRecord> GetApiKey(absl::string_view key_id) override;
  absl::StatusOr<std::vector<ApiKeyRecord>> ListApiKeys(absl::string_view tenant_id) override;
  absl::StatusOr<ApiKeyRecord> RevokeApiKey(absl::string_view tenant_id, absl::string_view key_id,
                                            absl::Time at) override;

 private:
  store::redis::RedisClient* const client_;
};

}  // namespace segmentd

#endif  // SEGMENTD_SERVER_TENANTS_REDIS_TENANT_STORE_H_

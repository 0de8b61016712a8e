#ifndef SEGMENTD_SERVER_TENANTS_MEMORY_TENANT_STORE_H_
#define SEGMENTD_SERVER_TENANTS_MEMORY_TENANT_STORE_H_

#include <map>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "server/tenants/tenant_store.h"

namespace segmentd {

// A TenantStore held in process memory, for unit tests. Thread-safe.
class MemoryTenantStore : public TenantStore {
 public:
  absl::Status CreateTenant(const TenantRecord& tenant) override;
  absl::StatusOr<TenantRecord> GetTenant(absl::string_view tenant_id) override;
  absl::StatusOr<std::vector<TenantRecord>> ListTenants() override;
  absl::Status CreateApiKey(const ApiKeyRecord& key) override;
  absl::StatusOr<ApiKeyRecord> GetApiKey(absl::string_view key_id) override;
  absl::StatusOr<std::vector<ApiKeyRecord>> ListApiKeys(absl::string_view tenant_id) override;
  absl::StatusOr<ApiKeyRecord> RevokeApiKey(absl::string_view tenant_id, absl::string_view key_id,
                                            absl::Time at) override;

 private:
  absl::Mutex mu_;
  std::map<std::string, TenantRecord, std::less<>> tenants_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, ApiKeyRecord, std::less<>> keys_ ABSL_GUARDED_BY(mu_);
};

}  // namespace segmentd

#endif  // SEGMENTD_SERVER_TENANTS_MEMORY_TENANT_STORE_H_

#include "server/tenants/memory_tenant_store.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace segmentd {

absl::Status MemoryTenantStore::CreateTenant(const TenantRecord& tenant) {
  absl::MutexLock lock(&mu_);
  if (!tenants_.emplace(tenant.tenant_id, tenant).second) {
    return absl::AlreadyExistsError(absl::StrCat("tenant ", tenant.tenant_id, " already exists"));
  }
  return absl::OkStatus();
}

absl::StatusOr<TenantRecord> MemoryTenantStore::GetTenant(absl::string_view tenant_id) {
  absl::MutexLock lock(&mu_);
  auto it = tenants_.find(tenant_id);
  if (it == tenants_.end()) return absl::NotFoundError(absl::StrCat("no tenant ", tenant_id));
  return it->second;
}

absl::StatusOr<std::vector<TenantRecord>> MemoryTenantStore::ListTenants() {
  absl::MutexLock lock(&mu_);
  std::vector<TenantRecord> out;
  for (const auto& [id, tenant] : tenants_) out.push_back(tenant);
  return out;
}

absl::Status MemoryTenantStore::CreateApiKey(const ApiKeyRecord& key) {
  absl::MutexLock lock(&mu_);
  if (tenants_.find(key.tenant_id) == tenants_.end()) {
    return absl::NotFoundError(absl::StrCat("no tenant ", key.tenant_id));
  }
  if (!keys_.emplace(key.key_id, key).second) {
    return absl::AlreadyExistsError(absl::StrCat("key ", key.key_id, " already exists"));
  }
  return absl::OkStatus();
}

absl::StatusOr<ApiKeyRecord> MemoryTenantStore::GetApiKey(absl::string_view key_id) {
  absl::MutexLock lock(&mu_);
  auto it = keys_.find(key_id);
  if (it == keys_.end()) return absl::NotFoundError(absl::StrCat("no key ", key_id));
  return it->second;
}

absl::StatusOr<std::vector<ApiKeyRecord>> MemoryTenantStore::ListApiKeys(
    absl::string_view tenant_id) {
  absl::MutexLock lock(&mu_);
  std::vector<ApiKeyRecord> out;
  for (const auto& [id, key] : keys_) {
    if (key.tenant_id == tenant_id) out.push_back(key);
  }
  std::stable_sort(out.begin(), out.end(), [](const ApiKeyRecord& a, const ApiKeyRecord& b) {
    return a.created_at < b.created_at;
  });
  return out;
}

absl::StatusOr<ApiKeyRecord> MemoryTenantStore::RevokeApiKey(absl::string_view tenant_id,
                                                             absl::string_view key_id,
                                                             absl::Time at) {
  absl::MutexLock lock(&mu_);
  auto it = keys_.find(key_id);
  if (it == keys_.end() || it->second.tenant_id != tenant_id) {
    return absl::NotFoundError(absl::StrCat("tenant ", tenant_id, " has no key ", key_id));
  }
  if (!it->second.revoked_at.has_value()) it->second.revoked_at = at;
  return it->second;
}

}  // namespace segmentd

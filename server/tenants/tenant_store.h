#ifndef SEGMENTD_SERVER_TENANTS_TENANT_STORE_H_
#define SEGMENTD_SERVER_TENANTS_TENANT_STORE_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "segmentd/v1/common.pb.h"

namespace segmentd {

// One merchant app.
struct TenantRecord {
  std::string tenant_id;
  std::string display_name;
  absl::Time created_at;
};

// An API key as stored: never the secret, only its hash.
struct ApiKeyRecord {
  std::string key_id;
  std::string tenant_id;
  std::string name;
  std::vector<v1::Scope> scopes;
  std::string secret_hash;
  absl::Time created_at;
  std::optional<absl::Time> revoked_at;
};

// Where tenants and API keys live. Implementations are thread-safe.
// Errors: NOT_FOUND for a missing tenant or key, ALREADY_EXISTS for a duplicate
// tenant, UNAVAILABLE when the backing store cannot be reached.
class TenantStore {
 public:
  virtual ~TenantStore() = default;

  virtual absl::Status CreateTenant(const TenantRecord& tenant) = 0;
  virtual absl::StatusOr<TenantRecord> GetTenant(absl::string_view tenant_id) = 0;
  // Returns every tenant, ordered by id.
  virtual absl::StatusOr<std::vector<TenantRecord>> ListTenants() = 0;
  // Returns every tenant's id, in order: what background passes over every
  // tenant need, without reading each tenant's record (this default does).
  virtual absl::StatusOr<std::vector<std::string>> ListTenantIds();

  // Stores a new key of an existing tenant (NOT_FOUND when the tenant is missing).
  virtual absl::Status CreateApiKey(const ApiKeyRecord& key) = 0;
  virtual absl::StatusOr<ApiKeyRecord> GetApiKey(absl::string_view key_id) = 0;
  // Returns the tenant's keys, revoked ones included, ordered by creation time.
  virtual absl::StatusOr<std::vector<ApiKeyRecord>> ListApiKeys(absl::string_view tenant_id) = 0;
  // Marks the key revoked at `at` (a second revocation keeps the first instant)
  // and returns it. NOT_FOUND unless the key belongs to `tenant_id`.
  virtual absl::StatusOr<ApiKeyRecord> RevokeApiKey(absl::string_view tenant_id,
                                                    absl::string_view key_id, absl::Time at) = 0;
};

// Returns OK when `tenant_id` is 1-63 bytes of [a-z0-9_-] starting with a letter
// or digit; otherwise INVALID_ARGUMENT naming `field`. Tenant ids appear inside
// Redis keys, so this charset is what keeps one tenant's keys apart from another's.
absl::Status ValidateTenantId(absl::string_view tenant_id, absl::string_view field);

}  // namespace segmentd

#endif  // SEGMENTD_SERVER_TENANTS_TENANT_STORE_H_

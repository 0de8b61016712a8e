#include "server/tenants/tenant_store.h"

#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace segmentd {

absl::StatusOr<std::vector<std::string>> TenantStore::ListTenantIds() {
  absl::StatusOr<std::vector<TenantRecord>> tenants = ListTenants();
  if (!tenants.ok()) return tenants.status();
  std::vector<std::string> ids;
  ids.reserve(tenants->size());
  for (TenantRecord& t : *tenants) ids.push_back(std::move(t.tenant_id));
  return ids;
}

absl::Status ValidateTenantId(absl::string_view tenant_id, absl::string_view field) {
  if (tenant_id.empty() || tenant_id.size() > 63) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": must be 1-63 bytes, got ", tenant_id.size()));
  }
  for (size_t i = 0; i < tenant_id.size(); ++i) {
    const char c = tenant_id[i];
    const bool alnum = absl::ascii_isdigit(c) || (c >= 'a' && c <= 'z');
    if (!alnum && (i == 0 || (c != '_' && c != '-'))) {
      return absl::InvalidArgumentError(absl::StrCat(
          field, ": must be [a-z0-9_-] starting with a letter or digit; bad byte at ", i));
    }
  }
  return absl::OkStatus();
}

}  // namespace segmentd

#include "store/tenant_keys.h"

#include "absl/strings/str_cat.h"

namespace segmentd::store {

absl::Status ValidateTenant(absl::string_view tenant) {
  if (tenant.empty() || tenant.size() > 63) {
    return absl::InvalidArgumentError(
        absl::StrCat("tenant: must be 1-63 bytes, got ", tenant.size()));
  }
  for (size_t i = 0; i < tenant.size(); ++i) {
    const char c = tenant[i];
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) {
      return absl::InvalidArgumentError(
          absl::StrCat("tenant: must be [a-z0-9_-]; bad byte at ", i));
    }
  }
  return absl::OkStatus();
}

std::string TenantKeyPrefix(absl::string_view tenant) { return absl::StrCat("sd:{", tenant, "}:"); }

}  // namespace segmentd::store

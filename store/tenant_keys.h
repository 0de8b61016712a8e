// Where a tenant's Redis keys live. Every key of one tenant starts with
// "sd:{<tenant>}:": the hash tag puts all of them in one cluster slot, so
// multi-key scripts stay legal (docs/redis-keys.md). The tenant id becomes
// part of key names: the customer and voucher stores check it
// (ValidateTenant) before building one; the others are given tenant ids the
// server has authenticated.
//
// Stateless functions; thread-safe.
#ifndef SEGMENTD_STORE_TENANT_KEYS_H_
#define SEGMENTD_STORE_TENANT_KEYS_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace segmentd::store {

// Returns INVALID_ARGUMENT unless `tenant` is 1-63 bytes of [a-z0-9_-]. The
// stores refuse anything else even though the server validated it already.
absl::Status ValidateTenant(absl::string_view tenant);

// "sd:{<tenant>}:", the prefix of every key of a (validated) tenant.
std::string TenantKeyPrefix(absl::string_view tenant);

}  // namespace segmentd::store

#endif  // SEGMENTD_STORE_TENANT_KEYS_H_

#ifndef SEGMENTD_STORE_TENANT_PRESENCE_H_
#define SEGMENTD_STORE_TENANT_PRESENCE_H_

// Whether a Redis still holds a tenant's data, checked inside every write
// script that acknowledges a tenant's data (customers, config, voucher
// targets, redemptions).
//
// Without it, a Redis that lost everything (FLUSHALL, a restart without
// persistence, another server at the address) takes writes as a fresh store
// would until the health probe notices the store mark is gone (up to its
// 500 ms interval), and acknowledges them into data a restore then
// discards. Each tenant therefore has a presence key in its own hash slot
// (`sd:{t}:present`), so scripts check it without leaving the slot; a script
// that finds it absent writes nothing and answers kTenantAbsentReply.
//
// The key is set when the tenant is created. A tenant created before the
// key existed (or by an older build) gets it on its first refused write,
// from the tenant registry `sd:tenants`, which a FLUSHALL empties too:
// EnsureTenantPresent sets it only for a registered tenant, so a lost store
// stays refused.

#include <string>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "store/redis/redis_client.h"

namespace segmentd::store {

// The set of every tenant id (docs/redis-keys.md).
inline constexpr char kTenantsKey[] = "sd:tenants";

// What a write script answers, writing nothing, when the presence key is gone.
inline constexpr int kTenantAbsentReply = -4;

// sd:{<tenant>}:present. `tenant` must be a validated tenant id.
std::string TenantPresenceKey(absl::string_view tenant);

// The DATA_LOSS a write refused for kTenantAbsentReply fails with, once
// EnsureTenantPresent found the tenant unregistered too.
absl::Status TenantDataGone(absl::string_view tenant);

// Sets the presence key if `tenant` is registered in kTenantsKey: OK when
// the key is (now) set, TenantDataGone when the tenant is not registered,
// the Redis error otherwise.
absl::Status EnsureTenantPresent(redis::RedisClient* client, absl::string_view tenant);

// Whether a write script answered kTenantAbsentReply.
bool IsTenantAbsent(const absl::StatusOr<redis::RedisReply>& answer);

// For a write script's `answer` (`write`'s, run once already): when it is
// kTenantAbsentReply, sets the presence key of a registered tenant and runs
// `write` once more (TenantDataGone when unregistered or refused again);
// otherwise `answer` itself.
absl::StatusOr<redis::RedisReply> UnlessTenantAbsent(
    absl::StatusOr<redis::RedisReply> answer, redis::RedisClient* client, absl::string_view tenant,
    absl::FunctionRef<absl::StatusOr<redis::RedisReply>()> write);

}  // namespace segmentd::store

#endif  // SEGMENTD_STORE_TENANT_PRESENCE_H_

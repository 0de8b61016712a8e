#include "store/tenant_presence.h"

#include "absl/strings/str_cat.h"
#include "store/redis/redis_reply.h"
#include "store/redis/redis_script.h"
#include "store/tenant_keys.h"

namespace segmentd::store {
namespace {

// KEYS[1] the tenant registry, [2] the tenant's presence key; ARGV[1] the
// tenant id. Returns 1 when the key is set, 0 when the tenant is unregistered.
// The one script that leaves the tenant's slot: only on a refused write.
const redis::RedisScript& EnsureScript() {
  static const redis::RedisScript* const script = new redis::RedisScript(R"lua(
    if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 0 then return 0 end
    redis.call('SET', KEYS[2], '1')
    return 1
  )lua");
  return *script;
}

}  // namespace

std::string TenantPresenceKey(absl::string_view tenant) {
  return absl::StrCat(TenantKeyPrefix(tenant), "present");
}

absl::Status TenantDataGone(absl::string_view tenant) {
  return absl::DataLossError(absl::StrCat(
      "Redis no longer holds tenant ", tenant, " (it is not in ", kTenantsKey,
      "), as after a FLUSHALL, a restart without persistence or another Redis at the address: "
      "nothing was written"));
}

absl::Status EnsureTenantPresent(redis::RedisClient* client, absl::string_view tenant) {
  absl::StatusOr<redis::RedisReply> reply = redis::ErrorReplyAsStatus(client->Eval(
      EnsureScript(), {kTenantsKey, TenantPresenceKey(tenant)}, {std::string(tenant)}));
  if (!reply.ok()) return reply.status();
  if (!reply->is_integer()) {
    return absl::InternalError(
        absl::StrCat("unexpected reply to the presence script: ", reply->DebugString()));
  }
  return reply->integer() == 1 ? absl::OkStatus() : TenantDataGone(tenant);
}

bool IsTenantAbsent(const absl::StatusOr<redis::RedisReply>& answer) {
  return answer.ok() && answer->is_integer() && answer->integer() == kTenantAbsentReply;
}

absl::StatusOr<redis::RedisReply> UnlessTenantAbsent(
    absl::StatusOr<redis::RedisReply> answer, redis::RedisClient* client, absl::string_view tenant,
    absl::FunctionRef<absl::StatusOr<redis::RedisReply>()> write) {
  if (!IsTenantAbsent(answer)) return answer;
  if (absl::Status s = EnsureTenantPresent(client, tenant); !s.ok()) return s;
  answer = write();
  if (IsTenantAbsent(answer)) return TenantDataGone(tenant);
  return answer;
}

}  // namespace segmentd::store

#include "server/live/scheduler_lease.h"

#include <cstdint>

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "store/redis/redis_script.h"

namespace segmentd {
namespace {

constexpr char kLeaseKey[] = "sd:lease:scheduler";

// KEYS[1] the lease; ARGV[1] this replica's id, ARGV[2] time to live in ms.
// Returns 1 when the caller holds the lease afterwards, else 0.
const store::redis::RedisScript& HoldScript() {
  static const auto* const script = new store::redis::RedisScript(R"lua(
    local holder = redis.call('GET', KEYS[1])
    if holder == ARGV[1] then
      redis.call('PEXPIRE', KEYS[1], ARGV[2])
      return 1
    end
    if not holder then
      redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
      return 1
    end
    return 0
  )lua");
  return *script;
}

// KEYS[1] the lease; ARGV[1] this replica's id. Deletes it only if held.
const store::redis::RedisScript& ReleaseScript() {
  static const auto* const script = new store::redis::RedisScript(R"lua(
    if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
    return 0
  )lua");
  return *script;
}

std::string RandomId() {
  absl::BitGen bits;
  return absl::StrFormat("%016x", absl::Uniform<uint64_t>(bits));
}

}  // namespace

SchedulerLease::SchedulerLease(store::redis::RedisClient* redis, absl::Duration ttl)
    : redis_(redis), ttl_(ttl), id_(RandomId()) {}

void SchedulerLease::Release() { redis_->Eval(ReleaseScript(), {kLeaseKey}, {id_}).IgnoreError(); }

bool SchedulerLease::Held() {
  absl::StatusOr<store::redis::RedisReply> reply =
      redis_->Eval(HoldScript(), {kLeaseKey}, {id_, absl::StrCat(absl::ToInt64Milliseconds(ttl_))});
  return reply.ok() && reply->is_integer() && reply->integer() == 1;
}

}  // namespace segmentd

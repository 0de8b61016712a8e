#ifndef SEGMENTD_SERVER_STORE_PROBE_H_
#define SEGMENTD_SERVER_STORE_PROBE_H_

// Whether the Redis segmentd uses can serve, in one round trip: reachable,
// writable (not a replica), and still the store this process started on.
//
// The last needs a mark, because an unreachable Redis and one that lost
// segmentd's data look alike from a single read: after a FLUSHALL, a restart
// without persistence or another server taking the address, every key is
// simply absent, so each tenant key reads as unknown and each customer as
// new. The first probe that finds Redis without `sd:store` writes a random id
// there (SET NX: replicas starting together agree on one); once this process
// knows the id, a probe that finds it gone or replaced reports DATA_LOSS.
// Nothing here writes a new mark: only a restarted segmentd adopts a new
// store, which is the operator's decision, while the same mark coming back
// (a restore of this store's data) is simply usable again. A mark gone while
// tenants are still stored is the mark's loss, not the data's (a Redis
// saving snapshots only, restarted before one held the mark): the mark this
// process knows is written back.

#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "store/redis/redis_client.h"

namespace segmentd {

// The key holding the store's mark (docs/redis-keys.md).
inline constexpr char kStoreMarkKey[] = "sd:store";

class StoreProbe {
 public:
  // `redis` must outlive the probe.
  explicit StoreProbe(store::redis::RedisClient* redis);

  // Probes Redis (ROLE, INFO memory and the mark, pipelined) and returns OK
  // when it can serve; UNAVAILABLE when it cannot be reached or is a replica
  // (every write fails READONLY); DATA_LOSS when the mark this process knows
  // is gone or replaced; FAILED_PRECONDITION when Redis may evict keys
  // (maxmemory with a policy other than noeviction); RESOURCE_EXHAUSTED
  // when it is over its maxmemory (every write fails OOM). A user not
  // allowed ROLE or INFO (ACL) is judged by the rest.
  // Thread-safe.
  absl::Status Probe();

  // The last probe's DATA_LOSS, or OK: cheap, for every call's authorization.
  absl::Status Lost() const;

 private:
  store::redis::RedisClient* const redis_;
  // One probe at a time (the health thread's and the authenticator's): an
  // older probe finishing last must not undo a newer one's DATA_LOSS.
  absl::Mutex probe_mu_;
  const std::string candidate_;  // the id written if Redis holds none
  mutable absl::Mutex mu_;
  std::string mark_ ABSL_GUARDED_BY(mu_);  // empty until first read
  absl::Status lost_ ABSL_GUARDED_BY(mu_);
};

}  // namespace segmentd

#endif  // SEGMENTD_SERVER_STORE_PROBE_H_

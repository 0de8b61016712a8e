#ifndef SEGMENTD_SERVER_LIVE_SCHEDULER_LEASE_H_
#define SEGMENTD_SERVER_LIVE_SCHEDULER_LEASE_H_

// SchedulerLease: which segmentd replica leads the time-driven moves of every
// tenant, so that replicas sharing a Redis do not all re-classify the same due
// customers (TransitionScheduler::Options::leading). The lease is the Redis
// key `sd:lease:scheduler`, holding the leader's random id, with a time to
// live; the leader renews it on every scheduler pass.
//
// Only an optimization, never needed for correctness: a replica that does
// not hold the lease still takes every customer left due for longer than a
// grace period, so a leader that dies (its lease then expires), a Redis that
// cannot be asked, or two replicas that both believe they lead, cost time or
// repeated work, never a missed change.
//
// Thread-compatible (the scheduler's thread calls Held()).

#include <string>

#include "absl/time/time.h"
#include "store/redis/redis_client.h"

namespace segmentd {

class SchedulerLease {
 public:
  // `redis` must outlive the lease. `ttl`: how long the lease outlives the
  // leader's last renewal (default 2 s; renewals come every scheduler pass).
  explicit SchedulerLease(store::redis::RedisClient* redis, absl::Duration ttl = absl::Seconds(2));

  // Renews the lease when this replica holds it, takes it when nobody does,
  // and returns whether this replica holds it now; false when Redis cannot
  // be asked.
  bool Held();

  // Gives the lease up if this replica holds it (at shutdown), so that
  // another replica, or this one restarted, takes it at once. Best effort.
  void Release();

  // This replica's id in the lease (random, 16 hex digits).
  const std::string& id() const { return id_; }

 private:
  store::redis::RedisClient* const redis_;
  const absl::Duration ttl_;
  const std::string id_;
};

}  // namespace segmentd

#endif  // SEGMENTD_SERVER_LIVE_SCHEDULER_LEASE_H_

#ifndef SEGMENTD_SERVER_LIVE_APPLY_BATCHER_H_
#define SEGMENTD_SERVER_LIVE_APPLY_BATCHER_H_

// ApplyBatcher: group commit for single events. Unary ingest calls submit
// one customer's events and a continuation; worker threads take everything
// queued, merge it per tenant and customer, and commit it with one
// LiveMembership::Apply (one pipelined read and one pipelined write of all
// those customers), then run each continuation with its own outcome. Under
// load many calls share each pair of Redis round trips, and no thread waits
// per call (with a thread per call, a burst made the sync server spawn
// threads until its cap refused calls: docs/benchmarks.md).
//
// Order: events submitted for one customer are applied in submission order.
// Errors are per customer (CustomerOutcome::commit: Redis unreachable, lost
// races, undecodable stored state) and per event (CustomerOutcome::events,
// an event the engine refuses): each reaches only the callers concerned.
//
// Customers are spread over `workers` threads by hash of (tenant, customer):
// one customer's events are applied in order by one thread, never by two at
// once (they would only conflict), while one tenant's events use every
// worker, so one batch's Redis round trips overlap another's classification.
// The thread count is fixed however many tenants there are. Continuations run
// on a worker thread: keep them short (build the reply, Finish).
//
// Thread-safe. `live` must outlive the batcher. The destructor runs every
// continuation still queued with UNAVAILABLE, then stops the workers.

#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "server/live/live_membership.h"

namespace segmentd {

class ApplyBatcher {
 public:
  struct Options {
    // Worker threads (tenants are sharded over them). Default: 2.
    int workers = 2;
    // Most submissions one worker commits at once. Default: 512.
    size_t max_batch = 512;
    // Most submissions waiting per worker; past it Submit answers
    // RESOURCE_EXHAUSTED at once (overload is refused, not queued without
    // bound). Default: 20,000 (~ a few seconds of Redis work).
    size_t max_queued = 20'000;
  };
  using Done = std::function<void(absl::StatusOr<CustomerOutcome>)>;

  ApplyBatcher(LiveMembership* live, Options options);
  ~ApplyBatcher();

  ApplyBatcher(const ApplyBatcher&) = delete;
  ApplyBatcher& operator=(const ApplyBatcher&) = delete;

  // Queues `events` of `tenant`; `done` runs exactly once, on a worker thread,
  // after the events are committed (or failed), or at once on the caller's
  // thread with RESOURCE_EXHAUSTED when too much is queued already.
  void Submit(const std::string& tenant, CustomerEvents events, Done done);

 private:
  struct Submission {
    std::string tenant;
    CustomerEvents events;
    Done done;
  };
  struct Shard {
    absl::Mutex mu;
    std::deque<Submission> queue ABSL_GUARDED_BY(mu);
    bool stopping ABSL_GUARDED_BY(mu) = false;
    std::thread worker;
  };

  void Run(Shard* shard);
  // Commits one tenant's submissions and runs their continuations.
  void Commit(const std::string& tenant, std::vector<Submission*> group);

  LiveMembership* const live_;
  const Options options_;
  std::vector<std::unique_ptr<Shard>> shards_;
};

}  // namespace segmentd

#endif  // SEGMENTD_SERVER_LIVE_APPLY_BATCHER_H_

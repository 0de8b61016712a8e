#ifndef SEGMENTD_SERVER_BOUNDED_EXECUTOR_H_
#define SEGMENTD_SERVER_BOUNDED_EXECUTOR_H_

// BoundedExecutor: a few threads for blocking work that must not run on
// gRPC's callback threads (they also serve the checkout's eligibility checks,
// which never block), with a bounded queue: a task beyond it is refused at
// once, so a burst of slow calls cannot queue without end. Thread-safe.

#include <cstddef>
#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace segmentd {

class BoundedExecutor {
 public:
  // `threads` >= 1 workers; at most `max_queued` tasks waiting for one.
  BoundedExecutor(int threads, size_t max_queued);
  // Runs every task still queued, then joins the workers.
  ~BoundedExecutor();

  BoundedExecutor(const BoundedExecutor&) = delete;
  BoundedExecutor& operator=(const BoundedExecutor&) = delete;

  // Queues `task`; returns false (dropping it) when `max_queued` tasks are
  // already waiting.
  bool TrySchedule(std::function<void()> task);

 private:
  void Work();

  const size_t max_queued_;
  absl::Mutex mu_;
  std::deque<std::function<void()>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> workers_;
};

}  // namespace segmentd

#endif  // SEGMENTD_SERVER_BOUNDED_EXECUTOR_H_

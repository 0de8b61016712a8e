#ifndef SEGMENTD_SERVER_LIVE_PERIODIC_TASK_H_
#define SEGMENTD_SERVER_LIVE_PERIODIC_TASK_H_

#include <functional>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace segmentd {

// Runs a task on its own thread, then again `interval` after each run ends,
// until destroyed. The destructor waits for a run in progress. Thread-safe.
class PeriodicTask {
 public:
  PeriodicTask(absl::Duration interval, std::function<void()> task);
  // The same with a pause the task chooses: each run returns how long to
  // wait before the next.
  explicit PeriodicTask(std::function<absl::Duration()> task);
  ~PeriodicTask();

  PeriodicTask(const PeriodicTask&) = delete;
  PeriodicTask& operator=(const PeriodicTask&) = delete;

 private:
  const std::function<absl::Duration()> task_;
  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace segmentd

#endif  // SEGMENTD_SERVER_LIVE_PERIODIC_TASK_H_

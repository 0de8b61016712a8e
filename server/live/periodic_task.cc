#include "server/live/periodic_task.h"

#include <utility>

namespace segmentd {

PeriodicTask::PeriodicTask(absl::Duration interval, std::function<void()> task)
    : PeriodicTask([interval, task = std::move(task)] {
        task();
        return interval;
      }) {}

PeriodicTask::PeriodicTask(std::function<absl::Duration()> task) : task_(std::move(task)) {
  thread_ = std::thread([this] {
    absl::MutexLock lock(&mu_);
    while (!stopping_) {
      mu_.Unlock();
      const absl::Duration pause = task_();
      mu_.Lock();
      mu_.AwaitWithTimeout(absl::Condition(&stopping_), pause);
    }
  });
}

PeriodicTask::~PeriodicTask() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  thread_.join();
}

}  // namespace segmentd

#include "server/live/periodic_task.h"

#include <utility>

namespace segmentd {

PeriodicTask::PeriodicTask(absl::Duration interval, std::function<void()> task)
    : interval_(interval), task_(std::move(task)) {
  thread_ = std::thread([this] {
    absl::MutexLock lock(&mu_);
    while (!stopping_) {
      mu_.Unlock();
      task_();
      mu_.Lock();
      mu_.AwaitWithTimeout(absl::Condition(&stopping_), interval_);
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

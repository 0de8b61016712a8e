#include "server/live/page_workers.h"

#include <algorithm>
#include <utility>

namespace segmentd {

PageWorkers::PageWorkers(int threads, Work work)
    : work_(std::move(work)), max_waiting_(2 * static_cast<size_t>(std::max(1, threads))) {
  for (int i = 0; i < std::max(1, threads); ++i) threads_.emplace_back([this] { Run(); });
}

PageWorkers::~PageWorkers() {
  if (!finished_) Finish(absl::OkStatus()).IgnoreError();
}

void PageWorkers::Run() {
  while (true) {
    std::vector<std::string> page;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return !pages_.empty() || scanned_ || !first_error_.ok();
      };
      mu_.Await(absl::Condition(&ready));
      if (!first_error_.ok() || pages_.empty()) return;
      page = std::move(pages_.front());
      pages_.pop_front();
    }
    absl::Status s = work_(std::move(page));
    if (!s.ok()) {
      absl::MutexLock lock(&mu_);
      if (first_error_.ok()) first_error_ = std::move(s);
      return;
    }
  }
}

bool PageWorkers::HandOver(std::vector<std::string> page) {
  absl::MutexLock lock(&mu_);
  if (!first_error_.ok()) return false;
  pages_.push_back(std::move(page));
  auto room = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return pages_.size() < max_waiting_ || !first_error_.ok();
  };
  mu_.Await(absl::Condition(&room));
  return first_error_.ok();
}

absl::Status PageWorkers::Finish(absl::Status scan) {
  finished_ = true;
  {
    absl::MutexLock lock(&mu_);
    scanned_ = true;
  }
  for (std::thread& t : threads_) t.join();
  threads_.clear();
  absl::MutexLock lock(&mu_);
  return first_error_.ok() ? scan : first_error_;
}

}  // namespace segmentd

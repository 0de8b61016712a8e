#ifndef SEGMENTD_SERVER_LIVE_PAGE_WORKERS_H_
#define SEGMENTD_SERVER_LIVE_PAGE_WORKERS_H_

#include <deque>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"

namespace segmentd {

// Pages of customer ids handed over by one producer (a scan of Redis) and
// worked on by `threads` threads, so that reading the next page overlaps with
// the work on earlier ones: the shape of every pass over many customers
// (a config update's re-classification, a config preview).
//
//   PageWorkers workers(3, [&](std::vector<std::string> page) { ...; });
//   absl::Status scan = ScanPages(..., [&](std::vector<std::string> ids) {
//     return workers.HandOver(std::move(ids)) ? absl::OkStatus()
//                                             : absl::CancelledError("...");
//   });
//   absl::Status done = workers.Finish(scan);
//
// At most 2 x threads pages wait: HandOver blocks while the workers are
// behind, so a scan never runs far ahead of the work. The first failure of
// `work` stops the other workers after their page. Thread-safe; Finish (or the
// destructor) must be called by the producer.
class PageWorkers {
 public:
  using Work = std::function<absl::Status(std::vector<std::string> page)>;

  PageWorkers(int threads, Work work);
  // Finish(OK) unless Finish was called.
  ~PageWorkers();

  PageWorkers(const PageWorkers&) = delete;
  PageWorkers& operator=(const PageWorkers&) = delete;

  // Queues `page` for the workers, waiting while 2 x threads pages wait.
  // Returns false (the page dropped) once a worker failed: the producer
  // should stop.
  bool HandOver(std::vector<std::string> page) ABSL_LOCKS_EXCLUDED(mu_);

  // Waits until every page handed over is worked and the threads are done.
  // Returns the first worker's error if any (which is what stopped the
  // producer), else `scan`, the producer's own status.
  absl::Status Finish(absl::Status scan) ABSL_LOCKS_EXCLUDED(mu_);

 private:
  void Run() ABSL_LOCKS_EXCLUDED(mu_);

  const Work work_;
  const size_t max_waiting_;
  absl::Mutex mu_;
  std::deque<std::vector<std::string>> pages_ ABSL_GUARDED_BY(mu_);
  bool scanned_ ABSL_GUARDED_BY(mu_) = false;
  absl::Status first_error_ ABSL_GUARDED_BY(mu_);
  std::vector<std::thread> threads_;
  bool finished_ = false;  // producer's thread only
};

}  // namespace segmentd

#endif  // SEGMENTD_SERVER_LIVE_PAGE_WORKERS_H_

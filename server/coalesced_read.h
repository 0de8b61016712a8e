#ifndef SEGMENTD_SERVER_COALESCED_READ_H_
#define SEGMENTD_SERVER_COALESCED_READ_H_

// CoalescedRead<T>: one store read shared by every caller that asks while it
// is pending, where each caller is answered only by a read that *began after
// it asked*. So an answer includes every write committed before the call, as
// if the caller had read by itself, yet under load a single round trip serves
// many concurrent callers (the eligibility hot path asks "what is the newest
// change position?" on every check; see docs/targeting.md).
//
// At most one read is in flight; callers arriving meanwhile join the next
// round, which starts as soon as the in-flight one ends. A caller therefore
// waits at most two reads. Errors are shared like values: every caller of a
// failed round gets its status.
//
// Thread-safe. `read` must be thread-compatible with itself (it is never run
// twice at once) and should be bounded in time (a store command timeout).

#include <functional>
#include <memory>
#include <utility>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace segmentd {

template <typename T>
class CoalescedRead {
 public:
  explicit CoalescedRead(std::function<absl::StatusOr<T>()> read) : read_(std::move(read)) {}

  CoalescedRead(const CoalescedRead&) = delete;
  CoalescedRead& operator=(const CoalescedRead&) = delete;

  // Returns the result of a read that began after this call did.
  absl::StatusOr<T> Get() ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    ++waiting_;
    std::shared_ptr<Round> round = pending_;
    if (round != nullptr) {
      // Joined a round that has not started: its read begins after now.
      mu_.Await(absl::Condition(&Round::IsDone, round.get()));
      --waiting_;
      return round->result;
    }
    round = pending_ = std::make_shared<Round>();
    // Lead this round once the previous one (which may have begun before this
    // call) has finished; later callers keep joining `round` until then.
    mu_.Await(absl::Condition(this, &CoalescedRead::Idle));
    reading_ = true;
    pending_ = nullptr;
    mu_.Unlock();
    absl::StatusOr<T> result = read_();
    mu_.Lock();
    round->result = std::move(result);
    round->done = true;
    reading_ = false;
    --waiting_;
    return round->result;
  }

  // Returns how many callers are inside Get() (for tests and metrics).
  int Waiting() ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    return waiting_;
  }

 private:
  struct Round {
    static bool IsDone(Round* r) { return r->done; }
    bool done = false;
    absl::StatusOr<T> result;
  };

  bool Idle() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !reading_; }

  const std::function<absl::StatusOr<T>()> read_;
  absl::Mutex mu_;
  bool reading_ ABSL_GUARDED_BY(mu_) = false;
  int waiting_ ABSL_GUARDED_BY(mu_) = 0;
  // The next round, not started yet (nullptr when none is waiting).
  std::shared_ptr<Round> pending_ ABSL_GUARDED_BY(mu_);
};

}  // namespace segmentd

#endif  // SEGMENTD_SERVER_COALESCED_READ_H_

#ifndef SEGMENTD_SERVER_LOG_THROTTLE_H_
#define SEGMENTD_SERVER_LOG_THROTTLE_H_

// LogThrottle: says whether a message repeated by a background pass should be
// logged now, so that a failure seen every pass (a corrupt customer the
// scheduler meets five times a second, a tenant's key of the wrong type) is
// said once a period with how often it recurred, not flood the log (a
// reviewer saw 65 identical lines in 13 s). Thread-safe.

#include <cstdint>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace segmentd {

class LogThrottle {
 public:
  // At most one line per distinct message per `period`; at most
  // `max_messages` distinct messages remembered (past it, all are forgotten
  // and each is logged again once).
  explicit LogThrottle(absl::Duration period = absl::Minutes(1), size_t max_messages = 10000)
      : period_(period), max_messages_(max_messages) {}

  // Returns nullopt when `message` was logged less than a period before `now`
  // (counting it), else the number of times it was withheld since it was last
  // logged (0 the first time), and notes it as logged at `now`.
  std::optional<int64_t> Admit(absl::string_view message, absl::Time now);

 private:
  struct Seen {
    absl::Time logged_at;
    int64_t withheld = 0;
  };
  const absl::Duration period_;
  const size_t max_messages_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Seen> seen_ ABSL_GUARDED_BY(mu_);
};

// LogError through one process-wide LogThrottle: the line ends with
// " (N more times since it was last logged)" when some were withheld.
void LogErrorThrottled(absl::string_view message);

}  // namespace segmentd

#endif  // SEGMENTD_SERVER_LOG_THROTTLE_H_

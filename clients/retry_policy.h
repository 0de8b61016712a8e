// RetryPolicy: when and how long a client waits before trying a call again.
#ifndef SEGMENTD_CLIENTS_RETRY_POLICY_H_
#define SEGMENTD_CLIENTS_RETRY_POLICY_H_

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace segmentd::clients {

// Exponential backoff with jitter for idempotent calls. A plain value;
// thread-safe to share.
struct RetryPolicy {
  // Attempts in all, the first included; 1 disables retries. Default 4.
  int max_attempts = 4;
  // Wait before the second attempt. Default 100 ms.
  absl::Duration initial_backoff = absl::Milliseconds(100);
  // Each wait is the previous one times this. Default 2.
  double multiplier = 2.0;
  // No wait is longer than this. Default 2 s.
  absl::Duration max_backoff = absl::Seconds(2);
  // Each wait is scaled by a factor drawn from [1 - jitter, 1 + jitter], so
  // clients that failed together do not retry together. Default 0.2.
  double jitter = 0.2;
};

// Returns whether a failed idempotent call with `code` may be tried again:
// UNAVAILABLE (server or Redis briefly unreachable, connection reset) and
// DEADLINE_EXCEEDED (the attempt timed out; its effect, if any, is idempotent).
bool IsRetryable(absl::StatusCode code);

// Returns the wait after failed attempt number `attempt` (1 = the first call),
// with `unit_random` in [0, 1) choosing the jitter.
absl::Duration BackoffAfter(const RetryPolicy& policy, int attempt, double unit_random);

}  // namespace segmentd::clients

#endif  // SEGMENTD_CLIENTS_RETRY_POLICY_H_

#include "clients/retry_policy.h"

#include <algorithm>

namespace segmentd::clients {

bool IsRetryable(absl::StatusCode code) {
  return code == absl::StatusCode::kUnavailable || code == absl::StatusCode::kDeadlineExceeded;
}

absl::Duration BackoffAfter(const RetryPolicy& policy, int attempt, double unit_random) {
  absl::Duration wait = policy.initial_backoff;
  for (int i = 1; i < attempt && wait < policy.max_backoff; ++i) wait = wait * policy.multiplier;
  wait = std::min(wait, policy.max_backoff);
  const double factor = 1.0 - policy.jitter + 2.0 * policy.jitter * unit_random;
  return wait * factor;
}

}  // namespace segmentd::clients

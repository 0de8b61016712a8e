#ifndef SEGMENTD_SERVER_STEADY_CLOCK_H_
#define SEGMENTD_SERVER_STEADY_CLOCK_H_

// Monotonic time, for ages that a step of the wall clock (NTP, an operator)
// must neither stretch nor shrink, e.g. how old the proof of the membership
// index's freshness is.

#include <chrono>

#include "absl/time/time.h"

namespace segmentd {

// Time since an arbitrary, fixed epoch; only differences mean anything.
inline absl::Duration SteadyNow() {
  return absl::FromChrono(std::chrono::steady_clock::now().time_since_epoch());
}

}  // namespace segmentd

#endif  // SEGMENTD_SERVER_STEADY_CLOCK_H_

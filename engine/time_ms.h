#ifndef SEGMENTD_ENGINE_TIME_MS_H_
#define SEGMENTD_ENGINE_TIME_MS_H_

// Compact instants for the engine.
//
// The public API speaks absl::Time; profiles and the hot classification loop
// store instants as int64 milliseconds since the Unix epoch (UTC). Conversions
// floor to the millisecond, so an absl::Time with sub-millisecond precision is
// truncated towards the past.

#include <cstdint>
#include <limits>

#include "absl/time/time.h"

namespace segmentd::engine {

// Milliseconds since the Unix epoch.
using Millis = int64_t;

inline constexpr Millis kMillisPerMinute = 60 * 1000;
inline constexpr Millis kMillisPerDay = 24 * 60 * kMillisPerMinute;
// "Never": later than any real instant. Used for absent optional instants.
inline constexpr Millis kNeverMillis = std::numeric_limits<Millis>::max();

inline Millis ToMillis(absl::Time t) { return absl::ToUnixMillis(t); }
inline absl::Time FromMillis(Millis ms) { return absl::FromUnixMillis(ms); }
inline constexpr Millis DaysToMillis(int64_t days) { return days * kMillisPerDay; }

}  // namespace segmentd::engine

#endif  // SEGMENTD_ENGINE_TIME_MS_H_

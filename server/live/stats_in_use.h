#ifndef SEGMENTD_SERVER_LIVE_STATS_IN_USE_H_
#define SEGMENTD_SERVER_LIVE_STATS_IN_USE_H_

// How statistics in use are recorded in the store
// (CustomerStore::AddStatsInUse): TenantContexts records the statistics of
// every snapshot it hands out, under its replica's id, before any write can
// use them; the StatisticsMover removes them once compared, and adopts those
// of a replica that stopped refreshing its own (it died or stopped owing
// moves). Field: "<replica id>/<statistics>"; value: when the owner last
// refreshed it, Unix ms.

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "engine/stats.h"

namespace segmentd {

struct StatsInUseEntry {
  std::string replica;
  engine::PopulationStats stats;
  absl::Time refreshed;
};

// A random id for this process (16 hex digits).
std::string NewReplicaId();

// The field `replica` records `stats` under.
std::string StatsInUseField(absl::string_view replica, const engine::PopulationStats& stats);
// The value recording a refresh at `at`.
std::string StatsInUseValue(absl::Time at);

// Parses a stored entry; DATA_LOSS when either part is not as written above.
absl::StatusOr<StatsInUseEntry> ParseStatsInUse(absl::string_view field, absl::string_view value);

}  // namespace segmentd

#endif  // SEGMENTD_SERVER_LIVE_STATS_IN_USE_H_

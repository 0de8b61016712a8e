#ifndef SEGMENTD_SERVER_LIVE_STATS_IN_USE_H_
#define SEGMENTD_SERVER_LIVE_STATS_IN_USE_H_

// How statistics in use are recorded in the store
// (CustomerStore::AddStatsInUse): TenantContexts records the statistics of
// every snapshot it hands out, under its replica's id, before any write can
// use them; the StatisticsMover removes them once compared, and adopts those
// of a replica that is no longer alive (CustomerStore::ReplicasAlive: it
// died or stopped owing moves).
//
// Field: "<replica id>/<format>/<statistics>", format 1 being
// "<buyers> <VIP cut-off> <high> <medium>[ <lookback>:<orders>:<revenue>]..."
// ("-": none). Value: when the entry was recorded, Unix ms (for people).
// The format number lets a later build add statistics: an entry this build
// cannot read is left to its live owner, and only a dead owner's is adopted
// (by re-classifying everyone, the one move sure to cover it).

#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "engine/stats.h"

namespace segmentd {

struct StatsInUseEntry {
  std::string replica;
  // nullopt: not a format this build reads.
  std::optional<engine::PopulationStats> stats;
};

// A random id for this process (16 hex digits).
std::string NewReplicaId();

// The field `replica` records `stats` under.
std::string StatsInUseField(absl::string_view replica, const engine::PopulationStats& stats);
// The value of an entry recorded at `at`.
std::string StatsInUseValue(absl::Time at);

// Reads a stored field: the replica (the text before the first '/') always,
// the statistics when in format 1.
StatsInUseEntry ParseStatsInUse(absl::string_view field);

}  // namespace segmentd

#endif  // SEGMENTD_SERVER_LIVE_STATS_IN_USE_H_

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
// "<buyers> <VIP cut-off> <high> <medium>[ <lookback>:<orders>:<revenue>]...
// s<enabled>:<lookback>:<threshold> s<...>" ("-": none; the two spender
// thresholds BIG_SPENDER's first, %.17g). Value: when the entry was
// recorded, Unix ms (for people).
// The format number lets a later build add statistics: an entry this build
// cannot read is left to its live owner, and only a dead owner's is adopted
// (by re-classifying everyone, the one move sure to cover it).

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "engine/config.h"
#include "engine/stats.h"
#include "store/customer_store.h"

namespace segmentd {

// The threshold a spender rule (one per store::AovIndex) held customers'
// AOV against, under one config and statistics.
struct SpenderThreshold {
  bool enabled = false;
  int32_t lookback_days = 0;  // of the customer's AOV
  // In minor units: the absolute amount, or multiple x store AOV; nullopt
  // when relative and the store has no AOV (nobody qualifies).
  std::optional<double> amount;

  friend bool operator==(const SpenderThreshold& a, const SpenderThreshold& b) {
    return a.enabled == b.enabled && a.lookback_days == b.lookback_days && a.amount == b.amount;
  }
  friend bool operator!=(const SpenderThreshold& a, const SpenderThreshold& b) { return !(a == b); }
};

// What writes classified with: the population statistics, and each spender
// rule's threshold under the config they used. The thresholds must be kept
// with the statistics: a relative rule's multiple may change (a config
// update, a preset) before the statistics mover compares them, and the
// customers to move are those between the threshold a write used and the
// current one, not between the current multiple times both store AOVs.
struct StatsInUse {
  engine::PopulationStats stats;
  std::array<SpenderThreshold, store::kNumAovIndexes> spenders;

  friend bool operator==(const StatsInUse& a, const StatsInUse& b) {
    return a.stats == b.stats && a.spenders == b.spenders;
  }
};

// The StatsInUse of writes classifying with `config` and `stats`.
StatsInUse StatsInUseOf(const engine::SegmentConfig& config, const engine::PopulationStats& stats);

struct StatsInUseEntry {
  std::string replica;
  // nullopt: not a format this build reads.
  std::optional<StatsInUse> used;
};

// A random id for this process (16 hex digits).
std::string NewReplicaId();

// The field `replica` records `used` under.
std::string StatsInUseField(absl::string_view replica, const StatsInUse& used);
// The value of an entry recorded at `at`.
std::string StatsInUseValue(absl::Time at);

// Reads a stored field: the replica (the text before the first '/') always,
// what was used when in format 1.
StatsInUseEntry ParseStatsInUse(absl::string_view field);

}  // namespace segmentd

#endif  // SEGMENTD_SERVER_LIVE_STATS_IN_USE_H_

#ifndef SEGMENTD_SERVER_LIVE_STATISTICS_MOVER_H_
#define SEGMENTD_SERVER_LIVE_STATISTICS_MOVER_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "engine/stats.h"
#include "server/live/live_membership.h"
#include "server/live/periodic_task.h"
#include "server/live/stats_in_use.h"
#include "server/live/tenant_context.h"
#include "store/customer_store.h"

namespace segmentd {

// Keeps membership exact as population statistics move. Each pass recomputes
// every tenant's statistics (VIP and value-tier cut-offs, store AOV per
// spender lookback) from the store's indexes and publishes them to this
// replica's writers; then, for every earlier snapshot any write of this
// replica may have used (TenantContexts::Issued), it re-classifies exactly the
// customers the difference can affect (lifetime orders or revenue between the
// old and new cut-off, own AOV between the old and new relative threshold),
// with cause STATISTICS. Snapshots still held by a write in flight are
// compared again on the next pass. Every replica runs one, covering its own
// writes; the statistics its writes may use are recorded in the store
// (stats_in_use.h), so that the moves a replica owes when it dies or stops
// are applied by another replica's mover, or its own once restarted, once
// its liveness mark lapses (TenantContexts::MarkAlive, renewed by a
// heartbeat apart from the passes). Each pass also finishes any config
// re-classification that was interrupted (ResumeConfig). Thread-safe.
class StatisticsMover {
 public:
  struct Options {
    // Pause between passes: bounds how long a statistics move goes unapplied.
    absl::Duration interval = absl::Milliseconds(500);
    // How old a config still flagged as not re-classified must be before a
    // pass finishes its re-classification when no replica claimed it (an
    // older build's; younger: an UpdateConfig call is presumably still
    // working on it). One another replica claimed is taken over once that
    // replica's liveness mark lapses, one this replica claimed once its call
    // has returned (TenantContexts::ConfigApplication), whatever their age.
    // Default: 30 s.
    absl::Duration config_grace = absl::Seconds(30);
    std::function<absl::Time()> now = [] { return absl::Now(); };
  };
  using TenantLister = std::function<absl::StatusOr<std::vector<std::string>>()>;

  // Every pointer must outlive the mover.
  StatisticsMover(store::CustomerStore* store, TenantContexts* contexts, LiveMembership* live,
                  TenantLister tenants, Options options);

  // Starts passes on a background thread, until destruction.
  void Start();

  // Runs one pass now. Returns the number of customers whose membership moved.
  absl::StatusOr<int64_t> RunOnce();

  // Returns the ids whose membership may differ between writes that used
  // `before` and the current `after` (under the current `config`).
  absl::StatusOr<std::vector<std::string>> Affected(const std::string& tenant,
                                                    const engine::SegmentConfig& config,
                                                    const StatsInUse& before,
                                                    const StatsInUse& after);

 private:
  // One tenant's part of a pass, given what the pass's survey read of it.
  absl::StatusOr<int64_t> RunTenant(const std::string& tenant,
                                    const store::CustomerStore::TenantSurvey& survey);
  // The statistics-in-use entries of `tenant` whose replica is no longer
  // alive: adds their statistics to `adopted` and their fields to `fields`;
  // sets `*unreadable` when one is in a format this build cannot read (then
  // only a full re-classification is sure to cover it).
  absl::Status Abandoned(const std::string& tenant, std::vector<StatsInUse>* adopted,
                         std::vector<std::string>* fields, bool* unreadable);
  // Finishes the re-classification of a stored config that never completed
  // (its UpdateConfig failed midway or its replica died): claimed by another
  // replica, once that one's liveness mark lapsed; by this one, once its
  // call returned; by none, once older than config_grace. Returns the number
  // of customers moved. Sets *claimed once this replica holds the work (an
  // error before it says nothing about the work itself).
  absl::StatusOr<int64_t> ResumeConfig(const std::string& tenant, bool* claimed);

  store::CustomerStore* const store_;
  TenantContexts* const contexts_;
  LiveMembership* const live_;
  const TenantLister tenants_;
  const Options options_;
  std::unique_ptr<PeriodicTask> task_;
  std::unique_ptr<PeriodicTask> heartbeat_;
  // Per tenant, when ResumeConfig may run again after a failure, and the
  // wait after the last one that could not reach Redis mid-way (doubling).
  absl::Mutex resume_mu_;
  absl::flat_hash_map<std::string, absl::Time> resume_after_ ABSL_GUARDED_BY(resume_mu_);
  absl::flat_hash_map<std::string, absl::Duration> unreachable_wait_ ABSL_GUARDED_BY(resume_mu_);
};

}  // namespace segmentd

#endif  // SEGMENTD_SERVER_LIVE_STATISTICS_MOVER_H_

#ifndef SEGMENTD_SERVER_LIVE_TENANT_CONTEXT_H_
#define SEGMENTD_SERVER_LIVE_TENANT_CONTEXT_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "engine/classify.h"
#include "engine/config.h"
#include "store/customer_store.h"

namespace segmentd {

// What classifying one tenant's customers needs, as of one moment: the stored
// config (or the defaults when none is stored), the population statistics and
// a classifier compiled from both, and the category dictionary. Immutable;
// share it freely.
struct TenantSnapshot {
  // 0 when the tenant never stored a config (the defaults apply).
  int64_t config_version = 0;
  engine::SegmentConfig config;
  engine::PopulationStats stats;
  std::shared_ptr<const engine::Classifier> classifier;
  // Category names indexed by id, and the reverse map.
  std::shared_ptr<const std::vector<std::string>> category_names;
  absl::flat_hash_map<std::string, engine::CategoryId> category_ids;
  absl::Time loaded_at;
  // The store entry recording `stats` in use (StatsInUseField).
  std::string stats_in_use;
};

// Caches one TenantSnapshot per tenant, reloading it from the store when it is
// older than `max_age` (another segmentd may have changed config or the
// population) or when invalidated. A stale snapshot is reloaded by one caller
// while the others keep using it (for at most another `max_age`): a reload is
// several store round trips, and every request of a busy tenant paying them
// at once each second was a latency tail. Using a snapshot a little longer is
// safe: writes carry its config version and are refused and retried with a
// fresh one when the config moved; statistics moves are repaired by the
// StatisticsMover. Thread-safe.
class TenantContexts {
 public:
  struct Options {
    // How stale a snapshot may be before Get() reloads it: bounds how long a
    // config or statistics change made through another replica goes unseen.
    absl::Duration max_age = absl::Seconds(1);
    std::function<absl::Time()> now = [] { return absl::Now(); };
    // This replica's id in the statistics-in-use entries (stats_in_use.h).
    // Default: random.
    std::string replica_id;
    // How long a MarkAlive() keeps this replica alive in the store.
    absl::Duration alive_for = absl::Seconds(10);
    // OK while the store holds segmentd's data; otherwise its error (the
    // StoreProbe's DATA_LOSS), and the replica's bookkeeping (alive mark,
    // statistics in use) writes nothing there. Default: always OK.
    std::function<absl::Status()> store_lost = [] { return absl::OkStatus(); };
  };

  // `store` must outlive this object.
  TenantContexts(store::CustomerStore* store, Options options);

  // Returns the tenant's snapshot, loading it if missing or stale.
  absl::StatusOr<std::shared_ptr<const TenantSnapshot>> Get(const std::string& tenant);

  // Like Get(), but the config is never older than the one stored when the
  // call began: reads the stored config version (one store round trip) and
  // reloads when it differs from the cached snapshot's, e.g. right after
  // another replica's UpdateConfig returned. For reads that must reflect an
  // acknowledged config change (classification, preview); statistics may
  // still be up to `max_age` old, as with Get().
  absl::StatusOr<std::shared_ptr<const TenantSnapshot>> GetCurrent(const std::string& tenant);
  // GetCurrent() for a caller that has read the stored config version
  // itself: reloads only when the cached snapshot's version differs.
  absl::StatusOr<std::shared_ptr<const TenantSnapshot>> GetAtVersion(const std::string& tenant,
                                                                     int64_t version);

  // Returns a fresh snapshot (always reloads), e.g. right after a config change.
  absl::StatusOr<std::shared_ptr<const TenantSnapshot>> Reload(const std::string& tenant);

  // The ids of `names` from a snapshot fresh enough for Get to return it
  // without a store read; nullopt when answering needs one (a name not in
  // it, a snapshot missing or stale). Never waits on the store.
  std::optional<std::vector<engine::CategoryId>> KnownCategoryIds(
      const std::string& tenant, const std::vector<std::string>& names);

  // Returns the ids of `names`, interning new ones; the snapshot's dictionary
  // is refreshed when new names appeared. Names the snapshot already knows cost
  // no store round trip (ids never change once given).
  absl::StatusOr<std::vector<engine::CategoryId>> InternCategories(
      const std::string& tenant, const std::vector<std::string>& names);

  // Returns every snapshot of `tenant` handed out since the snapshots were last
  // retired, the current one included: statistics some write may have used.
  std::vector<std::shared_ptr<const TenantSnapshot>> Issued(const std::string& tenant);

  // The issued snapshots of `tenant` that nobody holds now (only this
  // object's list): every write that used one has returned, so whatever it
  // wrote is in the store. Take it before reading what those writes may have
  // moved; a snapshot still held then must be compared again later, even if
  // its holder lets go before Retire().
  std::vector<const TenantSnapshot*> Settled(const std::string& tenant);
  // Forgets the `settled` snapshots (as Settled() returned them), and removes
  // from the store the statistics-in-use entries no issued snapshot has any
  // more (an error leaves those for the next call). A settled snapshot can
  // gain no new holder: Get() hands out only the current one, which the cache
  // holds, so it is never settled.
  absl::Status Retire(const std::string& tenant, const std::vector<const TenantSnapshot*>& settled);

  // Keeps this replica alive in the store for Options::alive_for
  // (CustomerStore::MarkReplicaAlive): other replicas' movers adopt the
  // statistics-in-use entries of a replica they do not find alive. Called
  // well within alive_for (StatisticsMover), and before the first entry.
  // When the mark had lapsed, the entries are recorded again (others may
  // have adopted and removed them).
  absl::Status MarkAlive();
  absl::Duration alive_for() const { return options_.alive_for; }

  const std::string& replica_id() const { return replica_id_; }

  // A config re-classification of one tenant under way in this process (an
  // UpdateConfig or ApplyPreset call, from before it stores the config until
  // it returns): while one lives, this replica's StatisticsMover leaves the
  // re-classification this replica claimed alone, however long it takes;
  // once none does, the claim is a failed call's, finished at once
  // (StatisticsMover::ResumeConfig).
  class ConfigApplication {
   public:
    ConfigApplication(TenantContexts* contexts, std::string tenant);
    ~ConfigApplication();
    ConfigApplication(const ConfigApplication&) = delete;
    ConfigApplication& operator=(const ConfigApplication&) = delete;

   private:
    TenantContexts* const contexts_;
    const std::string tenant_;
  };
  // Whether a ConfigApplication of `tenant` lives.
  bool ApplyingConfig(const std::string& tenant);

  // Computes statistics for `config` from the store, at `as_of`.
  absl::StatusOr<engine::PopulationStats> ComputeStats(const std::string& tenant,
                                                       const engine::SegmentConfig& config,
                                                       absl::Time as_of);

  // The classifier for an explicit `as_of` under `snapshot`: its config and
  // percentile cut-offs, with the store AOV of each relative spender rule in
  // use over the lookback ending at `as_of` (the orders placed in it, as
  // known now); `snapshot`'s own when no rule reads the store AOV. The last
  // one made per tenant is kept for the same snapshot and instant: a
  // targeting call at `as_of` classifies page after page.
  absl::StatusOr<std::shared_ptr<const engine::Classifier>> ClassifierAt(
      const std::string& tenant, const std::shared_ptr<const TenantSnapshot>& snapshot,
      absl::Time as_of);

 private:
  absl::StatusOr<std::shared_ptr<const TenantSnapshot>> Load(const std::string& tenant);
  // The tenant's valid orders and net revenue placed in the `lookback_days`
  // before `as_of`: one window of the store AOV.
  absl::StatusOr<engine::WindowTotals> WindowAt(const std::string& tenant, int32_t lookback_days,
                                                absl::Time as_of);
  // Counts one more snapshot of `tenant` using `field`, recording it in the
  // store first when none did.
  absl::Status MarkStatsInUse(const std::string& tenant, const std::string& field, absl::Time at);
  absl::Status MarkAliveLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(stats_mu_);
  // Whether Get() answers with `snapshot` of `tenant` without a store read.
  bool ServedWithoutReadLocked(const std::string& tenant, const TenantSnapshot& snapshot) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  store::CustomerStore* const store_;
  const Options options_;
  const std::string replica_id_;
  // Per tenant: statistics-in-use field -> issued snapshots using it, and
  // fields whose removal from the store failed. Also serializes the store
  // writes of those entries, so that a removal never overtakes a new record
  // of the same field (held across those round trips: they happen when a
  // tenant's statistics change, a few times a second at most). Never held
  // with mu_.
  absl::Mutex stats_mu_;
  bool marked_alive_ ABSL_GUARDED_BY(stats_mu_) = false;
  // The entries are to be recorded again (the mark lapsed) and were not yet.
  bool record_again_ ABSL_GUARDED_BY(stats_mu_) = false;
  absl::flat_hash_map<std::string, absl::flat_hash_map<std::string, int>> stats_in_use_
      ABSL_GUARDED_BY(stats_mu_);
  absl::flat_hash_map<std::string, std::vector<std::string>> stats_unremoved_
      ABSL_GUARDED_BY(stats_mu_);
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::shared_ptr<const TenantSnapshot>> snapshots_
      ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, std::vector<std::shared_ptr<const TenantSnapshot>>> issued_
      ABSL_GUARDED_BY(mu_);
  // Tenants whose stale snapshot one caller of Get() is reloading.
  absl::flat_hash_set<std::string> reloading_ ABSL_GUARDED_BY(mu_);
  // Live ConfigApplications per tenant.
  absl::flat_hash_map<std::string, int> applying_ ABSL_GUARDED_BY(mu_);
  // ClassifierAt's last classifier per tenant, with what it was made for (a
  // weak reference: the snapshot's users are counted, Settled()).
  struct ClassifierAtEntry {
    std::weak_ptr<const TenantSnapshot> snapshot;
    absl::Time as_of;
    std::shared_ptr<const engine::Classifier> classifier;
  };
  absl::flat_hash_map<std::string, ClassifierAtEntry> classifiers_at_ ABSL_GUARDED_BY(mu_);
};

// Returns the stored config of `tenant` (defaults when none) and its version.
absl::StatusOr<std::pair<engine::SegmentConfig, int64_t>> LoadConfig(store::CustomerStore* store,
                                                                     const std::string& tenant);
// The same from a blob already read (nullopt: none stored); DATA_LOSS when
// it cannot be parsed.
absl::StatusOr<std::pair<engine::SegmentConfig, int64_t>> ParseStoredConfig(
    const std::optional<store::VersionedBlob>& blob, const std::string& tenant);

}  // namespace segmentd

#endif  // SEGMENTD_SERVER_LIVE_TENANT_CONTEXT_H_

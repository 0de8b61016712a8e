#ifndef SEGMENTD_SERVER_LIVE_PROFILE_BACKFILL_H_
#define SEGMENTD_SERVER_LIVE_PROFILE_BACKFILL_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "engine/profile.h"
#include "server/metrics/metrics.h"
#include "store/customer_store.h"

namespace segmentd {

// Fills, from stored profiles, something the store keeps for every customer
// of a tenant but lacks for the customers stored before it existed (the
// order record, the registration index): a page of customers at a time, in
// ordinal order, behind a cursor the store keeps, so that a restart or
// another replica goes on where the last step stopped. The
// TransitionScheduler runs each backfill in the background on the replica
// that leads; filling is idempotent, so replicas overlapping after a change
// of leader do no harm. Subclasses say what is filled and how. Thread-safe.
class ProfileBackfill {
 public:
  // A stored customer of the page being filled.
  struct StoredCustomer {
    std::string id;
    uint32_t ordinal = 0;
    engine::Profile profile;
  };

  virtual ~ProfileBackfill() = default;

  // What is filled, for logs: "order record".
  const std::string& what() const { return what_; }

  // Fills what up to `limit` (>= 1) more customers of `tenant` lack, in
  // ordinal order. Returns true when nothing is left to fill: the tenant's
  // backfill is complete (remembered: costs nothing after), or it has no
  // customer yet. A customer whose stored fields cannot be read or whose
  // profile cannot be decoded is skipped and logged (it cannot be written
  // either), and counted in the line logged on completion.
  absl::StatusOr<bool> Step(const std::string& tenant, int limit);

  // How often a tenant's progress is logged while it runs ("... at ordinal
  // N of M"); default 30 s, so that a long fill (minutes per million
  // customers) shows it is moving.
  void set_progress_interval(absl::Duration interval) ABSL_LOCKS_EXCLUDED(mu_);

  // Where the customers filled in are counted (segmentd_backfill_customers_total,
  // labelled with what() in snake case); null (the default): nowhere. Set
  // before the first Step; `metrics` must outlive this object.
  void set_metrics(Metrics* metrics) { metrics_ = metrics; }

 protected:
  // `store` must outlive this object. `what`: as what(); `verb` and `items`
  // say what Fill counts, in the line logged on completion ("recorded",
  // "orders").
  ProfileBackfill(store::CustomerStore* store, std::string what, std::string verb,
                  std::string items);

  store::CustomerStore* store() const { return store_; }

  // nullopt when `tenant` is complete, 0 when it has no customer, else the
  // first ordinal still to fill (CustomerStore::OrdersUnrecordedFrom).
  virtual absl::StatusOr<std::optional<uint32_t>> UnfilledFrom(const std::string& tenant) = 0;
  // Fills `customers` (one page, ordinal order), then moves the store's
  // cursor to `next_ordinal`. Returns how many items it filled.
  virtual absl::StatusOr<int64_t> Fill(const std::string& tenant,
                                       const std::vector<StoredCustomer>& customers,
                                       uint32_t next_ordinal) = 0;

 private:
  // What this process filled of a tenant, for the line logged when the
  // tenant's backfill completes.
  struct Progress {
    bool complete = false;
    int64_t customers = 0;
    int64_t items = 0;
    int64_t skipped = 0;
    absl::Duration progress_logged;  // SteadyNow() of the last line logged
  };

  // The stored customers among `ids`, decoded. When what is stored for one
  // cannot be read (Unreadable), reads them one at a time, leaving out (and
  // counting in `*skipped`) those that fail so, as those whose profile
  // cannot be decoded; any other error is returned.
  absl::StatusOr<std::vector<StoredCustomer>> ReadPage(const std::string& tenant,
                                                       const std::vector<std::string>& ids,
                                                       int64_t* skipped);

  store::CustomerStore* const store_;
  Metrics* metrics_ = nullptr;
  const std::string what_;
  const std::string verb_;
  const std::string items_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Progress> progress_ ABSL_GUARDED_BY(mu_);
  absl::Duration progress_interval_ ABSL_GUARDED_BY(mu_) = absl::Seconds(30);
};

}  // namespace segmentd

#endif  // SEGMENTD_SERVER_LIVE_PROFILE_BACKFILL_H_

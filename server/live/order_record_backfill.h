#ifndef SEGMENTD_SERVER_LIVE_ORDER_RECORD_BACKFILL_H_
#define SEGMENTD_SERVER_LIVE_ORDER_RECORD_BACKFILL_H_

#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "store/customer_store.h"

namespace segmentd {

// Fills the order record of a tenant whose customers were stored before the
// record existed (CustomerStore::OrdersUnrecordedFrom), from their stored
// profiles, which keep the fingerprint of every order. Until it is complete,
// an order id such a customer placed could still be placed for another
// customer (order ids are unique per tenant, SPEC.md). The
// TransitionScheduler runs it in the background, a page of customers at a
// time, on the replica that leads; recording is idempotent, so replicas
// overlapping after a change of leader do no harm. Thread-safe.
class OrderRecordBackfill {
 public:
  // `store` must outlive this object.
  explicit OrderRecordBackfill(store::CustomerStore* store) : store_(store) {}

  // Records the orders of up to `limit` (>= 1) more customers of `tenant`, in
  // ordinal order. Returns true when nothing is left to record: the
  // tenant's record is complete (remembered: costs nothing after), or it has
  // no customer yet. A customer whose stored fields cannot be read or whose
  // profile cannot be decoded is skipped and logged (it cannot be written
  // either), and counted in the line logged on completion. An order already
  // recorded against another customer stays that customer's, and is logged.
  absl::StatusOr<bool> Step(const std::string& tenant, int limit);

 private:
  // What this process recorded of a tenant, for the line logged when its
  // record completes.
  struct Progress {
    bool complete = false;
    int64_t customers = 0;
    int64_t orders = 0;
    int64_t skipped = 0;
  };

  // ReadProfiles of `ids`; when one cannot be read (other than UNAVAILABLE),
  // one at a time, leaving out (and counting in `*skipped`) those that fail.
  absl::StatusOr<std::vector<store::ProfileRead>> ReadPage(const std::string& tenant,
                                                           const std::vector<std::string>& ids,
                                                           int64_t* skipped);

  store::CustomerStore* const store_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, Progress> progress_ ABSL_GUARDED_BY(mu_);
};

}  // namespace segmentd

#endif  // SEGMENTD_SERVER_LIVE_ORDER_RECORD_BACKFILL_H_

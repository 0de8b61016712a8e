#ifndef SEGMENTD_STORE_ORDER_LOG_H_
#define SEGMENTD_STORE_ORDER_LOG_H_

// The Redis store's record of each change of a tenant's order totals at its
// instant: per tenant and UTC day, one string (`sd:{t}:dl:<day>`) of
// fixed-size records that the write script APPENDs (docs/redis-keys.md).
// The per-day totals (`sd:{t}:daily`) sum whole days; these records let a
// window that starts or ends within a day count exactly the orders placed
// in it (CustomerStore::OrderTotalsIn), which SPEC's store AOV "over a
// lookback" asks.
//
// A record is 12 bytes, little-endian: a uint32 holding the instant's
// milliseconds since the start of its day (27 bits) and the order delta
// plus one (bits 27-28: 0, 1 or 2 for -1, 0, +1), then the int64 revenue
// delta. Why so small: a record exists for every order booked, cancelled or
// refunded, and Redis memory per customer is a DESIGN.md target.
//
// Records are only ever appended, so a reader keeps what it read
// (OrderLogCache) and fetches just the bytes appended since.

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "store/customer_store.h"
#include "store/redis/redis_client.h"

namespace segmentd::store {

inline constexpr size_t kOrderLogRecordBytes = 12;

// Appends the record of `delta` (its orders -1, 0 or 1) to `out`.
void AppendOrderLogRecord(const OrderTotalsDelta& delta, std::string& out);

// Sums the records of `log` whose milliseconds within their day lie in
// (after_ms_of_day, up_to_ms_of_day]. DATA_LOSS when `log` is not whole
// records or a record is not one AppendOrderLogRecord writes.
absl::StatusOr<DayTotals> SumOrderLog(absl::string_view log, int64_t after_ms_of_day,
                                      int64_t up_to_ms_of_day);

// The day logs a process has read, by key. Thread-safe.
class OrderLogCache {
 public:
  // Beyond `max_bytes` cached, the cache starts over (a busy tenant's day
  // holds ~120 KB at 10k orders a day; a window reads at most four days).
  explicit OrderLogCache(size_t max_bytes) : max_bytes_(max_bytes) {}

  // Reads what was appended to `key` since the last call, and the last
  // records read before (one GETRANGE): a log whose records there differ, or
  // that is shorter, was replaced (a Redis restored from an older snapshot
  // and written again) and is read afresh. Then sums it as SumOrderLog does.
  // An empty log is not kept.
  absl::StatusOr<DayTotals> Sum(redis::RedisClient& client, const std::string& key,
                                int64_t after_ms_of_day, int64_t up_to_ms_of_day)
      ABSL_LOCKS_EXCLUDED(mu_);

 private:
  // What an entry counts against max_bytes.
  static size_t Charge(absl::string_view key, absl::string_view log);

  const size_t max_bytes_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::string> logs_ ABSL_GUARDED_BY(mu_);
  size_t bytes_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace segmentd::store

#endif  // SEGMENTD_STORE_ORDER_LOG_H_

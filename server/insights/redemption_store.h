#ifndef SEGMENTD_SERVER_INSIGHTS_REDEMPTION_STORE_H_
#define SEGMENTD_SERVER_INSIGHTS_REDEMPTION_STORE_H_

#include <cstdint>
#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "store/redis/redis_client.h"

namespace segmentd {

// Voucher redemptions in Redis, idempotent per (voucher, order): each order
// redeems a voucher at most once, and per-arm counters move only when a
// redemption is new. Layout (docs/redis-keys.md):
//   sd:{t}:redeemed:<voucher_id>  hash order_id -> "<ms> <arm>\n<customer_id>"
//   sd:{t}:redeemcount:<voucher_id>  hash arm -> count ("" = no split)
//   sd:{t}:redeemlatest:<voucher_id>  the latest redemption's instant (ms)
// Thread-safe.
class RedemptionStore {
 public:
  // `client` must outlive the store.
  explicit RedemptionStore(store::redis::RedisClient* client) : client_(client) {}

  // Records the redemption; returns false when this order already redeemed
  // this voucher for this customer (nothing changes then), ALREADY_EXISTS
  // when for another one.
  absl::StatusOr<bool> Record(absl::string_view tenant, absl::string_view voucher_id,
                              absl::string_view order_id, absl::string_view customer_id,
                              absl::string_view arm, absl::Time at);

  // Redemptions of the voucher per arm ("" when the voucher has no split)
  // redeemed at or before `now`: the counters, or CountsUntil(now) when a
  // redemption is dated after it (recorded ahead of the clock).
  absl::StatusOr<std::map<std::string, int64_t>> Counts(absl::string_view tenant,
                                                        absl::string_view voucher_id,
                                                        absl::Time now);
  // Counts() of the redemptions redeemed at or before `until` (at a past
  // instant): reads every redemption of the voucher, HSCAN pages of
  // kScanCount.
  absl::StatusOr<std::map<std::string, int64_t>> CountsUntil(absl::string_view tenant,
                                                             absl::string_view voucher_id,
                                                             absl::Time until);
  static constexpr int kScanCount = 250;

 private:
  store::redis::RedisClient* const client_;
};

}  // namespace segmentd

#endif  // SEGMENTD_SERVER_INSIGHTS_REDEMPTION_STORE_H_

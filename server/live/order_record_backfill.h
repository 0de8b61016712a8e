#ifndef SEGMENTD_SERVER_LIVE_ORDER_RECORD_BACKFILL_H_
#define SEGMENTD_SERVER_LIVE_ORDER_RECORD_BACKFILL_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "server/live/profile_backfill.h"
#include "store/customer_store.h"

namespace segmentd {

// Fills the order record of a tenant whose customers were stored before the
// record existed (CustomerStore::OrdersUnrecordedFrom), from their stored
// profiles, which keep the fingerprint of every order. Until it is complete,
// an order id such a customer placed could still be placed for another
// customer (order ids are unique per tenant, SPEC.md). An order already
// recorded against another customer stays that customer's, and is logged.
// Thread-safe.
class OrderRecordBackfill final : public ProfileBackfill {
 public:
  // `store` must outlive this object.
  explicit OrderRecordBackfill(store::CustomerStore* store);

 private:
  absl::StatusOr<std::optional<uint32_t>> UnfilledFrom(const std::string& tenant) override;
  // Records every order of `customers`; counts them all, including those
  // another customer holds.
  absl::StatusOr<int64_t> Fill(const std::string& tenant,
                               const std::vector<StoredCustomer>& customers,
                               uint32_t next_ordinal) override;
};

}  // namespace segmentd

#endif  // SEGMENTD_SERVER_LIVE_ORDER_RECORD_BACKFILL_H_

#include "server/live/order_record_backfill.h"

#include "absl/strings/str_cat.h"
#include "server/live/stored_profile.h"
#include "server/log.h"

namespace segmentd {

OrderRecordBackfill::OrderRecordBackfill(store::CustomerStore* store)
    : ProfileBackfill(store, "order record", "recorded", "orders") {}

absl::StatusOr<std::optional<uint32_t>> OrderRecordBackfill::UnfilledFrom(
    const std::string& tenant) {
  return store()->OrdersUnrecordedFrom(tenant);
}

absl::StatusOr<int64_t> OrderRecordBackfill::Fill(const std::string& tenant,
                                                  const std::vector<StoredCustomer>& customers,
                                                  uint32_t next_ordinal) {
  std::vector<store::CustomerStore::RecordedOrder> orders;
  for (const StoredCustomer& c : customers) {
    for (uint64_t order : OrderFingerprints(c.profile)) orders.push_back({order, c.ordinal});
  }
  absl::StatusOr<int64_t> taken = store()->RecordOrders(tenant, orders, next_ordinal);
  if (!taken.ok()) return taken.status();
  if (*taken > 0) {
    LogError(absl::StrCat("order record of tenant ", tenant, ": ", *taken,
                          " orders of customers stored before it were already recorded against "
                          "another customer (given to two customers before order ids were unique "
                          "per tenant, or placed for another one while this backfill ran); each "
                          "stays with the customer recorded first"));
  }
  return static_cast<int64_t>(orders.size());
}

}  // namespace segmentd

#include "server/live/order_record_backfill.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "server/live/stored_profile.h"
#include "server/log.h"

namespace segmentd {

absl::StatusOr<bool> OrderRecordBackfill::Step(const std::string& tenant, int limit) {
  if (limit < 1) return absl::InvalidArgumentError("limit: must be >= 1");
  {
    absl::MutexLock lock(&mu_);
    auto it = progress_.find(tenant);
    if (it != progress_.end() && it->second.complete) return true;
  }
  absl::StatusOr<std::optional<uint32_t>> from = store_->OrdersUnrecordedFrom(tenant);
  if (!from.ok()) return from.status();
  if (!from->has_value()) {
    absl::MutexLock lock(&mu_);
    Progress& p = progress_[tenant];
    if (p.customers > 0) {
      LogInfo(absl::StrCat("order record of tenant ", tenant, " complete: recorded ", p.orders,
                           " orders of ", p.customers, " customers stored before it"));
    }
    p.complete = true;
    return true;
  }
  absl::StatusOr<store::IdPage> page = store_->ScanCustomers(tenant, absl::StrCat(**from), limit);
  if (!page.ok()) return page.status();
  // Where the next page starts; after the last page, any ordinal past the
  // tenant's last completes the record.
  uint32_t next = 0;
  if (page->next_cursor.empty()) {
    next = static_cast<uint32_t>(std::min<uint64_t>(uint64_t{**from} + static_cast<uint64_t>(limit),
                                                    std::numeric_limits<uint32_t>::max()));
  } else if (!absl::SimpleAtoi(page->next_cursor, &next) || next <= **from) {
    return absl::InternalError(
        absl::StrCat("customer scan returned cursor \"", page->next_cursor, "\" after ", **from));
  }
  absl::StatusOr<std::vector<store::CustomerState>> states = store_->Read(tenant, page->ids);
  if (!states.ok()) return states.status();
  std::vector<store::CustomerStore::RecordedOrder> orders;
  int64_t customers = 0;
  for (const store::CustomerState& state : *states) {
    if (state.version == 0 || state.ordinal == 0) continue;  // gone, or not ours to name
    absl::StatusOr<engine::Profile> profile = DecodeStoredProfile(state);
    if (!profile.ok()) {
      LogError(absl::StrCat("order record of tenant ", tenant, ": customer with ordinal ",
                            state.ordinal, " skipped: ", profile.status().message()));
      continue;
    }
    for (uint64_t order : OrderFingerprints(*profile)) orders.push_back({order, state.ordinal});
    ++customers;
  }
  absl::StatusOr<int64_t> taken = store_->RecordOrders(tenant, orders, next);
  if (!taken.ok()) return taken.status();
  if (*taken > 0) {
    LogError(absl::StrCat("order record of tenant ", tenant, ": ", *taken,
                          " orders were stored for more than one customer before order ids were "
                          "unique per tenant; each stays recorded against the customer recorded "
                          "first"));
  }
  absl::MutexLock lock(&mu_);
  Progress& p = progress_[tenant];
  p.customers += customers;
  p.orders += static_cast<int64_t>(orders.size());
  return false;
}

}  // namespace segmentd

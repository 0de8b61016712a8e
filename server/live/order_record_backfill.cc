#include "server/live/order_record_backfill.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "engine/profile_codec.h"
#include "server/live/stored_profile.h"
#include "server/log.h"

namespace segmentd {

absl::StatusOr<std::vector<store::ProfileRead>> OrderRecordBackfill::ReadPage(
    const std::string& tenant, const std::vector<std::string>& ids, int64_t* skipped) {
  absl::StatusOr<std::vector<store::ProfileRead>> page = store_->ReadProfiles(tenant, ids);
  if (page.ok() || page.status().code() == absl::StatusCode::kUnavailable) return page;
  // One customer's stored fields cannot be read: find it (or them), so that
  // it cannot stop the backfill for good. It cannot be written either.
  std::vector<store::ProfileRead> profiles;
  for (const std::string& id : ids) {
    absl::StatusOr<std::vector<store::ProfileRead>> one = store_->ReadProfiles(tenant, {id});
    if (one.ok()) {
      profiles.push_back(std::move((*one)[0]));
      continue;
    }
    if (one.status().code() == absl::StatusCode::kUnavailable) return one.status();
    LogError(absl::StrCat("order record of tenant ", tenant,
                          ": a customer skipped: ", one.status().message()));
    ++*skipped;
  }
  return profiles;
}

absl::StatusOr<bool> OrderRecordBackfill::Step(const std::string& tenant, int limit) {
  if (limit < 1) return absl::InvalidArgumentError("limit: must be >= 1");
  {
    absl::MutexLock lock(&mu_);
    auto it = progress_.find(tenant);
    if (it != progress_.end() && it->second.complete) return true;
  }
  absl::StatusOr<std::optional<uint32_t>> from = store_->OrdersUnrecordedFrom(tenant);
  if (!from.ok()) return from.status();
  // No customer yet: nothing to record, and the first write completes the
  // record. Not remembered: a customer may arrive.
  if (from->has_value() && **from == 0) return true;
  if (!from->has_value()) {
    absl::MutexLock lock(&mu_);
    Progress& p = progress_[tenant];
    if (p.customers > 0 || p.skipped > 0) {
      LogInfo(absl::StrCat(
          "order record of tenant ", tenant, " complete: recorded ", p.orders, " orders of ",
          p.customers, " customers stored before it",
          p.skipped > 0 ? absl::StrCat(" (", p.skipped, " skipped: unreadable)") : ""));
    }
    p.complete = true;
    return true;
  }
  {
    absl::MutexLock lock(&mu_);
    auto [p, first] = progress_.try_emplace(tenant);
    if (first) {
      LogInfo(absl::StrCat("order record of tenant ", tenant,
                           ": recording the orders of customers stored before it, from ordinal ",
                           **from));
    }
  }
  absl::StatusOr<store::IdPage> page = store_->ScanCustomers(tenant, absl::StrCat(**from), limit);
  if (!page.ok()) return page.status();
  // Where the next page starts; after the last page, any ordinal past the
  // tenant's last completes the record. (Capped at the largest ordinal:
  // ordinals are 32-bit, and a tenant that reached 2^32 - 1 would never
  // complete; far beyond any tenant's size.)
  uint32_t next = 0;
  if (page->next_cursor.empty()) {
    next = static_cast<uint32_t>(std::min<uint64_t>(uint64_t{**from} + static_cast<uint64_t>(limit),
                                                    std::numeric_limits<uint32_t>::max()));
  } else if (!absl::SimpleAtoi(page->next_cursor, &next) || next <= **from) {
    return absl::InternalError(
        absl::StrCat("customer scan returned cursor \"", page->next_cursor, "\" after ", **from));
  }
  int64_t skipped = 0;
  absl::StatusOr<std::vector<store::ProfileRead>> profiles = ReadPage(tenant, page->ids, &skipped);
  if (!profiles.ok()) return profiles.status();
  std::vector<store::CustomerStore::RecordedOrder> orders;
  int64_t customers = 0;
  for (const store::ProfileRead& read : *profiles) {
    if (read.profile.empty() || read.ordinal == 0) continue;  // not stored
    absl::StatusOr<engine::Profile> profile = engine::DecodeProfile(read.profile);
    if (!profile.ok()) {
      LogError(absl::StrCat("order record of tenant ", tenant, ": customer with ordinal ",
                            read.ordinal, " skipped: ", profile.status().message()));
      ++skipped;
      continue;
    }
    for (uint64_t order : OrderFingerprints(*profile)) orders.push_back({order, read.ordinal});
    ++customers;
  }
  absl::StatusOr<int64_t> taken = store_->RecordOrders(tenant, orders, next);
  if (!taken.ok()) return taken.status();
  if (*taken > 0) {
    LogError(absl::StrCat("order record of tenant ", tenant, ": ", *taken,
                          " orders of customers stored before it were already recorded against "
                          "another customer (given to two customers before order ids were unique "
                          "per tenant, or placed for another one while this backfill ran); each "
                          "stays with the customer recorded first"));
  }
  absl::MutexLock lock(&mu_);
  Progress& p = progress_[tenant];
  p.customers += customers;
  p.orders += static_cast<int64_t>(orders.size());
  p.skipped += skipped;
  return false;
}

}  // namespace segmentd

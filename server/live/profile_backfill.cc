#include "server/live/profile_backfill.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "engine/profile_codec.h"
#include "server/log.h"
#include "server/steady_clock.h"

namespace segmentd {
namespace {

// Whether a customer's read failed on what is stored for it (a field that
// does not parse, a key of another type: the stores' DATA_LOSS), which no
// retry mends; anything else (Redis refusing the credentials, an outage) is
// retried next pass rather than skipping customers for good.
bool Unreadable(const absl::Status& status) { return status.code() == absl::StatusCode::kDataLoss; }

}  // namespace

ProfileBackfill::ProfileBackfill(store::CustomerStore* store, std::string what, std::string verb,
                                 std::string items)
    : store_(store), what_(std::move(what)), verb_(std::move(verb)), items_(std::move(items)) {}

absl::StatusOr<std::vector<ProfileBackfill::StoredCustomer>> ProfileBackfill::ReadPage(
    const std::string& tenant, const std::vector<std::string>& ids, int64_t* skipped) {
  absl::StatusOr<std::vector<store::ProfileRead>> page = store_->ReadProfiles(tenant, ids);
  std::vector<std::string> read_ids = ids;
  if (!page.ok()) {
    if (!Unreadable(page.status())) return page.status();
    // One customer's stored fields cannot be read: find it (or them), so
    // that it cannot stop the backfill for good. It cannot be written either.
    page.emplace();
    read_ids.clear();
    for (const std::string& id : ids) {
      absl::StatusOr<std::vector<store::ProfileRead>> one = store_->ReadProfiles(tenant, {id});
      if (one.ok()) {
        page->push_back(std::move((*one)[0]));
        read_ids.push_back(id);
        continue;
      }
      if (!Unreadable(one.status())) return one.status();
      LogError(absl::StrCat(what_, " of tenant ", tenant,
                            ": a customer skipped: ", one.status().message()));
      ++*skipped;
    }
  }
  std::vector<StoredCustomer> customers;
  customers.reserve(page->size());
  for (size_t i = 0; i < page->size(); ++i) {
    store::ProfileRead& read = (*page)[i];
    if (read.profile.empty() || read.ordinal == 0) continue;  // not stored
    absl::StatusOr<engine::Profile> profile = engine::DecodeProfile(read.profile);
    if (!profile.ok()) {
      LogError(absl::StrCat(what_, " of tenant ", tenant, ": customer with ordinal ", read.ordinal,
                            " skipped: ", profile.status().message()));
      ++*skipped;
      continue;
    }
    customers.push_back({std::move(read_ids[i]), read.ordinal, *std::move(profile)});
  }
  return customers;
}

void ProfileBackfill::set_progress_interval(absl::Duration interval) {
  absl::MutexLock lock(&mu_);
  progress_interval_ = interval;
}

absl::StatusOr<bool> ProfileBackfill::Step(const std::string& tenant, int limit) {
  if (limit < 1) return absl::InvalidArgumentError("limit: must be >= 1");
  {
    absl::MutexLock lock(&mu_);
    auto it = progress_.find(tenant);
    if (it != progress_.end() && it->second.complete) return true;
  }
  absl::StatusOr<std::optional<uint32_t>> from = UnfilledFrom(tenant);
  if (!from.ok()) return from.status();
  // No customer yet: nothing to fill, and the first write completes it. Not
  // remembered: a customer may arrive.
  if (from->has_value() && **from == 0) return true;
  if (!from->has_value()) {
    absl::MutexLock lock(&mu_);
    Progress& p = progress_[tenant];
    if (p.customers > 0 || p.skipped > 0) {
      LogInfo(absl::StrCat(
          what_, " of tenant ", tenant, " complete: ", verb_, " ", p.items, " ", items_, " of ",
          p.customers, " customers stored before it",
          p.skipped > 0 ? absl::StrCat(" (", p.skipped, " skipped: unreadable)") : ""));
    }
    p.complete = true;
    return true;
  }
  bool log_progress = false;
  {
    absl::MutexLock lock(&mu_);
    auto [p, first] = progress_.try_emplace(tenant);
    if (first) {
      LogInfo(absl::StrCat(what_, " of tenant ", tenant,
                           ": filling it in for the customers stored before it, from ordinal ",
                           **from));
      p->second.progress_logged = SteadyNow();
    } else if (SteadyNow() - p->second.progress_logged >= progress_interval_) {
      p->second.progress_logged = SteadyNow();
      log_progress = true;
    }
  }
  if (log_progress) {
    // The tenant's customer count is its last ordinal (ordinals are dense).
    absl::StatusOr<int64_t> count = store_->CustomerCount(tenant);
    LogInfo(absl::StrCat(what_, " of tenant ", tenant, ": at ordinal ", **from, " of ",
                         count.ok() ? absl::StrCat(*count) : "?", " customers"));
  }
  absl::StatusOr<store::IdPage> page = store_->ScanCustomers(tenant, absl::StrCat(**from), limit);
  if (!page.ok()) return page.status();
  // Where the next page starts; after the last page, any ordinal past the
  // tenant's last completes the backfill. (Capped at the largest ordinal:
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
  absl::StatusOr<std::vector<StoredCustomer>> customers = ReadPage(tenant, page->ids, &skipped);
  if (!customers.ok()) return customers.status();
  absl::StatusOr<int64_t> filled = Fill(tenant, *customers, next);
  if (!filled.ok()) return filled.status();
  if (metrics_ != nullptr) {
    metrics_->CountBackfilled(absl::StrReplaceAll(what_, {{" ", "_"}}),
                              static_cast<int64_t>(customers->size()));
  }
  absl::MutexLock lock(&mu_);
  Progress& p = progress_[tenant];
  p.customers += static_cast<int64_t>(customers->size());
  p.items += *filled;
  p.skipped += skipped;
  return false;
}

}  // namespace segmentd

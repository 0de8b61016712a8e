#include "store/customer_store.h"

#include <utility>

namespace segmentd::store {

int64_t UtcDayOf(int64_t ms) {
  // Floor division: days before 1970 are negative.
  return ms >= 0 ? ms / kDayMillis : -((-ms + kDayMillis - 1) / kDayMillis);
}

absl::StatusOr<ChangeTail> CustomerStore::ReadChangeTail(absl::string_view tenant,
                                                         absl::string_view after, int limit,
                                                         absl::Duration wait) {
  ChangeTail tail;
  absl::StatusOr<std::vector<StoredChange>> changes = ReadChanges(tenant, after, limit, wait);
  if (!changes.ok()) return changes.status();
  tail.changes = *std::move(changes);
  absl::StatusOr<std::optional<std::string>> retained = RetainedFrom(tenant);
  if (!retained.ok()) return retained.status();
  tail.retained_from = *std::move(retained);
  absl::StatusOr<int64_t> customers = CustomerCount(tenant);
  if (!customers.ok()) return customers.status();
  tail.customers = *customers;
  absl::StatusOr<std::string> newest = LastChangePosition(tenant);
  if (!newest.ok()) return newest.status();
  tail.newest = *std::move(newest);
  return tail;
}

absl::StatusOr<std::vector<IdPage>> CustomerStore::ScanSegmentsFirstPages(
    absl::string_view tenant, absl::Span<const std::string> segments, int count) {
  std::vector<IdPage> pages;
  pages.reserve(segments.size());
  for (const std::string& segment : segments) {
    absl::StatusOr<IdPage> page = ScanSegment(tenant, segment, "", count);
    if (!page.ok()) return page.status();
    pages.push_back(*std::move(page));
  }
  return pages;
}

absl::StatusOr<std::vector<CustomerStore::TenantSurvey>> CustomerStore::SurveyTenants(
    absl::Span<const std::string> tenants) {
  std::vector<TenantSurvey> survey;
  survey.reserve(tenants.size());
  for (const std::string& tenant : tenants) {
    TenantSurvey& s = survey.emplace_back();
    s.status = [&]() -> absl::Status {
      absl::StatusOr<std::optional<absl::Time>> next_due = NextDue(tenant);
      if (!next_due.ok()) return next_due.status();
      s.next_due = *next_due;
      absl::StatusOr<int64_t> rechecks = RecheckCount(tenant);
      if (!rechecks.ok()) return rechecks.status();
      s.rechecks = *rechecks;
      absl::StatusOr<int64_t> customers = CustomerCount(tenant);
      if (!customers.ok()) return customers.status();
      s.customers = *customers;
      absl::StatusOr<std::optional<VersionedBlob>> config = ReadConfig(tenant);
      if (!config.ok()) return config.status();
      s.reclassification_pending = config->has_value() && (*config)->reclassification_pending;
      return absl::OkStatus();
    }();
    if (absl::IsUnavailable(s.status)) return s.status;
  }
  return survey;
}

}  // namespace segmentd::store

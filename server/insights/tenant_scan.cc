#include "server/insights/tenant_scan.h"

#include "server/live/membership_history.h"
#include "server/live/stored_profile.h"

namespace segmentd {

absl::Status ForEachCustomer(
    store::CustomerStore* store, TenantContexts* contexts, const std::string& tenant,
    absl::Span<const absl::Time> instants,
    const std::function<void(const engine::Profile&, const CustomerTimeline&)>& visit) {
  absl::StatusOr<std::shared_ptr<const TenantSnapshot>> snapshot = contexts->Get(tenant);
  if (!snapshot.ok()) return snapshot.status();
  // Until 2026-12-06 every reconstruction took the current statistics: with
  // no order in the spender lookback now, a period of imported history had
  // nobody in BIG_SPENDER or LOW_SPENDER where ClassifyCustomers at that
  // instant had hundreds (a KPI reviewer's finding).
  std::vector<std::shared_ptr<const engine::Classifier>> classifiers;
  StatisticsSteps steps;
  for (absl::Time t : instants) {
    absl::StatusOr<std::shared_ptr<const engine::Classifier>> at =
        contexts->ClassifierAt(tenant, *snapshot, t);
    if (!at.ok()) return at.status();
    classifiers.push_back(*at);
    steps.Add(t, classifiers.back().get());
  }
  if (instants.empty()) steps.Add(absl::InfinitePast(), (*snapshot)->classifier.get());
  std::string cursor;
  do {
    absl::StatusOr<store::IdPage> page = store->ScanCustomers(tenant, cursor, 1000);
    if (!page.ok()) return page.status();
    absl::StatusOr<std::vector<store::CustomerState>> states = store->Read(tenant, page->ids);
    if (!states.ok()) return states.status();
    for (const store::CustomerState& state : *states) {
      if (state.version == 0) continue;
      absl::StatusOr<engine::Profile> profile = DecodeStoredProfile(state);
      if (!profile.ok()) return profile.status();
      absl::StatusOr<MembershipHistory> history = MembershipHistory::Decode(state.history);
      if (!history.ok()) return history.status();
      const CustomerTimeline timeline(&*history, &*profile, &steps);
      visit(*profile, timeline);
    }
    cursor = page->next_cursor;
  } while (!cursor.empty());
  return absl::OkStatus();
}

}  // namespace segmentd

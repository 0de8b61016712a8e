#include "server/live/registration_index_backfill.h"

#include <utility>

#include "server/live/customer_measures.h"

namespace segmentd {

RegistrationIndexBackfill::RegistrationIndexBackfill(store::CustomerStore* store,
                                                     std::function<absl::Time()> now)
    : ProfileBackfill(store, "registration index", "indexed", "registered non-buyers"),
      now_(std::move(now)) {}

absl::StatusOr<std::optional<uint32_t>> RegistrationIndexBackfill::UnfilledFrom(
    const std::string& tenant) {
  return store()->RegistrationsUnindexedFrom(tenant);
}

absl::StatusOr<int64_t> RegistrationIndexBackfill::Fill(
    const std::string& tenant, const std::vector<StoredCustomer>& customers,
    uint32_t next_ordinal) {
  // An entry derived now stays right until the customer's next write (which
  // stores its own, and is never overwritten by this one), but for time
  // alone making a future-dated order visible: the entry then stays until a
  // write removes it, one customer too many for a config update to read,
  // never one too few (time never makes a buyer a non-buyer).
  const absl::Time now = now_();
  // Only registered non-buyers: a customer without a stored entry is in no
  // index, which is what "none" would store.
  std::vector<store::CustomerStore::IndexedRegistration> entries;
  for (const StoredCustomer& c : customers) {
    if (std::optional<int64_t> entry = RegisteredNonBuyerMs(c.profile.view(), now)) {
      entries.push_back({c.id, *entry});
    }
  }
  return store()->IndexRegistrations(tenant, entries, next_ordinal);
}

}  // namespace segmentd

#ifndef SEGMENTD_SERVER_LIVE_REGISTRATION_INDEX_BACKFILL_H_
#define SEGMENTD_SERVER_LIVE_REGISTRATION_INDEX_BACKFILL_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/live/profile_backfill.h"
#include "store/customer_store.h"

namespace segmentd {

// Fills the registration index of a tenant whose customers were stored
// before it existed (CustomerStore::RegistrationsUnindexedFrom), from their
// stored profiles. Until it is complete, a change of NEW_DOWNLOAD or
// WINDOW_SHOPPER reads every customer of the tenant instead of the index
// (CustomerStore::HasRegistrationIndex): slower, never wrong. A customer
// written since the index existed keeps the entry that write stored.
// Thread-safe.
class RegistrationIndexBackfill final : public ProfileBackfill {
 public:
  // `store` must outlive this object; `now` is the clock entries are
  // derived at (as a write would at that instant).
  explicit RegistrationIndexBackfill(store::CustomerStore* store,
                                     std::function<absl::Time()> now = absl::Now);

 private:
  absl::StatusOr<std::optional<uint32_t>> UnfilledFrom(const std::string& tenant) override;
  // Counts the customers it added to the index (registered, without a
  // visible valid order).
  absl::StatusOr<int64_t> Fill(const std::string& tenant,
                               const std::vector<StoredCustomer>& customers,
                               uint32_t next_ordinal) override;

  const std::function<absl::Time()> now_;
};

}  // namespace segmentd

#endif  // SEGMENTD_SERVER_LIVE_REGISTRATION_INDEX_BACKFILL_H_

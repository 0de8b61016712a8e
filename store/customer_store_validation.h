// Input checks and small helpers shared by the CustomerStore implementations,
// so that both reject exactly the same inputs. Internal to store/.
//
// Stateless functions; thread-safe.
#ifndef SEGMENTD_STORE_CUSTOMER_STORE_VALIDATION_H_
#define SEGMENTD_STORE_CUSTOMER_STORE_VALIDATION_H_

#include <cstdint>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "store/customer_store.h"

namespace segmentd::store {

// Longest customer id, in bytes.
inline constexpr size_t kMaxCustomerIdBytes = 128;
// Largest category id InternCategories hands out.
inline constexpr int64_t kMaxCategoryId = 65535;

// RESOURCE_EXHAUSTED: InternCategories was given a name new to a tenant whose
// dictionary is full (kMaxCategoryId + 1 names, never freed). Worded as a
// field error on `categories`, which the server scopes to the event's field.
absl::Status CategoryDictionaryFull();

// INTERNAL (a writer's bug): a bookkeeping-only `write` names other segments
// than the customer has stored; it is refused with nothing written.
absl::Status OtherSegmentsThanStored(const CustomerWrite& write);

// Returns INVALID_ARGUMENT unless `customer_id` is 1-128 bytes (any bytes).
absl::Status ValidateCustomerId(absl::string_view customer_id);

// Returns INVALID_ARGUMENT naming the write (by index) unless every write has a
// valid customer id, expected_version >= 0, a known cause, non-empty segment
// names without duplicates, lifetime_orders >= 0, and distinct placed orders
// (none in a bookkeeping-only or measures-as-stored write). (A batch may write one
// customer more than once: writes are applied in order.)
absl::Status ValidateWrites(absl::Span<const CustomerWrite> writes);

// Returns INVALID_ARGUMENT naming the field unless every id is a valid
// customer id and `config_version` >= 0 (AddRechecks, ClearRechecks).
absl::Status ValidateRechecks(absl::Span<const std::string> customer_ids,
                              int64_t config_version);

// Returns INVALID_ARGUMENT naming the entry unless every recorded order names
// an ordinal >= 1 (RecordOrders).
absl::Status ValidateRecordedOrders(absl::Span<const CustomerStore::RecordedOrder> orders);

// Returns INVALID_ARGUMENT naming the entry ("customers[i].customer_id")
// unless every customer id is valid (IndexRegistrations).
absl::Status ValidateIndexedRegistrations(
    absl::Span<const CustomerStore::IndexedRegistration> customers);

// Returns INVALID_ARGUMENT unless `segment` is non-empty.
absl::Status ValidateSegment(absl::string_view segment);

// A change-stream position "ms-seq" as a comparable pair.
using ChangePosition = std::pair<uint64_t, uint64_t>;

// Parses `position` ("" is {0, 0}, before every entry); INVALID_ARGUMENT
// unless it is "<digits>-<digits>".
absl::StatusOr<ChangePosition> ParseChangePosition(absl::string_view position);

// Returns `t` rounded down to whole milliseconds: the precision stored times
// keep (Redis stores Unix milliseconds).
inline absl::Time TruncateToMillis(absl::Time t) {
  return absl::FromUnixMillis(absl::ToUnixMillis(t));
}

// OK when last_day is within kMaxDailyRange days from first_day (inclusive).
absl::Status ValidateDayRange(int64_t first_day, int64_t last_day);

// What the Redis store keeps as the claimant of a re-classification no
// replica has claimed (the config hash's `p`, as every earlier build set it).
inline constexpr char kUnclaimed[] = "1";

// OK for a replica id that can claim a re-classification: non-empty, and not
// kUnclaimed.
absl::Status ValidateClaimant(absl::string_view replica);

// OK when after_ms < up_to_ms <= after_ms + kMaxTotalsWindowDays days
// (CustomerStore::OrderTotalsIn).
absl::Status ValidateTotalsWindow(int64_t after_ms, int64_t up_to_ms);

}  // namespace segmentd::store

#endif  // SEGMENTD_STORE_CUSTOMER_STORE_VALIDATION_H_

#ifndef SEGMENTD_SERVER_LIVE_STORED_PROFILE_H_
#define SEGMENTD_SERVER_LIVE_STORED_PROFILE_H_

#include <cstdint>
#include <initializer_list>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "engine/config.h"
#include "engine/profile.h"
#include "store/customer_store.h"

namespace segmentd {

// Returns the profile a stored customer state holds: an empty profile for a
// customer not stored yet (version 0), DATA_LOSS when the bytes are corrupt.
// Thread-safe.
absl::StatusOr<engine::Profile> DecodeStoredProfile(const store::CustomerState& state);
// The profile stored as `bytes` (the hash field `p` of a stored customer):
// DATA_LOSS when they are corrupt. Thread-safe.
absl::StatusOr<engine::Profile> DecodeStoredProfileBytes(absl::string_view bytes);

// OK when customer `customer_id` (`profile`) can be classified exactly at
// `as_of` under every config of `configs` (engine::ExactAt); else
// OUT_OF_RANGE naming `as_of` and the earliest instant it can be from on
// (engine::EarliestExactInstant): an answer there would be approximate.
absl::Status CheckExactAt(const engine::ProfileView& profile,
                          std::initializer_list<const engine::SegmentConfig*> configs,
                          absl::Time as_of, absl::string_view customer_id);

// Whether the customer is known to have had no fact `config`'s rules read
// at `as_of`: every kept fact is later (ProfileView::FirstKnownMs) and
// folding dropped none those rules read (messages, while engagement is
// enabled) at or before `as_of`. Then they were in no segment, exactly,
// however much older history is kept only as totals.
bool KnownNotACustomerYet(const engine::ProfileView& profile, absl::Time as_of,
                          const engine::SegmentConfig& config);

// The id fingerprints (engine::IdFingerprint) of every order a profile holds,
// live and folded, cancelled included (a cancel keeps its order), sorted:
// what the store's order record holds for the customer.
std::vector<uint64_t> OrderFingerprints(const engine::Profile& profile);

}  // namespace segmentd

#endif  // SEGMENTD_SERVER_LIVE_STORED_PROFILE_H_

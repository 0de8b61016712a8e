#ifndef SEGMENTD_SERVER_LIVE_STORED_PROFILE_H_
#define SEGMENTD_SERVER_LIVE_STORED_PROFILE_H_

#include <cstdint>
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

// OK when `as_of` is at or after `earliest`, the earliest instant customer
// `customer_id` can be classified exactly at (engine::EarliestExactInstant);
// else OUT_OF_RANGE naming `as_of` and that instant: an answer there would
// be approximate.
absl::Status CheckExactAt(absl::Time as_of, absl::Time earliest, absl::string_view customer_id);

// Whether the customer is known to have had no fact `config`'s rules read
// at `as_of`: every kept fact is later (ProfileView::FirstKnownMs) and
// folding dropped none those rules read (messages, while engagement is
// enabled). Then they were in no segment, exactly, however much older
// history is kept only as totals.
bool KnownNotACustomerYet(const engine::ProfileView& profile, absl::Time as_of,
                          const engine::SegmentConfig& config);

// The id fingerprints (engine::IdFingerprint) of every order a profile holds,
// live and folded, cancelled included (a cancel keeps its order), sorted:
// what the store's order record holds for the customer.
std::vector<uint64_t> OrderFingerprints(const engine::Profile& profile);

}  // namespace segmentd

#endif  // SEGMENTD_SERVER_LIVE_STORED_PROFILE_H_

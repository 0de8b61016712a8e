#ifndef SEGMENTD_SERVER_LIVE_STORED_PROFILE_H_
#define SEGMENTD_SERVER_LIVE_STORED_PROFILE_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
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

// The id fingerprints (engine::IdFingerprint) of every order a profile holds,
// live and folded, cancelled included (a cancel keeps its order), sorted:
// what the store's order record holds for the customer.
std::vector<uint64_t> OrderFingerprints(const engine::Profile& profile);

}  // namespace segmentd

#endif  // SEGMENTD_SERVER_LIVE_STORED_PROFILE_H_

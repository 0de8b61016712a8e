#include "server/live/stored_profile.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "engine/classify.h"
#include "engine/profile_codec.h"

namespace segmentd {

absl::StatusOr<engine::Profile> DecodeStoredProfile(const store::CustomerState& state) {
  if (state.version == 0) return engine::Profile();
  return DecodeStoredProfileBytes(state.profile);
}

absl::StatusOr<engine::Profile> DecodeStoredProfileBytes(absl::string_view bytes) {
  absl::StatusOr<engine::Profile> profile = engine::DecodeProfile(bytes);
  if (!profile.ok()) {
    return absl::DataLossError(
        absl::StrCat("stored profile is corrupt: ", profile.status().message()));
  }
  return profile;
}

absl::Status CheckExactAt(const engine::ProfileView& profile,
                          std::initializer_list<const engine::SegmentConfig*> configs,
                          absl::Time as_of, absl::string_view customer_id) {
  bool exact = true;
  for (const engine::SegmentConfig* config : configs) {
    exact = exact && engine::ExactAt(profile, *config, as_of);
  }
  if (exact) return absl::OkStatus();
  // Only for the refusal: a whole-tenant walk at an as_of checks every
  // customer, and nearly all pass.
  absl::Time earliest = absl::InfinitePast();
  for (const engine::SegmentConfig* config : configs) {
    earliest = std::max(earliest, engine::EarliestExactInstant(profile, *config));
  }
  return absl::OutOfRangeError(
      absl::StrCat("as_of: ", absl::FormatTime(as_of), " is before ", absl::FormatTime(earliest),
                   ", the earliest instant customer ", customer_id,
                   " can be classified exactly at: older history is kept only in summary"));
}

bool KnownNotACustomerYet(const engine::ProfileView& profile, absl::Time as_of,
                          const engine::SegmentConfig& config) {
  const engine::Millis t = engine::ToMillis(as_of);
  return profile.FirstKnownMs() > t && !(profile.messages_dropped && config.engagement.enabled &&
                                         profile.messages_dropped_from_ms <= t);
}

std::vector<uint64_t> OrderFingerprints(const engine::Profile& profile) {
  std::vector<uint64_t> ids = profile.order_ids();
  for (const engine::Profile::FoldedOrder& o : profile.folded_orders()) {
    ids.push_back(o.id_fingerprint);
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

}  // namespace segmentd

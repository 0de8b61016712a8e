#include "server/live/stored_profile.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "engine/profile_codec.h"

namespace segmentd {

absl::StatusOr<engine::Profile> DecodeStoredProfile(const store::CustomerState& state) {
  if (state.version == 0) return engine::Profile();
  absl::StatusOr<engine::Profile> profile = engine::DecodeProfile(state.profile);
  if (!profile.ok()) {
    return absl::DataLossError(
        absl::StrCat("stored profile is corrupt: ", profile.status().message()));
  }
  return profile;
}

}  // namespace segmentd

#ifndef SEGMENTD_ENGINE_PROFILE_CODEC_H_
#define SEGMENTD_ENGINE_PROFILE_CODEC_H_

// Compact, versioned binary encoding of a Profile (what the store keeps in
// Redis). Layout (version 1): a version byte, then varints (zigzag for
// instants, deltas between consecutive orders / messages), 8-byte id
// fingerprints, category ids as varints. A typical customer (5 orders, a
// dozen messages, a cart) takes 150-300 bytes. Decode validates everything
// (bounds, ordering, ranges, no trailing bytes) and returns DataLoss on any
// corrupt input; it never crashes and never allocates more than a small
// multiple of the input size.
//
// Thread-safety: pure functions.

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "engine/profile.h"

namespace segmentd::engine {

inline constexpr uint8_t kProfileEncodingVersion = 1;

// Returns the encoding of `profile`.
std::string EncodeProfile(const Profile& profile);

// Returns the profile encoded in `bytes`, or DataLoss.
absl::StatusOr<Profile> DecodeProfile(absl::string_view bytes);

class ProfileCodec {  // implementation detail: friend of Profile
 public:
  static std::string Encode(const Profile& profile);
  static absl::StatusOr<Profile> Decode(absl::string_view bytes);
};

}  // namespace segmentd::engine

#endif  // SEGMENTD_ENGINE_PROFILE_CODEC_H_

#ifndef SEGMENTD_SERVER_LIVE_MEMBERSHIP_CODEC_H_
#define SEGMENTD_SERVER_LIVE_MEMBERSHIP_CODEC_H_

// The stored form of a customer's membership, and its names and API form.
// Stored bytes: u32 segment bits, u8 primary (0xff: none), u16 count + u16 ids
// of category-affinity categories, u16 count + u16 ids of the abandoned cart's
// categories, then (optional) i64 milliseconds of the next change by time
// alone; little-endian. Pure functions; thread-safe.

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "engine/classify.h"
#include "segmentd/v1/common.pb.h"

namespace segmentd {

struct StoredMembership {
  engine::SegmentSet segments;
  std::optional<engine::Segment> primary;
  std::vector<engine::CategoryId> categories;
  std::vector<engine::CategoryId> cart_categories;
  // When membership next changes by time alone (millisecond precision).
  std::optional<absl::Time> next_change;

  friend bool operator==(const StoredMembership& a, const StoredMembership& b) {
    return a.segments == b.segments && a.primary == b.primary && a.categories == b.categories &&
           a.cart_categories == b.cart_categories && a.next_change == b.next_change;
  }
};

// Returns the membership part of a classification (next change truncated to
// the stored millisecond precision).
StoredMembership MembershipOf(const engine::Classification& classification);

std::string EncodeMembership(const StoredMembership& membership);
// Empty bytes decode to the empty membership; anything malformed is DATA_LOSS.
absl::StatusOr<StoredMembership> DecodeMembership(absl::string_view bytes);

// Returns the sorted segment names: fixed segments by canonical name and
// "category:<name>" for category affinity. `category_names` is indexed by id;
// an id beyond it is named "category:#<id>" (never happens with a fresh
// dictionary, but a name must never be guessed).
std::vector<std::string> SegmentNames(const StoredMembership& membership,
                                      const std::vector<std::string>& category_names);
// The name of category `id`'s affinity segment, as SegmentNames gives it.
std::string CategorySegment(engine::CategoryId id, const std::vector<std::string>& category_names);

// Fills the API form.
void MembershipToProto(const StoredMembership& membership,
                       const std::vector<std::string>& category_names, v1::Membership* out);

}  // namespace segmentd

#endif  // SEGMENTD_SERVER_LIVE_MEMBERSHIP_CODEC_H_

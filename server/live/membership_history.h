#ifndef SEGMENTD_SERVER_LIVE_MEMBERSHIP_HISTORY_H_
#define SEGMENTD_SERVER_LIVE_MEMBERSHIP_HISTORY_H_

// A customer's fixed-segment membership over time, stored with the customer
// (field `h`) so that insights can ask "which segments, and which primary
// segment, at instant t" for any t in the retention window, across config
// changes, without replaying events. Entries are (from, segments, primary):
// membership in force from `from` until the next entry. Category segments are
// not kept (they are per-tenant and unbounded); see docs/insights.md.
//
// Encoding: 13 bytes per entry (i64 ms, u32 segment bits, u8 primary or
// 0xff), little-endian, oldest first. A value type; thread-compatible.

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "engine/segment.h"

namespace segmentd {

// How long history is kept: at least 400 days (SPEC 7, issue 6).
inline constexpr absl::Duration kHistoryRetention = absl::Hours(24 * 400);

struct HistoryEntry {
  absl::Time from;
  engine::SegmentSet segments;
  std::optional<engine::Segment> primary;
};

class MembershipHistory {
 public:
  // Empty bytes are an empty history; malformed bytes are DATA_LOSS.
  static absl::StatusOr<MembershipHistory> Decode(absl::string_view bytes);
  std::string Encode() const;

  // Records the membership in force from `at` on (a no-op when it equals the
  // latest entry; an `at` before the latest entry is taken as that entry's
  // time, so entries stay ordered). Then forgets entries superseded before
  // `at - retention`, keeping the one in force at that instant.
  void Record(absl::Time at, engine::SegmentSet segments, std::optional<engine::Segment> primary,
              absl::Duration retention = kHistoryRetention);

  // The entry in force at `t`, or nullopt when `t` precedes the first entry
  // (the customer was not known yet, or history was pruned).
  std::optional<HistoryEntry> At(absl::Time t) const;

  const std::vector<HistoryEntry>& entries() const { return entries_; }

 private:
  std::vector<HistoryEntry> entries_;
};

}  // namespace segmentd

#endif  // SEGMENTD_SERVER_LIVE_MEMBERSHIP_HISTORY_H_

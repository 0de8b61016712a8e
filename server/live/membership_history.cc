#include "server/live/membership_history.h"

#include <algorithm>
#include <cstdint>

#include "absl/status/status.h"

namespace segmentd {
namespace {

constexpr size_t kEntryBytes = 13;
constexpr uint8_t kNoPrimary = 0xff;

void PutLittleEndian(uint64_t v, int bytes, std::string* out) {
  for (int i = 0; i < bytes; ++i) out->push_back(static_cast<char>(v >> (8 * i)));
}

uint64_t GetLittleEndian(absl::string_view in, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v |= static_cast<uint64_t>(static_cast<uint8_t>(in[i])) << (8 * i);
  return v;
}

bool Same(const HistoryEntry& e, engine::SegmentSet segments,
          std::optional<engine::Segment> primary) {
  return e.segments == segments && e.primary == primary;
}

}  // namespace

absl::StatusOr<MembershipHistory> MembershipHistory::Decode(absl::string_view bytes) {
  if (bytes.size() % kEntryBytes != 0) return absl::DataLossError("membership history is corrupt");
  MembershipHistory history;
  for (size_t pos = 0; pos < bytes.size(); pos += kEntryBytes) {
    const absl::string_view e = bytes.substr(pos, kEntryBytes);
    const int64_t ms = static_cast<int64_t>(GetLittleEndian(e, 8));
    const uint32_t bits = static_cast<uint32_t>(GetLittleEndian(e.substr(8), 4));
    const uint8_t primary = static_cast<uint8_t>(e[12]);
    if ((bits & ~engine::SegmentSet::kAllBits) != 0 ||
        (primary != kNoPrimary && primary >= engine::kNumSegments) ||
        (!history.entries_.empty() && absl::FromUnixMillis(ms) < history.entries_.back().from)) {
      return absl::DataLossError("membership history is corrupt");
    }
    HistoryEntry entry{absl::FromUnixMillis(ms), engine::SegmentSet::FromBits(bits), std::nullopt};
    if (primary != kNoPrimary) entry.primary = static_cast<engine::Segment>(primary);
    history.entries_.push_back(entry);
  }
  return history;
}

std::string MembershipHistory::Encode() const {
  std::string out;
  out.reserve(entries_.size() * kEntryBytes);
  for (const HistoryEntry& e : entries_) {
    PutLittleEndian(static_cast<uint64_t>(absl::ToUnixMillis(e.from)), 8, &out);
    PutLittleEndian(e.segments.bits(), 4, &out);
    out.push_back(static_cast<char>(e.primary ? static_cast<uint8_t>(*e.primary) : kNoPrimary));
  }
  return out;
}

void MembershipHistory::Record(absl::Time at, engine::SegmentSet segments,
                               std::optional<engine::Segment> primary, absl::Duration retention) {
  at = absl::FromUnixMillis(absl::ToUnixMillis(at));  // the stored precision
  if (!entries_.empty()) {
    if (Same(entries_.back(), segments, primary)) return;
    at = std::max(at, entries_.back().from);
    if (entries_.back().from == at) entries_.pop_back();  // superseded at the same instant
  }
  if (entries_.empty() || !Same(entries_.back(), segments, primary)) {
    entries_.push_back(HistoryEntry{at, segments, primary});
  }
  // Keep the entry in force at the retention horizon and everything after.
  const absl::Time horizon = at - retention;
  size_t keep_from = 0;
  while (keep_from + 1 < entries_.size() && entries_[keep_from + 1].from <= horizon) ++keep_from;
  entries_.erase(entries_.begin(), entries_.begin() + keep_from);
}

std::optional<HistoryEntry> MembershipHistory::At(absl::Time t) const {
  auto it = std::upper_bound(entries_.begin(), entries_.end(), t,
                             [](absl::Time t, const HistoryEntry& e) { return t < e.from; });
  if (it == entries_.begin()) return std::nullopt;
  return *std::prev(it);
}

}  // namespace segmentd

#include "server/live/membership_codec.h"

#include <algorithm>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "server/proto_time.h"

namespace segmentd {
namespace {

constexpr uint8_t kNoPrimary = 0xff;

void PutU16(uint16_t v, std::string* out) {
  out->push_back(static_cast<char>(v & 0xff));
  out->push_back(static_cast<char>(v >> 8));
}

void PutIds(const std::vector<engine::CategoryId>& ids, std::string* out) {
  PutU16(static_cast<uint16_t>(ids.size()), out);
  for (engine::CategoryId id : ids) PutU16(id, out);
}

class Reader {
 public:
  explicit Reader(absl::string_view bytes) : bytes_(bytes) {}
  bool U8(uint8_t* v) {
    if (bytes_.size() < 1) return false;
    *v = static_cast<uint8_t>(bytes_[0]);
    bytes_.remove_prefix(1);
    return true;
  }
  bool U16(uint16_t* v) {
    uint8_t lo, hi;
    if (!U8(&lo) || !U8(&hi)) return false;
    *v = static_cast<uint16_t>(lo | (hi << 8));
    return true;
  }
  bool U32(uint32_t* v) {
    uint16_t lo, hi;
    if (!U16(&lo) || !U16(&hi)) return false;
    *v = lo | (static_cast<uint32_t>(hi) << 16);
    return true;
  }
  bool I64(int64_t* v) {
    uint32_t lo, hi;
    if (!U32(&lo) || !U32(&hi)) return false;
    *v = static_cast<int64_t>(lo | (static_cast<uint64_t>(hi) << 32));
    return true;
  }
  bool Ids(std::vector<engine::CategoryId>* ids) {
    uint16_t n;
    if (!U16(&n) || bytes_.size() < 2u * n) return false;
    ids->resize(n);
    for (uint16_t i = 0; i < n; ++i) U16(&(*ids)[i]);
    return true;
  }
  bool done() const { return bytes_.empty(); }

 private:
  absl::string_view bytes_;
};

}  // namespace

StoredMembership MembershipOf(const engine::Classification& c) {
  StoredMembership m{c.segments, c.primary, c.categories, c.cart_categories, std::nullopt};
  if (c.next_change) m.next_change = absl::FromUnixMillis(absl::ToUnixMillis(*c.next_change));
  return m;
}

std::string EncodeMembership(const StoredMembership& m) {
  std::string out;
  const uint32_t bits = m.segments.bits();
  PutU16(static_cast<uint16_t>(bits & 0xffff), &out);
  PutU16(static_cast<uint16_t>(bits >> 16), &out);
  out.push_back(static_cast<char>(m.primary ? static_cast<uint8_t>(*m.primary) : kNoPrimary));
  PutIds(m.categories, &out);
  PutIds(m.cart_categories, &out);
  if (m.next_change) {
    const uint64_t ms = static_cast<uint64_t>(absl::ToUnixMillis(*m.next_change));
    for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(ms >> (8 * i)));
  }
  return out;
}

absl::StatusOr<StoredMembership> DecodeMembership(absl::string_view bytes) {
  StoredMembership m;
  if (bytes.empty()) return m;
  Reader r(bytes);
  uint32_t bits;
  uint8_t primary;
  if (!r.U32(&bits) || !r.U8(&primary) || !r.Ids(&m.categories) || !r.Ids(&m.cart_categories) ||
      (bits & ~engine::SegmentSet::kAllBits) != 0 ||
      (primary != kNoPrimary && primary >= engine::kNumSegments)) {
    return absl::DataLossError("stored membership is corrupt");
  }
  if (!r.done()) {
    int64_t ms;
    if (!r.I64(&ms) || !r.done()) return absl::DataLossError("stored membership is corrupt");
    m.next_change = absl::FromUnixMillis(ms);
  }
  m.segments = engine::SegmentSet::FromBits(bits);
  if (primary != kNoPrimary) m.primary = static_cast<engine::Segment>(primary);
  return m;
}

std::vector<std::string> SegmentNames(const StoredMembership& m,
                                      const std::vector<std::string>& category_names) {
  std::vector<std::string> names;
  for (int i = 0; i < engine::kNumSegments; ++i) {
    const auto segment = static_cast<engine::Segment>(i);
    if (m.segments.Contains(segment)) names.emplace_back(engine::SegmentName(segment));
  }
  for (engine::CategoryId id : m.categories) names.push_back(CategorySegment(id, category_names));
  std::sort(names.begin(), names.end());
  return names;
}

std::string CategorySegment(engine::CategoryId id, const std::vector<std::string>& category_names) {
  return id < category_names.size() ? engine::CategorySegmentName(category_names[id])
                                    : absl::StrCat("category:#", id);
}

void MembershipToProto(const StoredMembership& m, const std::vector<std::string>& category_names,
                       v1::Membership* out) {
  for (std::string& name : SegmentNames(m, category_names)) out->add_segments(std::move(name));
  if (m.primary) out->set_primary_segment(std::string(engine::SegmentName(*m.primary)));
  // By name: ids follow the order the tenant first saw each name in, which
  // must not show through.
  std::vector<std::string> cart;
  for (engine::CategoryId id : m.cart_categories) {
    cart.push_back(id < category_names.size() ? category_names[id] : absl::StrCat("#", id));
  }
  std::sort(cart.begin(), cart.end());
  for (std::string& name : cart) out->add_abandoned_cart_categories(std::move(name));
  if (m.next_change) *out->mutable_next_change_at() = ToProtoTime(*m.next_change);
}

}  // namespace segmentd

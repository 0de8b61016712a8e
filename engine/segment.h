#ifndef SEGMENTD_ENGINE_SEGMENT_H_
#define SEGMENTD_ENGINE_SEGMENT_H_

// Segment identities: the 22 fixed segments, their canonical names, and
// compact sets of them.
//
// The numeric values and the order are part of the integration contract
// (the proto, the store and the server rely on them): never renumber, only
// append. Category-affinity segments are not in this enum; they are named
// "category:<name>" and identified by a per-tenant CategoryId.
//
// Everything here is a value type; safe to use from any thread.

#include <cstdint>
#include <optional>
#include <string>
#include "absl/strings/string_view.h"

namespace segmentd::engine {

enum class Segment : uint8_t {
  kFrequentBuyer = 0,
  kNewDownload = 1,
  kWindowShopper = 2,
  kNewCustomer = 3,
  kReturningCustomer = 4,
  kLoyalCustomer = 5,
  kLostLoyalty = 6,
  kOneTimeWonder = 7,
  kBigSpender = 8,
  kLowSpender = 9,
  kLostCustomer = 10,
  kFirstTimeBuyer = 11,
  kRepeatCustomer = 12,
  kVip = 13,
  kLapsed = 14,
  kHighValue = 15,
  kMediumValue = 16,
  kLowValue = 17,
  kHighlyEngaged = 18,
  kModeratelyEngaged = 19,
  kDisengaged = 20,
  kAbandonedCart = 21,
};

// Number of fixed segments; valid values are 0 .. kNumSegments-1.
inline constexpr int kNumSegments = 22;

// A product category interned per tenant by the caller. The engine only
// compares ids; names are the caller's business.
using CategoryId = uint16_t;

// Prefix of category-affinity segment names: "category:<name>".
inline constexpr absl::string_view kCategorySegmentPrefix = "category:";
// Longest category name an event may carry, so the longest "<name>" a
// category segment can have.
inline constexpr size_t kMaxCategoryNameBytes = 128;

// Returns the canonical name, e.g. "FREQUENT_BUYER".
absl::string_view SegmentName(Segment segment);

// Returns the segment with canonical name `name` (exact, case-sensitive), or
// nullopt for any other string (including "category:..." names).
std::optional<Segment> SegmentFromName(absl::string_view name);

// Returns "category:<category_name>".
std::string CategorySegmentName(absl::string_view category_name);

// A set of fixed segments, stored as a 32-bit mask (bit i = Segment i).
class SegmentSet {
 public:
  constexpr SegmentSet() = default;
  static constexpr SegmentSet FromBits(uint32_t bits) {
    SegmentSet s;
    s.bits_ = bits & kAllBits;
    return s;
  }

  constexpr bool Contains(Segment s) const {
    return (bits_ >> static_cast<int>(s)) & 1u;
  }
  constexpr void Insert(Segment s) { bits_ |= 1u << static_cast<int>(s); }
  constexpr void Erase(Segment s) { bits_ &= ~(1u << static_cast<int>(s)); }
  constexpr void Set(Segment s, bool member) {
    if (member) {
      Insert(s);
    } else {
      Erase(s);
    }
  }
  constexpr bool empty() const { return bits_ == 0; }
  int size() const { return __builtin_popcount(bits_); }
  constexpr uint32_t bits() const { return bits_; }

  friend constexpr bool operator==(SegmentSet a, SegmentSet b) {
    return a.bits_ == b.bits_;
  }
  friend constexpr bool operator!=(SegmentSet a, SegmentSet b) {
    return a.bits_ != b.bits_;
  }

  // Returns the names of the members in enum order, comma-separated
  // (for logs and test failure messages).
  std::string DebugString() const;

  static constexpr uint32_t kAllBits = (1u << kNumSegments) - 1;

 private:
  uint32_t bits_ = 0;
};

}  // namespace segmentd::engine

#endif  // SEGMENTD_ENGINE_SEGMENT_H_

#include "engine/segment.h"

#include <array>

#include "absl/strings/str_cat.h"

namespace segmentd::engine {
namespace {

constexpr std::array<absl::string_view, kNumSegments> kNames = {
    "FREQUENT_BUYER",     "NEW_DOWNLOAD",       "WINDOW_SHOPPER",
    "NEW_CUSTOMER",       "RETURNING_CUSTOMER", "LOYAL_CUSTOMER",
    "LOST_LOYALTY",       "ONE_TIME_WONDER",    "BIG_SPENDER",
    "LOW_SPENDER",        "LOST_CUSTOMER",      "FIRST_TIME_BUYER",
    "REPEAT_CUSTOMER",    "VIP",                "LAPSED",
    "HIGH_VALUE",         "MEDIUM_VALUE",       "LOW_VALUE",
    "HIGHLY_ENGAGED",     "MODERATELY_ENGAGED", "DISENGAGED",
    "ABANDONED_CART",
};

}  // namespace

absl::string_view SegmentName(Segment segment) {
  const int i = static_cast<int>(segment);
  if (i < 0 || i >= kNumSegments) return "UNKNOWN_SEGMENT";
  return kNames[i];
}

std::optional<Segment> SegmentFromName(absl::string_view name) {
  for (int i = 0; i < kNumSegments; ++i) {
    if (kNames[i] == name) return static_cast<Segment>(i);
  }
  return std::nullopt;
}

std::string CategorySegmentName(absl::string_view category_name) {
  return absl::StrCat(kCategorySegmentPrefix, category_name);
}

std::string SegmentSet::DebugString() const {
  std::string out;
  for (int i = 0; i < kNumSegments; ++i) {
    if (Contains(static_cast<Segment>(i))) {
      if (!out.empty()) out += ",";
      absl::StrAppend(&out, kNames[i]);
    }
  }
  return out.empty() ? "{}" : out;
}

}  // namespace segmentd::engine

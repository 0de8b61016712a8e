#include "engine/segment.h"

#include <gtest/gtest.h>

namespace segmentd::engine {
namespace {

TEST(Segment, NamesRoundTripInContractOrder) {
  const char* const kExpected[kNumSegments] = {
      "FREQUENT_BUYER", "NEW_DOWNLOAD", "WINDOW_SHOPPER", "NEW_CUSTOMER",
      "RETURNING_CUSTOMER", "LOYAL_CUSTOMER", "LOST_LOYALTY",
      "ONE_TIME_WONDER", "BIG_SPENDER", "LOW_SPENDER", "LOST_CUSTOMER",
      "FIRST_TIME_BUYER", "REPEAT_CUSTOMER", "VIP", "LAPSED", "HIGH_VALUE",
      "MEDIUM_VALUE", "LOW_VALUE", "HIGHLY_ENGAGED", "MODERATELY_ENGAGED",
      "DISENGAGED", "ABANDONED_CART"};
  for (int i = 0; i < kNumSegments; ++i) {
    const Segment s = static_cast<Segment>(i);
    EXPECT_EQ(SegmentName(s), kExpected[i]);
    EXPECT_EQ(SegmentFromName(kExpected[i]), s);
  }
  EXPECT_EQ(SegmentFromName("vip"), std::nullopt);
  EXPECT_EQ(SegmentFromName("category:shoes"), std::nullopt);
  EXPECT_EQ(CategorySegmentName("shoes"), "category:shoes");
}

TEST(SegmentSet, InsertEraseContains) {
  SegmentSet s;
  EXPECT_TRUE(s.empty());
  s.Insert(Segment::kVip);
  s.Insert(Segment::kAbandonedCart);
  EXPECT_TRUE(s.Contains(Segment::kVip));
  EXPECT_FALSE(s.Contains(Segment::kLapsed));
  EXPECT_EQ(s.size(), 2);
  EXPECT_EQ(s.bits(), (1u << 13) | (1u << 21));
  EXPECT_EQ(s.DebugString(), "VIP,ABANDONED_CART");
  s.Erase(Segment::kVip);
  EXPECT_EQ(s, SegmentSet::FromBits(1u << 21));
  EXPECT_EQ(SegmentSet::FromBits(0xFFFFFFFFu).size(), kNumSegments);
}

}  // namespace
}  // namespace segmentd::engine

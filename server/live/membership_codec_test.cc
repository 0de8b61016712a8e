#include "server/live/membership_codec.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace segmentd {
namespace {

using engine::Segment;

StoredMembership Sample() {
  StoredMembership m;
  m.segments.Insert(Segment::kVip);
  m.segments.Insert(Segment::kAbandonedCart);
  m.segments.Insert(Segment::kFrequentBuyer);
  m.primary = Segment::kVip;
  m.categories = {0, 2, 300};
  m.cart_categories = {2};
  m.next_change = absl::FromUnixMillis(1'750'000'000'123);
  return m;
}

TEST(MembershipCodecTest, RoundTrips) {
  const StoredMembership m = Sample();
  absl::StatusOr<StoredMembership> back = DecodeMembership(EncodeMembership(m));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, m);
  EXPECT_EQ(*DecodeMembership(EncodeMembership(StoredMembership())), StoredMembership());
  EXPECT_EQ(*DecodeMembership(""), StoredMembership());
}

TEST(MembershipCodecTest, CorruptIsDataLoss) {
  const std::string good = EncodeMembership(Sample());
  for (size_t cut = 1; cut < good.size(); ++cut) {
    if (cut == good.size() - 8) continue;  // a whole membership without its next change
    EXPECT_EQ(DecodeMembership(good.substr(0, cut)).status().code(), absl::StatusCode::kDataLoss)
        << cut;
  }
  EXPECT_EQ(DecodeMembership(good + "x").status().code(), absl::StatusCode::kDataLoss);
  StoredMembership no_next = Sample();
  no_next.next_change.reset();
  EXPECT_EQ(*DecodeMembership(EncodeMembership(no_next)), no_next);
  std::string bad_primary = good;
  bad_primary[4] = 40;
  EXPECT_EQ(DecodeMembership(bad_primary).status().code(), absl::StatusCode::kDataLoss);
  std::string bad_bits = good;
  bad_bits[3] = static_cast<char>(0x80);
  EXPECT_EQ(DecodeMembership(bad_bits).status().code(), absl::StatusCode::kDataLoss);
}

TEST(MembershipCodecTest, NamesAreSortedAndCategoriesNamed) {
  std::vector<std::string> names(301, "x");
  names[0] = "shoes";
  names[2] = "tea: green {loose}";
  EXPECT_EQ(SegmentNames(Sample(), names),
            (std::vector<std::string>{"ABANDONED_CART", "FREQUENT_BUYER", "VIP",
                                      "category:shoes", "category:tea: green {loose}",
                                      "category:x"}));
  // An id the dictionary does not know is never given another category's name.
  const std::vector<std::string> partial = SegmentNames(Sample(), {"shoes"});
  EXPECT_NE(std::find(partial.begin(), partial.end(), "category:#300"), partial.end());
  EXPECT_NE(std::find(partial.begin(), partial.end(), "category:#2"), partial.end());
}

TEST(MembershipCodecTest, ToProto) {
  v1::Membership proto;
  MembershipToProto(Sample(), {"shoes", "hats", "tea"}, &proto);
  EXPECT_EQ(proto.primary_segment(), "VIP");
  ASSERT_EQ(proto.abandoned_cart_categories_size(), 1);
  EXPECT_EQ(proto.abandoned_cart_categories(0), "tea");
  EXPECT_EQ(proto.next_change_at().seconds(), 1'750'000'000);
  EXPECT_EQ(proto.next_change_at().nanos(), 123'000'000);
  EXPECT_EQ(proto.segments_size(), 6);
}

}  // namespace
}  // namespace segmentd

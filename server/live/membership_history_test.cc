#include "server/live/membership_history.h"

#include <gtest/gtest.h>

namespace segmentd {
namespace {

using engine::Segment;
using engine::SegmentSet;

const absl::Time kT = absl::FromUnixSeconds(1'750'000'000);

SegmentSet Of(std::initializer_list<Segment> segments) {
  SegmentSet s;
  for (Segment x : segments) s.Insert(x);
  return s;
}

TEST(MembershipHistoryTest, AnswersWhatWasInForceAtAnInstant) {
  MembershipHistory h;
  h.Record(kT, Of({Segment::kNewDownload}), Segment::kNewDownload);
  h.Record(kT + absl::Hours(1), Of({Segment::kFirstTimeBuyer}), Segment::kFirstTimeBuyer);
  h.Record(kT + absl::Hours(1) + absl::Minutes(1), Of({Segment::kFirstTimeBuyer}),
           Segment::kFirstTimeBuyer);  // unchanged: no entry
  h.Record(kT + absl::Hours(5), SegmentSet(), std::nullopt);
  ASSERT_EQ(h.entries().size(), 3u);
  EXPECT_FALSE(h.At(kT - absl::Milliseconds(1)).has_value());
  EXPECT_EQ(h.At(kT)->primary, Segment::kNewDownload);
  EXPECT_EQ(h.At(kT + absl::Hours(1) - absl::Milliseconds(1))->primary, Segment::kNewDownload);
  EXPECT_EQ(h.At(kT + absl::Hours(1))->primary, Segment::kFirstTimeBuyer);
  EXPECT_FALSE(h.At(kT + absl::Hours(6))->primary.has_value());
  EXPECT_TRUE(h.At(kT + absl::Hours(6))->segments.empty());
}

TEST(MembershipHistoryTest, RoundTripsAndRejectsCorruption) {
  MembershipHistory h;
  h.Record(kT, Of({Segment::kVip, Segment::kLoyalCustomer}), Segment::kVip);
  h.Record(kT + absl::Hours(2), Of({Segment::kLapsed}), Segment::kLapsed);
  const std::string bytes = h.Encode();
  EXPECT_EQ(bytes.size(), 26u);
  absl::StatusOr<MembershipHistory> back = MembershipHistory::Decode(bytes);
  ASSERT_TRUE(back.ok()) << back.status();
  ASSERT_EQ(back->entries().size(), 2u);
  EXPECT_EQ(back->entries()[1].segments, Of({Segment::kLapsed}));
  EXPECT_EQ(back->Encode(), bytes);
  EXPECT_EQ(MembershipHistory::Decode(bytes.substr(1)).status().code(),
            absl::StatusCode::kDataLoss);
  std::string bad = bytes;
  bad[12] = 99;  // primary out of range
  EXPECT_EQ(MembershipHistory::Decode(bad).status().code(), absl::StatusCode::kDataLoss);
  std::string unordered = bytes.substr(13) + bytes.substr(0, 13);
  EXPECT_EQ(MembershipHistory::Decode(unordered).status().code(), absl::StatusCode::kDataLoss);
  EXPECT_TRUE(MembershipHistory::Decode("")->entries().empty());
}

TEST(MembershipHistoryTest, KeepsTheEntryInForceAtTheRetentionHorizon) {
  MembershipHistory h;
  const absl::Duration day = absl::Hours(24);
  h.Record(kT, Of({Segment::kNewDownload}), Segment::kNewDownload);
  h.Record(kT + 10 * day, Of({Segment::kNewCustomer}), Segment::kNewCustomer);
  h.Record(kT + 20 * day, Of({Segment::kLapsed}), Segment::kLapsed);
  // Retention 15 days at day 30: horizon day 15, in force then: day-10 entry.
  h.Record(kT + 30 * day, SegmentSet(), std::nullopt, 15 * day);
  ASSERT_EQ(h.entries().size(), 3u);
  EXPECT_EQ(h.entries()[0].from, kT + 10 * day);
  EXPECT_EQ(h.At(kT + 15 * day)->primary, Segment::kNewCustomer);
  EXPECT_FALSE(h.At(kT + 5 * day).has_value());
}

TEST(MembershipHistoryTest, OutOfOrderAndSameInstantRecordsStayOrdered) {
  MembershipHistory h;
  h.Record(kT, Of({Segment::kNewDownload}), Segment::kNewDownload);
  h.Record(kT - absl::Hours(1), Of({Segment::kLapsed}), Segment::kLapsed);
  ASSERT_EQ(h.entries().size(), 1u);  // replaced at kT: the later truth wins
  EXPECT_EQ(h.entries()[0].primary, Segment::kLapsed);
  EXPECT_EQ(h.entries()[0].from, kT);
}

}  // namespace
}  // namespace segmentd

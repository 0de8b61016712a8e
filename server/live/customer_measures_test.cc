#include "server/live/customer_measures.h"

#include <gtest/gtest.h>

namespace segmentd {
namespace {

const absl::Time kDay0 = absl::FromUnixSeconds(20000LL * 86400);  // day 20000, 00:00 UTC

absl::Status Place(engine::Profile& p, const char* id, absl::Time at, int64_t amount) {
  engine::OrderPlaced order;
  order.order_id = id;
  order.placed_at = at;
  order.amount = amount;
  return p.PlaceOrder(order).status();
}

TEST(CustomerMeasuresTest, UtcDayFloors) {
  EXPECT_EQ(store::UtcDayOf(0), 0);
  EXPECT_EQ(store::UtcDayOf(86'399'999), 0);
  EXPECT_EQ(store::UtcDayOf(86'400'000), 1);
  EXPECT_EQ(store::UtcDayOf(-1), -1);
  EXPECT_EQ(store::UtcDayOf(absl::ToUnixMillis(kDay0 + absl::Hours(23))), 20000);
}

// An instant after every order of these tests.
const absl::Time kLater = kDay0 + absl::Hours(24 * 1000);

TEST(CustomerMeasuresTest, OrderTotalsDeltasFollowOrdersCancelsAndRefunds) {
  engine::Profile before;
  ASSERT_TRUE(Place(before, "a", kDay0 + absl::Hours(1), 500).ok());
  std::vector<store::OrderTotalsDelta> first =
      OrderTotalsDeltas(nullptr, std::nullopt, before, kLater);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].placed_ms, absl::ToUnixMillis(kDay0 + absl::Hours(1)));
  EXPECT_EQ(first[0].orders, 1);
  EXPECT_EQ(first[0].revenue, 500);

  engine::Profile after = before;
  ASSERT_TRUE(Place(after, "b", kDay0 + absl::Hours(30), 300).ok());
  ASSERT_TRUE(after.RefundOrder("a", "r", 100).ok());
  std::vector<store::OrderTotalsDelta> second =
      OrderTotalsDeltas(&before, std::nullopt, after, kLater);
  ASSERT_EQ(second.size(), 2u);
  EXPECT_EQ(second[0].placed_ms, absl::ToUnixMillis(kDay0 + absl::Hours(1)));
  EXPECT_EQ(second[0].orders, 0);
  EXPECT_EQ(second[0].revenue, -100);
  EXPECT_EQ(second[1].placed_ms, absl::ToUnixMillis(kDay0 + absl::Hours(30)));
  EXPECT_EQ(second[1].orders, 1);
  EXPECT_EQ(second[1].revenue, 300);

  engine::Profile cancelled = after;
  ASSERT_TRUE(cancelled.CancelOrder("b").ok());
  std::vector<store::OrderTotalsDelta> third =
      OrderTotalsDeltas(&after, std::nullopt, cancelled, kLater);
  ASSERT_EQ(third.size(), 1u);
  EXPECT_EQ(third[0].orders, -1);
  EXPECT_EQ(third[0].revenue, -300);

  EXPECT_TRUE(OrderTotalsDeltas(&cancelled, std::nullopt, cancelled, kLater).empty());
}

TEST(CustomerMeasuresTest, FoldingIsNotACancellation) {
  engine::Profile before;
  ASSERT_TRUE(Place(before, "a", kDay0, 500).ok());
  engine::Profile folded = before;
  ASSERT_EQ(folded.Fold(kDay0 + absl::Hours(1)), 1);
  EXPECT_TRUE(OrderTotalsDeltas(&before, std::nullopt, folded, kLater).empty());
}

TEST(CustomerMeasuresTest, CorrectionsOfFoldedOrdersMoveTheTotalsAtTheirPlacement) {
  engine::Profile before;
  ASSERT_TRUE(Place(before, "a", kDay0, 500).ok());
  ASSERT_TRUE(Place(before, "b", kDay0 + absl::Hours(2), 300).ok());
  ASSERT_EQ(before.Fold(kDay0 + absl::Hours(3)), 2);
  // Placed straight into the lifetime totals (older than the horizon): booked.
  engine::Profile after = before;
  ASSERT_TRUE(Place(after, "c", kDay0 + absl::Hours(1), 200).ok());
  std::vector<store::OrderTotalsDelta> placed =
      OrderTotalsDeltas(&before, std::nullopt, after, kLater);
  ASSERT_EQ(placed.size(), 1u);
  EXPECT_EQ(placed[0].placed_ms, absl::ToUnixMillis(kDay0 + absl::Hours(1)));
  EXPECT_EQ(placed[0].orders, 1);
  EXPECT_EQ(placed[0].revenue, 200);
  // A refund and a cancellation of folded orders: at their placements.
  engine::Profile corrected = after;
  ASSERT_TRUE(corrected.RefundOrder("a", "r", 120).ok());
  ASSERT_TRUE(corrected.CancelOrder("b").ok());
  std::vector<store::OrderTotalsDelta> moved =
      OrderTotalsDeltas(&after, std::nullopt, corrected, kLater);
  ASSERT_EQ(moved.size(), 2u);
  EXPECT_EQ(moved[0].placed_ms, absl::ToUnixMillis(kDay0));
  EXPECT_EQ(moved[0].orders, 0);
  EXPECT_EQ(moved[0].revenue, -120);
  EXPECT_EQ(moved[1].placed_ms, absl::ToUnixMillis(kDay0 + absl::Hours(2)));
  EXPECT_EQ(moved[1].orders, -1);
  EXPECT_EQ(moved[1].revenue, -300);
  // Folded and cancelled in one write: the cancellation still counts.
  engine::Profile live;
  ASSERT_TRUE(Place(live, "d", kDay0, 700).ok());
  engine::Profile gone = live;
  ASSERT_TRUE(gone.CancelOrder("d").ok());
  ASSERT_EQ(gone.Fold(kDay0 + absl::Hours(1)), 1);
  std::vector<store::OrderTotalsDelta> both = OrderTotalsDeltas(&live, std::nullopt, gone, kLater);
  ASSERT_EQ(both.size(), 1u);
  EXPECT_EQ(both[0].orders, -1);
  EXPECT_EQ(both[0].revenue, -700);
}

TEST(CustomerMeasuresTest, OrdersAreBookedOnceTheyArePlaced) {
  // At 08:00 a customer places an order for 09:00 and one for 23:00 the same
  // day: neither is in the totals yet (the store AOV would count it ahead of
  // its time).
  engine::Profile p;
  ASSERT_TRUE(Place(p, "past", kDay0 + absl::Hours(7), 100).ok());
  ASSERT_TRUE(Place(p, "nine", kDay0 + absl::Hours(9), 200).ok());
  ASSERT_TRUE(Place(p, "late", kDay0 + absl::Hours(23), 400).ok());
  const absl::Time eight = kDay0 + absl::Hours(8);
  std::vector<store::OrderTotalsDelta> first = OrderTotalsDeltas(nullptr, std::nullopt, p, eight);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].orders, 1);
  EXPECT_EQ(first[0].revenue, 100);
  // That write's schedule entry is 09:00 (the first order still ahead). A
  // write at 08:30 books nothing more; one at 09:00 books "nine" alone.
  const absl::Time entry = kDay0 + absl::Hours(9);
  EXPECT_TRUE(OrderTotalsDeltas(&p, entry, p, eight + absl::Minutes(30)).empty());
  std::vector<store::OrderTotalsDelta> at_nine = OrderTotalsDeltas(&p, entry, p, entry);
  ASSERT_EQ(at_nine.size(), 1u);
  EXPECT_EQ(at_nine[0].orders, 1);
  EXPECT_EQ(at_nine[0].revenue, 200);
  // A cancel before 23:00 takes back what was booked, and nothing of "late".
  engine::Profile cancelled = p;
  ASSERT_TRUE(cancelled.CancelOrder("nine").ok());
  ASSERT_TRUE(cancelled.CancelOrder("late").ok());
  const absl::Time next = kDay0 + absl::Hours(23);
  std::vector<store::OrderTotalsDelta> undone =
      OrderTotalsDeltas(&p, next, cancelled, kDay0 + absl::Hours(10));
  ASSERT_EQ(undone.size(), 1u);
  EXPECT_EQ(undone[0].orders, -1);
  EXPECT_EQ(undone[0].revenue, -200);
  // Without a stored entry every stored order was booked (a customer written
  // with none ahead, or by a build that booked orders when they arrived).
  std::vector<store::OrderTotalsDelta> legacy = OrderTotalsDeltas(&p, std::nullopt, p, eight);
  ASSERT_EQ(legacy.size(), 2u);
  EXPECT_EQ(legacy[0].placed_ms, absl::ToUnixMillis(kDay0 + absl::Hours(9)));
  EXPECT_EQ(legacy[0].orders, -1);
  EXPECT_EQ(legacy[0].revenue, -200);
  EXPECT_EQ(legacy[1].placed_ms, absl::ToUnixMillis(kDay0 + absl::Hours(23)));
  EXPECT_EQ(legacy[1].orders, -1);
  EXPECT_EQ(legacy[1].revenue, -400);
}

TEST(CustomerMeasuresTest, AovOverTheLookbackAndItsNextChange) {
  engine::Profile p;
  ASSERT_TRUE(Place(p, "a", kDay0, 1000).ok());
  ASSERT_TRUE(Place(p, "b", kDay0 + absl::Hours(24 * 5), 2001).ok());
  const absl::Time now = kDay0 + absl::Hours(24 * 6);
  EXPECT_EQ(AovMilli(p.view(), now, 30), 1'500'500);  // (1000 + 2001) / 2
  EXPECT_EQ(AovMilli(p.view(), now, 3), 2'001'000);
  EXPECT_EQ(AovMilli(p.view(), now, 30 * 12 * 10).value(), 1'500'500);
  EXPECT_FALSE(AovMilli(p.view(), kDay0 - absl::Hours(1), 30).has_value());
  // "a" leaves a 10-day lookback at day 10.
  EXPECT_EQ(NextAovChange(p.view(), now, 10), kDay0 + absl::Hours(24 * 10));
  // Before "b" was placed, its placement is the next change.
  EXPECT_EQ(NextAovChange(p.view(), kDay0 + absl::Hours(1), 30), kDay0 + absl::Hours(24 * 5));
  EXPECT_FALSE(NextAovChange(p.view(), kDay0 + absl::Hours(24 * 100), 30).has_value());
}

// A lookback lengthened past the fold horizon counts the folded orders after
// its start, by their kept placements, as the spender rules do
// (engine::UnfoldedOrders), and each one's exit is a next change.
TEST(CustomerMeasuresTest, ALookbackStartingAmongFoldedOrdersCountsThemByPlacement) {
  engine::Profile p;
  ASSERT_TRUE(Place(p, "a", kDay0, 4000).ok());
  ASSERT_TRUE(Place(p, "b", kDay0 + absl::Hours(24 * 10), 2000).ok());
  ASSERT_TRUE(Place(p, "c", kDay0 + absl::Hours(24 * 500), 1000).ok());
  ASSERT_EQ(p.Fold(kDay0 + absl::Hours(24 * 100)), 2);
  // On day 1000 a 995-day lookback starts on day 5: "b" and "c" count.
  const absl::Time now = kDay0 + absl::Hours(24 * 1000);
  EXPECT_EQ(AovMilli(p.view(), now, 995), 1'500'000);
  EXPECT_EQ(NextAovChange(p.view(), now, 995), kDay0 + absl::Hours(24 * 1005));
  // One holding them all, and one holding none of them, as before.
  EXPECT_EQ(AovMilli(p.view(), now, 1001).value(), 2'333'333);
  EXPECT_EQ(AovMilli(p.view(), now, 900), 1'000'000);
}

TEST(CustomerMeasuresTest, OrdersBecomeVisibleFromTheStoredScheduleEntryOn) {
  engine::Profile p;
  ASSERT_TRUE(Place(p, "a", kDay0, 1000).ok());
  ASSERT_TRUE(Place(p, "future", kDay0 + absl::Hours(5), 1000).ok());
  ASSERT_TRUE(Place(p, "cancelled", kDay0 + absl::Hours(8), 1000).ok());
  ASSERT_TRUE(p.CancelOrder("cancelled").ok());
  const absl::Time entry = kDay0 + absl::Hours(5);  // stored next change
  EXPECT_FALSE(OrderBecameVisibleSince(p.view(), std::nullopt, kDay0 + absl::Hours(9)));
  EXPECT_FALSE(OrderBecameVisibleSince(p.view(), entry, entry - absl::Milliseconds(1)));
  EXPECT_TRUE(OrderBecameVisibleSince(p.view(), entry, entry));
  EXPECT_TRUE(OrderBecameVisibleSince(p.view(), entry - absl::Hours(1), kDay0 + absl::Hours(9)));
  // Only a cancelled order from the entry on: nothing counts.
  EXPECT_FALSE(OrderBecameVisibleSince(p.view(), entry + absl::Hours(1), kDay0 + absl::Hours(9)));
}

TEST(CustomerMeasuresTest, BothAovIndexesAreKeptButOnlyRelativeEnabledRulesUseThem) {
  engine::SegmentConfig config;  // defaults: both relative
  EXPECT_EQ(AovIndexLookback(config, store::AovIndex::kBigSpender), 365);
  EXPECT_EQ(AovIndexLookback(config, store::AovIndex::kLowSpender), 180);
  EXPECT_TRUE(AovIndexInUse(config, store::AovIndex::kBigSpender));
  EXPECT_TRUE(AovIndexInUse(config, store::AovIndex::kLowSpender));
  config.big_spender.threshold_amount = 15000;
  config.big_spender.threshold_store_aov_multiple.reset();
  config.big_spender.lookback_days = 90;
  config.low_spender.enabled = false;
  config.low_spender.lookback_days = 30;
  EXPECT_FALSE(AovIndexInUse(config, store::AovIndex::kBigSpender));
  EXPECT_FALSE(AovIndexInUse(config, store::AovIndex::kLowSpender));
  // An absolute rule's index at the rule's default lookback, on or off; a
  // relative rule's at its own, on or off.
  EXPECT_EQ(AovIndexLookback(config, store::AovIndex::kBigSpender), 365);
  EXPECT_EQ(AovIndexLookback(config, store::AovIndex::kLowSpender), 30);
  config.big_spender.enabled = false;
  EXPECT_EQ(AovIndexLookback(config, store::AovIndex::kBigSpender), 365);
  config.low_spender.enabled = true;
  EXPECT_TRUE(AovIndexInUse(config, store::AovIndex::kLowSpender));
  EXPECT_EQ(AovIndexLookback(config, store::AovIndex::kLowSpender), 30);
  // Profiles keep the orders an index needs, beyond every rule's window.
  engine::SegmentConfig short_windows;
  short_windows.big_spender.threshold_amount = 15000;
  short_windows.big_spender.threshold_store_aov_multiple.reset();
  short_windows.big_spender.lookback_days = 30;
  short_windows.category_affinity.lookback_days = 90;
  ASSERT_LT(engine::LongestWindowDays(short_windows), 365);
  EXPECT_EQ(FoldHorizonDays(short_windows), 365);
  EXPECT_EQ(FoldHorizonDays(engine::SegmentConfig()),
            engine::LongestWindowDays(engine::SegmentConfig()));
  // Every window shorter, the relative spender rules' lookbacks too: the
  // default config's history is still kept, so going back loses nothing.
  engine::SegmentConfig all_short = short_windows;
  all_short.big_spender.threshold_amount.reset();
  all_short.big_spender.threshold_store_aov_multiple = 2.0;
  all_short.low_spender.lookback_days = 30;
  all_short.category_affinity.lookback_days = 30;
  ASSERT_EQ(AovIndexLookback(all_short, store::AovIndex::kBigSpender), 30);
  ASSERT_EQ(AovIndexLookback(all_short, store::AovIndex::kLowSpender), 30);
  ASSERT_LT(engine::LongestWindowDays(all_short), 365);
  EXPECT_EQ(FoldHorizonDays(all_short), 365);
  // A longer window than the defaults' is kept whole.
  engine::SegmentConfig long_window;
  long_window.frequent_buyer.window_days = 1000;
  EXPECT_EQ(FoldHorizonDays(long_window), 1000);
}

}  // namespace
}  // namespace segmentd

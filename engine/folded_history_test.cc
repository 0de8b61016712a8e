// Folded history against the full one (docs/engine.md, Folding): a profile
// folded at any horizon classifies (categories too), explains and announces
// its next change as its unfolded history does, for windows of any length
// (UnfoldedOrders), and
// nothing changes before the next change it announces, cancellations after
// folding included. Randomized, seeded (deterministic).
#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "engine/classify.h"
#include "engine/profile_codec.h"
#include "engine/stats.h"
#include "engine/test_profiles.h"

namespace segmentd::engine {
namespace {

using test_profiles::AddOrder;
using test_profiles::AllDisabled;
using test_profiles::Day;

Classification ClassifyAt(const ProfileView& p, const Classifier& k, absl::Time at) {
  return k.Classify(p, at);
}

std::string Describe(const Classification& c) {
  std::string s;
  for (int i = 0; i < kNumSegments; ++i) {
    if (c.segments.Contains(static_cast<Segment>(i))) {
      absl::StrAppend(&s, SegmentName(static_cast<Segment>(i)), " ");
    }
  }
  for (CategoryId cat : c.categories) absl::StrAppend(&s, "category:", cat, " ");
  absl::StrAppend(&s,
                  "next=", c.next_change ? absl::FormatTime(*c.next_change) : std::string("never"));
  return s;
}

struct Placed {
  std::string id;
  absl::Time at;
  int64_t amount;
  std::vector<CategoryId> categories;
};

struct Case {
  SegmentConfig config;
  Profile full;
  std::vector<std::string> ids;
  std::vector<Placed> orders;  // as placed in `full`
};

Case RandomCase(std::mt19937_64& rng) {
  auto uni = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  Case k;
  SegmentConfig& c = k.config;
  c = AllDisabled();
  c.frequent_buyer.enabled = true;
  c.frequent_buyer.window_days = uni(30, 1500);
  c.frequent_buyer.min_orders = uni(1, 4);
  c.returning_customer.enabled = true;
  c.returning_customer.window_days = uni(30, 1500);
  c.returning_customer.min_orders = uni(2, 4);
  c.big_spender.enabled = true;
  c.big_spender.lookback_days = uni(30, 1500);
  c.big_spender.threshold_store_aov_multiple.reset();
  c.big_spender.threshold_amount = uni(1, 5) * 1000;
  c.low_spender.enabled = true;
  c.low_spender.lookback_days = uni(30, 1500);
  c.low_spender.threshold_store_aov_multiple.reset();
  c.low_spender.threshold_amount = uni(1, 5) * 1000;
  c.loyal_customer.enabled = true;
  c.loyal_customer.active_days = uni(30, 1500);
  c.loyal_customer.min_orders = uni(2, 4);
  c.lost_loyalty.enabled = true;
  c.lost_loyalty.inactive_days = uni(30, 1500);
  c.lost_loyalty.min_orders = uni(2, 4);
  c.one_time_wonder.enabled = true;
  c.one_time_wonder.inactive_days = uni(30, 1500);
  c.lost_customer.enabled = true;
  c.lost_customer.inactive_days = uni(30, 1500);
  c.first_time_buyer.enabled = true;
  c.repeat_customer.enabled = true;
  c.lapsed.enabled = true;
  c.lapsed.inactive_days = uni(30, 1500);
  c.new_customer.enabled = true;
  c.new_customer.window_days = uni(1, 365);
  c.category_affinity.enabled = true;
  c.category_affinity.lookback_days = uni(30, 1500);
  c.category_affinity.min_orders = uni(1, 3);
  const int n = uni(1, 6);
  for (int i = 0; i < n; ++i) {
    k.ids.push_back(absl::StrCat("o", i));
    std::vector<CategoryId> categories;
    for (CategoryId cat = 1; cat <= 3; ++cat) {
      if (uni(0, 1) == 1) categories.push_back(cat);
    }
    k.orders.push_back({k.ids.back(), Day(uni(0, 600)), uni(1, 6) * 1000, categories});
    AddOrder(&k.full, k.ids.back(), k.orders.back().at, k.orders.back().amount, categories);
  }
  return k;
}

// `kase.full` built again with a random half of its orders arriving only
// after folding at `horizon` (folded on arrival when older), and their
// cancellations then too.
template <typename Rng>
Profile FoldedWithLateOrders(const Case& kase, const std::vector<std::string>& cancelled,
                             absl::Time horizon, Rng& rng) {
  std::vector<const Placed*> early, late;
  for (const Placed& o : kase.orders) {
    (std::uniform_int_distribution<int>(0, 1)(rng) == 0 ? early : late).push_back(&o);
  }
  auto cancel = [&](const std::vector<const Placed*>& orders, Profile* p) {
    for (const Placed* o : orders) {
      if (std::find(cancelled.begin(), cancelled.end(), o->id) != cancelled.end()) {
        EXPECT_TRUE(p->CancelOrder(o->id).ok());
      }
    }
  };
  Profile p;
  for (const Placed* o : early) AddOrder(&p, o->id, o->at, o->amount, o->categories);
  cancel(early, &p);
  p.Fold(horizon);
  for (const Placed* o : late) AddOrder(&p, o->id, o->at, o->amount, o->categories);
  cancel(late, &p);
  return p;
}

// Calls `check(classifier, folded, full, at)` for `cases` random customers,
// each after random cancellations and then folded at a random horizon (so
// that the folded first/last placements are the valid ones; in half the
// cases some orders arrive after folding), at instants `max_step` days apart
// at most; stops at the first failure.
template <typename Check>
void ForRandomFoldedAndFull(uint64_t seed, int cases, int max_step, Check check) {
  std::mt19937_64 rng(seed);
  auto uni = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  for (int iter = 0; iter < cases && ::testing::Test::HasFailure() == false; ++iter) {
    Case kase = RandomCase(rng);
    absl::StatusOr<Classifier> k = Classifier::Create(kase.config, PopulationStats{});
    ASSERT_TRUE(k.ok()) << k.status();
    Profile& full = kase.full;
    std::vector<std::string> cancelled;
    for (const std::string& id : kase.ids) {
      if (uni(0, 4) == 0) {
        ASSERT_TRUE(full.CancelOrder(id).ok());
        cancelled.push_back(id);
      }
    }
    const absl::Time horizon = Day(uni(0, 700));
    Profile folded = full;
    if (uni(0, 1) == 0) {
      folded.Fold(horizon);
    } else {
      folded = FoldedWithLateOrders(kase, cancelled, horizon, rng);
    }
    for (int d = 0; d < 3000; d += uni(1, max_step)) {
      const absl::Time at = Day(d + uni(0, 9) / 10.0);
      SCOPED_TRACE(absl::StrCat("case ", iter, " at ", absl::FormatTime(at)));
      check(*k, folded, full, at);
      if (::testing::Test::HasFailure()) return;
    }
  }
}

// Every membership and next change is the full history's.
TEST(FoldedHistoryTest, RandomFoldedProfilesClassifyAsTheirFullHistory) {
  ForRandomFoldedAndFull(
      12345, 3000, 40,
      [](const Classifier& k, const Profile& folded, const Profile& full, absl::Time at) {
        const Classification f = ClassifyAt(folded.view(), k, at);
        const Classification e = ClassifyAt(full.view(), k, at);
        EXPECT_TRUE(f.SameMembership(e) && f.next_change == e.next_change)
            << "folded: " << Describe(f) << "\nfull:   " << Describe(e);
      });
}

// Reasons too: Explain on the folded profile reads as on the full history
// for the order-counting rules.
TEST(FoldedHistoryTest, RandomFoldedProfilesExplainAsTheirFullHistory) {
  ForRandomFoldedAndFull(
      999, 2000, 80,
      [](const Classifier& k, const Profile& folded, const Profile& full, absl::Time at) {
        const std::vector<SegmentExplanation> f = k.Explain(folded.view(), at);
        const std::vector<SegmentExplanation> e = k.Explain(full.view(), at);
        ASSERT_EQ(f.size(), e.size());
        for (size_t i = 0; i < f.size(); ++i) {
          EXPECT_TRUE(f[i].reason == e[i].reason && f[i].member == e[i].member)
              << f[i].segment << "\nfolded: " << f[i].member << " " << f[i].reason
              << "\nfull:   " << e[i].member << " " << e[i].reason;
        }
      });
}

// Self-consistency of the folded profile alone (cancellations after folding
// too): nothing changes strictly between t and the next change Classify
// gives at t.
TEST(FoldedHistoryTest, NextChangeIsTheFirstChangeOfTheFoldedProfile) {
  std::mt19937_64 rng(777);
  auto uni = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  int failures = 0;
  for (int iter = 0; iter < 500 && failures < 5; ++iter) {
    Case kase = RandomCase(rng);
    absl::StatusOr<Classifier> k = Classifier::Create(kase.config, PopulationStats{});
    ASSERT_TRUE(k.ok()) << k.status();
    Profile folded = kase.full;
    folded.Fold(Day(uni(0, 700)));
    for (const std::string& id : kase.ids) {
      if (uni(0, 2) == 0) {
        ASSERT_TRUE(folded.CancelOrder(id).ok());
      }
    }
    for (int d = 0; d < 3000 && failures < 5; d += uni(1, 60)) {
      const absl::Time at = Day(d + uni(0, 9) / 10.0);
      const Classification f = ClassifyAt(folded.view(), *k, at);
      const absl::Time end = f.next_change.value_or(Day(3200));
      for (int g = 0; g < 3200; ++g) {
        const absl::Time s = Day(g) + absl::Milliseconds(1);
        if (s <= at || s >= end) continue;
        const Classification h = ClassifyAt(folded.view(), *k, s);
        if (!h.SameMembership(f)) {
          ++failures;
          ADD_FAILURE() << "iter " << iter << " at " << absl::FormatTime(at) << ": " << Describe(f)
                        << "\nbut at " << absl::FormatTime(s) << ": " << Describe(h);
          break;
        }
      }
    }
  }
}

// A folded order cancelled after folding no longer bounds the folded
// placements (Profile::RefreshFoldedSpan): before, the unfolded evaluation
// read the valid last order while the folded one read the cancelled one, so
// LAPSED flipped off and on where the 400-day window stopped reaching the
// folded orders, with no next change announced (a code review's finding).
TEST(FoldedHistoryTest, ACancelledLastFoldedOrderMovesNoMembershipWhereTheWindowsStopReaching) {
  SegmentConfig c = AllDisabled();
  c.lapsed.enabled = true;
  c.lapsed.inactive_days = 405;
  c.frequent_buyer.window_days = 400;  // disabled: its window alone decides the mode
  Profile full;
  AddOrder(&full, "a", Day(0));
  AddOrder(&full, "b", Day(10));
  Profile folded = full;
  ASSERT_EQ(folded.Fold(Day(100)), 2);
  ASSERT_TRUE(full.CancelOrder("b").ok());
  ASSERT_TRUE(folded.CancelOrder("b").ok());
  absl::StatusOr<Classifier> k = Classifier::Create(c, PopulationStats{});
  ASSERT_TRUE(k.ok()) << k.status();
  // Day 406: unfolded (the 400-day window reaches day 10): the last valid
  // order is day 0, lapsed since day 405, with no next change.
  const Classification at406 = k->Classify(folded.view(), Day(406));
  EXPECT_TRUE(at406.segments.Contains(Segment::kLapsed));
  EXPECT_FALSE(at406.next_change.has_value()) << Describe(at406);
  // Day 411: the window no longer reaches day 10: folded totals, last = 10.
  const Classification at411 = k->Classify(folded.view(), Day(411));
  const Classification full411 = k->Classify(full.view(), Day(411));
  EXPECT_TRUE(full411.segments.Contains(Segment::kLapsed));
  // No next change was announced at day 406, and none happens.
  EXPECT_EQ(at411.segments, at406.segments) << Describe(at411);
  EXPECT_EQ(at411.segments, full411.segments) << Describe(at411);
}

// Once every folded order is cancelled, the folded span is empty: orders
// folded later are spanned alone, and rules reading the span (inactivity,
// NEW_CUSTOMER) answer at any instant as the full history does, after the
// codec too (it repairs a span stored stale). Before 2026-12-06 the
// cancelled orders' placements stayed (a code reviewer's finding).
TEST(FoldedHistoryTest, OrdersFoldedAfterEveryFoldedOrderWasCancelledAreSpannedAlone) {
  SegmentConfig c = AllDisabled();
  c.lapsed.enabled = true;
  c.lapsed.inactive_days = 100;
  c.new_customer.enabled = true;
  c.new_customer.window_days = 100;
  // The order-counting windows (off) short: Evaluate reads the folded totals.
  c.frequent_buyer.window_days = 1;
  c.returning_customer.window_days = 1;
  c.big_spender.lookback_days = 1;
  c.low_spender.lookback_days = 1;
  c.category_affinity.lookback_days = 1;
  absl::StatusOr<Classifier> k = Classifier::Create(c, PopulationStats{});
  ASSERT_TRUE(k.ok()) << k.status();
  Profile full, folded;
  for (Profile* p : {&full, &folded}) AddOrder(p, "b", Day(100));
  folded.Fold(Day(150));
  for (Profile* p : {&full, &folded}) {
    ASSERT_TRUE(p->CancelOrder("b").ok());
    AddOrder(p, "a", Day(50));  // folded on arrival in `folded`
    AddOrder(p, "c", Day(200));
  }
  EXPECT_EQ(folded.folded().first_order_ms, ToMillis(Day(50)));
  EXPECT_EQ(folded.folded().last_order_ms, ToMillis(Day(50)));
  folded.Fold(Day(300));
  absl::StatusOr<Profile> decoded = DecodeProfile(EncodeProfile(folded));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  ASSERT_EQ(EarliestExactInstant(folded.view(), c), absl::InfinitePast());
  for (int d = 40; d < 400; d += 5) {
    const absl::Time at = Day(d + 0.5);
    const Classification e = k->Classify(full.view(), at);
    for (const Profile* p : {&folded, &*decoded}) {
      const Classification f = k->Classify(p->view(), at);
      EXPECT_TRUE(f.SameMembership(e) && f.next_change == e.next_change)
          << "day " << d << "\nfolded: " << Describe(f) << "\nfull:   " << Describe(e);
    }
  }
}

// A cancelled folded order is still a fact the profile keeps: before its
// cancellation the customer was a buyer, so an instant between its placement
// and a later explicit registration is not "before the first fact"
// (FirstKnownMs; the server answers such an instant "in no segment"
// without classifying).
TEST(FoldedHistoryTest, ACancelledFoldedOrderIsAKnownFact) {
  Profile p;
  AddOrder(&p, "a", Day(10));
  ASSERT_TRUE(p.Register(Day(50)).ok());
  AddOrder(&p, "b", Day(60));
  ASSERT_TRUE(p.CancelOrder("a", Day(12)).ok());
  p.Fold(Day(100));
  EXPECT_EQ(p.view().FirstKnownMs(), ToMillis(Day(10)));
  // The correction of a folded order that keeps its placement is undone
  // before its instant: it bounds no exact answer.
  EXPECT_EQ(EarliestExactInstant(p.view(), SegmentConfig()), absl::InfinitePast());
  // Folded by an older build, which kept no placement: the first fact's
  // instant is unknown (a code reviewer's finding: it read as day 50, and an
  // instant before it was answered "in no segment"), and the correction
  // bounds exact answers at its instant.
  const test_profiles::WithoutPlacements legacy(p);
  EXPECT_EQ(legacy.view.FirstKnownMs(), std::numeric_limits<Millis>::min());
  EXPECT_GE(EarliestExactInstant(legacy.view, SegmentConfig()), Day(12));
}

// Cancellations and refunds with their instants, of orders folded before or
// after them: the folded profile, whose folded orders keep their placements,
// is exact at every instant (each correction of a folded order undone before
// its instant, since 2026-12-06; until then refused there) and classifies as
// the full history does, next changes included.
TEST(FoldedHistoryTest, TimedCorrectionsOfFoldedOrdersAreUndoneAtEarlierInstants) {
  std::mt19937_64 rng(4242);
  auto uni = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  for (int iter = 0; iter < 1500 && !::testing::Test::HasFailure(); ++iter) {
    Case kase = RandomCase(rng);
    absl::StatusOr<Classifier> k = Classifier::Create(kase.config, PopulationStats{});
    ASSERT_TRUE(k.ok()) << k.status();
    Profile& full = kase.full;
    Profile folded = full;
    const absl::Time horizon = Day(uni(0, 700));
    const bool fold_first = uni(0, 1) == 0;
    if (fold_first) folded.Fold(horizon);
    for (const Placed& o : kase.orders) {
      // A refund, then a cancellation, each maybe, dated after the order.
      if (uni(0, 2) == 0) {
        const int64_t amount = uni(1, static_cast<int>(o.amount / 500)) * 500;
        const absl::Time at = o.at + absl::Hours(uni(1, 24 * 400));
        if (amount < o.amount) {
          ASSERT_TRUE(full.RefundOrder(o.id, "r", amount, at).ok());
          ASSERT_TRUE(folded.RefundOrder(o.id, "r", amount, at).ok());
        }
      }
      if (uni(0, 2) == 0) {
        const absl::Time at = o.at + absl::Hours(uni(1, 24 * 400));
        ASSERT_TRUE(full.CancelOrder(o.id, at).ok());
        ASSERT_TRUE(folded.CancelOrder(o.id, at).ok());
      }
    }
    if (!fold_first) folded.Fold(horizon);
    ASSERT_EQ(EarliestExactInstant(folded.view(), kase.config), absl::InfinitePast());
    for (int d = 0; d < 3000; d += uni(1, 40)) {
      const absl::Time at = Day(d + uni(0, 9) / 10.0);
      SCOPED_TRACE(absl::StrCat("case ", iter, " at ", absl::FormatTime(at)));
      const Classification f = ClassifyAt(folded.view(), *k, at);
      const Classification e = ClassifyAt(full.view(), *k, at);
      ASSERT_TRUE(f.SameMembership(e) && f.next_change == e.next_change)
          << "folded: " << Describe(f) << "\nfull:   " << Describe(e);
      EXPECT_EQ(ComputeLifetime(OrdersAsOf().View(folded.view(), ToMillis(at)), ToMillis(at)),
                ComputeLifetime(OrdersAsOf().View(full.view(), ToMillis(at)), ToMillis(at)));
    }
  }
}

// The engine's population statistics (StatsBuilder: EvaluatePopulation,
// ComputeStats) count folded orders in the store windows by placement, as the
// customers' AOV over the same lookback does (and the server's order totals).
TEST(FoldedHistoryTest, StoreWindowsCountFoldedOrdersAsTheCustomersAovDoes) {
  SegmentConfig c = AllDisabled();
  c.big_spender.enabled = true;
  c.big_spender.lookback_days = 1000;  // lengthened past the horizon
  Profile full;
  AddOrder(&full, "a", Day(100), 4000);
  AddOrder(&full, "b", Day(500), 2000);
  Profile folded = full;
  ASSERT_EQ(folded.Fold(Day(600)), 2);
  const absl::Time at = Day(1000);
  const ProfileView fv = folded.view(), ev = full.view();
  const PopulationStats f = ComputeStats({&fv, 1}, c, at);
  const PopulationStats e = ComputeStats({&ev, 1}, c, at);
  ASSERT_NE(f.FindWindow(1000), nullptr);
  EXPECT_EQ(f.FindWindow(1000)->orders, e.FindWindow(1000)->orders);
  EXPECT_EQ(f.FindWindow(1000)->net_revenue, e.FindWindow(1000)->net_revenue);
}

}  // namespace
}  // namespace segmentd::engine

#include "server/live/live_membership.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <limits>
#include <map>
#include <set>
#include <thread>
#include <tuple>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "engine/profile_codec.h"
#include "server/config_convert.h"
#include "server/live/customer_measures.h"
#include "server/live/live_test_fixture.h"
#include "server/live/membership_history.h"
#include "server/live/stored_profile.h"
#include "server/live/test_orders.h"
#include "server/live/transition_scheduler.h"
#include "server/metrics/metrics.h"
#include "store/scan_pages.h"

namespace segmentd {
namespace {

using ::testing::HasSubstr;
using engine::EventOutcome;
using engine::Segment;

const absl::Time kT0 = absl::FromUnixSeconds(1'750'000'000);

absl::Time DaysAgo(int days) { return kT0 - absl::Hours(24 * days); }

// The default config without the percentile rules, whose statistics a
// test's orders move (the StatisticsMover's business, not those tests').
engine::SegmentConfig WithoutPercentileRules() {
  engine::SegmentConfig config;
  config.vip.enabled = false;
  config.value_tiers.enabled = false;
  return config;
}

ProfileMutation Cancel(std::string id) {
  return [id = std::move(id)](engine::Profile* p) { return p->CancelOrder(id); };
}

// A cancellation with its instant, as the service's events carry.
ProfileMutation CancelAt(std::string id, absl::Time at) {
  return [id = std::move(id), at](engine::Profile* p) { return p->CancelOrder(id, at); };
}

// A refund with its instant.
ProfileMutation RefundAt(std::string id, std::string refund, int64_t amount, absl::Time at) {
  return [id = std::move(id), refund = std::move(refund), amount, at](engine::Profile* p) {
    return p->RefundOrder(id, refund, amount, at);
  };
}

class LiveMembershipTest : public LiveTestFixture {
 protected:
  LiveMembershipTest() : LiveTestFixture(kT0) {}

  CustomerOutcome ApplyOne(const std::string& customer, std::vector<ProfileMutation> events) {
    absl::StatusOr<std::vector<CustomerOutcome>> out =
        live_->Apply("acme", {CustomerEvents{customer, std::move(events)}});
    EXPECT_TRUE(out.ok()) << out.status();
    return out.ok() ? (*out)[0] : CustomerOutcome();
  }

  std::vector<store::StoredChange> Changes() {
    return *store_.ReadChanges("acme", "", 1000, absl::ZeroDuration());
  }

  // The customers in `index`, sorted.
  std::vector<std::string> Indexed(store::AovIndex index) {
    absl::StatusOr<std::vector<std::string>> ids = store_.CustomersByAov(
        "acme", index, std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max());
    EXPECT_TRUE(ids.ok()) << ids.status();
    std::vector<std::string> out = ids.ok() ? *ids : std::vector<std::string>();
    std::sort(out.begin(), out.end());
    return out;
  }

  // The stored members of `segment`, sorted (the memory store's pages come
  // in byte order).
  std::vector<std::string> Members(absl::string_view segment) {
    std::vector<std::string> out;
    EXPECT_TRUE(store::ScanPages(
                    [&](const std::string& cursor) {
                      return store_.ScanSegment("acme", segment, cursor, 100);
                    },
                    [&](std::vector<std::string> ids) {
                      out.insert(out.end(), ids.begin(), ids.end());
                      return absl::OkStatus();
                    })
                    .ok());
    return out;
  }
};

TEST_F(LiveMembershipTest, FirstOrderMakesAFirstTimeBuyerAndLogsTheChange) {
  CustomerOutcome out = ApplyOne("c1", {Order("o1", kT0 - absl::Hours(1), 5000)});
  ASSERT_EQ(out.events.size(), 1u);
  EXPECT_TRUE(out.events[0].status.ok());
  EXPECT_EQ(out.events[0].outcome, EventOutcome::kApplied);
  EXPECT_TRUE(out.after.found);
  EXPECT_TRUE(out.after.membership.segments.Contains(Segment::kFirstTimeBuyer));
  EXPECT_TRUE(out.after.membership.segments.Contains(Segment::kNewCustomer));
  ASSERT_TRUE(out.after.membership.next_change.has_value());

  EXPECT_EQ(*store_.SegmentSize("acme", "FIRST_TIME_BUYER"), 1);
  bool logged = false;
  for (const store::StoredChange& c : Changes()) {
    if (c.segment == "FIRST_TIME_BUYER") {
      logged = true;
      EXPECT_TRUE(c.entered);
      EXPECT_EQ(c.customer_id, "c1");
      EXPECT_EQ(c.cause, store::ChangeCause::kEvent);
      EXPECT_EQ(c.changed_at, kT0);
    }
  }
  EXPECT_TRUE(logged);
}

TEST_F(LiveMembershipTest, ReplayingAnEventChangesNothing) {
  ApplyOne("c1", {Order("o1", kT0, 5000)});
  const auto changes_before = Changes().size();
  const auto state_before = (*store_.Read("acme", {"c1"}))[0];
  CustomerOutcome again = ApplyOne("c1", {Order("o1", kT0, 5000)});
  EXPECT_EQ(again.events[0].outcome, EventOutcome::kDuplicate);
  const auto state_after = (*store_.Read("acme", {"c1"}))[0];
  EXPECT_EQ(state_after.version, state_before.version);
  EXPECT_EQ(state_after.profile, state_before.profile);
  EXPECT_EQ(Changes().size(), changes_before);
}

TEST_F(LiveMembershipTest, RejectedEventDoesNotStopTheOthers) {
  CustomerOutcome out = ApplyOne("c1", {Cancel("unknown"), Order("o1", kT0, 100)});
  EXPECT_EQ(out.events[0].status.code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(out.events[1].status.ok());
  EXPECT_TRUE(out.after.membership.segments.Contains(Segment::kFirstTimeBuyer));
}

// Order `id` placed for `customer`.
CustomerEvents PlacedOrder(const std::string& customer, const std::string& id, int64_t amount) {
  return CustomerEvents{customer, {Order(id, kT0, amount)}};
}

TEST_F(LiveMembershipTest, AnOrderIdIsOneCustomersOrderPerTenant) {
  ASSERT_TRUE(live_->Apply("acme", {PlacedOrder("c1", "o1", 100)}).ok());
  // The same id for c2, alone and next to a new order of c2 and one of c3 in
  // the same call: only that event is refused, and nothing of it is stored.
  CustomerEvents c2 = PlacedOrder("c2", "o1", 900);
  c2.mutations.push_back(Cancel("o9"));
  c2.mutations.push_back(Order("o2", kT0, 50));
  absl::StatusOr<std::vector<CustomerOutcome>> out =
      live_->Apply("acme", {c2, PlacedOrder("c3", "o3", 70)});
  ASSERT_TRUE(out.ok()) << out.status();
  const CustomerOutcome& second = (*out)[0];
  ASSERT_TRUE(second.commit.ok()) << second.commit;
  ASSERT_EQ(second.events.size(), 3u);
  EXPECT_EQ(second.events[0].status.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_TRUE(absl::StartsWith(second.events[0].status.message(), "order_id: "))
      << second.events[0].status;
  EXPECT_EQ(second.events[1].status.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(second.events[2].outcome, EventOutcome::kApplied);
  EXPECT_TRUE((*out)[1].commit.ok());
  EXPECT_EQ((*out)[1].events[0].outcome, EventOutcome::kApplied);

  // One order each (c2's is o2 alone): three first-time buyers.
  EXPECT_EQ(*store_.SegmentSize("acme", "FIRST_TIME_BUYER"), 3);
  EXPECT_EQ(*store_.SegmentSize("acme", "REPEAT_CUSTOMER"), 0);
  EXPECT_EQ(*store_.OrderOwners("acme", {engine::IdFingerprint("o1"), engine::IdFingerprint("o2"),
                                         engine::IdFingerprint("o3")}),
            (std::vector<uint32_t>{(*store_.Read("acme", {"c1"}))[0].ordinal,
                                   (*store_.Read("acme", {"c2"}))[0].ordinal,
                                   (*store_.Read("acme", {"c3"}))[0].ordinal}));

  // Re-sending o1 for its own customer stays an idempotent no-op, and an
  // order id is the tenant's: another tenant may use it.
  out = live_->Apply("acme", {PlacedOrder("c1", "o1", 100)});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ((*out)[0].events[0].outcome, EventOutcome::kDuplicate);
  out = live_->Apply("globex", {PlacedOrder("c2", "o1", 100)});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ((*out)[0].events[0].outcome, EventOutcome::kApplied);
}

// Another pipeline may deliver a cancellation before its order: it waits in
// the customer's profile (nothing booked, no segment) and applies when the
// order arrives, as if they had come in order.
TEST_F(LiveMembershipTest, ACancellationBeforeItsOrderWaitsForIt) {
  CustomerOutcome early = ApplyOne("c1", {CancelAt("o1", kT0 - absl::Hours(1))});
  ASSERT_TRUE(early.commit.ok()) << early.commit;
  EXPECT_EQ(early.events[0].outcome, EventOutcome::kApplied);
  EXPECT_TRUE(early.after.found);
  EXPECT_TRUE(early.after.membership.segments.empty());
  // Re-sent while it waits: a duplicate.
  EXPECT_EQ(ApplyOne("c1", {CancelAt("o1", kT0)}).events[0].outcome, EventOutcome::kDuplicate);

  CustomerOutcome order = ApplyOne("c1", {Order("o1", kT0 - absl::Hours(2), 700)});
  ASSERT_TRUE(order.commit.ok()) << order.commit;
  EXPECT_EQ(order.events[0].outcome, EventOutcome::kApplied);
  // Cancelled: no buyer, nothing in the tenant's order totals.
  EXPECT_FALSE(order.after.membership.segments.Contains(Segment::kFirstTimeBuyer));
  const engine::Millis end = absl::ToUnixMillis(kT0);
  EXPECT_EQ(store_.OrderTotalsIn("acme", end - 30 * store::kDayMillis, end)->orders, 0);
  absl::StatusOr<engine::Profile> stored = DecodeStoredProfile((*store_.Read("acme", {"c1"}))[0]);
  ASSERT_TRUE(stored.ok()) << stored.status();
  EXPECT_TRUE(stored->awaited_corrections().empty());
  ASSERT_EQ(stored->orders().size(), 1u);
  EXPECT_TRUE(stored->orders()[0].cancelled);
  EXPECT_EQ(*store_.OrderOwners("acme", {engine::IdFingerprint("o1")}),
            std::vector<uint32_t>{(*store_.Read("acme", {"c1"}))[0].ordinal});
}

// A cancellation waits only for an order no other customer placed: one of
// another customer's order is refused (nothing of it stored), while the same
// customer's other events in the call apply.
TEST_F(LiveMembershipTest, ACancellationOfAnotherCustomersOrderDoesNotWait) {
  ASSERT_TRUE(live_->Apply("acme", {PlacedOrder("c1", "o1", 100)}).ok());
  CustomerOutcome out = ApplyOne("c2", {CancelAt("o1", kT0), Order("o2", kT0, 50)});
  ASSERT_TRUE(out.commit.ok()) << out.commit;
  EXPECT_EQ(out.events[0].status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(out.events[0].status.message(), HasSubstr("order_id: placed by another customer"));
  EXPECT_EQ(out.events[1].outcome, EventOutcome::kApplied);
  absl::StatusOr<engine::Profile> c2 = DecodeStoredProfile((*store_.Read("acme", {"c2"}))[0]);
  ASSERT_TRUE(c2.ok()) << c2.status();
  EXPECT_TRUE(c2->awaited_corrections().empty());
  // Alone, it stores nothing: the customer stays unknown.
  EXPECT_EQ(ApplyOne("c3", {CancelAt("o1", kT0)}).events[0].status.code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ((*store_.Read("acme", {"c3"}))[0].version, 0);
  // c1's order is untouched.
  EXPECT_TRUE(ApplyOne("c1", {}).after.membership.segments.Contains(Segment::kFirstTimeBuyer));

  // A customer with a correction already waiting for an order another
  // customer places since: a further correction of it is refused too.
  ASSERT_EQ(ApplyOne("c4", {RefundAt("o7", "r1", 10, kT0)}).events[0].outcome,
            EventOutcome::kApplied);
  ASSERT_TRUE(live_->Apply("acme", {PlacedOrder("c1", "o7", 100)}).ok());
  EXPECT_EQ(ApplyOne("c4", {CancelAt("o7", kT0)}).events[0].status.code(),
            absl::StatusCode::kNotFound);
  absl::StatusOr<engine::Profile> c4 = DecodeStoredProfile((*store_.Read("acme", {"c4"}))[0]);
  ASSERT_TRUE(c4.ok()) << c4.status();
  EXPECT_EQ(c4->awaited_corrections().size(), 1u);
}

// A taken order id is bad input, not a race: no conflict counted, no second
// round trip beyond learning the owner, and the customer's event is refused.
TEST_F(LiveMembershipTest, ATakenOrderIdIsNotCountedAsAWriteConflict) {
  ASSERT_TRUE(live_->Apply("acme", {PlacedOrder("c1", "o1", 100)}).ok());
  Metrics metrics;
  LiveMembership::Options options;
  options.now = [this] { return now_; };
  options.metrics = &metrics;
  LiveMembership live(&store_, contexts_.get(), options);
  const int64_t calls = store_.write_calls;
  absl::StatusOr<std::vector<CustomerOutcome>> out =
      live.Apply("acme", {PlacedOrder("c2", "o1", 100)});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ((*out)[0].events[0].status.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(store_.write_calls - calls, 1);  // the refused write; nothing left to write after
  const std::string text = metrics.Text();
  EXPECT_THAT(text, Not(::testing::ContainsRegex("segmentd_write_conflicts_total[^\n]* [1-9]")))
      << text;
}

TEST_F(LiveMembershipTest, TwoCustomersPlacingOneNewOrderIdInOneCallKeepTheFirst) {
  absl::StatusOr<std::vector<CustomerOutcome>> out =
      live_->Apply("acme", {PlacedOrder("a", "o1", 100), PlacedOrder("b", "o1", 100)});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ((*out)[0].events[0].outcome, EventOutcome::kApplied);
  EXPECT_EQ((*out)[1].events[0].status.code(), absl::StatusCode::kAlreadyExists);
  // b placed nothing, so it was never stored.
  EXPECT_EQ((*store_.Read("acme", {"b"}))[0].version, 0);
}

TEST_F(LiveMembershipTest, CancelledOrderCountsForNothing) {
  ApplyOne("c1", {Order("o1", kT0, 100), Order("o2", kT0, 100)});
  EXPECT_EQ(*store_.SegmentSize("acme", "REPEAT_CUSTOMER"), 1);
  CustomerOutcome out = ApplyOne("c1", {Cancel("o2")});
  EXPECT_TRUE(out.after.membership.segments.Contains(Segment::kFirstTimeBuyer));
  EXPECT_EQ(*store_.SegmentSize("acme", "REPEAT_CUSTOMER"), 0);
}

TEST_F(LiveMembershipTest, TimeAloneMovesACustomerWhenReevaluated) {
  CustomerOutcome out = ApplyOne("c1", {Order("o1", kT0, 100)});
  ASSERT_TRUE(out.after.membership.next_change.has_value());
  const absl::Time due = *out.after.membership.next_change;
  // Not due yet: nothing moves.
  now_ = due - absl::Milliseconds(1);
  EXPECT_TRUE(store_.Due("acme", now_, 10)->empty());
  // Due: the customer is listed, re-evaluation moves it with cause TIME.
  now_ = due;
  std::vector<std::string> due_ids = *store_.Due("acme", now_, 10);
  ASSERT_EQ(due_ids, std::vector<std::string>{"c1"});
  absl::StatusOr<int64_t> changed = live_->Reevaluate("acme", due_ids, store::ChangeCause::kTime);
  ASSERT_TRUE(changed.ok()) << changed.status();
  EXPECT_EQ(*changed, 1);
  bool time_change = false;
  for (const store::StoredChange& c : Changes()) {
    time_change |= c.cause == store::ChangeCause::kTime && c.changed_at == due;
  }
  EXPECT_TRUE(time_change);
  // Re-evaluating again at the same instant changes nothing.
  EXPECT_EQ(*live_->Reevaluate("acme", {"c1"}, store::ChangeCause::kTime), 0);

  // The history answers what was in force before and after the change.
  absl::StatusOr<MembershipHistory> history =
      MembershipHistory::Decode((*store_.Read("acme", {"c1"}))[0].history);
  ASSERT_TRUE(history.ok()) << history.status();
  ASSERT_EQ(history->entries().size(), 2u);
  EXPECT_FALSE(history->At(kT0 - absl::Milliseconds(1)).has_value());
  EXPECT_EQ(history->At(kT0)->segments, out.after.membership.segments);
  EXPECT_EQ(history->At(due)->from, due);
  EXPECT_NE(history->At(due)->segments, out.after.membership.segments);
}

// A pass that runs long after several edges fell due (segmentd was down)
// writes each at its own instant: Watch sees every move stamped when it
// happened, and the history holds every state in between (before, all were
// stamped with the first edge's instant and the states in between were lost).
TEST_F(LiveMembershipTest, EdgesThatFellDueDuringAnOutageAreEachWrittenAtTheirInstant) {
  // Percentile rules follow statistics, which a pass takes as they are now.
  ASSERT_EQ(
      StoreConfigAndReevaluate("acme", WithoutPercentileRules(), /*by_profile=*/true, nullptr), 0);
  ApplyOne("c1", {Order("o1", kT0, 100)});
  const absl::Time end = kT0 + absl::Hours(24 * 400);
  // The engine's own answer: the segments at each instant membership moves.
  std::map<absl::Time, engine::SegmentSet> edges;
  engine::SegmentSet was;
  for (absl::Time t = kT0;;) {
    absl::StatusOr<std::vector<CustomerClassification>> c =
        live_->Classify("acme", {"c1"}, t, /*with_reasons=*/false);
    ASSERT_TRUE(c.ok()) << c.status();
    const engine::Classification& at = (*c)[0].classification;
    if (t > kT0 && at.segments != was) edges[t] = at.segments;
    was = at.segments;
    if (!at.next_change || *at.next_change > end) break;
    t = *at.next_change;
  }
  ASSERT_GE(edges.size(), 2u) << "the test needs several edges before `end`";

  now_ = end;
  ASSERT_EQ(*store_.Due("acme", now_, 10), std::vector<std::string>{"c1"});
  EXPECT_EQ(*live_->Reevaluate("acme", {"c1"}, store::ChangeCause::kTime), 1);
  std::set<absl::Time> stamped;
  for (const store::StoredChange& c : Changes()) {
    if (c.cause == store::ChangeCause::kTime) stamped.insert(c.changed_at);
  }
  std::set<absl::Time> expected;
  for (const auto& [t, segments] : edges) expected.insert(t);
  EXPECT_EQ(stamped, expected);
  absl::StatusOr<MembershipHistory> history =
      MembershipHistory::Decode((*store_.Read("acme", {"c1"}))[0].history);
  ASSERT_TRUE(history.ok()) << history.status();
  for (const auto& [t, segments] : edges) {
    ASSERT_TRUE(history->At(t).has_value());
    EXPECT_EQ(history->At(t)->segments, segments) << absl::FormatTime(t);
    EXPECT_EQ(history->At(t)->from, t);
  }
  EXPECT_TRUE(store_.Due("acme", now_, 10)->empty());
  EXPECT_EQ(*live_->Reevaluate("acme", {"c1"}, store::ChangeCause::kTime), 0);
}

// An order already older than the fold horizon (365 days by default) when it
// arrives is folded at once, but still booked in the tenant's totals at its
// instant: a spender lookback lengthened past the horizon later counts it
// in the store AOV, as it does in the customer's own AOV (a reviewer saw a
// 730-day BIG_SPENDER threshold computed from the recent orders alone after
// an import of older history). Orders folded later stay booked.
TEST_F(LiveMembershipTest, OrdersFoldedOnArrivalAreStillInTheOrderTotals) {
  const absl::Time old = kT0 - absl::Hours(24 * 500);
  ApplyOne("c1", {Order("o1", old, 10'000), Order("o2", kT0 - absl::Hours(24 * 10), 1'000)});
  const store::CustomerState state = (*store_.Read("acme", {"c1"}))[0];
  absl::StatusOr<engine::Profile> profile = DecodeStoredProfile(state);
  ASSERT_TRUE(profile.ok()) << profile.status();
  ASSERT_EQ(profile->folded().orders, 1);  // folded at once
  const int64_t end = absl::ToUnixMillis(kT0);
  absl::StatusOr<store::DayTotals> two_years =
      store_.OrderTotalsIn("acme", end - 730 * store::kDayMillis, end);
  ASSERT_TRUE(two_years.ok()) << two_years.status();
  EXPECT_EQ(two_years->orders, 2);
  EXPECT_EQ(two_years->revenue, 11'000);
  EXPECT_EQ(store_.OrderTotalsIn("acme", end - 365 * store::kDayMillis, end)->orders, 1);
  // An old order of a customer already written (its profile folded through
  // the horizon, so the order goes straight into its lifetime totals) is
  // booked too; one cancelled in the same write is not.
  ApplyOne("c1", {Order("o4", old + absl::Hours(1), 20'000)});
  const ProfileMutation cancel_o5 = [](engine::Profile* p) {
    return p->CancelOrder("o5", std::nullopt);
  };
  ApplyOne("c1", {Order("o6", old, 40'000), Order("o5", old, 7), cancel_o5});
  EXPECT_EQ(store_.OrderTotalsIn("acme", end - 730 * store::kDayMillis, end)->revenue,
            11'000 + 20'000 + 40'000);
  EXPECT_EQ(store_.OrderTotalsIn("acme", end - 730 * store::kDayMillis, end)->orders, 4);
  // Folding the other one later (time passing) leaves it booked.
  now_ = kT0 + absl::Hours(24 * 400);
  ApplyOne("c1", {Order("o3", now_, 500)});
  ASSERT_EQ(DecodeStoredProfile((*store_.Read("acme", {"c1"}))[0])->folded().orders, 4);
  EXPECT_EQ(store_.OrderTotalsIn("acme", end - 730 * store::kDayMillis, end)->orders, 4);
  // A refund and a cancellation of folded orders, in later writes (their
  // placements decoded from the stored profile): they leave the totals too.
  ApplyOne("c1", {[](engine::Profile* p) { return p->RefundOrder("o6", "r1", 15'000); }});
  ApplyOne("c1", {[](engine::Profile* p) { return p->CancelOrder("o2", std::nullopt); }});
  ASSERT_EQ(DecodeStoredProfile((*store_.Read("acme", {"c1"}))[0])->folded().orders, 3);
  absl::StatusOr<store::DayTotals> corrected =
      store_.OrderTotalsIn("acme", end - 730 * store::kDayMillis, end);
  ASSERT_TRUE(corrected.ok()) << corrected.status();
  EXPECT_EQ(corrected->orders, 3);
  EXPECT_EQ(corrected->revenue, 10'000 + 20'000 + 25'000);
}

TEST_F(LiveMembershipTest, FutureDatedOrderWakesTheCustomerToMoveItsMeasures) {
  // With the rules that count a second order off (and no relative spender
  // rule, whose AOV index would wake it), nothing in membership changes when
  // it becomes visible, but lifetime orders do (VIP statistics and config
  // updates read them from the measure index).
  engine::SegmentConfig config;
  config.repeat_customer.enabled = false;
  config.first_time_buyer.enabled = false;
  config.returning_customer.enabled = false;
  config.value_tiers.enabled = false;
  config.vip.enabled = false;
  config.big_spender.enabled = false;  // no AOV index to wake it either
  config.low_spender.enabled = false;
  ASSERT_TRUE(
      store_.WriteConfig("acme", 0, ConfigToProto(config).SerializeAsString(), now_).ok());
  const absl::Time visible = kT0 + absl::Hours(3);
  ApplyOne("c1", {Order("o1", kT0 - absl::Hours(1), 100), Order("o2", visible, 250)});
  EXPECT_EQ(*store_.CustomersByOrders("acme", 1, 2), std::vector<std::string>{"c1"});
  // Nor do the day's totals behind the store AOV count it yet, though it is
  // dated today.
  const int64_t today = store::UtcDayOf(absl::ToUnixMillis(kT0));
  ASSERT_EQ(store::UtcDayOf(absl::ToUnixMillis(visible)), today);
  auto totals = [&] { return (*store_.DailyTotals("acme", today, today))[0]; };
  EXPECT_EQ(totals().orders, 1);
  EXPECT_EQ(totals().revenue, 100);
  const store::CustomerState state = (*store_.Read("acme", {"c1"}))[0];
  ASSERT_TRUE(state.next_change.has_value());
  EXPECT_LE(*state.next_change, visible);
  // Another event before it is placed books nothing more.
  now_ = visible - absl::Minutes(1);
  ApplyOne("c1", {Order("o3", kT0 - absl::Hours(2), 50)});
  EXPECT_EQ(totals().orders, 2);
  EXPECT_EQ(totals().revenue, 150);
  // The scheduler's pass once it is due: the index and the totals follow.
  now_ = visible + absl::Minutes(1);
  ASSERT_TRUE(live_->Reevaluate("acme", {"c1"}, store::ChangeCause::kTime).ok());
  EXPECT_EQ(*store_.CustomersByOrders("acme", 3, 4), std::vector<std::string>{"c1"});
  EXPECT_EQ(totals().orders, 3);
  EXPECT_EQ(totals().revenue, 400);
  EXPECT_EQ(store_.measures_kept_writes, 0);
}

TEST_F(LiveMembershipTest, AScheduleOnlyMoveIsABookkeepingWrite) {
  engine::SegmentConfig config;
  // Statistics-driven segments would move once the first buyer is counted.
  config.value_tiers.enabled = false;
  config.vip.enabled = false;
  ASSERT_TRUE(
      store_.WriteConfig("acme", 0, ConfigToProto(config).SerializeAsString(), now_).ok());
  const CustomerOutcome out = ApplyOne("c1", {Order("o1", kT0, 100)});
  ASSERT_TRUE(out.after.membership.segments.Contains(Segment::kNewCustomer));
  EXPECT_EQ(*store_.NextDue("acme"), kT0 + absl::Hours(24 * 30));  // NEW_CUSTOMER ends
  const int64_t full = store_.full_writes;
  // A longer NEW_CUSTOMER window: the same segments, a later next change.
  config.new_customer.window_days = 40;
  ASSERT_TRUE(
      store_.WriteConfig("acme", 1, ConfigToProto(config).SerializeAsString(), now_).ok());
  now_ += absl::Hours(1);
  EXPECT_EQ(*live_->Reevaluate("acme", {"c1"}, store::ChangeCause::kConfig), 0);
  EXPECT_EQ(store_.bookkeeping_writes, 1);
  EXPECT_EQ(store_.full_writes, full);
  EXPECT_EQ(*store_.NextDue("acme"), kT0 + absl::Hours(24 * 40));
  absl::StatusOr<StoredMembership> stored =
      DecodeMembership((*store_.Read("acme", {"c1"}))[0].membership);
  ASSERT_TRUE(stored.ok()) << stored.status();
  EXPECT_EQ(stored->next_change, kT0 + absl::Hours(24 * 40));
  EXPECT_EQ(stored->segments, out.after.membership.segments);
  // When it falls due, the customer leaves with a full write, which leaves
  // the measure indexes as they are (no order became visible).
  now_ = kT0 + absl::Hours(24 * 40);
  EXPECT_EQ(*live_->Reevaluate("acme", {"c1"}, store::ChangeCause::kTime), 1);
  EXPECT_EQ(store_.full_writes, full + 1);
  EXPECT_EQ(store_.measures_kept_writes, 1);
  EXPECT_EQ(*store_.CustomersByOrders("acme", 1, 2), std::vector<std::string>{"c1"});
}

TEST_F(LiveMembershipTest, AConfigUpdateLeavesFarScheduleMovesToTheSchedulersRechecks) {
  engine::SegmentConfig config;
  config.value_tiers.enabled = false;
  config.vip.enabled = false;
  config.big_spender.enabled = false;  // no AOV index wake-ups
  config.low_spender.enabled = false;
  ASSERT_TRUE(
      store_.WriteConfig("acme", 0, ConfigToProto(config).SerializeAsString(), now_).ok());
  ASSERT_TRUE(contexts_->Reload("acme").ok());
  // NEW_CUSTOMER (30 days) ends for c1 in 30 days, for c2 in 1 day + 5 min.
  ApplyOne("c1", {Order("o1", kT0, 100)});
  ApplyOne("c2", {Order("o2", kT0 - absl::Hours(24 * 29) + absl::Minutes(5), 100)});
  const store::CustomerState c1_before = (*store_.Read("acme", {"c1"}))[0];
  // A second replica, whose snapshot is of the config before the update.
  TenantContexts::Options context_options;
  context_options.now = [this] { return now_; };
  TenantContexts other_contexts(&store_, context_options);
  ASSERT_EQ((*other_contexts.Get("acme"))->config_version, 1);
  LiveMembership::Options live_options;
  live_options.now = [this] { return now_; };
  LiveMembership other(&store_, &other_contexts, live_options);
  // A 29-day window: c1 ends a day earlier, still weeks away (left to the
  // rechecks); c2 ends in 5 minutes, within the horizon (written at once).
  absl::StatusOr<std::shared_ptr<const TenantSnapshot>> previous = contexts_->GetCurrent("acme");
  ASSERT_TRUE(previous.ok());
  config.new_customer.window_days = 29;
  absl::StatusOr<int64_t> version =
      store_.WriteConfig("acme", 1, ConfigToProto(config).SerializeAsString(), now_);
  ASSERT_TRUE(version.ok());
  ASSERT_TRUE(contexts_->Reload("acme").ok());
  const int64_t bookkeeping = store_.bookkeeping_writes;
  int64_t deferred = -1;
  EXPECT_EQ(*live_->ReevaluateAll("acme", store::ChangeCause::kConfig, *previous, &deferred), 0);
  EXPECT_EQ(deferred, 1);
  EXPECT_EQ(store_.bookkeeping_writes, bookkeeping + 1);  // c2 only
  EXPECT_EQ((*store_.Read("acme", {"c2"}))[0].next_change, now_ + absl::Minutes(5));
  EXPECT_EQ((*store_.Read("acme", {"c1"}))[0].next_change, c1_before.next_change);
  absl::StatusOr<std::vector<store::CustomerStore::Recheck>> rechecks =
      store_.Rechecks("acme", 10);
  ASSERT_TRUE(rechecks.ok());
  ASSERT_EQ(rechecks->size(), 1u);
  EXPECT_EQ((*rechecks)[0].customer_id, "c1");
  EXPECT_EQ((*rechecks)[0].config_version, *version);

  // Another replica's scheduler pass (its own snapshots, still of the old
  // config: it reloads for the entry's version) re-classifies it and clears
  // the entry, for every tenant (one never stored is cleared all the same).
  ASSERT_TRUE(store_.AddRechecks("globex", {"ghost"}, 0).ok());
  TransitionScheduler::Options options;
  options.now = [this] { return now_; };
  TransitionScheduler scheduler(
      &store_, &other,
      [] {
        return absl::StatusOr<std::vector<std::string>>(std::vector<std::string>{"acme", "globex"});
      },
      options);
  ASSERT_TRUE(scheduler.RunOnce().ok());
  EXPECT_EQ(*store_.RecheckCount("acme"), 0);
  EXPECT_EQ(*store_.RecheckCount("globex"), 0);
  EXPECT_EQ((*store_.Read("acme", {"c1"}))[0].next_change, kT0 + absl::Hours(24 * 29));
  EXPECT_EQ(store_.bookkeeping_writes, bookkeeping + 2);
}

TEST_F(LiveMembershipTest, AFollowerSchedulerTakesOnlyWhatTheLeaderLeftDuePastTheGrace) {
  CustomerOutcome out = ApplyOne("c1", {Order("o1", kT0, 100)});
  ASSERT_TRUE(out.after.membership.next_change.has_value());
  const absl::Time due = *out.after.membership.next_change;
  auto tenants = [] {
    return absl::StatusOr<std::vector<std::string>>(std::vector<std::string>{"acme"});
  };
  TransitionScheduler::Options follower_options;
  follower_options.now = [this] { return now_; };
  follower_options.leading = [] { return false; };
  follower_options.follower_grace = absl::Milliseconds(250);
  TransitionScheduler follower(&store_, live_.get(), tenants, follower_options);
  // Due 100 ms ago: the leader's to take, not the follower's.
  now_ = due + absl::Milliseconds(100);
  ASSERT_EQ(*follower.RunOnce(), 0);
  EXPECT_EQ((*store_.Read("acme", {"c1"}))[0].next_change, due);
  // Still there 300 ms after it fell due (no leader took it): the follower does.
  now_ = due + absl::Milliseconds(300);
  ASSERT_EQ(*follower.RunOnce(), 1);
  EXPECT_NE((*store_.Read("acme", {"c1"}))[0].next_change, due);

  // A leader takes a customer as soon as it falls due.
  CustomerOutcome out2 = ApplyOne("c2", {Order("o2", now_, 100)});
  ASSERT_TRUE(out2.after.membership.next_change.has_value());
  TransitionScheduler::Options leader_options;
  leader_options.now = [this] { return now_; };
  leader_options.leading = [] { return true; };
  TransitionScheduler leader(&store_, live_.get(), tenants, leader_options);
  const absl::Time due2 = *out2.after.membership.next_change;
  now_ = due2 + absl::Milliseconds(1);
  ASSERT_TRUE(leader.RunOnce().ok());
  EXPECT_NE((*store_.Read("acme", {"c2"}))[0].next_change, due2);
}

// A pass reads each tenant's next instant; between passes the scheduler
// wakes at it and moves what fell due without a full pass. A customer that
// stays due (here: one the store cannot decode) is not what it wakes for.
TEST_F(LiveMembershipTest, TheSchedulerKnowsTheNextInstantAndMovesItWithoutAFullPass) {
  CustomerOutcome out = ApplyOne("c1", {Order("o1", kT0, 100)});
  ASSERT_TRUE(out.after.membership.next_change.has_value());
  const absl::Time due = *out.after.membership.next_change;
  int listed = 0;
  TransitionScheduler::Options options;
  options.now = [this] { return now_; };
  TransitionScheduler scheduler(
      &store_, live_.get(),
      [&listed] {
        ++listed;
        return absl::StatusOr<std::vector<std::string>>(std::vector<std::string>{"acme"});
      },
      options);
  EXPECT_EQ(scheduler.UntilNextKnownDue(), absl::InfiniteDuration());  // no pass yet
  ASSERT_EQ(*scheduler.RunOnce(), 0);
  EXPECT_EQ(listed, 1);
  EXPECT_EQ(scheduler.UntilNextKnownDue(), due - now_);
  // Not yet due: nothing moved.
  now_ = due - absl::Milliseconds(1);
  EXPECT_EQ(*scheduler.RunKnownDue(), 0);
  EXPECT_EQ((*store_.Read("acme", {"c1"}))[0].next_change, due);
  now_ = due + absl::Milliseconds(1);
  EXPECT_EQ(scheduler.UntilNextKnownDue(), absl::Milliseconds(-1));
  EXPECT_EQ(*scheduler.RunKnownDue(), 1);
  EXPECT_EQ(listed, 1);  // no full pass
  const std::optional<absl::Time> next = (*store_.Read("acme", {"c1"}))[0].next_change;
  ASSERT_TRUE(next.has_value());
  EXPECT_GT(*next, due);
  EXPECT_EQ(scheduler.UntilNextKnownDue(), *next - now_);
  // A customer that cannot be moved stays due; the next instant known is the
  // first after it, not it.
  store::CustomerWrite stuck;
  stuck.customer_id = "stuck";
  stuck.profile = "not a profile";
  stuck.changed_at = now_;
  stuck.next_change = now_ - absl::Seconds(1);
  ASSERT_TRUE((*store_.Write("acme", {stuck}))[0]);
  ASSERT_TRUE(scheduler.RunOnce().ok());  // logged and skipped
  EXPECT_EQ(*store_.Due("acme", now_, 10), std::vector<std::string>{"stuck"});
  EXPECT_EQ(scheduler.UntilNextKnownDue(), *next - now_);
}

TEST_F(LiveMembershipTest, ASchedulerPassAsksOnlyTheTenantsWithSomethingToDo) {
  CustomerOutcome out = ApplyOne("c1", {Order("o1", kT0, 100)});
  ASSERT_TRUE(out.after.membership.next_change.has_value());
  ASSERT_TRUE(store_.AddRechecks("globex", {"ghost"}, 0).ok());
  std::vector<std::string> tenants = {"acme", "globex"};
  for (int i = 0; i < 50; ++i) tenants.push_back(absl::StrCat("quiet-", i));
  TransitionScheduler::Options options;
  options.now = [this] { return now_; };
  TransitionScheduler scheduler(
      &store_, live_.get(),
      [&tenants] { return absl::StatusOr<std::vector<std::string>>(tenants); }, options);
  store_.TakeTenantsAsked();
  // Nothing due: only the tenant with rechecks is asked for more.
  ASSERT_EQ(*scheduler.RunOnce(), 0);
  EXPECT_EQ(store_.TakeTenantsAsked(), std::vector<std::string>{"globex"});
  EXPECT_EQ(*store_.RecheckCount("globex"), 0);
  EXPECT_EQ(scheduler.UntilNextKnownDue(), *out.after.membership.next_change - now_);
  // acme's customer due: acme alone.
  now_ = *out.after.membership.next_change;
  ASSERT_EQ(*scheduler.RunOnce(), 1);
  EXPECT_EQ(store_.TakeTenantsAsked(), std::vector<std::string>{"acme"});
  // A tenant the survey cannot read is reported, and the others are served.
  ApplyOne("c2", {Order("o2", now_, 100)});
  absl::StatusOr<std::vector<CustomerClassification>> c2 =
      live_->Classify("acme", {"c2"}, now_, false);
  ASSERT_TRUE(c2.ok() && (*c2)[0].classification.next_change.has_value());
  now_ = *(*c2)[0].classification.next_change;
  tenants.insert(tenants.begin(), "Bad Tenant");
  absl::StatusOr<int64_t> moved = scheduler.RunOnce();
  EXPECT_EQ(moved.status().code(), absl::StatusCode::kInvalidArgument) << moved.status();
  EXPECT_GT((*store_.Read("acme", {"c2"}))[0].next_change, now_);  // moved on
}

TEST_F(LiveMembershipTest, TheSchedulerObservesHowLongTheOldestDueCustomerWaited) {
  CustomerOutcome out = ApplyOne("c1", {Order("o1", kT0, 100)});
  ASSERT_TRUE(out.after.membership.next_change.has_value());
  Metrics metrics;
  TransitionScheduler::Options options;
  options.now = [this] { return now_; };
  options.metrics = &metrics;
  TransitionScheduler scheduler(
      &store_, live_.get(),
      [] { return absl::StatusOr<std::vector<std::string>>(std::vector<std::string>{"acme"}); },
      options);
  // Nothing due: nothing observed.
  ASSERT_TRUE(scheduler.RunOnce().ok());
  EXPECT_THAT(metrics.Text(), HasSubstr("segmentd_transition_lag_seconds_count 0"));
  // Taken 300 ms after it fell due.
  now_ = *out.after.membership.next_change + absl::Milliseconds(300);
  ASSERT_TRUE(scheduler.RunOnce().ok());
  const std::string text = metrics.Text();
  EXPECT_THAT(text, HasSubstr("segmentd_transition_lag_seconds_count 1"));
  const size_t sum = text.find("segmentd_transition_lag_seconds_sum ");
  ASSERT_NE(sum, std::string::npos);
  double seconds = 0;
  ASSERT_TRUE(absl::SimpleAtod(
      text.substr(sum + 36, text.find('\n', sum) - (sum + 36)), &seconds));
  EXPECT_NEAR(seconds, 0.3, 1e-9);
  EXPECT_THAT(text, HasSubstr("segmentd_transition_lag_seconds_bucket{le=\"0.2\"} 0"));
  EXPECT_THAT(text, HasSubstr("segmentd_transition_lag_seconds_bucket{le=\"0.3\"} 1"));
}

// A windowed count rule's change moves only customers with an order within
// its window: the update reads the smallest AOV index covering it (here
// LOW_SPENDER's, 180 days) when that holds fewer customers than the buyers
// with enough lifetime orders, and the membership is the full
// re-evaluation's.
TEST_F(LiveMembershipTest, AWindowedCountChangeReadsAnAovIndexCoveringItsWindow) {
  engine::SegmentConfig config = WithoutPercentileRules();
  config.returning_customer.min_orders = 3;  // in 60 days
  int64_t deferred = -1;
  ASSERT_EQ(StoreConfigAndReevaluate("acme", config, /*by_profile=*/true, &deferred), 0);
  ApplyOne("recent2", {Order("r1", DaysAgo(10), 5000), Order("r2", DaysAgo(20), 5000)});
  ApplyOne("recent1", {Order("s1", DaysAgo(5), 5000)});
  ApplyOne("mid2", {Order("m1", DaysAgo(100), 5000), Order("m2", DaysAgo(150), 5000)});
  ApplyOne("old2", {Order("a1", DaysAgo(200), 5000), Order("a2", DaysAgo(250), 5000)});
  ApplyOne("old3", {Order("b1", DaysAgo(300), 5000), Order("b2", DaysAgo(350), 5000),
                    Order("b3", DaysAgo(400), 5000)});
  // Buyers with >= 2 orders: 4; within 180 days (LOW_SPENDER's index): 3;
  // within 365 days (BIG_SPENDER's): 4.
  store_.TakeProfilesRead();
  config.returning_customer.min_orders = 2;
  ASSERT_EQ(StoreConfigAndReevaluate("acme", config, /*by_profile=*/true, &deferred), 1);
  EXPECT_EQ(store_.TakeProfilesRead(), (std::vector<std::string>{"mid2", "recent1", "recent2"}));
  const store::CustomerState recent2 = (*store_.Read("acme", {"recent2"}))[0];
  EXPECT_NE(std::find(recent2.segments.begin(), recent2.segments.end(), "RETURNING_CUSTOMER"),
            recent2.segments.end());
  // A full re-evaluation under the same config finds nobody left to move.
  ASSERT_EQ(StoreConfigAndReevaluate("acme", config, /*by_profile=*/false, &deferred), 0);
  // Raised again: RETURNING_CUSTOMER's own members are fewer still.
  config.returning_customer.min_orders = 3;
  ASSERT_EQ(StoreConfigAndReevaluate("acme", config, /*by_profile=*/true, &deferred), 1);
  EXPECT_EQ(store_.TakeProfilesRead(), std::vector<std::string>{"recent2"});
  // LOW_SPENDER absolute: its index is no longer in use, but every write
  // keeps it at its default 180 days, so with no rechecks pending it still
  // covers the window.
  config.low_spender.threshold_store_aov_multiple.reset();
  config.low_spender.threshold_amount = 1000;
  ASSERT_GE(StoreConfigAndReevaluate("acme", config, /*by_profile=*/true, &deferred), 0);
  ASSERT_EQ(*store_.RecheckCount("acme"), 0);
  store_.TakeProfilesRead();
  config.returning_customer.min_orders = 2;
  ASSERT_EQ(StoreConfigAndReevaluate("acme", config, /*by_profile=*/true, &deferred), 1);
  EXPECT_EQ(store_.TakeProfilesRead(), (std::vector<std::string>{"mid2", "recent1", "recent2"}));
  ASSERT_EQ(StoreConfigAndReevaluate("acme", config, /*by_profile=*/false, &deferred), 0);
  config.returning_customer.min_orders = 3;
  ASSERT_EQ(StoreConfigAndReevaluate("acme", config, /*by_profile=*/true, &deferred), 1);
  // In a tenant whose writes did not keep both indexes from its first
  // customer on, only an index in use vouches for its entries: BIG_SPENDER's
  // (365 days: 5 customers) covers the window, and the 4 buyers with >= 2
  // orders are fewer: those are read.
  store_.ForgetAovIndexesKept("acme");
  store_.TakeProfilesRead();
  config.returning_customer.min_orders = 2;
  ASSERT_EQ(StoreConfigAndReevaluate("acme", config, /*by_profile=*/true, &deferred), 1);
  EXPECT_EQ(store_.TakeProfilesRead(),
            (std::vector<std::string>{"mid2", "old2", "old3", "recent2"}));
  ASSERT_EQ(StoreConfigAndReevaluate("acme", config, /*by_profile=*/false, &deferred), 0);
}

// A change of rules over recent orders alone (here LAPSED's days) can move
// only customers with an order within the longest of its days: those in an
// AOV index in use covering them. Switched off, LAPSED moves its members of
// any age, and every buyer is read.
TEST_F(LiveMembershipTest, ARecentOrderRuleChangeReadsAnAovIndexCoveringItsDays) {
  engine::SegmentConfig config = WithoutPercentileRules();
  int64_t deferred = -1;
  ASSERT_EQ(StoreConfigAndReevaluate("acme", config, /*by_profile=*/true, &deferred), 0);
  ApplyOne("d10", {Order("o1", DaysAgo(10), 5000)});
  ApplyOne("d45", {Order("o2", DaysAgo(45), 5000)});
  ApplyOne("d100", {Order("o3", DaysAgo(100), 5000)});
  ApplyOne("d250", {Order("o4", DaysAgo(250), 5000)});
  ApplyOne("d400", {Order("o5", DaysAgo(400), 5000), Order("o6", DaysAgo(500), 5000)});
  auto lapsed = [&] {
    std::vector<std::string> ids;
    const absl::StatusOr<std::vector<store::CustomerState>> states =
        store_.Read("acme", {"d10", "d45", "d100", "d250", "d400"});
    EXPECT_TRUE(states.ok()) << states.status();
    for (const store::CustomerState& c :
         states.ok() ? *states : std::vector<store::CustomerState>()) {
      if (std::find(c.segments.begin(), c.segments.end(), "LAPSED") != c.segments.end()) {
        ids.push_back(c.customer_id);
      }
    }
    return ids;
  };
  ASSERT_EQ(lapsed(), (std::vector<std::string>{"d100", "d250", "d400"}));  // 60 days
  // 60 -> 30 days: LOW_SPENDER's index (180 days) holds everyone it moves.
  store_.TakeProfilesRead();
  config.lapsed.inactive_days = 30;
  ASSERT_EQ(StoreConfigAndReevaluate("acme", config, /*by_profile=*/true, &deferred), 1);
  EXPECT_EQ(store_.TakeProfilesRead(), (std::vector<std::string>{"d10", "d100", "d45"}));
  EXPECT_EQ(lapsed(), (std::vector<std::string>{"d45", "d100", "d250", "d400"}));
  // 30 -> 200 days: BIG_SPENDER's (365 days).
  config.lapsed.inactive_days = 200;
  ASSERT_EQ(StoreConfigAndReevaluate("acme", config, /*by_profile=*/true, &deferred), 2);
  EXPECT_EQ(store_.TakeProfilesRead(), (std::vector<std::string>{"d10", "d100", "d250", "d45"}));
  EXPECT_EQ(lapsed(), (std::vector<std::string>{"d250", "d400"}));
  // Switched off: every buyer.
  config.lapsed.enabled = false;
  ASSERT_EQ(StoreConfigAndReevaluate("acme", config, /*by_profile=*/true, &deferred), 2);
  EXPECT_EQ(store_.TakeProfilesRead().size(), 5u);
  EXPECT_TRUE(lapsed().empty());
  // A full re-evaluation under the same config finds nobody left to move.
  ASSERT_EQ(StoreConfigAndReevaluate("acme", config, /*by_profile=*/false, &deferred), 0);
}

// A ONE_TIME_WONDER change moves only customers with exactly one lifetime
// order: the update reads those (the lifetime-orders range [1, 2)) when they
// are fewer than the AOV index covering its days.
TEST_F(LiveMembershipTest, AOneTimeWonderChangeReadsOnlyCustomersWithOneOrder) {
  engine::SegmentConfig config = WithoutPercentileRules();
  int64_t deferred = -1;
  ASSERT_EQ(StoreConfigAndReevaluate("acme", config, /*by_profile=*/true, &deferred), 0);
  ApplyOne("one10", {Order("o1", DaysAgo(10), 5000)});
  ApplyOne("one70", {Order("o2", DaysAgo(70), 5000)});
  ApplyOne("two", {Order("o3", DaysAgo(5), 5000), Order("o4", DaysAgo(75), 5000)});
  ApplyOne("three", {Order("o5", DaysAgo(20), 5000), Order("o6", DaysAgo(30), 5000),
                     Order("o7", DaysAgo(40), 5000)});
  ApplyOne("four", {Order("o8", DaysAgo(20), 5000), Order("o9", DaysAgo(30), 5000),
                    Order("o10", DaysAgo(40), 5000), Order("o11", DaysAgo(50), 5000)});
  auto one_time_wonders = [&] { return Members("ONE_TIME_WONDER"); };
  ASSERT_EQ(one_time_wonders(), std::vector<std::string>{"one70"});  // 60 days
  store_.TakeProfilesRead();
  config.one_time_wonder.inactive_days = 80;
  ASSERT_EQ(StoreConfigAndReevaluate("acme", config, /*by_profile=*/true, &deferred), 1);
  EXPECT_EQ(store_.TakeProfilesRead(), (std::vector<std::string>{"one10", "one70"}));
  EXPECT_TRUE(one_time_wonders().empty());
  config.one_time_wonder.inactive_days = 5;
  ASSERT_EQ(StoreConfigAndReevaluate("acme", config, /*by_profile=*/true, &deferred), 2);
  EXPECT_EQ(store_.TakeProfilesRead(), (std::vector<std::string>{"one10", "one70"}));
  EXPECT_EQ(one_time_wonders(), (std::vector<std::string>{"one10", "one70"}));
  // A full re-evaluation under the same config finds nobody left to move.
  ASSERT_EQ(StoreConfigAndReevaluate("acme", config, /*by_profile=*/false, &deferred), 0);
}

// LOW_SPENDER relative again (its index coming into use, as on the way back
// from the GROCERY preset): with no rechecks pending, its own index (180
// days), kept by every write, holds everyone the change can move, and so
// does BIG_SPENDER's (365 days), in use, in a tenant whose writes did not
// always keep both; with rechecks pending, whose entries may be stale at
// any lookback, every buyer is read.
TEST_F(LiveMembershipTest, AnIndexComingIntoUseBoundsAChangeOnlyWithoutPendingRechecks) {
  engine::SegmentConfig relative = WithoutPercentileRules();
  int64_t deferred = -1;
  ASSERT_EQ(StoreConfigAndReevaluate("acme", relative, /*by_profile=*/true, &deferred), 0);
  ApplyOne("d10", {Order("o1", DaysAgo(10), 5000)});
  ApplyOne("d100", {Order("o2", DaysAgo(100), 1000)});
  ApplyOne("d250", {Order("o3", DaysAgo(250), 9000)});
  ApplyOne("d380", {Order("o4", DaysAgo(380), 5000)});
  auto drain = [&] {
    while (*live_->DrainRechecks("acme", 100) > 0) {
    }
    ASSERT_EQ(*store_.RecheckCount("acme"), 0);
  };
  auto low_index = [&] { return Indexed(store::AovIndex::kLowSpender); };
  engine::SegmentConfig absolute = relative;
  absolute.low_spender.threshold_store_aov_multiple.reset();
  absolute.low_spender.threshold_amount = 2000;
  ASSERT_GE(StoreConfigAndReevaluate("acme", absolute, /*by_profile=*/true, &deferred), 0);
  ASSERT_NO_FATAL_FAILURE(drain());
  store_.TakeProfilesRead();
  ASSERT_GE(StoreConfigAndReevaluate("acme", relative, /*by_profile=*/true, &deferred), 0);
  EXPECT_EQ(store_.TakeProfilesRead(), (std::vector<std::string>{"d10", "d100"}));
  EXPECT_EQ(low_index(), (std::vector<std::string>{"d10", "d100"}));  // 180 days
  ASSERT_EQ(StoreConfigAndReevaluate("acme", relative, /*by_profile=*/false, &deferred), 0);
  store_.ForgetAovIndexesKept("acme");
  ASSERT_GE(StoreConfigAndReevaluate("acme", absolute, /*by_profile=*/true, &deferred), 0);
  ASSERT_NO_FATAL_FAILURE(drain());
  store_.TakeProfilesRead();
  ASSERT_GE(StoreConfigAndReevaluate("acme", relative, /*by_profile=*/true, &deferred), 0);
  EXPECT_EQ(store_.TakeProfilesRead(), (std::vector<std::string>{"d10", "d100", "d250"}));
  ASSERT_EQ(StoreConfigAndReevaluate("acme", relative, /*by_profile=*/false, &deferred), 0);

  // Over 400 days (e380's order, placed then, is kept whole within them;
  // d380's was folded into totals when written, and counts as they hold
  // every folded order of it), then absolute over 100 (its index back at
  // the default 180 days: the entries of d250, d380 and e380 go, left to
  // the rechecks), then relative over 100 before the drain. d380 and e380
  // have no order within 365 days, so only a read of every buyer finds
  // their stale entries.
  relative.low_spender.lookback_days = 400;
  ASSERT_GE(StoreConfigAndReevaluate("acme", relative, /*by_profile=*/true, &deferred), 0);
  ApplyOne("e380", {Order("o5", DaysAgo(380), 5000)});
  ASSERT_NO_FATAL_FAILURE(drain());
  ASSERT_EQ(low_index(), (std::vector<std::string>{"d10", "d100", "d250", "d380", "e380"}));
  absolute.low_spender.lookback_days = relative.low_spender.lookback_days = 100;
  ASSERT_GE(StoreConfigAndReevaluate("acme", absolute, /*by_profile=*/true, &deferred), 0);
  ASSERT_GT(*store_.RecheckCount("acme"), 0);
  store_.TakeProfilesRead();
  ASSERT_GE(StoreConfigAndReevaluate("acme", relative, /*by_profile=*/true, &deferred), 0);
  EXPECT_EQ(store_.TakeProfilesRead(),
            (std::vector<std::string>{"d10", "d100", "d250", "d380", "e380"}));
  EXPECT_EQ(low_index(), std::vector<std::string>{"d10"});  // 100 days
  ASSERT_NO_FATAL_FAILURE(drain());
  ASSERT_EQ(StoreConfigAndReevaluate("acme", relative, /*by_profile=*/false, &deferred), 0);
}

TEST_F(LiveMembershipTest, AovIndexesAreKeptWhateverTheThresholdAndFixedWhenBackInUse) {
  engine::SegmentConfig config;
  config.value_tiers.enabled = false;
  config.vip.enabled = false;
  config.low_spender.enabled = false;
  config.low_spender.lookback_days = 365;
  int64_t deferred = -1;
  ASSERT_EQ(StoreConfigAndReevaluate("acme", config, /*by_profile=*/true, &deferred), 0);
  // Orders 200 days old: within 365 days, not within 180.
  ApplyOne("c1", {Order("o1", kT0 - absl::Hours(24 * 200), 10000)});
  ApplyOne("c2", {Order("o2", kT0 - absl::Hours(24 * 200), 30000)});
  const std::vector<std::string> both = {"c1", "c2"};
  ASSERT_EQ(Indexed(store::AovIndex::kBigSpender), both);
  // LOW_SPENDER is off, and its index is kept all the same.
  EXPECT_EQ(Indexed(store::AovIndex::kLowSpender), both);
  // BIG_SPENDER absolute over 180 days, as FAST_FOOD makes it: its index
  // stays at the default 365 days, so no entry moves (at 180 days both
  // would leave it).
  config.big_spender.threshold_store_aov_multiple.reset();
  config.big_spender.threshold_amount = 25000;
  config.big_spender.lookback_days = 180;
  EXPECT_EQ(StoreConfigAndReevaluate("acme", config, /*by_profile=*/true, &deferred), 0);
  EXPECT_EQ(deferred, 0);
  EXPECT_EQ(Indexed(store::AovIndex::kBigSpender), both);
  // Back to the defaults: still no entry moves.
  config.big_spender = engine::BigSpenderConfig();
  EXPECT_EQ(StoreConfigAndReevaluate("acme", config, /*by_profile=*/true, &deferred), 0);
  EXPECT_EQ(deferred, 0);
  EXPECT_EQ(Indexed(store::AovIndex::kBigSpender), both);
  EXPECT_EQ(*store_.RecheckCount("acme"), 0);
  // Relative over 30 days: the index in use at that lookback, where neither
  // has an order, so both entries go at once.
  config.big_spender.lookback_days = 30;
  EXPECT_EQ(StoreConfigAndReevaluate("acme", config, /*by_profile=*/true, &deferred), 0);
  EXPECT_EQ(deferred, 0);
  EXPECT_TRUE(Indexed(store::AovIndex::kBigSpender).empty());
  // Absolute: the index, no longer in use, goes back to 365 days; both
  // entries come back, but only with the rechecks.
  config.big_spender.threshold_store_aov_multiple.reset();
  config.big_spender.threshold_amount = 25000;
  EXPECT_EQ(StoreConfigAndReevaluate("acme", config, /*by_profile=*/true, &deferred), 0);
  EXPECT_EQ(deferred, 2);
  EXPECT_TRUE(Indexed(store::AovIndex::kBigSpender).empty());
  // The defaults again before the rechecks ran: the statistics mover reads
  // the index from now on, so the missing entries are written with this
  // update, although the replaced config derives the same entries as the
  // new one (it compares the stored ones).
  config.big_spender = engine::BigSpenderConfig();
  EXPECT_EQ(StoreConfigAndReevaluate("acme", config, /*by_profile=*/true, &deferred), 0);
  EXPECT_EQ(deferred, 0);
  EXPECT_EQ(Indexed(store::AovIndex::kBigSpender), both);
  EXPECT_EQ(*live_->DrainRechecks("acme", 10), 2);
  EXPECT_EQ(Indexed(store::AovIndex::kBigSpender), both);
  EXPECT_EQ(*store_.RecheckCount("acme"), 0);
}

TEST_F(LiveMembershipTest, AConfigUpdateLeavesAnAovEntryAlreadyDueToTheScheduler) {
  // c1's one large order makes it a BIG_SPENDER (2x the store AOV of 20800)
  // until the order leaves the 365-day lookback, 12 hours from now.
  ApplyOne("c1", {Order("o1", kT0 - absl::Hours(24 * 365 - 12), 100000)});
  ApplyOne("c2", {Order("o2", kT0 - absl::Hours(24), 1000), Order("o3", kT0 - absl::Hours(24), 1000),
                  Order("o4", kT0 - absl::Hours(24), 1000), Order("o5", kT0 - absl::Hours(24), 1000)});
  ASSERT_TRUE(contexts_->Reload("acme").ok());
  ASSERT_TRUE(live_->ReevaluateAll("acme", store::ChangeCause::kStatistics).ok());
  ASSERT_EQ(*store_.SegmentSize("acme", "BIG_SPENDER"), 1);
  // A day later, before the scheduler ran: an update of a rule that moves
  // neither customer (c1 is a one-time wonder under both) reads both.
  now_ = kT0 + absl::Hours(24);
  engine::SegmentConfig config = (*contexts_->GetCurrent("acme"))->config;
  config.one_time_wonder.inactive_days += 1;
  int64_t deferred = -1;
  // c1's stored AOV entry is stale (its order left the lookback), and its
  // BIG_SPENDER exit is due: that is time's move, not this update's.
  EXPECT_EQ(StoreConfigAndReevaluate("acme", config, /*by_profile=*/true, &deferred), 0);
  EXPECT_EQ(*store_.SegmentSize("acme", "BIG_SPENDER"), 1);
  absl::StatusOr<std::vector<std::string>> due = store_.Due("acme", now_, 10);
  ASSERT_TRUE(due.ok());
  ASSERT_EQ(*due, std::vector<std::string>{"c1"});
  EXPECT_EQ(*live_->Reevaluate("acme", *due, store::ChangeCause::kTime), 1);
  EXPECT_EQ(*store_.SegmentSize("acme", "BIG_SPENDER"), 0);
  bool exit_logged = false;
  for (const store::StoredChange& c : Changes()) {
    if (c.segment != "BIG_SPENDER" || c.entered) continue;
    exit_logged = true;
    EXPECT_EQ(c.customer_id, "c1");
    EXPECT_EQ(c.cause, store::ChangeCause::kTime);
    EXPECT_LT(c.changed_at, now_);  // when it fell due
  }
  EXPECT_TRUE(exit_logged);
}

TEST_F(LiveMembershipTest, BackgroundPassesWriteInSmallPipelines) {
  // 20 customers whose NEW_CUSTOMER membership ends at the same instant.
  std::vector<CustomerEvents> customers;
  std::vector<std::string> ids;
  for (int i = 0; i < 20; ++i) {
    ids.push_back(absl::StrCat("c", i));
    customers.push_back(CustomerEvents{ids.back(), {Order(absl::StrCat("o", i), kT0, 100)}});
  }
  ASSERT_TRUE(live_->Apply("acme", std::move(customers)).ok());
  now_ = **store_.NextDue("acme");
  ASSERT_EQ(store_.Due("acme", now_, 100)->size(), 20u);
  const int64_t calls = store_.write_calls;
  const int64_t read_under_write = store_.read_and_write_calls;
  EXPECT_EQ(*live_->Reevaluate("acme", ids, store::ChangeCause::kTime), 20);
  // LiveMembership::Options::background_pipeline (8): 8 + 8 + 4, each
  // customer read with its write (most due customers are written).
  EXPECT_EQ(store_.write_calls - calls, 3);
  EXPECT_EQ(store_.read_and_write_calls - read_under_write, 3);
  EXPECT_TRUE(store_.Due("acme", now_, 100)->empty());
}

// A time-driven pass works its round trips on
// LiveMembership::Options::background_threads threads (3: three chunks of 8
// at once), each chunk still background_pipeline customers; with one
// thread, one after another. The customers are written either way.
TEST_F(LiveMembershipTest, BackgroundPassesOverlapTheirRoundTrips) {
  std::vector<CustomerEvents> customers;
  std::vector<std::string> ids;
  for (int i = 0; i < 36; ++i) {
    ids.push_back(absl::StrCat("c", i));
    customers.push_back(CustomerEvents{ids.back(), {Order(absl::StrCat("o", i), kT0, 100)}});
  }
  ASSERT_TRUE(live_->Apply("acme", std::move(customers)).ok());
  now_ = **store_.NextDue("acme");
  store_.read_and_write_delay = absl::Milliseconds(30);
  for (const auto& [threads, begin, end] :
       {std::tuple<int, int, int>{1, 0, 12}, std::tuple<int, int, int>{3, 12, 36}}) {
    LiveMembership::Options options;
    options.now = [this] { return now_; };
    options.background_threads = threads;
    LiveMembership live(&store_, contexts_.get(), options);
    store_.most_read_and_write_running = 0;
    const int64_t calls = store_.read_and_write_calls;
    const std::vector<std::string> some(ids.begin() + begin, ids.begin() + end);
    EXPECT_EQ(*live.Reevaluate("acme", some, store::ChangeCause::kTime), end - begin);
    EXPECT_EQ(store_.read_and_write_calls - calls, (end - begin + 7) / 8);
    EXPECT_EQ(store_.most_read_and_write_running, threads);
  }
  EXPECT_TRUE(store_.Due("acme", now_, 100)->empty());
}

TEST_F(LiveMembershipTest, ClassifyAtAnInstantIgnoresLaterEvents) {
  ApplyOne("c1", {Order("o1", kT0 - absl::Hours(48), 100), Order("o2", kT0, 100)});
  absl::StatusOr<std::vector<CustomerClassification>> before =
      live_->Classify("acme", {"c1", "nobody"}, kT0 - absl::Hours(1), /*with_reasons=*/true);
  ASSERT_TRUE(before.ok()) << before.status();
  EXPECT_TRUE((*before)[0].found);
  EXPECT_TRUE((*before)[0].classification.segments.Contains(Segment::kFirstTimeBuyer));
  EXPECT_FALSE((*before)[0].reasons.empty());
  EXPECT_FALSE((*before)[1].found);
  absl::StatusOr<std::vector<CustomerClassification>> after =
      live_->Classify("acme", {"c1"}, kT0, false);
  EXPECT_TRUE((*after)[0].classification.segments.Contains(Segment::kRepeatCustomer));
}

// A folded order keeps what the rules read of it: an instant a rule window
// reaches it from is answered exactly, and one before the customer's first
// fact too (in no segment then).
TEST_F(LiveMembershipTest, ClassifyBeforeAFoldedCustomersFirstFactIsNoSegmentNotRefused) {
  ApplyOne("c1", {Order("o1", DaysAgo(800), 100), Order("o2", DaysAgo(2), 100)});
  // The folded order keeps its placement and categories: exact at any
  // instant (a first-time buyer 700 days ago).
  absl::StatusOr<std::vector<CustomerClassification>> within =
      live_->Classify("acme", {"c1"}, DaysAgo(700), false, /*historical=*/true);
  ASSERT_TRUE(within.ok()) << within.status();
  EXPECT_TRUE((*within)[0].existed);
  EXPECT_TRUE((*within)[0].classification.segments.Contains(engine::Segment::kFirstTimeBuyer));
  absl::StatusOr<std::vector<CustomerClassification>> before =
      live_->Classify("acme", {"c1"}, DaysAgo(801), /*with_reasons=*/true, /*historical=*/true);
  ASSERT_TRUE(before.ok()) << before.status();
  EXPECT_TRUE((*before)[0].found);
  EXPECT_FALSE((*before)[0].existed);
  EXPECT_TRUE((*before)[0].classification.segments.empty());
  EXPECT_TRUE((*before)[0].classification.categories.empty());
  EXPECT_TRUE((*before)[0].reasons.empty());
  // Its next change is its first order, which puts it in segments.
  EXPECT_EQ((*before)[0].classification.next_change, DaysAgo(800));
}

// Before a customer's first fact, the next change is the first instant from
// then on at which it is in a segment: the fact's own when that puts it in
// one, else the next change from there.
TEST_F(LiveMembershipTest, ClassifyBeforeTheFirstFactNamesTheNextChange) {
  ApplyOne("c1", {Order("o1", DaysAgo(10), 100)});
  absl::StatusOr<std::vector<CustomerClassification>> before =
      live_->Classify("acme", {"c1"}, DaysAgo(20), false, /*historical=*/true);
  ASSERT_TRUE(before.ok()) << before.status();
  EXPECT_TRUE((*before)[0].classification.segments.empty());
  EXPECT_EQ((*before)[0].classification.next_change, DaysAgo(10));
  // Without it asked for (targeting), none is looked for.
  before = live_->Classify("acme", {"c1"}, DaysAgo(20), false, /*historical=*/true,
                           /*with_next_change=*/false);
  ASSERT_TRUE(before.ok()) << before.status();
  EXPECT_EQ((*before)[0].classification.next_change, std::nullopt);
  // A first fact in no segment: a cart opened 10 days ago is abandoned once
  // its abandonment delay has passed.
  ApplyOne("c2", {[at = DaysAgo(10)](engine::Profile* p) { return p->UpdateCart(at, 5000, {}); }});
  absl::StatusOr<std::vector<CustomerClassification>> cart =
      live_->Classify("acme", {"c2"}, DaysAgo(20), false, /*historical=*/true);
  ASSERT_TRUE(cart.ok()) << cart.status();
  EXPECT_TRUE(cart->front().classification.segments.empty());
  absl::StatusOr<std::vector<CustomerClassification>> opened =
      live_->Classify("acme", {"c2"}, DaysAgo(10), false, /*historical=*/true);
  ASSERT_TRUE(opened.ok()) << opened.status();
  ASSERT_TRUE(opened->front().classification.segments.empty());
  ASSERT_TRUE(opened->front().classification.next_change.has_value());
  EXPECT_EQ(cart->front().classification.next_change, opened->front().classification.next_change);
}

// Folding drops messages: a customer whose first kept fact is later than
// as_of may have been engaged before it, so with engagement enabled such an
// instant is refused as other folded history is, never answered "in no
// segment".
TEST_F(LiveMembershipTest, ClassifyBeforeTheFirstKeptFactIsRefusedWhenMessagesWereDropped) {
  auto sent = [](std::string id, absl::Time at) -> ProfileMutation {
    return [id = std::move(id), at](engine::Profile* p) { return p->MessageSent(id, at); };
  };
  now_ = DaysAgo(300);
  ApplyOne("m1", {sent("a", DaysAgo(400)), sent("b", DaysAgo(399)), sent("c", DaysAgo(398))});
  now_ = kT0;
  ApplyOne("m1", {sent("d", DaysAgo(10))});  // folds the first three away
  absl::StatusOr<std::vector<CustomerClassification>> then =
      live_->Classify("acme", {"m1"}, DaysAgo(390), false, /*historical=*/true);
  EXPECT_EQ(then.status().code(), absl::StatusCode::kOutOfRange) << then.status();
  // Before the dropped messages, membership (what targeting reads) is
  // exact, in no segment; the next change is unknown (they may have moved
  // the customer): refused, not guessed from the first kept fact (a code
  // reviewer's finding).
  absl::StatusOr<std::vector<CustomerClassification>> with_next =
      live_->Classify("acme", {"m1"}, DaysAgo(500), false, /*historical=*/true);
  EXPECT_EQ(with_next.status().code(), absl::StatusCode::kOutOfRange) << with_next.status();
  EXPECT_THAT(std::string(with_next.status().message()), ::testing::HasSubstr("next change"));
  absl::StatusOr<std::vector<CustomerClassification>> membership = live_->Classify(
      "acme", {"m1"}, DaysAgo(500), false, /*historical=*/true, /*with_next_change=*/false);
  ASSERT_TRUE(membership.ok()) << membership.status();
  EXPECT_TRUE((*membership)[0].classification.segments.empty());
}

// A customer not stored yet answers an event older than the fold horizon as a
// stored one does: a message sent before it is ignored (it was APPLIED, then
// folded away by the same write), and recorded as dropped all the same.
TEST_F(LiveMembershipTest, ANewCustomersMessageOlderThanTheHorizonIsIgnoredAsAStoredOnes) {
  const ProfileMutation old_send = [](engine::Profile* p) {
    return p->MessageSent("long-ago", DaysAgo(400));
  };
  const ProfileMutation recent_send = [](engine::Profile* p) {
    return p->MessageSent("recent", DaysAgo(3));
  };
  absl::StatusOr<std::vector<CustomerOutcome>> fresh =
      live_->Apply("acme", {CustomerEvents{"new1", {old_send}}});
  ASSERT_TRUE(fresh.ok()) << fresh.status();
  EXPECT_EQ((*fresh)[0].events[0].outcome, engine::EventOutcome::kIgnored);
  EXPECT_TRUE((*fresh)[0].after.found);
  absl::StatusOr<std::vector<CustomerOutcome>> stored =
      live_->Apply("acme", {CustomerEvents{"new2", {recent_send}}});
  ASSERT_TRUE(stored.ok()) << stored.status();
  EXPECT_EQ((*stored)[0].events[0].outcome, engine::EventOutcome::kApplied);
  stored = live_->Apply("acme", {CustomerEvents{"new2", {old_send}}});
  ASSERT_TRUE(stored.ok()) << stored.status();
  EXPECT_EQ((*stored)[0].events[0].outcome, engine::EventOutcome::kIgnored);
  // Either way the instant its send bounds is refused, not answered.
  for (const char* id : {"new1", "new2"}) {
    absl::StatusOr<std::vector<CustomerClassification>> then =
        live_->Classify("acme", {id}, DaysAgo(390), false, /*historical=*/true);
    EXPECT_EQ(then.status().code(), absl::StatusCode::kOutOfRange) << id << then.status();
  }
  // A new customer whose only event fails is not stored.
  const ProfileMutation bad = [](engine::Profile* p) { return p->MessageSent("", DaysAgo(1)); };
  absl::StatusOr<std::vector<CustomerOutcome>> refused =
      live_->Apply("acme", {CustomerEvents{"new3", {bad}}});
  ASSERT_TRUE(refused.ok()) << refused.status();
  EXPECT_FALSE((*refused)[0].events[0].status.ok());
  EXPECT_FALSE((*refused)[0].after.found);
}

// A message older than the fold horizon arriving alone is ignored, but the
// profile records that engagement before the horizon is unknown: the instant
// is refused, not answered as if the customer had no message then.
TEST_F(LiveMembershipTest, AnIgnoredMessageOlderThanTheHorizonStillBoundsExactAnswers) {
  // o0 is folded on arrival, with its placement: exact at every instant.
  ApplyOne("m2", {Order("o0", DaysAgo(500), 100), Order("o1", DaysAgo(10), 100)});
  auto classify_at = [&](int days_ago, bool with_next_change = true) {
    return live_->Classify("acme", {"m2"}, DaysAgo(days_ago), false, /*historical=*/true,
                           with_next_change);
  };
  ASSERT_TRUE(classify_at(390).ok()) << classify_at(390).status();
  auto send = [&](std::string id, int days_ago) {
    const ProfileMutation sent = [id, days_ago](engine::Profile* p) {
      return p->MessageSent(id, DaysAgo(days_ago));
    };
    absl::StatusOr<std::vector<CustomerOutcome>> outcome =
        live_->Apply("acme", {CustomerEvents{"m2", {sent}}});
    EXPECT_TRUE(outcome.ok()) << outcome.status();
    return outcome.ok() ? (*outcome)[0].events[0].outcome : engine::EventOutcome::kApplied;
  };
  EXPECT_EQ(send("long-ago", 400), engine::EventOutcome::kIgnored);
  // Its window reaches the ignored message: unknown.
  EXPECT_EQ(classify_at(390).status().code(), absl::StatusCode::kOutOfRange)
      << classify_at(390).status();
  // Before its send it is ignored there, as every later event is: answered
  // (a buyer since o0), so one old message does not refuse a tenant's past;
  // with the next change too, since o0's first change comes before it.
  absl::StatusOr<std::vector<CustomerClassification>> before = classify_at(450);
  ASSERT_TRUE(before.ok()) << before.status();
  EXPECT_TRUE((*before)[0].existed);
  EXPECT_FALSE((*before)[0].classification.segments.empty());
  ASSERT_TRUE((*before)[0].classification.next_change.has_value());
  EXPECT_LT(*(*before)[0].classification.next_change, DaysAgo(400));
  // An older one moves that span back, and is stored although ignored.
  EXPECT_EQ(send("longer-ago", 460), engine::EventOutcome::kIgnored);
  EXPECT_EQ(classify_at(450).status().code(), absl::StatusCode::kOutOfRange);
  // Membership just before it is exact (what targeting at an as_of reads),
  // but no change comes before it, so the next change is unknown: refused
  // rather than answered "never" (a code reviewer's finding).
  absl::StatusOr<std::vector<CustomerClassification>> membership =
      classify_at(470, /*with_next_change=*/false);
  ASSERT_TRUE(membership.ok()) << membership.status();
  EXPECT_FALSE((*membership)[0].classification.segments.empty());
  absl::StatusOr<std::vector<CustomerClassification>> with_next = classify_at(470);
  EXPECT_EQ(with_next.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_THAT(std::string(with_next.status().message()), ::testing::HasSubstr("next change"));
}

// An id named many times is read once, and ids are read a chunk at a time,
// so that a call cannot hold a thousand copies of a customer of tens of
// thousands of orders (a limits reviewer saw 1.4 GB for one call); every id
// still gets its answer, in order.
TEST_F(LiveMembershipTest, ClassifyReadsEachIdOnceAChunkAtATime) {
  std::vector<std::string> ids;
  const int n = static_cast<int>(LiveMembership::kClassifyChunk) + 1;  // two chunks
  // Told apart: the even ones bought twice (REPEAT_CUSTOMER), the odd once.
  for (int i = 0; i < n; ++i) {
    const std::string id = absl::StrCat("c", i);
    std::vector<ProfileMutation> orders = {
        Order(absl::StrCat("o", i), kT0 - absl::Hours(1 + i), 100 + i)};
    if (i % 2 == 0) orders.push_back(Order(absl::StrCat("p", i), kT0 - absl::Hours(2 + i), 100));
    ApplyOne(id, orders);
    ids.push_back(id);
    ids.push_back("c0");  // again and again
  }
  ids.push_back("never-seen");
  store_.TakeProfilesRead();
  store_.TakeMostProfilesPerRead();
  absl::StatusOr<std::vector<CustomerClassification>> out = live_->Classify("acme", ids, kT0, true);
  EXPECT_EQ(store_.TakeMostProfilesPerRead(), LiveMembership::kClassifyChunk);
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_EQ(out->size(), ids.size());
  std::vector<std::string> read = store_.TakeProfilesRead();
  EXPECT_EQ(read.size(), n + 1u);  // each distinct id once
  EXPECT_EQ(std::set<std::string>(read.begin(), read.end()).size(), n + 1u);
  for (size_t i = 0; i < ids.size(); ++i) {
    const CustomerClassification& c = (*out)[i];
    EXPECT_EQ(c.found, ids[i] != "never-seen") << ids[i];
    if (!c.found) continue;
    const int number = std::stoi(ids[i].substr(1));
    EXPECT_EQ(c.classification.segments.Contains(engine::Segment::kRepeatCustomer), number % 2 == 0)
        << ids[i];
    EXPECT_EQ(c.classification.segments.Contains(engine::Segment::kFirstTimeBuyer), number % 2 == 1)
        << ids[i];
    EXPECT_FALSE(c.reasons.empty()) << ids[i];
  }
}

TEST_F(LiveMembershipTest, TenantsAreSeparate) {
  ApplyOne("c1", {Order("o1", kT0, 100)});
  absl::StatusOr<std::vector<CustomerClassification>> other =
      live_->Classify("globex", {"c1"}, kT0, false);
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE((*other)[0].found);
}

// A category interned by another replica after this one loaded its snapshot is
// still written under its real name.
TEST_F(LiveMembershipTest, CategoriesInternedElsewhereAreNamedCorrectly) {
  TenantContexts::Options stale;
  stale.max_age = absl::Hours(1000);  // never refreshed by age
  TenantContexts mine(&store_, stale);
  LiveMembership::Options options;
  options.now = [] { return kT0; };
  LiveMembership me(&store_, &mine, options);
  ASSERT_TRUE(mine.Get("acme").ok());  // snapshot with an empty dictionary
  TenantContexts reader_contexts(&store_, stale);  // likewise, for a read
  LiveMembership reader(&store_, &reader_contexts, options);
  ASSERT_TRUE(reader_contexts.Get("acme").ok());

  // The other replica interns "hats" and records two orders with it.
  absl::StatusOr<std::vector<engine::CategoryId>> ids =
      contexts_->InternCategories("acme", {"hats"});
  ASSERT_TRUE(ids.ok());
  auto with_hats = [&](std::string id) -> ProfileMutation {
    return [id = std::move(id), hats = *ids](engine::Profile* p) {
      engine::OrderPlaced order;
      order.order_id = id;
      order.placed_at = kT0;
      order.amount = 100;
      order.categories = hats;
      return p->PlaceOrder(order);
    };
  };
  ASSERT_TRUE(live_->Apply("acme", {CustomerEvents{"c1", {with_hats("o1")}}}).ok());
  ASSERT_TRUE(live_->Apply("acme", {CustomerEvents{"c1", {with_hats("o2")}}}).ok());

  // This replica classifying the customer names the category too (it showed
  // "category:#0" until its snapshot aged out).
  absl::StatusOr<std::vector<CustomerClassification>> read =
      reader.Classify("acme", {"c1"}, kT0, /*with_reasons=*/true);
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_EQ((*read)[0].classification.categories.size(), 1u);
  const engine::CategoryId hats = (*read)[0].classification.categories[0];
  ASSERT_LT(hats, (*read)[0].category_names->size());
  EXPECT_EQ((*(*read)[0].category_names)[hats], "hats");

  // This replica writes the customer next (its third hats order).
  ASSERT_TRUE(me.Apply("acme", {CustomerEvents{"c1", {with_hats("o3")}}}).ok());
  const store::CustomerState state = (*store_.Read("acme", {"c1"}))[0];
  EXPECT_NE(std::find(state.segments.begin(), state.segments.end(), "category:hats"),
            state.segments.end());
  for (const std::string& segment : state.segments) {
    EXPECT_EQ(segment.find("category:#"), std::string::npos) << segment;
  }
}

// Two writers (as two segmentd processes would be) racing on one customer:
// every order lands exactly once.
TEST_F(LiveMembershipTest, ConcurrentWritersLoseNothing) {
  TenantContexts other_contexts(&store_, {});
  LiveMembership::Options options;
  options.now = [] { return kT0; };
  options.max_attempts = 1000;
  LiveMembership other(&store_, &other_contexts, options);
  constexpr int kPerThread = 50;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      LiveMembership* writer = t % 2 == 0 ? live_.get() : &other;
      for (int i = 0; i < kPerThread; ++i) {
        auto out = writer->Apply(
            "acme", {CustomerEvents{"hot", {Order(absl::StrCat("o", t, "-", i), kT0, 10)}}});
        ASSERT_TRUE(out.ok()) << out.status();
        ASSERT_TRUE((*out)[0].commit.ok()) << (*out)[0].commit;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  auto state = (*store_.Read("acme", {"hot"}))[0];
  absl::StatusOr<engine::Profile> profile = engine::DecodeProfile(state.profile);
  ASSERT_TRUE(profile.ok());
  const engine::LifetimeTotals totals =
      engine::ComputeLifetime(profile->view(), absl::ToUnixMillis(kT0));
  EXPECT_EQ(totals.orders, 4 * kPerThread);
  EXPECT_EQ(totals.net_revenue, 4 * kPerThread * 10);
}

// A config change re-classifies every customer, across many pages handled by
// several threads: afterwards each stored membership is what the new config
// gives, and the count is exactly the customers whose segments moved (the
// stored config replaces the defaults as a whole, so more than frequent
// buyers may move).
TEST_F(LiveMembershipTest, ReevaluateAllCoversEveryPage) {
  constexpr int kCustomers = 2300;  // 5 pages of 500, the last one partial.
  for (int i = 0; i < kCustomers; ++i) {
    std::vector<ProfileMutation> orders;
    for (int k = 0; k < i % 8; ++k) {
      orders.push_back(Order(absl::StrCat("c", i, "-o", k), kT0 - absl::Hours(24 * k + 1), 100));
    }
    orders.push_back(Order(absl::StrCat("c", i, "-first"), kT0 - absl::Hours(24 * 200), 100));
    ApplyOne(absl::StrCat("c", i), std::move(orders));
  }
  auto segments = [&](int i) { return (*store_.Read("acme", {absl::StrCat("c", i)}))[0].segments; };
  auto frequent = [&](int i) {
    const std::vector<std::string> s = segments(i);
    return std::count(s.begin(), s.end(), "FREQUENT_BUYER") == 1;
  };
  int before = 0;
  std::vector<std::vector<std::string>> was(kCustomers);
  for (int i = 0; i < kCustomers; ++i) {
    before += frequent(i);
    was[i] = segments(i);
  }
  ASSERT_GT(before, 0);

  engine::SegmentConfig config;
  config.frequent_buyer.min_orders = 7;  // was 5: customers with 5-6 recent orders leave
  ASSERT_TRUE(store_.WriteConfig("acme", 0, ConfigToProto(config).SerializeAsString(), kT0).ok());
  ASSERT_TRUE(contexts_->Reload("acme").ok());
  const int64_t read_under_write = store_.read_and_write_calls;
  absl::StatusOr<int64_t> changed = live_->ReevaluateAll("acme", store::ChangeCause::kConfig);
  ASSERT_TRUE(changed.ok()) << changed.status();
  // A full re-evaluation writes few of the customers it reads: it reads
  // every customer first, then writes the few that move.
  EXPECT_EQ(store_.read_and_write_calls, read_under_write);

  int after = 0, moved = 0;
  for (int i = 0; i < kCustomers; ++i) {
    const int recent = i % 8;  // orders within the 30-day window
    EXPECT_EQ(frequent(i), recent >= 7) << "c" << i;
    after += frequent(i);
    moved += segments(i) != was[i];
  }
  EXPECT_LT(after, before);
  EXPECT_EQ(*changed, moved);
}

// Undecodable stored state fails that customer alone (DATA_LOSS), never the
// other customers committed in the same call.
TEST_F(LiveMembershipTest, CorruptCustomerFailsAlone) {
  store::CustomerWrite corrupt;
  corrupt.customer_id = "broken";
  corrupt.profile = "not a profile";
  corrupt.changed_at = kT0;
  ASSERT_TRUE((*store_.Write("acme", {corrupt}))[0]);
  absl::StatusOr<std::vector<CustomerOutcome>> out =
      live_->Apply("acme", {CustomerEvents{"broken", {Order("b1", kT0, 10)}},
                            CustomerEvents{"fine", {Order("f1", kT0, 10)}}});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ((*out)[0].commit.code(), absl::StatusCode::kDataLoss) << (*out)[0].commit;
  ASSERT_TRUE((*out)[1].commit.ok()) << (*out)[1].commit;
  EXPECT_TRUE((*out)[1].after.found);
}

// A customer that keeps losing races fails alone: the others in the same
// call are committed and reported.
TEST_F(LiveMembershipTest, ExhaustedRetriesFailOnlyThatCustomer) {
  LiveMembership::Options options;
  options.now = [] { return kT0; };
  options.max_attempts = 2;
  LiveMembership live(&store_, contexts_.get(), options);
  // "hot"'s event writes the customer from inside the mutation (as another
  // replica would between the read and the write), so every commit loses.
  int raced = 0;
  ProfileMutation racing = [&](engine::Profile* p) -> absl::StatusOr<engine::EventOutcome> {
    ApplyOne("hot", {Order(absl::StrCat("other-", raced++), kT0, 5)});
    engine::OrderPlaced order;
    order.order_id = "mine";
    order.placed_at = kT0;
    order.amount = 10;
    return p->PlaceOrder(order);
  };
  absl::StatusOr<std::vector<CustomerOutcome>> out = live.Apply(
      "acme", {CustomerEvents{"hot", {racing}}, CustomerEvents{"calm", {Order("c1", kT0, 10)}}});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ((*out)[0].commit.code(), absl::StatusCode::kAborted);
  ASSERT_TRUE((*out)[1].commit.ok()) << (*out)[1].commit;
  EXPECT_TRUE((*out)[1].events[0].status.ok());
  EXPECT_TRUE((*out)[1].after.found);
  EXPECT_EQ(raced, 2);
}

}  // namespace
}  // namespace segmentd

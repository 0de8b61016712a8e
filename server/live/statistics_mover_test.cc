#include "server/live/statistics_mover.h"

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "server/config_convert.h"
#include "server/live/live_test_fixture.h"
#include "server/live/stats_in_use.h"
#include "server/live/test_config_update.h"
#include "server/live/test_orders.h"

namespace segmentd {
namespace {

using engine::Segment;

const absl::Time kT0 = absl::FromUnixSeconds(1'750'000'000);

class StatisticsMoverTest : public LiveTestFixture {
 protected:
  StatisticsMoverTest() : LiveTestFixture(kT0, ContextOptions()) {
    mover_ = std::make_unique<StatisticsMover>(
        &store_, contexts_.get(), live_.get(),
        []() -> absl::StatusOr<std::vector<std::string>> {
          return std::vector<std::string>{"acme"};
        },
        MoverOptions());
  }

  // Snapshots never expire by age here: only the mover refreshes them, so
  // the test sees exactly what the mover does.
  static TenantContexts::Options ContextOptions() {
    TenantContexts::Options options;
    options.max_age = absl::Hours(1000);
    return options;
  }

  StatisticsMover::Options MoverOptions() {
    StatisticsMover::Options options;
    options.now = [this] { return now_; };
    return options;
  }

  // Gives `customer` `n` orders of `amount` each, a day apart, ending at kT0.
  void Orders(const std::string& customer, int n, int64_t amount) {
    CustomerEvents events{customer, {}};
    for (int i = 0; i < n; ++i) {
      events.mutations.push_back(
          Order(absl::StrCat(customer, "-", i), kT0 - absl::Hours(24 * i), amount));
    }
    absl::StatusOr<std::vector<CustomerOutcome>> out = live_->Apply("acme", {events});
    ASSERT_TRUE(out.ok()) << out.status();
  }

  bool In(const std::string& customer, const std::string& segment) {
    const store::CustomerState state = (*store_.Read("acme", {customer}))[0];
    return std::find(state.segments.begin(), state.segments.end(), segment) !=
           state.segments.end();
  }

  // Five frequent buyers (f0..f4) under the stored defaults, then a config
  // that takes them all out stored as UpdateConfig stores it, without its
  // re-classification: sets *version to its version.
  void StoreAStricterFrequentBuyer(int64_t* version) {
    for (int i = 0; i < 5; ++i) Orders(absl::StrCat("f", i), 5, 100);
    ASSERT_TRUE(mover_->RunOnce().ok());
    ASSERT_TRUE(In("f0", "FREQUENT_BUYER"));
    engine::SegmentConfig config;
    config.frequent_buyer.min_orders = 6;
    absl::StatusOr<int64_t> stored =
        store_.WriteConfig("acme", 0, ConfigToProto(config).SerializeAsString(), now_);
    ASSERT_TRUE(stored.ok()) << stored.status();
    *version = *stored;
  }

  // This replica writes under statistics its mover has compared (cut-off 5,
  // "top" in VIP), then two more buyers make the cut-off 8 while its mover
  // never runs again: it owes "top"'s move.
  void OweAVipMove() {
    for (int i = 1; i <= 9; ++i) Orders(absl::StrCat("c", i), 2, 100);
    Orders("top", 5, 100);
    ASSERT_TRUE(mover_->RunOnce().ok());
    ASSERT_TRUE(In("top", "VIP"));
    Orders("bigger", 8, 100);
    Orders("biggest", 9, 100);
    ASSERT_TRUE(In("top", "VIP"));
  }

  std::unique_ptr<StatisticsMover> mover_;
};

TEST_F(StatisticsMoverTest, VipCutOffMoveMovesTheFormerTopCustomer) {
  for (int i = 1; i <= 9; ++i) Orders(absl::StrCat("c", i), 2, 100);
  Orders("top", 5, 100);
  ASSERT_TRUE(mover_->RunOnce().ok());
  // 10 buyers, top 10% = 1 place: only "top" (5 orders) is VIP.
  EXPECT_TRUE(In("top", "VIP"));
  EXPECT_FALSE(In("c1", "VIP"));
  // A new customer with more orders takes the single VIP place...
  Orders("bigger", 8, 100);
  // ...but 11 buyers make 2 places (ceil(1.1)): the cut-off is still 5.
  ASSERT_TRUE(mover_->RunOnce().ok());
  EXPECT_TRUE(In("top", "VIP"));
  EXPECT_TRUE(In("bigger", "VIP"));
  // Adding an even bigger buyer: 12 buyers, 2 places, cut-off 8: "top" leaves
  // without any event of its own.
  Orders("biggest", 9, 100);
  absl::StatusOr<int64_t> moved = mover_->RunOnce();
  ASSERT_TRUE(moved.ok()) << moved.status();
  EXPECT_GE(*moved, 1);
  EXPECT_FALSE(In("top", "VIP"));
  EXPECT_TRUE(In("bigger", "VIP"));
  EXPECT_TRUE(In("biggest", "VIP"));
  bool statistics_change = false;
  // Kept in a variable: a range-for over *temporary would dangle.
  const absl::StatusOr<std::vector<store::StoredChange>> changes =
      store_.ReadChanges("acme", "", 10'000, absl::ZeroDuration());
  ASSERT_TRUE(changes.ok()) << changes.status();
  for (const store::StoredChange& c : *changes) {
    statistics_change |= c.customer_id == "top" && c.segment == "VIP" && !c.entered &&
                         c.cause == store::ChangeCause::kStatistics;
  }
  EXPECT_TRUE(statistics_change);
}

// A config update re-classifies only whom its rules can move (here, a
// display name: nobody), so a statistics move that writes under the earlier
// config have not caught up with is still the mover's to apply.
TEST_F(StatisticsMoverTest, MoveBeforeAScopedConfigChangeIsStillApplied) {
  ASSERT_NO_FATAL_FAILURE(OweAVipMove());
  absl::StatusOr<std::shared_ptr<const TenantSnapshot>> previous = contexts_->GetCurrent("acme");
  ASSERT_TRUE(previous.ok()) << previous.status();
  engine::SegmentConfig config;
  config.vip.display_name = "Very important";
  ASSERT_TRUE(
      store_.WriteConfig("acme", 0, ConfigToProto(config).SerializeAsString(), now_).ok());
  ASSERT_TRUE(contexts_->Reload("acme").ok());
  absl::StatusOr<int64_t> changed =
      live_->ReevaluateAll("acme", store::ChangeCause::kConfig, *previous);
  ASSERT_TRUE(changed.ok()) << changed.status();
  EXPECT_EQ(*changed, 0);  // a display name moves nobody
  EXPECT_TRUE(In("top", "VIP"));
  previous->reset();
  ASSERT_TRUE(mover_->RunOnce().ok());
  EXPECT_FALSE(In("top", "VIP"));
  EXPECT_TRUE(In("bigger", "VIP"));
}

TEST_F(StatisticsMoverTest, StoreAovMoveMovesBigSpenders) {
  // Store AOV 100 over 365 days; big spender = AOV >= 2x store AOV.
  for (int i = 0; i < 10; ++i) Orders(absl::StrCat("c", i), 1, 100);
  Orders("spender", 1, 250);  // store AOV = 1250/11 = 113.6; 2x = 227.3 <= 250
  ASSERT_TRUE(mover_->RunOnce().ok());
  EXPECT_TRUE(In("spender", "BIG_SPENDER"));
  // Two large orders from others raise the store AOV to 1850/13 = 142.3;
  // 2x = 284.6 > 250: "spender" must leave BIG_SPENDER by the mover alone.
  Orders("whale1", 1, 300);
  Orders("whale2", 1, 300);
  ASSERT_TRUE(mover_->RunOnce().ok());
  EXPECT_FALSE(In("spender", "BIG_SPENDER"));
  EXPECT_TRUE(In("whale1", "BIG_SPENDER"));
}

// The store AOV counts the orders of (now - lookback, now] to the
// millisecond: an order leaving the window moves it at that instant, not at
// the next UTC midnight (nor, as whole days were counted until 2026-12-06,
// at the midnight that began its day's last day in the window).
TEST_F(StatisticsMoverTest, AnOrderLeavingTheStoreAovWindowMovesItThen) {
  for (int i = 0; i < 10; ++i) Orders(absl::StrCat("c", i), 1, 100);
  Orders("spender", 1, 250);
  // 365 days less an hour ago: in the window until kT0 + 1 h.
  const absl::Time leaves = kT0 + absl::Hours(1);
  absl::StatusOr<std::vector<CustomerOutcome>> out =
      live_->Apply("acme", {{"old", {Order("old-0", leaves - absl::Hours(24 * 365), 1'000)}}});
  ASSERT_TRUE(out.ok()) << out.status();
  // Store AOV 2250/12 = 187.5, 2x = 375 > 250.
  ASSERT_TRUE(mover_->RunOnce().ok());
  EXPECT_FALSE(In("spender", "BIG_SPENDER"));
  now_ = leaves - absl::Milliseconds(1);
  ASSERT_TRUE(mover_->RunOnce().ok());
  EXPECT_FALSE(In("spender", "BIG_SPENDER"));
  // Store AOV 1250/11 = 113.6, 2x = 227.3 <= 250.
  now_ = leaves;
  ASSERT_TRUE(mover_->RunOnce().ok());
  EXPECT_TRUE(In("spender", "BIG_SPENDER"));

  // At an explicit instant: the store AOV of the lookback ending then, the
  // orders placed after it left out (today's was used until 2026-12-06).
  auto big_at = [&](absl::Time as_of) {
    absl::StatusOr<std::vector<CustomerClassification>> c =
        live_->Classify("acme", {"spender"}, as_of, /*with_reasons=*/false, /*historical=*/true);
    EXPECT_TRUE(c.ok()) << c.status();
    return c.ok() && (*c)[0].classification.segments.Contains(Segment::kBigSpender);
  };
  EXPECT_FALSE(big_at(leaves - absl::Milliseconds(1)));
  EXPECT_TRUE(big_at(leaves));
  now_ = leaves + absl::Hours(1);
  out = live_->Apply("acme", {{"whale", {Order("whale-0", now_ - absl::Minutes(1), 5'000)}}});
  ASSERT_TRUE(out.ok()) << out.status();
  ASSERT_TRUE(mover_->RunOnce().ok());  // store AOV 6250/12, 2x = 1041.7
  EXPECT_FALSE(In("spender", "BIG_SPENDER"));
  EXPECT_TRUE(big_at(leaves));
  EXPECT_FALSE(big_at(now_));
}

// Once a pass has compared the snapshots writes used, they are forgotten: a
// later pass with unchanged statistics compares (and re-reads) nothing.
TEST_F(StatisticsMoverTest, ComparedSnapshotsAreRetired) {
  Orders("a", 3, 100);
  ASSERT_TRUE(mover_->RunOnce().ok());
  Orders("b", 5, 300);  // Moves the cut-offs and the store AOV.
  ASSERT_TRUE(mover_->RunOnce().ok());
  // Only the snapshot the pass published remains (the current one).
  EXPECT_EQ(contexts_->Issued("acme").size(), 1u);
  ASSERT_TRUE(mover_->RunOnce().ok());
  EXPECT_EQ(contexts_->Issued("acme").size(), 1u);
}

// A config stored without its re-classification finishing (the UpdateConfig
// call failed midway) is completed by a pass once older than the grace
// period, and then marked applied.
// A tenant without customers is skipped only while this replica issued no
// snapshot of it: the snapshots its reads load are still retired (a code
// reviewer found them piling up, one a second, under the first skip).
TEST_F(StatisticsMoverTest, ATenantWithoutCustomersStillHasItsSnapshotsRetired) {
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(contexts_->Reload("acme").ok());
  ASSERT_GE(contexts_->Issued("acme").size(), 5u);
  ASSERT_TRUE(mover_->RunOnce().ok());
  ASSERT_TRUE(mover_->RunOnce().ok());
  EXPECT_LE(contexts_->Issued("acme").size(), 1u);
}

TEST_F(StatisticsMoverTest, InterruptedConfigChangeIsFinished) {
  int64_t version = 0;
  ASSERT_NO_FATAL_FAILURE(StoreAStricterFrequentBuyer(&version));
  // Within the grace period an UpdateConfig may still be at work: untouched.
  ASSERT_TRUE(mover_->RunOnce().ok());
  EXPECT_TRUE(In("f0", "FREQUENT_BUYER"));
  now_ += absl::Seconds(31);
  absl::StatusOr<int64_t> moved = mover_->RunOnce();
  ASSERT_TRUE(moved.ok()) << moved.status();
  EXPECT_GE(*moved, 5);
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(In(absl::StrCat("f", i), "FREQUENT_BUYER")) << i;
  EXPECT_FALSE((*store_.ReadConfig("acme"))->reclassification_pending);
  EXPECT_EQ(*mover_->RunOnce(), 0);  // Done once.
}

// A config whose re-classification another replica claimed is that
// replica's while it lives, however long it takes; once its liveness mark
// lapses (it died midway), the next pass takes it over at once, not after
// the grace period (until 2026-12-06 a replica killed mid-UpdateConfig left
// membership under the old config for 30-50 s).
TEST_F(StatisticsMoverTest, AConfigChangeAnotherReplicaClaimedIsTakenOverWhenItDies) {
  int64_t version = 0;
  ASSERT_NO_FATAL_FAILURE(StoreAStricterFrequentBuyer(&version));
  ASSERT_TRUE(store_.MarkReplicaAlive("busy", absl::Hours(1)).ok());
  ASSERT_TRUE(*store_.ClaimReclassification("acme", version, "", "busy"));
  EXPECT_FALSE(*store_.ClaimReclassification("acme", version, "", "another"));  // taken
  now_ += absl::Minutes(5);
  ASSERT_TRUE(mover_->RunOnce().ok());
  EXPECT_TRUE(In("f0", "FREQUENT_BUYER"));
  EXPECT_EQ((*store_.ReadConfig("acme"))->reclassifying_replica, "busy");

  store_.ExpireReplica("busy");
  absl::StatusOr<int64_t> moved = mover_->RunOnce();
  ASSERT_TRUE(moved.ok()) << moved.status();
  EXPECT_GE(*moved, 5);
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(In(absl::StrCat("f", i), "FREQUENT_BUYER")) << i;
  EXPECT_FALSE((*store_.ReadConfig("acme"))->reclassification_pending);
}

// This replica's own claim: left alone while its UpdateConfig call lives
// (however long it takes), finished at once when the call has returned
// without finishing it.
TEST_F(StatisticsMoverTest, ThisReplicasClaimWaitsForItsCallOnly) {
  int64_t version = 0;
  ASSERT_NO_FATAL_FAILURE(StoreAStricterFrequentBuyer(&version));
  ASSERT_TRUE(*store_.ClaimReclassification("acme", version, "", contexts_->replica_id()));
  {
    const TenantContexts::ConfigApplication applying(contexts_.get(), "acme");
    now_ += absl::Minutes(5);
    ASSERT_TRUE(mover_->RunOnce().ok());
    EXPECT_TRUE(In("f0", "FREQUENT_BUYER"));
  }
  absl::StatusOr<int64_t> moved = mover_->RunOnce();
  ASSERT_TRUE(moved.ok()) << moved.status();
  EXPECT_GE(*moved, 5);
  EXPECT_FALSE(In("f0", "FREQUENT_BUYER"));
  EXPECT_FALSE((*store_.ReadConfig("acme"))->reclassification_pending);
}

// A pass that could not reach Redis says nothing about the work: the next
// pass once Redis is back finishes it (until 2026-12-06 such a pass put it
// off by the grace period, 30 s, and the member sets stayed under the old
// config meanwhile: a chaos reviewer's finding).
TEST_F(StatisticsMoverTest, AFailedCallsClaimIsFinishedOnceRedisIsBack) {
  int64_t version = 0;
  ASSERT_NO_FATAL_FAILURE(StoreAStricterFrequentBuyer(&version));
  ASSERT_TRUE(*store_.ClaimReclassification("acme", version, "", contexts_->replica_id()));
  store_.config_unavailable = true;
  EXPECT_EQ(mover_->RunOnce().status().code(), absl::StatusCode::kUnavailable);
  store_.config_unavailable = false;
  now_ += absl::Milliseconds(500);
  absl::StatusOr<int64_t> moved = mover_->RunOnce();
  ASSERT_TRUE(moved.ok()) << moved.status();
  EXPECT_GE(*moved, 5);
  EXPECT_FALSE(In("f0", "FREQUENT_BUYER"));
  EXPECT_FALSE((*store_.ReadConfig("acme"))->reclassification_pending);
}

// Once claimed, Redis unreachable mid-way (gone, or busy) starts the work
// over after 1 s, then 2 s, 4 s ... up to the grace period: a large
// tenant's re-classification is not restarted every pass, nor left 30 s
// under the old config after Redis came back from a restart.
TEST_F(StatisticsMoverTest, AResumptionFailingMidwayBacksOff) {
  int64_t version = 0;
  ASSERT_NO_FATAL_FAILURE(StoreAStricterFrequentBuyer(&version));
  ASSERT_TRUE(*store_.ClaimReclassification("acme", version, "", contexts_->replica_id()));
  store_.scan_unavailable = true;
  ASSERT_TRUE(mover_->RunOnce().ok());  // waits 1 s
  now_ += absl::Milliseconds(500);
  ASSERT_TRUE(mover_->RunOnce().ok());  // not tried
  now_ += absl::Milliseconds(600);
  ASSERT_TRUE(mover_->RunOnce().ok());  // tried, failed: waits 2 s
  store_.scan_unavailable = false;
  now_ += absl::Milliseconds(1500);
  ASSERT_TRUE(mover_->RunOnce().ok());  // not tried
  EXPECT_TRUE(In("f0", "FREQUENT_BUYER"));
  EXPECT_TRUE((*store_.ReadConfig("acme"))->reclassification_pending);
  now_ += absl::Milliseconds(600);
  absl::StatusOr<int64_t> moved = mover_->RunOnce();
  ASSERT_TRUE(moved.ok()) << moved.status();
  EXPECT_FALSE(In("f0", "FREQUENT_BUYER"));
  EXPECT_FALSE((*store_.ReadConfig("acme"))->reclassification_pending);
}

TEST_F(StatisticsMoverTest, ADeadReplicasConfigChangeIsTakenOverWithinTheGracePeriod) {
  int64_t version = 0;
  ASSERT_NO_FATAL_FAILURE(StoreAStricterFrequentBuyer(&version));
  ASSERT_TRUE(*store_.ClaimReclassification("acme", version, "", "gone"));  // never alive
  absl::StatusOr<int64_t> moved = mover_->RunOnce();
  ASSERT_TRUE(moved.ok()) << moved.status();
  EXPECT_GE(*moved, 5);
  EXPECT_FALSE(In("f0", "FREQUENT_BUYER"));
  EXPECT_FALSE((*store_.ReadConfig("acme"))->reclassification_pending);
  // A claim names a replica; none holds a config no longer pending.
  EXPECT_EQ(store_.ClaimReclassification("acme", version, "", "").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(*store_.ClaimReclassification("acme", version, "", "late"));
}

// A second replica on the fixture's store and clock: its own contexts,
// membership and mover.
struct OtherReplica {
  OtherReplica(CountingStore& store, absl::Time* now)
      : contexts(&store, ContextOptionsAt(now)),
        live(&store, &contexts, LiveOptionsAt(now)),
        mover(
            &store, &contexts, &live,
            []() -> absl::StatusOr<std::vector<std::string>> {
              return std::vector<std::string>{"acme"};
            },
            MoverOptionsAt(now)) {}

  static TenantContexts::Options ContextOptionsAt(absl::Time* now) {
    TenantContexts::Options options;
    options.max_age = absl::Hours(1000);
    options.now = [now] { return *now; };
    return options;
  }
  static LiveMembership::Options LiveOptionsAt(absl::Time* now) {
    LiveMembership::Options options;
    options.now = [now] { return *now; };
    return options;
  }
  static StatisticsMover::Options MoverOptionsAt(absl::Time* now) {
    StatisticsMover::Options options;
    options.now = [now] { return *now; };
    return options;
  }

  TenantContexts contexts;
  LiveMembership live;
  StatisticsMover mover;
};

// The replicas of this tenant's statistics-in-use entries, sorted.
std::vector<std::string> EntryReplicas(CountingStore& store) {
  std::vector<std::string> replicas;
  const absl::StatusOr<std::vector<std::pair<std::string, std::string>>> entries =
      store.StatsInUse("acme");
  EXPECT_TRUE(entries.ok()) << entries.status();
  if (!entries.ok()) return replicas;
  for (const auto& [field, value] : *entries) replicas.push_back(ParseStatsInUse(field).replica);
  std::sort(replicas.begin(), replicas.end());
  return replicas;
}

// A replica that stops (or dies) after writing under statistics its mover
// has not compared yet owes those moves; they are recorded in the store, and
// another replica's mover applies them once the first one's liveness mark
// has lapsed. Before, they were lost with the process: after a restart
// right after a bulk import, VIP and the value tiers stayed wrong for good.
TEST_F(StatisticsMoverTest, MovesAStoppedReplicaOwedAreAppliedByAnother) {
  ASSERT_NO_FATAL_FAILURE(OweAVipMove());
  OtherReplica other(store_, &now_);
  ASSERT_TRUE(other.mover.RunOnce().ok());
  EXPECT_TRUE(In("top", "VIP"));  // the first replica is alive: its own to apply
  store_.ExpireReplica(contexts_->replica_id());
  absl::StatusOr<int64_t> moved = other.mover.RunOnce();
  ASSERT_TRUE(moved.ok()) << moved.status();
  EXPECT_GE(*moved, 1);
  EXPECT_FALSE(In("top", "VIP"));
  EXPECT_TRUE(In("bigger", "VIP"));
  // The adopted entries are gone: only the live replica's own remain.
  for (const std::string& replica : EntryReplicas(store_)) {
    EXPECT_EQ(replica, other.contexts.replica_id());
  }
}

// A replica whose mark lapsed while it lived (a pause) may have had its
// entries adopted and removed; it records them again once it marks itself
// alive, so its own writes stay covered should it die after all.
TEST_F(StatisticsMoverTest, AReplicaWhoseMarkLapsedRecordsItsEntriesAgain) {
  ASSERT_NO_FATAL_FAILURE(OweAVipMove());
  const std::vector<std::string> before = EntryReplicas(store_);
  ASSERT_FALSE(before.empty());
  store_.ExpireReplica(contexts_->replica_id());
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> entries =
      store_.StatsInUse("acme");
  ASSERT_TRUE(entries.ok());
  std::vector<std::string> fields;
  for (const auto& [field, value] : *entries) fields.push_back(field);
  ASSERT_TRUE(store_.RemoveStatsInUse("acme", fields).ok());  // as an adopter would
  ASSERT_TRUE(contexts_->MarkAlive().ok());
  EXPECT_EQ(EntryReplicas(store_), before);
}

// An entry in a format this build cannot read (a later build's): left to
// its owner while that one lives; once it is dead, only re-classifying
// everyone is sure to cover whatever statistics it stood for.
TEST_F(StatisticsMoverTest, AnUnreadableEntryIsItsLiveOwnersOrReclassifiesEveryone) {
  ASSERT_NO_FATAL_FAILURE(OweAVipMove());  // the first replica stays alive
  OtherReplica other(store_, &now_);
  ASSERT_TRUE(store_.MarkReplicaAlive("later", absl::Hours(1)).ok());
  ASSERT_TRUE(store_.AddStatsInUse("acme", "later/2/whatever it holds", "0").ok());
  ASSERT_TRUE(store_.AddStatsInUse("acme", "gone/2/whatever it holds", "0").ok());
  ASSERT_TRUE(other.mover.RunOnce().ok());
  EXPECT_FALSE(In("top", "VIP"));  // only the full re-classification moves it
  std::vector<std::string> left = EntryReplicas(store_);
  for (const std::string& mine : {contexts_->replica_id(), other.contexts.replica_id()}) {
    left.erase(std::remove(left.begin(), left.end(), mine), left.end());
  }
  EXPECT_EQ(left, std::vector<std::string>{"later"});
}

// A write under a relative spender rule used its config's multiple. When
// the replica that wrote dies owing the statistics move, and another
// changes the multiple before adopting it, that config update re-classifies
// under the current statistics only; the adopter's range must run from the
// threshold the write used (old multiple, old store AOV), not the current
// multiple times the old store AOV. A reviewer saw 220 customers left in
// BIG_SPENDER for good after a restart and a multiple change.
TEST_F(StatisticsMoverTest, AMultipleChangedBeforeAnOwedMoveIsAdoptedStillMovesWhomWritesPut) {
  engine::SegmentConfig config;
  config.big_spender.threshold_store_aov_multiple = 1.5;
  ASSERT_GE(StoreConfigAndReevaluate("acme", config, /*by_profile=*/true, nullptr), 0);
  for (int i = 0; i < 10; ++i) Orders(absl::StrCat("c", i), 1, 100);
  Orders("spender", 1, 250);  // store AOV 1250/11 = 113.6: BIG from 170.5
  ASSERT_TRUE(mover_->RunOnce().ok());
  // Written with that threshold: "mid" (AOV 200 over the lookback) is BIG.
  // Its order of 400 days ago puts its lifetime revenue above every
  // value-tier cut-off, so only the spender rule's range can read it. The
  // whales make the store AOV 2050/14 = 146.4, so 1.5x is 219.6 and "mid"
  // is not; this replica dies before its mover compares.
  ASSERT_TRUE(
      live_
          ->Apply("acme", {CustomerEvents{"mid",
                                          {Order("mid-old", kT0 - absl::Hours(24 * 400), 10'000),
                                           Order("mid-new", kT0, 200)}}})
          .ok());
  Orders("whale1", 1, 300);
  Orders("whale2", 1, 300);
  ASSERT_TRUE(In("mid", "BIG_SPENDER"));
  store_.ExpireReplica(contexts_->replica_id());
  // Another replica makes the multiple 2.5 (BIG from 366) before adopting.
  OtherReplica other(store_, &now_);
  config.big_spender.threshold_store_aov_multiple = 2.5;
  absl::StatusOr<int64_t> changed = ApplyConfigUpdate(store_, other.contexts, other.live, "acme",
                                                      config, /*by_profile=*/true, now_, nullptr);
  ASSERT_TRUE(changed.ok()) << changed.status();
  ASSERT_TRUE(In("mid", "BIG_SPENDER"));  // between 1.5x and 2.5x the current AOV: not read
  ASSERT_TRUE(other.mover.RunOnce().ok());
  EXPECT_FALSE(In("mid", "BIG_SPENDER"));
  EXPECT_FALSE(In("whale1", "BIG_SPENDER"));
  EXPECT_FALSE(In("spender", "BIG_SPENDER"));
}

TEST_F(StatisticsMoverTest, NothingMovesWhenStatisticsStandStill) {
  Orders("a", 3, 100);
  ASSERT_TRUE(mover_->RunOnce().ok());
  EXPECT_EQ(*mover_->RunOnce(), 0);
  EXPECT_EQ(*mover_->RunOnce(), 0);
  EXPECT_EQ(*mover_->RunOnce(), 0);
}

}  // namespace
}  // namespace segmentd

// A config update re-classifies by profile alone and rewrites only the
// customers the change moves (LiveMembership::ReevaluateAll with the previous
// snapshot). This property test checks that shortcut against the full
// re-evaluation: two tenants hold the same generated population, go through
// the same random config changes and the same passage of time, one
// re-classified each way; afterwards every customer's stored state and every
// member set must be identical.
#include <algorithm>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "engine/config.h"
#include "engine/generator.h"
#include "server/config_convert.h"
#include "server/live/customer_measures.h"
#include "server/live/live_membership.h"
#include "server/live/live_test_fixture.h"
#include "server/live/membership_codec.h"
#include "server/live/tenant_context.h"

namespace segmentd {
namespace {

constexpr int kCustomers = 400;
constexpr int kCategories = 8;
constexpr int kRounds = 60;  // random rounds, after one per mutation
const std::string kFull = "full";
const std::string kFast = "fast";

using Mutation = std::function<void(engine::SegmentConfig&, std::mt19937&)>;

int Pick(std::mt19937& rng, int lo, int hi) {
  return std::uniform_int_distribution<int>(lo, hi)(rng);
}

// One random change of one config field (or of the priority order).
std::vector<Mutation> Mutations() {
  return {
      [](auto& c, auto& r) { c.frequent_buyer.min_orders = Pick(r, 1, 8); },
      [](auto& c, auto& r) { c.frequent_buyer.window_days = Pick(r, 1, 400); },
      [](auto& c, auto& r) { c.frequent_buyer.enabled = !c.frequent_buyer.enabled; },
      [](auto& c, auto& r) { c.new_download.max_days = Pick(r, 1, 365); },
      // Shorter only: read through NEW_DOWNLOAD's own members.
      [](auto& c, auto& r) {
        c.new_download.max_days = std::max(1, c.new_download.max_days - Pick(r, 1, 300));
      },
      [](auto& c, auto& r) { c.window_shopper.min_days = Pick(r, 1, 900); },
      // Read through the registration index (registered non-buyers).
      [](auto& c, auto& r) { c.new_download.enabled = !c.new_download.enabled; },
      [](auto& c, auto& r) { c.window_shopper.enabled = !c.window_shopper.enabled; },
      [](auto& c, auto& r) {
        c.new_download.max_days = Pick(r, 1, 365);
        c.window_shopper.min_days = Pick(r, 1, 900);
      },
      [](auto& c, auto& r) { c.new_customer.window_days = Pick(r, 1, 365); },
      [](auto& c, auto& r) { c.returning_customer.min_orders = Pick(r, 2, 8); },
      [](auto& c, auto& r) { c.returning_customer.window_days = Pick(r, 1, 400); },
      [](auto& c, auto& r) { c.loyal_customer.min_orders = Pick(r, 2, 10); },
      [](auto& c, auto& r) { c.loyal_customer.active_days = Pick(r, 1, 400); },
      [](auto& c, auto& r) { c.lost_loyalty.inactive_days = Pick(r, 1, 400); },
      [](auto& c, auto& r) { c.lost_loyalty.min_orders = Pick(r, 2, 8); },
      [](auto& c, auto& r) { c.loyal_customer.enabled = !c.loyal_customer.enabled; },
      [](auto& c, auto& r) { c.repeat_customer.enabled = !c.repeat_customer.enabled; },
      [](auto& c, auto& r) { c.one_time_wonder.inactive_days = Pick(r, 1, 400); },
      [](auto& c, auto& r) { c.big_spender.lookback_days = Pick(r, 1, 400); },
      // Shorter only: read through the AOV index (when relative).
      [](auto& c, auto& r) {
        c.big_spender.lookback_days = std::max(1, c.big_spender.lookback_days - Pick(r, 1, 300));
      },
      [](auto& c, auto& r) { c.low_spender.lookback_days = Pick(r, 1, 400); },
      [](auto& c, auto& r) {
        c.low_spender.lookback_days = std::max(1, c.low_spender.lookback_days - Pick(r, 1, 150));
      },
      [](auto& c, auto& r) {
        c.lost_customer.min_orders = Pick(r, 1, 4);
        c.lost_customer.max_orders = c.lost_customer.min_orders + Pick(r, 0, 4);
      },
      [](auto& c, auto& r) { c.lost_customer.inactive_days = Pick(r, 1, 400); },
      [](auto& c, auto& r) {
        c.repeat_customer.min_orders = Pick(r, 2, 5);
        c.repeat_customer.max_orders = c.repeat_customer.min_orders + Pick(r, 0, 4);
      },
      [](auto& c, auto& r) { c.vip.top_percent = Pick(r, 1, 50); },
      [](auto& c, auto& r) { c.vip.min_orders = Pick(r, 1, 6); },
      [](auto& c, auto& r) { c.lapsed.inactive_days = Pick(r, 1, 400); },
      [](auto& c, auto& r) {
        c.value_tiers.high_percent = Pick(r, 0, 60);
        c.value_tiers.medium_percent = Pick(r, 0, 100 - c.value_tiers.high_percent);
        c.value_tiers.low_percent =
            100 - c.value_tiers.high_percent - c.value_tiers.medium_percent;
      },
      [](auto& c, auto& r) { c.category_affinity.min_orders = Pick(r, 1, 5); },
      [](auto& c, auto& r) { c.category_affinity.lookback_days = Pick(r, 1, 400); },
      [](auto& c, auto& r) { c.engagement.window_days = Pick(r, 1, 200); },
      [](auto& c, auto& r) { c.engagement.min_messages = Pick(r, 1, 6); },
      [](auto& c, auto& r) {
        c.engagement.high_open_rate = Pick(r, 20, 100) / 100.0;
        c.engagement.moderate_open_rate = Pick(r, 0, 20) / 100.0;
      },
      [](auto& c, auto& r) { c.abandoned_cart.abandon_after_minutes = Pick(r, 1, 6000); },
      [](auto& c, auto& r) { c.abandoned_cart.window_days = Pick(r, 5, 30); },
      [](auto& c, auto& r) { c.lapsed.enabled = !c.lapsed.enabled; },
      // Inactivity rules switched on or off move members of any recency.
      [](auto& c, auto& r) { c.one_time_wonder.enabled = !c.one_time_wonder.enabled; },
      [](auto& c, auto& r) { c.lost_loyalty.enabled = !c.lost_loyalty.enabled; },
      [](auto& c, auto& r) { c.lost_customer.enabled = !c.lost_customer.enabled; },
      [](auto& c, auto& r) { c.new_customer.enabled = !c.new_customer.enabled; },
      // Percentile rules switched on or off move everyone above a cut-off,
      // not only those near it.
      [](auto& c, auto& r) { c.vip.enabled = !c.vip.enabled; },
      [](auto& c, auto& r) { c.value_tiers.enabled = !c.value_tiers.enabled; },
      [](auto& c, auto& r) { c.category_affinity.enabled = !c.category_affinity.enabled; },
      [](auto& c, auto& r) {
        std::vector<std::string> order;
        for (engine::Segment s : engine::DefaultPrimaryPriority()) {
          order.emplace_back(engine::SegmentName(s));
        }
        std::shuffle(order.begin(), order.end(), r);
        order.resize(Pick(r, 0, 5));
        c.primary_priority = order;
      },
      [](auto& c, auto& r) { c.frequent_buyer.display_name = absl::StrCat("FB ", Pick(r, 0, 9)); },
      // Last, as single rounds go in this order: they take the AOV indexes
      // out of use, and the rounds before read through them.
      [](auto& c, auto& r) {
        c.big_spender.threshold_store_aov_multiple = 1.0 + Pick(r, 0, 30) / 10.0;
        c.big_spender.threshold_amount.reset();
      },
      [](auto& c, auto& r) {
        c.big_spender.threshold_amount = Pick(r, 1000, 20000);
        c.big_spender.threshold_store_aov_multiple.reset();
      },
      [](auto& c, auto& r) { c.big_spender.enabled = !c.big_spender.enabled; },
      [](auto& c, auto& r) {
        c.low_spender.threshold_store_aov_multiple = Pick(r, 1, 100) / 100.0;
        c.low_spender.threshold_amount.reset();
      },
      [](auto& c, auto& r) {
        c.low_spender.threshold_amount = Pick(r, 500, 5000);
        c.low_spender.threshold_store_aov_multiple.reset();
      },
      [](auto& c, auto& r) { c.low_spender.enabled = !c.low_spender.enabled; },
  };
}

// Three configs in a row, for one spender rule (either): relative to the
// store AOV over some lookback (its AOV index in use there), absolute
// (nothing reads the index, which goes back to the rule's default lookback,
// its entry moves possibly left to the rechecks; the rule's own lookback
// sometimes changed too), and relative again, mostly over the default
// lookback: the sequence that finds entries an update left stale if the
// next one comes before the rechecks are drained.
std::vector<engine::SegmentConfig> SpenderIndexOutAndBackIn(engine::SegmentConfig c,
                                                            std::mt19937& r) {
  std::vector<engine::SegmentConfig> steps;
  auto out_and_in = [&](auto& rule, int64_t amount, double multiple) {
    const int32_t default_days = std::decay_t<decltype(rule)>().lookback_days;
    rule.enabled = true;
    rule.threshold_store_aov_multiple = multiple;
    rule.threshold_amount.reset();
    rule.lookback_days = Pick(r, 1, 400);
    steps.push_back(c);
    rule.threshold_amount = amount;
    rule.threshold_store_aov_multiple.reset();
    // Half the time with another lookback (the index's stays the default):
    // the entries left stale may then lie beyond every lookback of the way
    // back, which only the rechecks pending tell.
    if (Pick(r, 0, 1) == 0) rule.lookback_days = Pick(r, 1, 400);
    steps.push_back(c);
    rule.threshold_store_aov_multiple = multiple;
    rule.threshold_amount.reset();
    rule.lookback_days = Pick(r, 0, 3) == 0 ? Pick(r, 1, 400) : default_days;
    steps.push_back(c);
  };
  if (Pick(r, 0, 1) == 0) {
    out_and_in(c.big_spender, Pick(r, 1000, 20000), 1.0 + Pick(r, 0, 30) / 10.0);
  } else {
    out_and_in(c.low_spender, Pick(r, 500, 5000), Pick(r, 1, 100) / 100.0);
  }
  return steps;
}

class ConfigReclassificationTest : public LiveTestFixture {
 protected:
  ConfigReclassificationTest() : LiveTestFixture(absl::FromUnixSeconds(1795564800)) {}

  void Load(const std::string& tenant) {
    std::vector<std::string> names;
    for (int i = 0; i < kCategories; ++i) names.push_back(absl::StrCat("cat", i));
    ASSERT_TRUE(store_.InternCategories(tenant, names).ok());
    engine::GeneratorOptions generator;
    generator.now = now_;
    generator.num_categories = kCategories;
    std::vector<CustomerEvents> customers;
    for (int i = 0; i < kCustomers; ++i) {
      engine::GeneratedCustomer g = engine::GenerateCustomer(generator, i);
      absl::StatusOr<engine::Profile> built = engine::BuildProfile(g);
      ASSERT_TRUE(built.ok()) << built.status();
      customers.push_back({g.customer_id, {[built = *built](engine::Profile* p) {
                             *p = built;
                             return absl::StatusOr<engine::EventOutcome>(
                                 engine::EventOutcome::kApplied);
                           }}});
      ids_.push_back(g.customer_id);
    }
    absl::StatusOr<std::vector<CustomerOutcome>> out = live_->Apply(tenant, std::move(customers));
    ASSERT_TRUE(out.ok()) << out.status();
    for (const CustomerOutcome& o : *out) ASSERT_TRUE(o.commit.ok()) << o.commit;
  }

  // StoreConfigAndReevaluate, by profile from the previous snapshot
  // (`fast`) or fully, checking the rechecks it left; then marks the config
  // applied, as ConfigService::Store does.
  int64_t Update(const std::string& tenant, const engine::SegmentConfig& config, bool fast) {
    int64_t deferred = 0;
    const int64_t rechecks_before = *store_.RecheckCount(tenant);
    const int64_t changed = StoreConfigAndReevaluate(tenant, config, fast, &deferred);
    // An earlier update's rechecks may still be there (one per customer).
    EXPECT_GE(*store_.RecheckCount(tenant), deferred);
    EXPECT_LE(*store_.RecheckCount(tenant), rechecks_before + deferred);
    deferred_ += deferred;
    absl::StatusOr<std::shared_ptr<const TenantSnapshot>> stored = contexts_->GetCurrent(tenant);
    EXPECT_TRUE(stored.ok() && store_.ConfigApplied(tenant, (*stored)->config_version).ok());
    return changed;
  }

  // Brings both tenants up to date with time (what the scheduler does), so
  // the next update starts from membership current under the old config.
  void Advance(absl::Duration by) {
    now_ += by;
    for (const std::string& tenant : {kFull, kFast}) {
      EXPECT_TRUE(live_->ReevaluateAll(tenant, store::ChangeCause::kTime).ok());
    }
  }

  // What the TransitionScheduler does with the rechecks an update left.
  void DrainRechecks(const std::string& tenant) {
    while (true) {
      absl::StatusOr<int64_t> drained = live_->DrainRechecks(tenant, 7);
      ASSERT_TRUE(drained.ok()) << drained.status();
      if (*drained == 0) break;
    }
    EXPECT_EQ(*store_.RecheckCount(tenant), 0);
  }

  // Membership (segments, primary, categories) and the entries of the AOV
  // indexes the config uses: what an update must have written before it
  // returns (an unused index's entries may wait for the rechecks).
  void ExpectSameMembership(int round) {
    auto membership = [](const store::CustomerState& c) {
      absl::StatusOr<StoredMembership> m = DecodeMembership(c.membership);
      EXPECT_TRUE(m.ok()) << m.status();
      if (m.ok()) m->next_change.reset();
      return m.ok() ? std::optional<StoredMembership>(*m) : std::nullopt;
    };
    auto used_entries_equal = [&](const store::CustomerState& a, const store::CustomerState& b) {
      for (int k = 0; k < store::kNumAovIndexes; ++k) {
        if (AovIndexInUse(config_, static_cast<store::AovIndex>(k)) &&
            a.aov_milli[k] != b.aov_milli[k]) {
          return false;
        }
      }
      return true;
    };
    ExpectEachSame(round, "membership or an in-use AOV entry differs before the rechecks",
                   [&](const store::CustomerState& a, const store::CustomerState& b) {
                     return membership(a) == membership(b) && a.segments == b.segments &&
                            used_entries_equal(a, b);
                   });
  }

  void ExpectSameStoredState(int round) {
    ExpectEachSame(round, "differs", [](const store::CustomerState& a, const store::CustomerState& b) {
      return a.membership == b.membership && a.segments == b.segments &&
             a.next_change == b.next_change && a.aov_milli[0] == b.aov_milli[0] &&
             a.aov_milli[1] == b.aov_milli[1] && a.profile == b.profile;
    });
  }

  // Compares every customer's stored state in the two tenants with `same`,
  // describing the first three that differ.
  void ExpectEachSame(
      int round, absl::string_view what,
      const std::function<bool(const store::CustomerState&, const store::CustomerState&)>& same) {
    absl::StatusOr<std::vector<store::CustomerState>> full = store_.Read(kFull, ids_);
    absl::StatusOr<std::vector<store::CustomerState>> fast = store_.Read(kFast, ids_);
    ASSERT_TRUE(full.ok() && fast.ok());
    int differing = 0;
    for (size_t i = 0; i < ids_.size(); ++i) {
      const store::CustomerState& a = (*full)[i];
      const store::CustomerState& b = (*fast)[i];
      if (!same(a, b) && ++differing <= 3) {
        ADD_FAILURE() << "round " << round << ": customer " << ids_[i] << " " << what
                      << ": full " << absl::StrJoin(a.segments, ",") << " fast "
                      << absl::StrJoin(b.segments, ",") << " next "
                      << (a.next_change ? absl::FormatTime(*a.next_change) : "-") << " / "
                      << (b.next_change ? absl::FormatTime(*b.next_change) : "-")
                      << " aov " << a.aov_milli[0].value_or(-1) << "/" << b.aov_milli[0].value_or(-1)
                      << " " << a.aov_milli[1].value_or(-1) << "/" << b.aov_milli[1].value_or(-1)
                      << "\nconfig: " << ConfigToProto(config_).ShortDebugString();
      }
    }
    EXPECT_EQ(differing, 0) << "round " << round;
  }

  std::vector<std::string> ids_;
  engine::SegmentConfig config_;
  int64_t deferred_ = 0;  // rechecks the updates left, over the test
  int undrained_ = 0;     // updates followed by another before the drain
  int out_and_back_ = 0;  // SpenderIndexOutAndBackIn sequences run
};

TEST_F(ConfigReclassificationTest, ByProfileEqualsFullReevaluationUnderRandomChanges) {
  ASSERT_NO_FATAL_FAILURE(Load(kFull));
  ids_.clear();
  ASSERT_NO_FATAL_FAILURE(Load(kFast));
  // The population statistics moved with the load: what the StatisticsMover
  // would do, so that every update starts from membership current under the
  // old config (statistics moves outside a change's scope are the mover's).
  for (const std::string& tenant : {kFull, kFast}) {
    ASSERT_TRUE(contexts_->Reload(tenant).ok());
    ASSERT_TRUE(live_->ReevaluateAll(tenant, store::ChangeCause::kStatistics).ok());
  }
  ExpectSameStoredState(-1);

  std::mt19937 rng(20261202);
  const std::vector<Mutation> mutations = Mutations();
  engine::SegmentConfig config;
  int64_t moved_total = 0;
  // First every mutation alone (each scope bound is then tested on its own),
  // then random combinations of one to three.
  const int singles = static_cast<int>(mutations.size());
  // Stores `c` in both tenants, re-classifying each its way. Membership is
  // complete when the update returns; the next changes it left are exact
  // once the rechecks are drained.
  auto update_both = [&](const engine::SegmentConfig& c, int round) {
    config_ = c;
    const int64_t full = Update(kFull, c, /*fast=*/false);
    const int64_t fast = Update(kFast, c, /*fast=*/true);
    EXPECT_EQ(fast, full) << "round " << round;
    moved_total += full;
    ExpectSameMembership(round);
  };
  for (int round = 0; round < singles + kRounds; ++round) {
    engine::SegmentConfig next = config;
    const int changes = round < singles ? 1 : Pick(rng, 1, 3);
    for (int i = 0; i < changes; ++i) {
      engine::SegmentConfig candidate = next;
      const int which = round < singles ? round : Pick(rng, 0, singles - 1);
      mutations[which](candidate, rng);
      if (engine::ValidateConfig(candidate).ok()) next = candidate;
    }
    config = next;
    update_both(config, round);
    // Now and then the next update comes before the rechecks are drained
    // (and before time moves, which rewrites everything stale), starting
    // from entries this one left stale: half of those times it is the next
    // round's, otherwise a spender rule's index goes in use at some lookback,
    // out of use, and back, one update after another.
    if (round >= singles && Pick(rng, 0, 3) == 0) {
      ++undrained_;
      if (Pick(rng, 0, 1) == 0) continue;
      for (const engine::SegmentConfig& step : SpenderIndexOutAndBackIn(config, rng)) {
        ASSERT_TRUE(engine::ValidateConfig(step).ok()) << "round " << round;
        config = step;
        update_both(config, round);
      }
      ++out_and_back_;
    }
    ASSERT_NO_FATAL_FAILURE(DrainRechecks(kFast));
    ExpectSameStoredState(round);
    // Mostly short steps, now and then a long one: with steps of up to 20
    // days throughout, every generated order left every window by mid-test.
    Advance(absl::Hours(Pick(rng, 0, 24 * (Pick(rng, 0, 7) == 0 ? 20 : 4))));
    ExpectSameStoredState(round);
  }
  ASSERT_NO_FATAL_FAILURE(DrainRechecks(kFast));
  ExpectSameStoredState(singles + kRounds);
  // The changes did move customers, and left next changes to the rechecks
  // (the comparisons are not vacuous).
  EXPECT_GT(moved_total, kRounds);
  EXPECT_GT(deferred_, 0);
  EXPECT_GT(undrained_, 0);
  EXPECT_GT(out_and_back_, 0);
}

}  // namespace
}  // namespace segmentd

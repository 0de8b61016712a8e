#include "server/live/config_preview.h"

#include <map>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "engine/config.h"
#include "engine/segment.h"
#include "gtest/gtest.h"
#include "server/live/live_test_fixture.h"

namespace segmentd {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1'750'000'000);

class ConfigPreviewTest : public LiveTestFixture {
 protected:
  ConfigPreviewTest() : LiveTestFixture(kT0) {}

  // An order of `categories` (ids) for `amount`, placed `days_ago`.
  ProfileMutation Order(std::string id, int days_ago, std::vector<engine::CategoryId> categories,
                        int64_t amount = 1000) {
    return [id = std::move(id), days_ago, categories, amount](engine::Profile* p) {
      engine::OrderPlaced order;
      order.order_id = id;
      order.placed_at = kT0 - absl::Hours(24) * days_ago;
      order.amount = amount;
      order.categories = categories;
      return p->PlaceOrder(order);
    };
  }
};

// More customers than one page, so the pages are classified on several
// threads; the counts per fixed segment and per category are those of every
// customer, each classified under both configs, and nothing is stored.
TEST_F(ConfigPreviewTest, CountsEveryCustomerPerSegmentAndCategoryAndSavesNothing) {
  absl::StatusOr<std::vector<engine::CategoryId>> ids =
      contexts_->InternCategories("acme", {"hats", "shoes"});
  ASSERT_TRUE(ids.ok()) << ids.status();
  const engine::CategoryId hats = (*ids)[0], shoes = (*ids)[1];
  // i % 3 == 0: two hats orders; 1: one hats, one shoes order; 2: one shoes
  // order (the only customers with one order).
  constexpr int kCustomers = 1300;
  std::vector<CustomerEvents> customers;
  for (int i = 0; i < kCustomers; ++i) {
    const std::string c = absl::StrCat("c", i);
    CustomerEvents events{c, {}};
    if (i % 3 == 0) {
      events.mutations = {Order(c + "-1", 20, {hats}), Order(c + "-2", 10, {hats})};
    } else if (i % 3 == 1) {
      events.mutations = {Order(c + "-1", 20, {hats}), Order(c + "-2", 10, {shoes})};
    } else {
      events.mutations = {Order(c + "-1", 20, {shoes})};
    }
    customers.push_back(std::move(events));
  }
  ASSERT_TRUE(live_->Apply("acme", std::move(customers)).ok());
  const int64_t two_hats = (kCustomers + 2) / 3, mixed = (kCustomers + 1) / 3,
                one_shoes = kCustomers / 3;

  engine::SegmentConfig proposed;  // the defaults (stored: none), but:
  proposed.category_affinity.min_orders = 1;
  proposed.first_time_buyer.enabled = false;
  absl::StatusOr<std::map<std::string, SegmentDelta>> deltas =
      PreviewConfig(&store_, contexts_.get(), live_.get(), "acme", proposed, kT0, /*at_now=*/false);
  ASSERT_TRUE(deltas.ok()) << deltas.status();

  // Every fixed segment, and the two categories some customer is a member of.
  EXPECT_EQ(deltas->size(), static_cast<size_t>(engine::kNumSegments) + 2);
  auto expect = [&](const std::string& segment, int64_t current, int64_t proposed_size,
                    int64_t entering, int64_t leaving) {
    ASSERT_TRUE(deltas->count(segment)) << segment;
    const SegmentDelta& d = deltas->at(segment);
    EXPECT_EQ(d.current, current) << segment;
    EXPECT_EQ(d.proposed, proposed_size) << segment;
    EXPECT_EQ(d.entering, entering) << segment;
    EXPECT_EQ(d.leaving, leaving) << segment;
  };
  expect("category:hats", two_hats, two_hats + mixed, mixed, 0);
  expect("category:shoes", 0, mixed + one_shoes, mixed + one_shoes, 0);
  expect("FIRST_TIME_BUYER", one_shoes, 0, 0, one_shoes);
  expect("REPEAT_CUSTOMER", two_hats + mixed, two_hats + mixed, 0, 0);
  expect("NEW_DOWNLOAD", 0, 0, 0, 0);

  // Nothing stored: no config, and the stored members are the current ones.
  EXPECT_EQ(*store_.SegmentSize("acme", "category:shoes"), 0);
  EXPECT_EQ(*store_.SegmentSize("acme", "FIRST_TIME_BUYER"), one_shoes);
  absl::StatusOr<std::optional<store::VersionedBlob>> stored = store_.ReadConfig("acme");
  ASSERT_TRUE(stored.ok()) << stored.status();
  EXPECT_FALSE(stored->has_value());
}

// At an explicit instant both configs are classified with statistics of that
// instant: the stored config itself moves nobody, though the store AOV has
// moved since (orders after it). Folded orders count there exactly; a
// customer whose history before the instant is kept only in summary (a
// message dropped by folding) fails the preview, never counted roughly.
TEST_F(ConfigPreviewTest, AtAnExplicitInstantTheStoredConfigMovesNobody) {
  std::vector<CustomerEvents> customers;
  for (int i = 0; i < 40; ++i) {
    const std::string c = absl::StrCat("c", i);
    // Spread AOVs; half the customers order again, far larger, 2 days ago.
    CustomerEvents events{c, {Order(c + "-1", 30, {}, 500 + 100 * i)}};
    if (i % 2 == 0) events.mutations.push_back(Order(c + "-2", 2, {}, 20000 + 1000 * i));
    customers.push_back(std::move(events));
  }
  ASSERT_TRUE(live_->Apply("acme", std::move(customers)).ok());
  const absl::Time before_the_big_orders = kT0 - absl::Hours(24 * 5);
  absl::StatusOr<std::map<std::string, SegmentDelta>> deltas =
      PreviewConfig(&store_, contexts_.get(), live_.get(), "acme", engine::SegmentConfig(),
                    before_the_big_orders, /*at_now=*/false);
  ASSERT_TRUE(deltas.ok()) << deltas.status();
  int64_t spenders = 0;
  for (const auto& [segment, d] : *deltas) {
    EXPECT_EQ(d.entering, 0) << segment;
    EXPECT_EQ(d.leaving, 0) << segment;
    if (segment == "BIG_SPENDER" || segment == "LOW_SPENDER") spenders += d.current;
  }
  EXPECT_GT(spenders, 0);  // the spender rules had members to move

  // An order older than every window, folded on arrival: it keeps its
  // placement and categories, so 800 days ago is exact (a member then).
  ASSERT_TRUE(live_->Apply("acme", {CustomerEvents{"old", {Order("old-1", 900, {})}}}).ok());
  deltas = PreviewConfig(&store_, contexts_.get(), live_.get(), "acme", engine::SegmentConfig(),
                         kT0 - absl::Hours(24 * 800), /*at_now=*/false);
  ASSERT_TRUE(deltas.ok()) << deltas.status();
  EXPECT_EQ(deltas->at("FIRST_TIME_BUYER").current, 1);
  // Before that order nobody was a customer yet: exact, not refused.
  deltas = PreviewConfig(&store_, contexts_.get(), live_.get(), "acme", engine::SegmentConfig(),
                         kT0 - absl::Hours(24 * 901), /*at_now=*/false);
  ASSERT_TRUE(deltas.ok()) << deltas.status();
  for (const auto& [segment, d] : *deltas) {
    EXPECT_EQ(d.current, 0) << segment;
    EXPECT_EQ(d.entering, 0) << segment;
  }
  // A message older than every window is dropped: engagement then is
  // unknown, and the preview is refused rather than guessed.
  ProfileMutation sent = [](engine::Profile* p) {
    return p->MessageSent("m-1", kT0 - absl::Hours(24 * 900));
  };
  ASSERT_TRUE(live_->Apply("acme", {CustomerEvents{"old", {sent}}}).ok());
  deltas = PreviewConfig(&store_, contexts_.get(), live_.get(), "acme", engine::SegmentConfig(),
                         kT0 - absl::Hours(24 * 800), /*at_now=*/false);
  EXPECT_EQ(deltas.status().code(), absl::StatusCode::kOutOfRange) << deltas.status();
  EXPECT_TRUE(absl::StartsWith(deltas.status().message(), "as_of: ")) << deltas.status();
}

// A profile that cannot be decoded fails the preview (DATA_LOSS), naming
// what is wrong, rather than counting around it.
TEST_F(ConfigPreviewTest, ACorruptProfileIsDataLoss) {
  ASSERT_TRUE(live_->Apply("acme", {CustomerEvents{"c1", {Order("o1", 1, {})}}}).ok());
  store::CustomerWrite corrupt;
  corrupt.customer_id = "c2";
  corrupt.profile = "not a profile";
  ASSERT_TRUE(store_.Write("acme", {corrupt}).ok());
  absl::StatusOr<std::map<std::string, SegmentDelta>> deltas =
      PreviewConfig(&store_, contexts_.get(), live_.get(), "acme", engine::SegmentConfig(), kT0,
                    /*at_now=*/false);
  EXPECT_EQ(deltas.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(deltas.status().message().find("profile"), std::string::npos) << deltas.status();
}

// At now, with the stored membership the stored config's, only the
// customers the change can move are read and the current sizes are the
// stored ones; the answer is the same as classifying everyone.
TEST_F(ConfigPreviewTest, AtNowOnlyTheCustomersAChangeCanMoveAreReadForTheSameAnswer) {
  absl::StatusOr<std::vector<engine::CategoryId>> ids =
      contexts_->InternCategories("acme", {"a", "b", "c", "d"});
  ASSERT_TRUE(ids.ok()) << ids.status();
  constexpr int kCustomers = 1400;
  std::vector<CustomerEvents> customers;
  for (int i = 0; i < kCustomers; ++i) {
    const std::string c = absl::StrCat("c", i);
    CustomerEvents events{c, {}};
    if (i % 7 == 0) {
      const absl::Time at = kT0 - absl::Hours(24) * (i % 40);
      events.mutations.push_back([at](engine::Profile* p) { return p->Register(at); });
    }
    for (int k = 0; k < i % 7; ++k) {
      events.mutations.push_back(Order(absl::StrCat(c, "-", k), (i * 13 + k * 17) % 400,
                                       {(*ids)[(i + k) % 4]}, 500 + (i * 37 + k * 101) % 20000));
    }
    customers.push_back(std::move(events));
  }
  ASSERT_TRUE(live_->Apply("acme", std::move(customers)).ok());
  // The statistics of the population as written, and membership under them
  // (what the StatisticsMover keeps in production): the snapshot the writes
  // used was loaded before any customer existed.
  ASSERT_TRUE(contexts_->Reload("acme").ok());
  ASSERT_TRUE(live_->ReevaluateAll("acme", store::ChangeCause::kStatistics).ok());
  store_.TakeProfilesRead();

  std::vector<std::pair<std::string, engine::SegmentConfig>> proposals;
  proposals.emplace_back("stored", engine::SegmentConfig());
  for (engine::Preset preset : {engine::Preset::kGrocery, engine::Preset::kFastFood}) {
    proposals.emplace_back(std::string(engine::PresetName(preset)), engine::PresetConfig(preset));
  }
  engine::SegmentConfig frequent;
  frequent.frequent_buyer.min_orders = 2;
  proposals.emplace_back("frequent_buyer.min_orders", frequent);
  engine::SegmentConfig vip;
  vip.vip.top_percent = vip.vip.top_percent / 2;
  proposals.emplace_back("vip.top_percent", vip);
  engine::SegmentConfig lapsed;
  lapsed.lapsed.inactive_days = 30;
  proposals.emplace_back("lapsed.inactive_days", lapsed);
  engine::SegmentConfig categories;
  categories.category_affinity.min_orders = 1;
  proposals.emplace_back("category_affinity.min_orders", categories);

  for (const auto& [name, proposed] : proposals) {
    SCOPED_TRACE(name);
    absl::StatusOr<std::map<std::string, SegmentDelta>> everyone =
        PreviewConfig(&store_, contexts_.get(), live_.get(), "acme", proposed, kT0, false);
    ASSERT_TRUE(everyone.ok()) << everyone.status();
    const size_t all_read = store_.TakeProfilesRead().size();
    EXPECT_EQ(all_read, static_cast<size_t>(kCustomers));
    absl::StatusOr<std::map<std::string, SegmentDelta>> candidates =
        PreviewConfig(&store_, contexts_.get(), live_.get(), "acme", proposed, kT0, true);
    ASSERT_TRUE(candidates.ok()) << candidates.status();
    const size_t candidates_read = store_.TakeProfilesRead().size();
    EXPECT_EQ(*candidates, *everyone);
    if (name == "stored") {
      EXPECT_EQ(candidates_read, 0u);
      for (const auto& [segment, d] : *candidates) {
        EXPECT_EQ(d.current, d.proposed) << segment;
        EXPECT_EQ(d.entering + d.leaving, 0) << segment;
      }
    } else if (name != "GROCERY" && name != "FAST_FOOD") {
      EXPECT_LT(candidates_read, all_read);  // presets move rules no bound covers
    }
  }
}

// A category interned (by another replica) since this replica's snapshot was
// loaded has no name here, so no stored set to count from: the preview at
// now falls back to classifying everyone, and answers as that does.
TEST_F(ConfigPreviewTest, ACategoryTheSnapshotCannotNameFallsBackToClassifyingEveryone) {
  TenantContexts::Options stale;
  stale.max_age = absl::Hours(1000);  // never refreshed by age
  stale.now = [] { return kT0; };
  TenantContexts mine(&store_, stale);
  ASSERT_TRUE(mine.Get("acme").ok());  // a snapshot with an empty dictionary
  absl::StatusOr<std::vector<engine::CategoryId>> hats =
      contexts_->InternCategories("acme", {"hats"});
  ASSERT_TRUE(hats.ok()) << hats.status();
  ASSERT_TRUE(live_
                  ->Apply("acme", {CustomerEvents{"c1", {Order("o1", 3, *hats)}},
                                   CustomerEvents{"c2", {Order("o2", 3, {})}}})
                  .ok());
  engine::SegmentConfig proposed;
  proposed.category_affinity.min_orders = 1;
  absl::StatusOr<std::map<std::string, SegmentDelta>> at_now =
      PreviewConfig(&store_, &mine, live_.get(), "acme", proposed, kT0, /*at_now=*/true);
  ASSERT_TRUE(at_now.ok()) << at_now.status();
  // The candidates (both buyers), then everyone.
  EXPECT_EQ(store_.TakeProfilesRead(), (std::vector<std::string>{"c1", "c1", "c2", "c2"}));
  absl::StatusOr<std::map<std::string, SegmentDelta>> everyone =
      PreviewConfig(&store_, &mine, live_.get(), "acme", proposed, kT0, /*at_now=*/false);
  ASSERT_TRUE(everyone.ok()) << everyone.status();
  EXPECT_EQ(*at_now, *everyone);
  ASSERT_TRUE(at_now->count("category:#0"));
  EXPECT_EQ(at_now->at("category:#0").entering, 1);
}

}  // namespace
}  // namespace segmentd

#include "server/live/tenant_context.h"

#include <gtest/gtest.h>

#include "segmentd/v1/config.pb.h"
#include "server/config_convert.h"
#include "store/memory_customer_store.h"

namespace segmentd {
namespace {

// Counts dictionary round trips.
class CountingStore : public store::MemoryCustomerStore {
 public:
  absl::StatusOr<std::vector<uint16_t>> InternCategories(
      absl::string_view tenant, absl::Span<const std::string> names) override {
    ++interns;
    return MemoryCustomerStore::InternCategories(tenant, names);
  }
  int interns = 0;
};

TEST(TenantContextsTest, DefaultsWhenNoConfigIsStored) {
  store::MemoryCustomerStore store;
  TenantContexts contexts(&store, {});
  absl::StatusOr<std::shared_ptr<const TenantSnapshot>> snapshot = contexts.Get("acme");
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  EXPECT_EQ((*snapshot)->config_version, 0);
  EXPECT_EQ((*snapshot)->config.frequent_buyer.min_orders, 5);
  EXPECT_EQ((*snapshot)->stats.buyers, 0);
}

TEST(TenantContextsTest, StoredConfigIsLoadedWithItsVersion) {
  store::MemoryCustomerStore store;
  engine::SegmentConfig config;
  config.frequent_buyer.min_orders = 9;
  ASSERT_TRUE(store.WriteConfig("acme", 0, ConfigToProto(config).SerializeAsString(),
                                absl::UnixEpoch())
                  .ok());
  TenantContexts contexts(&store, {});
  absl::StatusOr<std::shared_ptr<const TenantSnapshot>> snapshot = contexts.Get("acme");
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  EXPECT_EQ((*snapshot)->config_version, 1);
  EXPECT_EQ((*snapshot)->config.frequent_buyer.min_orders, 9);
}

TEST(TenantContextsTest, GetCurrentSeesAConfigStoredByAnotherReplicaAtOnce) {
  store::MemoryCustomerStore store;
  TenantContexts contexts(&store, {});  // max_age 1 s: Get() keeps its copy
  ASSERT_TRUE(contexts.Get("acme").ok());
  engine::SegmentConfig config;
  config.frequent_buyer.min_orders = 9;
  // Another replica's UpdateConfig: straight to the store, this cache unaware.
  ASSERT_TRUE(store.WriteConfig("acme", 0, ConfigToProto(config).SerializeAsString(),
                                absl::UnixEpoch())
                  .ok());
  absl::StatusOr<std::shared_ptr<const TenantSnapshot>> cached = contexts.Get("acme");
  ASSERT_TRUE(cached.ok()) << cached.status();
  EXPECT_EQ((*cached)->config_version, 0);
  absl::StatusOr<std::shared_ptr<const TenantSnapshot>> current = contexts.GetCurrent("acme");
  ASSERT_TRUE(current.ok()) << current.status();
  EXPECT_EQ((*current)->config_version, 1);
  EXPECT_EQ((*current)->config.frequent_buyer.min_orders, 9);
  // Unchanged config: the cached snapshot is returned, no reload.
  absl::StatusOr<std::shared_ptr<const TenantSnapshot>> again = contexts.GetCurrent("acme");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->get(), current->get());
}

TEST(TenantContextsTest, CorruptStoredConfigIsDataLoss) {
  store::MemoryCustomerStore store;
  ASSERT_TRUE(store.WriteConfig("acme", 0, "\\xff not a proto", absl::UnixEpoch()).ok());
  TenantContexts contexts(&store, {});
  EXPECT_EQ(contexts.Get("acme").status().code(), absl::StatusCode::kDataLoss);
}

TEST(TenantContextsTest, KnownCategoriesCostNoRoundTrip) {
  CountingStore store;
  TenantContexts contexts(&store, {});
  absl::StatusOr<std::vector<engine::CategoryId>> first =
      contexts.InternCategories("acme", {"shoes", "hats"});
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(*first, (std::vector<engine::CategoryId>{0, 1}));
  EXPECT_EQ(store.interns, 1);
  absl::StatusOr<std::vector<engine::CategoryId>> again =
      contexts.InternCategories("acme", {"hats", "shoes", "hats"});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, (std::vector<engine::CategoryId>{1, 0, 1}));
  EXPECT_EQ(store.interns, 1);
  // A new name goes to the store, and the dictionary learns it.
  EXPECT_EQ(*contexts.InternCategories("acme", {"shoes", "tea"}),
            (std::vector<engine::CategoryId>{0, 2}));
  EXPECT_EQ(store.interns, 2);
  EXPECT_EQ((*contexts.Get("acme"))->category_names->at(2), "tea");
}

// KnownCategoryIds answers only from a snapshot Get would return without a
// read, and only for names it holds; otherwise it says a read is needed.
TEST(TenantContextsTest, KnownCategoryIdsNeverReadTheStore) {
  CountingStore store;
  absl::Time now = absl::FromUnixSeconds(1'700'000'000);
  TenantContexts::Options options;
  options.now = [&now] { return now; };
  TenantContexts contexts(&store, options);
  EXPECT_FALSE(contexts.KnownCategoryIds("acme", {"shoes"}).has_value());  // nothing loaded
  ASSERT_TRUE(contexts.InternCategories("acme", {"shoes", "hats"}).ok());
  EXPECT_EQ(contexts.KnownCategoryIds("acme", {"hats", "shoes"}),
            (std::vector<engine::CategoryId>{1, 0}));
  EXPECT_FALSE(contexts.KnownCategoryIds("acme", {"shoes", "tea"}).has_value());
  now += options.max_age;  // stale: Get would reload
  EXPECT_FALSE(contexts.KnownCategoryIds("acme", {"shoes"}).has_value());
  EXPECT_EQ(store.interns, 1);
}

TEST(TenantContextsTest, IssuedSnapshotsAreRetiredOnceUnused) {
  store::MemoryCustomerStore store;
  TenantContexts contexts(&store, {});
  std::shared_ptr<const TenantSnapshot> held = *contexts.Get("acme");
  ASSERT_TRUE(contexts.Reload("acme").ok());
  ASSERT_TRUE(contexts.Reload("acme").ok());
  EXPECT_EQ(contexts.Issued("acme").size(), 3u);
  // [held, unheld, current]: only the middle one is settled.
  std::vector<const TenantSnapshot*> settled = contexts.Settled("acme");
  ASSERT_EQ(settled.size(), 1u);
  EXPECT_NE(settled[0], held.get());
  // A holder that lets go after Settled() (a write committing after the
  // caller's reads) keeps its snapshot for the next round.
  const TenantSnapshot* was_held = held.get();
  held.reset();
  ASSERT_TRUE(contexts.Retire("acme", settled).ok());
  std::vector<std::shared_ptr<const TenantSnapshot>> issued = contexts.Issued("acme");
  ASSERT_EQ(issued.size(), 2u);
  EXPECT_EQ(issued[0].get(), was_held);
  issued.clear();
  // Next round: now it is settled too; the current one never is.
  settled = contexts.Settled("acme");
  ASSERT_EQ(settled.size(), 1u);
  EXPECT_EQ(settled[0], was_held);
  // Snapshots issued after Settled() stay, even unheld.
  ASSERT_TRUE(contexts.Reload("acme").ok());
  ASSERT_TRUE(contexts.Reload("acme").ok());
  ASSERT_TRUE(contexts.Retire("acme", settled).ok());
  EXPECT_EQ(contexts.Issued("acme").size(), 3u);
  ASSERT_TRUE(contexts.Retire("acme", contexts.Settled("acme")).ok());
  EXPECT_EQ(contexts.Issued("acme").size(), 1u);
}

}  // namespace
}  // namespace segmentd

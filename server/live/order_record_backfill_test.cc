#include "server/live/order_record_backfill.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/profile.h"
#include "engine/profile_codec.h"
#include "server/live/live_test_fixture.h"
#include "server/live/test_orders.h"
#include "server/live/transition_scheduler.h"
#include "store/redis_customer_store.h"
#include "testing/redis_test_client.h"

namespace segmentd {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1'750'000'000);

// A tenant whose customers were stored before the order record existed:
// c1 (o1, o2), c2 (o3), c3 (o4 and, folded, o0: a year older than every
// window), then the record forgotten.
class OrderRecordBackfillTest : public LiveTestFixture {
 protected:
  OrderRecordBackfillTest() : LiveTestFixture(kT0) {}

  void SetUp() override {
    ASSERT_TRUE(Place("c1", {Order("o1", kT0 - absl::Hours(2), 100),
                             Order("o2", kT0 - absl::Hours(1), 100)})
                    .ok());
    ASSERT_TRUE(Place("c2", {Order("o3", kT0 - absl::Hours(1), 100)}).ok());
    ASSERT_TRUE(Place("c3", {Order("o0", kT0 - absl::Hours(24 * 800), 100),
                             Order("o4", kT0 - absl::Hours(1), 100)})
                    .ok());
    store_.ForgetOrderRecord("acme");
  }

  // Applies `events` to `customer`; returns the first event's status.
  absl::Status Place(const std::string& customer, std::vector<ProfileMutation> events) {
    absl::StatusOr<std::vector<CustomerOutcome>> out =
        live_->Apply("acme", {CustomerEvents{customer, std::move(events)}});
    EXPECT_TRUE(out.ok()) << out.status();
    if (!out.ok()) return out.status();
    EXPECT_TRUE((*out)[0].commit.ok()) << (*out)[0].commit;
    return (*out)[0].events[0].status;
  }

  uint32_t OrdinalOf(const std::string& customer) {
    return (*store_.Read("acme", {customer}))[0].ordinal;
  }

  std::vector<uint32_t> Owners(const std::vector<std::string>& orders) {
    std::vector<uint64_t> fingerprints;
    for (const std::string& id : orders) fingerprints.push_back(engine::IdFingerprint(id));
    return *store_.OrderOwners("acme", fingerprints);
  }
};

TEST_F(OrderRecordBackfillTest, RecordsEveryStoredOrderPageByPage) {
  EXPECT_EQ(Owners({"o1", "o3"}), (std::vector<uint32_t>{0, 0}));
  OrderRecordBackfill backfill(&store_);
  ASSERT_EQ(*backfill.Step("acme", 2), false);  // c1, c2
  EXPECT_EQ(Owners({"o1", "o2", "o3", "o4"}),
            (std::vector<uint32_t>{OrdinalOf("c1"), OrdinalOf("c1"), OrdinalOf("c2"), 0}));
  EXPECT_EQ(*store_.OrdersUnrecordedFrom("acme"), std::optional<uint32_t>(3));
  ASSERT_EQ(*backfill.Step("acme", 2), false);  // c3, the last
  EXPECT_EQ(Owners({"o4", "o0"}), (std::vector<uint32_t>{OrdinalOf("c3"), OrdinalOf("c3")}));
  EXPECT_EQ(*store_.OrdersUnrecordedFrom("acme"), std::nullopt);
  EXPECT_EQ(*backfill.Step("acme", 2), true);
  EXPECT_EQ(*backfill.Step("other", 2), true);  // no customer: nothing to fill

  // An old order, folded or not, is now refused for another customer, and
  // still a duplicate for its own.
  EXPECT_EQ(Place("c9", {Order("o0", kT0, 100)}).code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(Place("c2", {Order("o1", kT0, 100)}).code(), absl::StatusCode::kAlreadyExists);
  EXPECT_TRUE(Place("c1", {Order("o1", kT0, 100)}).ok());
  // c1 and c3; c2 and c9 placed nothing more.
  EXPECT_EQ(store_.SegmentSize("acme", "REPEAT_CUSTOMER").value_or(-1), 2);
  EXPECT_EQ(*store_.CustomerCount("acme"), 3);
}

// An id stored for two customers before ids were unique per tenant stays
// the first recorded customer's; a customer whose profile cannot be decoded
// is skipped; neither stops the record from completing.
TEST_F(OrderRecordBackfillTest, KeepsTheFirstOwnerAndSkipsWhatCannotBeDecoded) {
  ASSERT_TRUE(Place("c4", {Order("o3", kT0, 100)}).ok());  // the record is empty: accepted
  store::CustomerWrite corrupt;
  corrupt.customer_id = "c5";
  corrupt.profile = "not a profile";
  corrupt.changed_at = kT0;
  ASSERT_EQ(*store_.Write("acme", {corrupt}), std::vector<bool>{true});
  // c4's write recorded o3 against c4; recording c2 (earlier ordinal)
  // later finds it taken and keeps c4.
  OrderRecordBackfill backfill(&store_);
  int steps = 0;
  while (!*backfill.Step("acme", 1)) ASSERT_LT(++steps, 10);
  EXPECT_EQ(steps, 5);  // c1..c5, one page each
  EXPECT_EQ(Owners({"o3", "o4"}), (std::vector<uint32_t>{OrdinalOf("c4"), OrdinalOf("c3")}));
  EXPECT_EQ(backfill.Step("acme", 0).status().code(), absl::StatusCode::kInvalidArgument);
}

// Only the leading replica's scheduler fills the record, after its other
// work, within the recheck slice.
TEST_F(OrderRecordBackfillTest, TheLeadingSchedulerFillsTheRecord) {
  OrderRecordBackfill backfill(&store_);
  auto tenants = [] {
    return absl::StatusOr<std::vector<std::string>>(std::vector<std::string>{"acme", "other"});
  };
  TransitionScheduler::Options options;
  options.now = [this] { return now_; };
  options.backfills = {&backfill};
  options.batch = 1;
  options.leading = [] { return false; };
  TransitionScheduler follower(&store_, live_.get(), tenants, options);
  ASSERT_TRUE(follower.RunOnce().ok());
  EXPECT_EQ(*store_.OrdersUnrecordedFrom("acme"), std::optional<uint32_t>(1));
  options.leading = [] { return true; };
  TransitionScheduler leader(&store_, live_.get(), tenants, options);
  ASSERT_TRUE(leader.RunOnce().ok());
  EXPECT_EQ(*store_.OrdersUnrecordedFrom("acme"), std::nullopt);
  EXPECT_EQ(Owners({"o4"}), std::vector<uint32_t>{OrdinalOf("c3")});
}

// The same against Redis, from what a store before the record left: one
// customer whose stored ordinal cannot be read (so the page read fails)
// is skipped, the others recorded, a short last page completes the record.
TEST(OrderRecordBackfillRedisTest, SkipsAnUnreadableCustomerAndCompletes) {
  absl::StatusOr<RedisStoreForTest> redis = StartRedisStore();
  ASSERT_TRUE(redis.ok()) << redis.status();
  store::redis::RedisClient& client = *redis->redis.client;
  store::RedisCustomerStore& store = *redis->store;
  std::vector<store::CustomerWrite> writes;
  for (int i = 1; i <= 5; ++i) {
    engine::Profile profile;
    const std::string order = absl::StrCat("o", i);
    ASSERT_TRUE(profile.PlaceOrder({order, kT0, 100, {}}).ok());
    store::CustomerWrite w;
    w.customer_id = absl::StrCat("c", i);
    w.profile = engine::EncodeProfile(profile);
    w.changed_at = kT0;
    writes.push_back(std::move(w));  // no placed_orders: as a store before the record
  }
  ASSERT_EQ(*store.Write("acme", writes), std::vector<bool>(5, true));
  ASSERT_TRUE(client.Command({"DEL", "sd:{acme}:oid:complete"}).ok());
  ASSERT_TRUE(client.Command({"HSET", "sd:{acme}:c:c2", "o", "not a number"}).ok());

  OrderRecordBackfill backfill(&store);
  ASSERT_EQ(*backfill.Step("acme", 3), false);  // c1, c2 (skipped), c3
  ASSERT_EQ(*backfill.Step("acme", 3), false);  // c4, c5: the last page
  ASSERT_EQ(*backfill.Step("acme", 3), true);
  EXPECT_EQ(*store.OrdersUnrecordedFrom("acme"), std::nullopt);
  std::vector<uint64_t> orders;
  for (int i = 1; i <= 5; ++i) orders.push_back(engine::IdFingerprint(absl::StrCat("o", i)));
  EXPECT_EQ(*store.OrderOwners("acme", orders), (std::vector<uint32_t>{1, 0, 3, 4, 5}));
}

}  // namespace
}  // namespace segmentd

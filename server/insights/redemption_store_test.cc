#include "server/insights/redemption_store.h"

#include <gtest/gtest.h>

#include "testing/redis_server.h"
#include "testing/redis_test_client.h"

namespace segmentd {
namespace {

class RedemptionStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<testing::RedisWithClient> redis = testing::StartRedisWithClient();
    ASSERT_TRUE(redis.ok()) << redis.status();
    redis_ = *std::move(redis);
    ASSERT_TRUE(testing::RegisterTenant(redis_.client.get(), "acme").ok());
    store_ = std::make_unique<RedemptionStore>(redis_.client.get());
  }

  testing::RedisWithClient redis_;
  std::unique_ptr<RedemptionStore> store_;
};

TEST_F(RedemptionStoreTest, EachOrderRedeemsOnceAndArmsAreCounted) {
  const absl::Time t = absl::FromUnixSeconds(1'750'000'000);
  EXPECT_TRUE(*store_->Record("acme", "v1", "o1", "alice", "offer", t));
  EXPECT_FALSE(*store_->Record("acme", "v1", "o1", "alice", "offer", t));  // replay
  // The same order for another customer is a conflict, not a replay.
  EXPECT_EQ(store_->Record("acme", "v1", "o1", "mallory", "offer", t).status().code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_TRUE(*store_->Record("acme", "v1", "o2", "bob", "holdout", t));
  EXPECT_TRUE(*store_->Record("acme", "v1", "o3", "carol", "offer", t));
  EXPECT_TRUE(*store_->Record("acme", "v2", "o1", "alice", "", t));  // another voucher
  std::map<std::string, int64_t> v1 = *store_->Counts("acme", "v1", t);
  EXPECT_EQ(v1, (std::map<std::string, int64_t>{{"holdout", 1}, {"offer", 2}}));
  EXPECT_EQ(*store_->Counts("acme", "v2", t), (std::map<std::string, int64_t>{{"", 1}}));
  // The counters hash holds arms only: a build before the latest
  // redemption's instant was kept sums every field as an arm (code review).
  absl::StatusOr<store::redis::RedisReply> fields =
      redis_.client->Command({"HLEN", "sd:{acme}:redeemcount:v1"});
  ASSERT_TRUE(fields.ok()) << fields.status();
  EXPECT_EQ(fields->integer(), 2);
  EXPECT_TRUE(store_->Counts("globex", "v1", t)->empty());
  EXPECT_TRUE(store_->Counts("acme", "none", t)->empty());
}

// A Redis that lost the tenant's data (FLUSHALL) refuses the redemption and
// records nothing.
TEST_F(RedemptionStoreTest, CountsUntilAnInstantReadEveryPage) {
  const absl::Time t = absl::FromUnixMillis(1'750'000'000'000);
  // More records than one HSCAN page; customer ids with spaces and newlines,
  // arms with spaces and none.
  std::map<std::string, int64_t> until_t;
  for (int i = 0; i < 3 * RedemptionStore::kScanCount; ++i) {
    const std::string arm = i % 3 == 0 ? "" : (i % 3 == 1 ? "offer a" : "hold out");
    const absl::Time at = t + absl::Milliseconds(i % 5 - 2);  // t-2ms .. t+2ms
    ASSERT_TRUE(*store_->Record("acme", "v", absl::StrCat("o", i),
                                absl::StrCat("cust ", i, "\nline two"), arm, at));
    if (at <= t) ++until_t[arm];
  }
  EXPECT_EQ(*store_->CountsUntil("acme", "v", t), until_t);
  EXPECT_EQ(*store_->CountsUntil("acme", "v", t + absl::Milliseconds(2)),
            *store_->Counts("acme", "v", t + absl::Milliseconds(2)));
  // Before the latest one, the counters are not read: redemptions dated
  // after `now` do not count yet (a reviewer's finding).
  EXPECT_EQ(*store_->Counts("acme", "v", t), until_t);
  EXPECT_TRUE(store_->CountsUntil("acme", "v", t - absl::Milliseconds(3))->empty());
  EXPECT_TRUE(store_->CountsUntil("acme", "none", t)->empty());
}

TEST_F(RedemptionStoreTest, ARedisThatLostTheTenantRefusesRedemptions) {
  ASSERT_TRUE(redis_.client->Command({"FLUSHALL"}).ok());
  EXPECT_EQ(store_->Record("acme", "v1", "o1", "a", "", absl::Now()).status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(redis_.client->Command({"DBSIZE"})->integer(), 0);
}

// The latest instant's key of another type (not segmentd's) fails the
// script before it records anything (Redis does not undo a script's earlier
// commands; code review).
TEST_F(RedemptionStoreTest, AnUnusableLatestKeyRecordsNothing) {
  const absl::Time t = absl::FromUnixSeconds(1'750'000'000);
  ASSERT_TRUE(redis_.client->Command({"HSET", "sd:{acme}:redeemlatest:v", "x", "1"}).ok());
  EXPECT_FALSE(store_->Record("acme", "v", "o1", "alice", "", t).ok());
  absl::StatusOr<store::redis::RedisReply> held =
      redis_.client->Command({"EXISTS", "sd:{acme}:redeemed:v", "sd:{acme}:redeemcount:v"});
  ASSERT_TRUE(held.ok()) << held.status();
  EXPECT_EQ(held->integer(), 0);
}

TEST_F(RedemptionStoreTest, RedisDownIsUnavailable) {
  ASSERT_TRUE(redis_.server->Kill().ok());
  EXPECT_EQ(store_->Record("acme", "v1", "o1", "a", "", absl::Now()).status().code(),
            absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace segmentd

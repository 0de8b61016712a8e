#include "server/targeting/voucher_store.h"

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/field_error.h"
#include "server/targeting/expression.h"
#include "store/tenant_presence.h"
#include "testing/redis_command_stats.h"
#include "testing/redis_test_client.h"

namespace segmentd::targeting {
namespace {

using ::segmentd::testing::RedisWithClient;
using ::segmentd::testing::StartRedisWithClient;

class VoucherStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<RedisWithClient> redis = StartRedisWithClient();
    ASSERT_TRUE(redis.ok()) << redis.status();
    redis_ = *std::move(redis);
    ASSERT_TRUE(testing::RegisterTenant(redis_.client.get(), "acme").ok());
    VoucherStore::Options store_options;
    store_options.max_vouchers = 50;
    store_options.read_page = 7;
    store_ = std::make_unique<VoucherStore>(redis_.client.get(), store_options);
  }

  static v1::VoucherTarget Target(const std::string& id, const std::string& segment) {
    v1::VoucherTarget t;
    t.set_voucher_id(id);
    t.mutable_expression()->set_segment(segment);
    return t;
  }

  RedisWithClient redis_;
  std::unique_ptr<VoucherStore> store_;
};

TEST_F(VoucherStoreTest, PutGetDelete) {
  const std::string odd_id = std::string("a}:b\n\0c", 7);
  ASSERT_TRUE(store_->Put("acme", Target(odd_id, "VIP")).ok());
  absl::StatusOr<v1::VoucherTarget> got = store_->Get("acme", odd_id);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->expression().segment(), "VIP");
  ASSERT_TRUE(store_->Put("acme", Target(odd_id, "LAPSED")).ok());
  EXPECT_EQ(store_->Get("acme", odd_id)->expression().segment(), "LAPSED");
  EXPECT_EQ(store_->Get("other", odd_id).status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(store_->Delete("acme", odd_id).ok());
  EXPECT_EQ(store_->Delete("acme", odd_id).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->Get("acme", odd_id).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(FieldOf(store_->Put("acme", Target(std::string(129, 'x'), "VIP"))), "voucher_id");
  EXPECT_EQ(store_->Get("Bad Tenant", "x").status().code(), absl::StatusCode::kInvalidArgument);
}

// While Redis is over its maxmemory a target cannot be stored, but one can be
// deleted, which frees memory: an operator's way back under the limit.
TEST_F(VoucherStoreTest, OverMaxmemoryPutIsRefusedAndDeleteWorks) {
  ASSERT_TRUE(store_->Put("acme", Target("v1", "VIP")).ok());
  store::redis::RedisClient& redis = *redis_.client;
  ASSERT_TRUE(redis.Command({"CONFIG", "SET", "maxmemory-policy", "noeviction"}).ok());
  ASSERT_TRUE(redis.Command({"CONFIG", "SET", "maxmemory", "1"}).ok());
  const absl::Status put = store_->Put("acme", Target("v2", "VIP"));
  const absl::Status deleted = store_->Delete("acme", "v1");
  ASSERT_TRUE(redis.Command({"CONFIG", "SET", "maxmemory", "0"}).ok());
  EXPECT_EQ(put.code(), absl::StatusCode::kResourceExhausted) << put;
  EXPECT_TRUE(deleted.ok()) << deleted;
  EXPECT_EQ(store_->Get("acme", "v1").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->Get("acme", "v2").status().code(), absl::StatusCode::kNotFound);
}

// Put stores what it is given (the service validates first), so it can leave
// what damage or another writer could: each read of such a target, one by id
// or all of the tenant's, is DATA_LOSS, never a target used as it is.
TEST_F(VoucherStoreTest, DamagedStoredTargetsAreDataLoss) {
  v1::VoucherTarget deep = Target("deep", "VIP");
  v1::TargetExpression* e = deep.mutable_expression();
  for (int i = 0; i <= kMaxExpressionDepth; ++i) e = e->mutable_none_of()->add_children();
  e->set_segment("VIP");
  v1::VoucherTarget weightless = Target("weightless", "VIP");
  weightless.add_arms()->set_name("offer");  // weight 0
  for (const v1::VoucherTarget& damaged : {deep, weightless}) {
    SCOPED_TRACE(damaged.voucher_id());
    ASSERT_TRUE(store_->Put("acme", damaged).ok());
    absl::StatusOr<v1::VoucherTarget> got = store_->Get("acme", damaged.voucher_id());
    EXPECT_EQ(got.status().code(), absl::StatusCode::kDataLoss) << got.status();
    EXPECT_THAT(got.status().message(), ::testing::HasSubstr("is not valid"));
    EXPECT_EQ(store_->All("acme").status().code(), absl::StatusCode::kDataLoss);
    ASSERT_TRUE(store_->Delete("acme", damaged.voucher_id()).ok());
  }
  // Bytes that do not parse, and another voucher's target.
  ASSERT_TRUE(store_->Put("acme", Target("a", "VIP")).ok());
  ASSERT_TRUE(store_->Put("acme", Target("b", "VIP")).ok());
  ASSERT_TRUE(
      redis_.client->Command({"HSET", "sd:{acme}:vouchers", "a", std::string("\xff\x01", 2)}).ok());
  ASSERT_TRUE(
      redis_.client
          ->Command({"HSET", "sd:{acme}:vouchers", "b", Target("c", "VIP").SerializeAsString()})
          .ok());
  EXPECT_THAT(store_->Get("acme", "a").status().message(), ::testing::HasSubstr("does not parse"));
  EXPECT_THAT(store_->Get("acme", "b").status().message(),
              ::testing::HasSubstr("another voucher id"));
  EXPECT_EQ(store_->Get("acme", "b").status().code(), absl::StatusCode::kDataLoss);
}

int64_t Calls(store::redis::RedisClient& client, const std::string& command) {
  return segmentd::testing::CommandCalls(client, command);
}

// A Redis that lost the tenant's data (FLUSHALL) refuses a target and
// stores nothing; a tenant registered by an older build (no presence key)
// gets its key on the first put.
TEST_F(VoucherStoreTest, ARedisThatLostTheTenantRefusesTargets) {
  ASSERT_TRUE(redis_.client->Command({"FLUSHALL"}).ok());
  EXPECT_EQ(store_->Put("acme", Target("v1", "VIP")).code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(redis_.client->Command({"DBSIZE"})->integer(), 0);
  ASSERT_TRUE(redis_.client->Command({"SADD", store::kTenantsKey, "acme"}).ok());
  ASSERT_TRUE(store_->Put("acme", Target("v1", "VIP")).ok());
  EXPECT_EQ(store_->Get("acme", "v1")->expression().segment(), "VIP");
}

TEST_F(VoucherStoreTest, GetIsCachedPerVersionAndSeesOtherWriters) {
  ASSERT_TRUE(store_->Put("acme", Target("v1", "VIP")).ok());
  ASSERT_EQ(store_->Get("acme", "v1")->expression().segment(), "VIP");
  const int64_t hgets = Calls(*redis_.client, "hget");
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(store_->Get("acme", "v1")->expression().segment(), "VIP");
  }
  EXPECT_EQ(Calls(*redis_.client, "hget"), hgets);  // Unchanged version: from the cache.
  // A caller holding another version (its read began earlier) is answered
  // from Redis, not from the entry of the version it did not see.
  ASSERT_EQ(store_->GetAt("acme", "v1", "0")->expression().segment(), "VIP");
  EXPECT_EQ(Calls(*redis_.client, "hget"), hgets + 1);

  // Another segmentd (its own store and cache) replaces, then deletes it.
  VoucherStore other(redis_.client.get(), {});
  ASSERT_TRUE(other.Put("acme", Target("v1", "LAPSED")).ok());
  EXPECT_EQ(store_->Get("acme", "v1")->expression().segment(), "LAPSED");
  ASSERT_TRUE(other.Delete("acme", "v1").ok());
  EXPECT_EQ(store_->Get("acme", "v1").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(VoucherStoreTest, VersionKnownWithinOnlyFromRecentReadsAndNotAcrossLocalWrites) {
  const absl::Time before_read = absl::Now();
  EXPECT_EQ(store_->VersionKnownWithin("acme", absl::InfiniteDuration()), std::nullopt);  // No read yet.
  absl::StatusOr<std::string> v0 = store_->ReadVersion("acme");
  ASSERT_TRUE(v0.ok()) << v0.status();
  const absl::Time after_read = absl::Now();
  EXPECT_EQ(store_->VersionKnownWithin("acme", absl::Now() - before_read), *v0);
  // A read older than asked for: no answer.
  EXPECT_EQ(store_->VersionKnownWithin("acme", absl::Now() - after_read - absl::Milliseconds(1)),
            std::nullopt);
  EXPECT_EQ(store_->VersionKnownWithin("other", absl::InfiniteDuration()), std::nullopt);

  // A Put through this store: what the read learned no longer counts, even
  // for an old `since`, until the version is read again.
  ASSERT_TRUE(store_->Put("acme", Target("v1", "VIP")).ok());
  EXPECT_EQ(store_->VersionKnownWithin("acme", absl::InfiniteDuration()), std::nullopt);
  absl::StatusOr<std::string> v1 = store_->ReadVersion("acme");
  ASSERT_TRUE(v1.ok()) << v1.status();
  EXPECT_NE(*v1, *v0);
  EXPECT_EQ(store_->VersionKnownWithin("acme", absl::Now() - after_read), *v1);
  // A failed Delete may have landed too.
  EXPECT_EQ(store_->Delete("acme", "missing").code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->VersionKnownWithin("acme", absl::InfiniteDuration()), std::nullopt);

  // Another writer's Put is only seen by the next read (bounded staleness).
  ASSERT_TRUE(store_->ReadVersion("acme").ok());
  VoucherStore other(redis_.client.get(), {});
  ASSERT_TRUE(other.Put("acme", Target("v2", "VIP")).ok());
  std::optional<std::string> known = store_->VersionKnownWithin("acme", absl::InfiniteDuration());
  ASSERT_TRUE(known.has_value());
  absl::StatusOr<std::string> v2 = store_->ReadVersion("acme");
  ASSERT_TRUE(v2.ok()) << v2.status();
  EXPECT_NE(*v2, *known);
  EXPECT_EQ(store_->VersionKnownWithin("acme", absl::InfiniteDuration()), *v2);
}

TEST_F(VoucherStoreTest, ListPagesEveryTargetOnceInOrder) {
  for (int i = 0; i < 23; ++i) {
    ASSERT_TRUE(store_->Put("acme", Target(absl::StrCat("v", 100 + i), "VIP")).ok());
  }
  std::vector<std::string> seen;
  std::string token;
  int pages = 0;
  do {
    absl::StatusOr<VoucherPage> page = store_->List("acme", 5, token);
    ASSERT_TRUE(page.ok()) << page.status();
    EXPECT_LE(page->targets.size(), 5u);
    for (const auto& t : page->targets) seen.push_back(t.voucher_id());
    token = page->next_page_token;
    ++pages;
  } while (!token.empty());
  EXPECT_EQ(pages, 5);
  ASSERT_EQ(seen.size(), 23u);
  for (int i = 0; i < 23; ++i) EXPECT_EQ(seen[i], absl::StrCat("v", 100 + i));
  EXPECT_EQ(FieldOf(store_->List("acme", 5, "!!!").status()), "page_token");
  // Words that happen to be base64 are not tokens either (a limits reviewer's
  // "garbage" read as a place to start and listed nothing).
  EXPECT_EQ(FieldOf(store_->List("acme", 5, "garbage").status()), "page_token");
  EXPECT_EQ(FieldOf(store_->List("acme", 5, "AAAA").status()), "page_token");
}

TEST_F(VoucherStoreTest, AllIsCachedAndSeesChanges) {
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(store_->Put("acme", Target(absl::StrCat("v", i), "VIP")).ok());
  }
  auto all = store_->All("acme");
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ((*all)->size(), 20u);
  auto again = store_->All("acme");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->get(), all->get());  // Served from the cache.
  ASSERT_TRUE(store_->Delete("acme", "v3").ok());
  auto after = store_->All("acme");
  ASSERT_TRUE(after.ok());
  EXPECT_EQ((*after)->size(), 19u);
}

TEST_F(VoucherStoreTest, TenantLimit) {
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(store_->Put("acme", Target(absl::StrCat("v", i), "VIP")).ok());
  }
  EXPECT_EQ(store_->Put("acme", Target("one-too-many", "VIP")).code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(store_->Put("acme", Target("v7", "LAPSED")).ok());  // Replacing is fine.
}

TEST_F(VoucherStoreTest, UnavailableWhenRedisIsDown) {
  ASSERT_TRUE(redis_.server->Kill().ok());
  EXPECT_EQ(store_->Get("acme", "v").status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(store_->Put("acme", Target("v", "VIP")).code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace segmentd::targeting

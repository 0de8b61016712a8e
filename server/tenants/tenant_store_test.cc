// One contract, two implementations: every case runs against the in-memory
// fake and against RedisTenantStore on a real redis-server.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "server/tenants/memory_tenant_store.h"
#include "server/tenants/redis_tenant_store.h"
#include "testing/redis_test_client.h"

namespace segmentd {
namespace {

using v1::SCOPE_ADMIN;
using v1::SCOPE_READ;

class TenantStoreTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    if (GetParam()) {
      absl::StatusOr<testing::RedisWithClient> redis = testing::StartRedisWithClient();
      ASSERT_TRUE(redis.ok()) << redis.status();
      redis_ = *std::move(redis);
      store_ = std::make_unique<RedisTenantStore>(redis_.client.get());
    } else {
      store_ = std::make_unique<MemoryTenantStore>();
    }
  }

  ApiKeyRecord Key(const std::string& id, const std::string& tenant, int64_t created_s) {
    return ApiKeyRecord{id,           tenant, "name " + id, {SCOPE_READ, SCOPE_ADMIN},
                        "hash-" + id, absl::FromUnixSeconds(created_s), std::nullopt};
  }

  testing::RedisWithClient redis_;
  std::unique_ptr<TenantStore> store_;
};

TEST_P(TenantStoreTest, CreateGetListTenants) {
  ASSERT_TRUE(store_->CreateTenant({"zeta", "Zeta Ltd", absl::FromUnixSeconds(10)}).ok());
  ASSERT_TRUE(store_->CreateTenant({"acme", "Acme: {x}", absl::FromUnixSeconds(20)}).ok());
  absl::StatusOr<TenantRecord> acme = store_->GetTenant("acme");
  ASSERT_TRUE(acme.ok()) << acme.status();
  EXPECT_EQ(acme->display_name, "Acme: {x}");
  EXPECT_EQ(acme->created_at, absl::FromUnixSeconds(20));
  absl::StatusOr<std::vector<TenantRecord>> all = store_->ListTenants();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].tenant_id, "acme");
  EXPECT_EQ((*all)[1].tenant_id, "zeta");
  absl::StatusOr<std::vector<std::string>> ids = store_->ListTenantIds();
  ASSERT_TRUE(ids.ok()) << ids.status();
  EXPECT_EQ(*ids, (std::vector<std::string>{"acme", "zeta"}));
}

TEST_P(TenantStoreTest, ListTenantIdsReadsEveryPage) {
  // More than one SSCAN page of the Redis store (1000).
  std::vector<std::string> want;
  for (int i = 0; i < 2500; ++i) {
    want.push_back(absl::StrCat("t", i));
    ASSERT_TRUE(store_->CreateTenant({want.back(), "", absl::FromUnixSeconds(1)}).ok());
  }
  std::sort(want.begin(), want.end());
  absl::StatusOr<std::vector<std::string>> ids = store_->ListTenantIds();
  ASSERT_TRUE(ids.ok()) << ids.status();
  EXPECT_EQ(*ids, want);
}

TEST_P(TenantStoreTest, DuplicateTenantIsAlreadyExistsAndKeepsTheFirst) {
  ASSERT_TRUE(store_->CreateTenant({"acme", "First", absl::FromUnixSeconds(1)}).ok());
  EXPECT_EQ(store_->CreateTenant({"acme", "Second", absl::FromUnixSeconds(2)}).code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(store_->GetTenant("acme")->display_name, "First");
}

TEST_P(TenantStoreTest, MissingTenantIsNotFound) {
  EXPECT_EQ(store_->GetTenant("nobody").status().code(), absl::StatusCode::kNotFound);
}

TEST_P(TenantStoreTest, KeysRoundTrip) {
  ASSERT_TRUE(store_->CreateTenant({"acme", "Acme", absl::FromUnixSeconds(1)}).ok());
  ASSERT_TRUE(store_->CreateApiKey(Key("00000000000000bb", "acme", 200)).ok());
  ASSERT_TRUE(store_->CreateApiKey(Key("00000000000000aa", "acme", 100)).ok());
  absl::StatusOr<ApiKeyRecord> key = store_->GetApiKey("00000000000000bb");
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_EQ(key->tenant_id, "acme");
  EXPECT_EQ(key->name, "name 00000000000000bb");
  EXPECT_EQ(key->secret_hash, "hash-00000000000000bb");
  EXPECT_EQ(key->scopes, (std::vector<v1::Scope>{SCOPE_READ, SCOPE_ADMIN}));
  EXPECT_EQ(key->created_at, absl::FromUnixSeconds(200));
  EXPECT_FALSE(key->revoked_at.has_value());
  absl::StatusOr<std::vector<ApiKeyRecord>> keys = store_->ListApiKeys("acme");
  ASSERT_TRUE(keys.ok());
  ASSERT_EQ(keys->size(), 2u);
  EXPECT_EQ((*keys)[0].key_id, "00000000000000aa");  // older first
  EXPECT_EQ((*keys)[1].key_id, "00000000000000bb");
}

TEST_P(TenantStoreTest, KeyOfMissingTenantIsNotFound) {
  EXPECT_EQ(store_->CreateApiKey(Key("00000000000000aa", "ghost", 1)).code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->GetApiKey("00000000000000aa").status().code(), absl::StatusCode::kNotFound);
}

TEST_P(TenantStoreTest, KeysAreListedPerTenant) {
  ASSERT_TRUE(store_->CreateTenant({"acme", "Acme", absl::FromUnixSeconds(1)}).ok());
  ASSERT_TRUE(store_->CreateTenant({"globex", "Globex", absl::FromUnixSeconds(1)}).ok());
  ASSERT_TRUE(store_->CreateApiKey(Key("00000000000000aa", "acme", 1)).ok());
  ASSERT_TRUE(store_->CreateApiKey(Key("00000000000000bb", "globex", 1)).ok());
  EXPECT_EQ(store_->ListApiKeys("acme")->size(), 1u);
  EXPECT_EQ(store_->ListApiKeys("globex")->front().key_id, "00000000000000bb");
  EXPECT_TRUE(store_->ListApiKeys("nobody")->empty());
}

TEST_P(TenantStoreTest, RevokeKeepsFirstInstantAndChecksTenant) {
  ASSERT_TRUE(store_->CreateTenant({"acme", "Acme", absl::FromUnixSeconds(1)}).ok());
  ASSERT_TRUE(store_->CreateTenant({"globex", "Globex", absl::FromUnixSeconds(1)}).ok());
  ASSERT_TRUE(store_->CreateApiKey(Key("00000000000000aa", "acme", 1)).ok());
  EXPECT_EQ(store_->RevokeApiKey("globex", "00000000000000aa", absl::FromUnixSeconds(5))
                .status()
                .code(),
            absl::StatusCode::kNotFound);
  EXPECT_FALSE(store_->GetApiKey("00000000000000aa")->revoked_at.has_value());
  absl::StatusOr<ApiKeyRecord> revoked =
      store_->RevokeApiKey("acme", "00000000000000aa", absl::FromUnixSeconds(5));
  ASSERT_TRUE(revoked.ok()) << revoked.status();
  EXPECT_EQ(revoked->revoked_at, absl::FromUnixSeconds(5));
  revoked = store_->RevokeApiKey("acme", "00000000000000aa", absl::FromUnixSeconds(9));
  ASSERT_TRUE(revoked.ok());
  EXPECT_EQ(revoked->revoked_at, absl::FromUnixSeconds(5));
  EXPECT_EQ(store_->RevokeApiKey("acme", "00000000000000cc", absl::FromUnixSeconds(5))
                .status()
                .code(),
            absl::StatusCode::kNotFound);
}

INSTANTIATE_TEST_SUITE_P(Stores, TenantStoreTest, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Redis" : "Memory";
                         });

TEST(ValidateTenantIdTest, AcceptsAndRejects) {
  EXPECT_TRUE(ValidateTenantId("acme", "tenant_id").ok());
  EXPECT_TRUE(ValidateTenantId("a-b_c9", "tenant_id").ok());
  EXPECT_TRUE(ValidateTenantId(std::string(63, 'a'), "tenant_id").ok());
  for (const std::string& bad : {std::string(""), std::string(64, 'a'), std::string("Acme"),
                                std::string("-acme"), std::string("a:b"), std::string("a{b}"),
                                std::string("a b"), std::string("a\nb")}) {
    absl::Status status = ValidateTenantId(bad, "tenant.tenant_id");
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(status.message().find("tenant.tenant_id"), absl::string_view::npos);
  }
}

}  // namespace
}  // namespace segmentd

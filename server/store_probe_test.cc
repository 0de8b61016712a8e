#include "server/store_probe.h"

#include <gtest/gtest.h>

#include <string>

#include "absl/status/status.h"
#include "server/tenants/redis_tenant_store.h"
#include "testing/redis_test_client.h"

namespace segmentd {
namespace {

using store::redis::RedisReply;

class StoreProbeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<testing::RedisWithClient> redis = testing::StartRedisWithClient();
    ASSERT_TRUE(redis.ok()) << redis.status();
    redis_ = *std::move(redis);
  }

  RedisReply Run(std::vector<std::string> argv) {
    absl::StatusOr<RedisReply> reply = redis_.client->Command(argv);
    EXPECT_TRUE(reply.ok()) << reply.status();
    return reply.ok() ? *reply : RedisReply();
  }

  testing::RedisWithClient redis_;
};

TEST_F(StoreProbeTest, ProcessesStartingOnOneStoreAgreeOnItsMark) {
  StoreProbe first(redis_.client.get());
  StoreProbe second(redis_.client.get());
  EXPECT_TRUE(first.Probe().ok());
  const std::string mark = Run({"GET", kStoreMarkKey}).str();
  EXPECT_EQ(mark.size(), 32u);
  EXPECT_TRUE(second.Probe().ok());
  EXPECT_TRUE(first.Probe().ok());
  EXPECT_EQ(Run({"GET", kStoreMarkKey}).str(), mark);
}

TEST_F(StoreProbeTest, AStoreThatLostItsDataIsDataLossUntilItsMarkIsBack) {
  StoreProbe probe(redis_.client.get());
  ASSERT_TRUE(probe.Probe().ok());
  const std::string mark = Run({"GET", kStoreMarkKey}).str();

  Run({"FLUSHALL"});
  absl::Status lost = probe.Probe();
  EXPECT_EQ(lost.code(), absl::StatusCode::kDataLoss) << lost;
  EXPECT_NE(lost.message().find("is gone"), absl::string_view::npos) << lost;
  EXPECT_EQ(probe.Lost().code(), absl::StatusCode::kDataLoss);
  // The probe does not adopt the empty store by marking it itself.
  EXPECT_TRUE(Run({"GET", kStoreMarkKey}).is_nil());

  // A process started now adopts the empty store; the old one still refuses.
  StoreProbe restarted(redis_.client.get());
  EXPECT_TRUE(restarted.Probe().ok());
  lost = probe.Probe();
  EXPECT_EQ(lost.code(), absl::StatusCode::kDataLoss) << lost;
  EXPECT_NE(lost.message().find("now "), absl::string_view::npos) << lost;

  // The store's own data restored: usable again.
  Run({"SET", kStoreMarkKey, mark});
  EXPECT_TRUE(probe.Probe().ok());
  EXPECT_TRUE(probe.Lost().ok());
}

// Tenants still stored but no mark: the mark was lost, not the data (a
// Redis saving snapshots only, restarted before one held the mark). The mark
// this process knows is written back; nothing is refused.
TEST_F(StoreProbeTest, AMarkLostWhileTenantsAreStoredIsWrittenBack) {
  StoreProbe probe(redis_.client.get());
  ASSERT_TRUE(probe.Probe().ok());
  const std::string mark = Run({"GET", kStoreMarkKey}).str();
  Run({"SADD", kTenantsKey, "acme"});
  Run({"DEL", kStoreMarkKey});
  EXPECT_TRUE(probe.Probe().ok());
  EXPECT_TRUE(probe.Lost().ok());
  EXPECT_EQ(Run({"GET", kStoreMarkKey}).str(), mark);
  // Without tenants it is a loss.
  Run({"DEL", kStoreMarkKey, kTenantsKey});
  EXPECT_EQ(probe.Probe().code(), absl::StatusCode::kDataLoss);
}

TEST_F(StoreProbeTest, AReplicaIsUnavailableAndAnOutageKeepsWhatWasKnown) {
  StoreProbe probe(redis_.client.get());
  ASSERT_TRUE(probe.Probe().ok());
  // A replica of a master that does not answer: ROLE says "slave" at once.
  Run({"REPLICAOF", "127.0.0.1", "1"});
  EXPECT_EQ(probe.Probe().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(probe.Lost().ok());
  Run({"REPLICAOF", "NO", "ONE"});
  EXPECT_TRUE(probe.Probe().ok());

  Run({"DEL", kStoreMarkKey});
  EXPECT_EQ(probe.Probe().code(), absl::StatusCode::kDataLoss);
  redis_.server.reset();  // Redis gone: unreachable, and still known lost
  EXPECT_EQ(probe.Probe().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(probe.Lost().code(), absl::StatusCode::kDataLoss);
}

TEST_F(StoreProbeTest, ARedisThatMayEvictOrIsFullCannotServe) {
  StoreProbe probe(redis_.client.get());
  ASSERT_TRUE(probe.Probe().ok());
  // maxmemory without eviction is fine while there is room.
  Run({"CONFIG", "SET", "maxmemory", "1gb"});
  EXPECT_TRUE(probe.Probe().ok());
  // Any evicting policy: keys could vanish without an error.
  for (const char* policy : {"allkeys-lru", "volatile-ttl", "allkeys-random"}) {
    Run({"CONFIG", "SET", "maxmemory-policy", policy});
    const absl::Status status = probe.Probe();
    EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition) << policy;
    EXPECT_NE(status.message().find(policy), absl::string_view::npos) << status;
  }
  Run({"CONFIG", "SET", "maxmemory-policy", "noeviction"});
  EXPECT_TRUE(probe.Probe().ok());
  // Over maxmemory: every write fails OOM.
  Run({"CONFIG", "SET", "maxmemory", "1"});
  const absl::Status full = probe.Probe();
  EXPECT_EQ(full.code(), absl::StatusCode::kResourceExhausted) << full;
  EXPECT_NE(full.message().find("Redis is full"), absl::string_view::npos) << full;
  // Without a limit, any policy is harmless.
  Run({"CONFIG", "SET", "maxmemory", "0"});
  Run({"CONFIG", "SET", "maxmemory-policy", "allkeys-lru"});
  EXPECT_TRUE(probe.Probe().ok());
  EXPECT_TRUE(probe.Lost().ok());
}

}  // namespace
}  // namespace segmentd

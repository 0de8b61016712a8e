#include "server/live/scheduler_lease.h"

#include <memory>

#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "store/redis/redis_address.h"
#include "store/redis/redis_client.h"
#include "testing/redis_server.h"

namespace segmentd {
namespace {

using store::redis::RedisAddress;
using store::redis::RedisClient;
using testing::RedisServer;

class SchedulerLeaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<RedisServer>> server = RedisServer::Start({});
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    RedisClient::Options options;
    options.address = RedisAddress::Unix(server_->socket_path());
    absl::StatusOr<std::unique_ptr<RedisClient>> client = RedisClient::Create(options);
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = *std::move(client);
  }

  std::unique_ptr<RedisServer> server_;
  std::unique_ptr<RedisClient> client_;
};

TEST_F(SchedulerLeaseTest, OneHolderAtATimeAndItRenews) {
  SchedulerLease a(client_.get(), absl::Seconds(30));
  SchedulerLease b(client_.get(), absl::Seconds(30));
  EXPECT_NE(a.id(), b.id());
  EXPECT_TRUE(a.Held());
  EXPECT_FALSE(b.Held());
  EXPECT_TRUE(a.Held());
  EXPECT_FALSE(b.Held());
}

TEST_F(SchedulerLeaseTest, AnotherReplicaTakesOverWhenTheHolderStopsRenewing) {
  SchedulerLease a(client_.get(), absl::Milliseconds(200));
  SchedulerLease b(client_.get(), absl::Milliseconds(200));
  ASSERT_TRUE(a.Held());
  // `a` stops renewing (its replica died): within its time to live, b takes it.
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  bool taken = false;
  while (!taken && absl::Now() < deadline) {
    taken = b.Held();
    if (!taken) absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_TRUE(taken);
  EXPECT_FALSE(a.Held());
}

TEST_F(SchedulerLeaseTest, ReleaseHandsItOverAtOnceAndOnlyByItsHolder) {
  SchedulerLease a(client_.get(), absl::Seconds(30));
  SchedulerLease b(client_.get(), absl::Seconds(30));
  ASSERT_TRUE(a.Held());
  b.Release();  // not b's to give up
  EXPECT_FALSE(b.Held());
  a.Release();
  EXPECT_TRUE(b.Held());
}

TEST_F(SchedulerLeaseTest, NotHeldWhileRedisIsDown) {
  SchedulerLease a(client_.get(), absl::Seconds(30));
  ASSERT_TRUE(a.Held());
  ASSERT_TRUE(server_->Kill().ok());
  EXPECT_FALSE(a.Held());
}

}  // namespace
}  // namespace segmentd

#include "server/targeting/freshness_gate.h"

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"
#include "server/targeting/put_segments.h"
#include "store/redis/redis_client.h"
#include "store/redis_customer_store.h"
#include "testing/redis_command_stats.h"
#include "testing/redis_server.h"
#include "testing/redis_test_client.h"

namespace segmentd::targeting {
namespace {

class FreshnessGateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<testing::RedisServer>> redis = testing::RedisServer::Start({});
    ASSERT_TRUE(redis.ok()) << redis.status();
    redis_ = *std::move(redis);
    store::redis::RedisClient::Options options;
    options.max_backoff = absl::Milliseconds(100);
    for (auto* client : {&client_, &tail_client_}) {
      auto c = testing::ConnectClient(*redis_, options);
      ASSERT_TRUE(c.ok()) << c.status();
      *client = *std::move(c);
    }
    ASSERT_TRUE(testing::RegisterTenant(client_.get(), "acme").ok());
    auto s = store::RedisCustomerStore::Create(client_.get(), {});
    auto t = store::RedisCustomerStore::Create(tail_client_.get(), {});
    ASSERT_TRUE(s.ok() && t.ok());
    store_ = *std::move(s);
    tail_store_ = *std::move(t);
    vouchers_ = std::make_unique<VoucherStore>(client_.get(), VoucherStore::Options());
    MembershipIndex::Options index_options;
    index_options.catch_up_wait = absl::Milliseconds(300);
    index_ = std::make_unique<MembershipIndex>(store_.get(), tail_store_.get(), index_options);
    gate_ = std::make_unique<FreshnessGate>(index_.get(), vouchers_.get());
  }

  void TearDown() override {
    gate_.reset();  // Before what it points at.
    index_.reset();
  }

  // Runs WhenFresh and waits for its continuation's result: whether `id` is
  // in `segment` and the target of voucher "v" (its segment), as seen then.
  struct Seen {
    absl::Status status;
    bool member = false;
    std::string voucher_segment;
  };
  Seen Check(const std::string& id, const std::string& segment) {
    Seen seen;
    absl::Notification done;
    gate_->WhenFresh("acme", [&](absl::StatusOr<FreshnessGate::Fresh> fresh) {
      seen.status = fresh.status();
      if (fresh.ok()) {
        seen.status = index_->Read("acme", /*fresh=*/false, [&](const MembershipIndex::View& v) {
          const std::optional<uint32_t> ordinal = v.OrdinalOf(id);
          seen.member = ordinal.has_value() && v.Contains(segment, *ordinal);
        });
        absl::StatusOr<v1::VoucherTarget> t = vouchers_->GetAt("acme", "v", fresh->voucher_version);
        if (t.ok()) seen.voucher_segment = t->expression().segment();
      }
      done.Notify();
    });
    done.WaitForNotification();
    return seen;
  }

  int64_t Calls(const std::string& command) {
    return segmentd::testing::CommandCalls(*client_, command);
  }

  static v1::VoucherTarget Target(const std::string& segment) {
    v1::VoucherTarget t;
    t.set_voucher_id("v");
    t.mutable_expression()->set_segment(segment);
    return t;
  }

  std::unique_ptr<testing::RedisServer> redis_;
  std::unique_ptr<store::redis::RedisClient> client_, tail_client_;
  std::unique_ptr<store::CustomerStore> store_, tail_store_;
  std::unique_ptr<VoucherStore> vouchers_;
  std::unique_ptr<MembershipIndex> index_;
  std::unique_ptr<FreshnessGate> gate_;
};

// Whatever was acknowledged before WhenFresh (membership and voucher targets,
// whoever wrote them) is seen by the continuation, without waiting for the
// index's tail to come round by itself.
TEST_F(FreshnessGateTest, ContinuationSeesEveryEarlierWrite) {
  PutSegments(*store_, "acme", "a", {"VIP"});
  ASSERT_TRUE(vouchers_->Put("acme", Target("VIP")).ok());
  Seen first = Check("a", "VIP");
  ASSERT_TRUE(first.status.ok()) << first.status;
  EXPECT_TRUE(first.member);
  EXPECT_EQ(first.voucher_segment, "VIP");
  VoucherStore other(client_.get(), {});  // Another segmentd's store.
  for (int i = 0; i < 20; ++i) {
    const bool vip = i % 2 == 1;
    PutSegments(*store_, "acme", "a",
                vip ? std::vector<std::string>{"VIP"} : std::vector<std::string>{"LAPSED"});
    ASSERT_TRUE(other.Put("acme", Target(vip ? "VIP" : "LAPSED")).ok());
    Seen seen = Check("a", "VIP");
    ASSERT_TRUE(seen.status.ok()) << seen.status;
    EXPECT_EQ(seen.member, vip) << "round " << i;
    EXPECT_EQ(seen.voucher_segment, vip ? "VIP" : "LAPSED") << "round " << i;
  }
}

// Calls queued while a round is running share the next round's reads, and
// every continuation runs exactly once.
TEST_F(FreshnessGateTest, QueuedCallsShareOneRound) {
  PutSegments(*store_, "acme", "a", {"VIP"});
  ASSERT_TRUE(Check("a", "VIP").status.ok());  // Index loaded.
  absl::Notification all_queued;
  std::atomic<int> ran{0}, ok{0};
  auto count = [&](absl::StatusOr<FreshnessGate::Fresh> fresh) {
    ok += fresh.ok();
    ++ran;
  };
  const int64_t reads_before = Calls("xrevrange");
  gate_->WhenFresh("acme", [&](absl::StatusOr<FreshnessGate::Fresh> fresh) {
    all_queued.WaitForNotification();  // Holds the worker in round 1.
    count(fresh);
  });
  constexpr int kCalls = 200;
  for (int i = 1; i < kCalls; ++i) gate_->WhenFresh("acme", count);
  all_queued.Notify();
  ASSERT_TRUE(Check("a", "VIP").status.ok());  // Queued last: runs after all.
  EXPECT_EQ(ran.load(), kCalls);
  EXPECT_EQ(ok.load(), kCalls);
  // However the worker's wake-ups fell (it may take calls queued before it
  // first ran into round 1): at most round 1 (the first call), round 2 (the
  // other 199) and round 3 (Check), never a read per call.
  const int64_t reads = Calls("xrevrange") - reads_before;
  EXPECT_GE(reads, 1);
  EXPECT_LE(reads, 3);
}

TEST_F(FreshnessGateTest, OverloadIsRefusedNotQueuedWithoutBound) {
  PutSegments(*store_, "acme", "a", {"VIP"});
  FreshnessGate small(index_.get(), vouchers_.get(), /*max_queued=*/4);
  absl::Notification inside, release;
  std::atomic<int> ok{0}, exhausted{0}, answered{0};
  auto count = [&](absl::StatusOr<FreshnessGate::Fresh> fresh) {
    if (fresh.ok()) ++ok;
    if (fresh.status().code() == absl::StatusCode::kResourceExhausted) ++exhausted;
    ++answered;
  };
  small.WhenFresh("acme", [&](absl::StatusOr<FreshnessGate::Fresh> fresh) {
    inside.Notify();
    release.WaitForNotification();  // Holds the worker: the rest queue up.
    count(std::move(fresh));
  });
  inside.WaitForNotification();
  for (int i = 0; i < 7; ++i) small.WhenFresh("acme", count);
  EXPECT_EQ(exhausted.load(), 3);  // 4 queued, 3 refused at once
  release.Notify();
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (answered.load() < 8 && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(1));
  EXPECT_EQ(ok.load(), 5);
}

TEST_F(FreshnessGateTest, FailsClosedWhileRedisIsDown) {
  PutSegments(*store_, "acme", "a", {"VIP"});
  ASSERT_TRUE(Check("a", "VIP").status.ok());
  ASSERT_TRUE(redis_->Kill().ok());
  Seen seen = Check("a", "VIP");
  EXPECT_EQ(seen.status.code(), absl::StatusCode::kUnavailable) << seen.status;
  EXPECT_FALSE(seen.member);
}

TEST_F(FreshnessGateTest, IdleRoundsKeepTheVoucherVersionFreshWhileTheTenantIsInUse) {
  FreshnessGate keeping(index_.get(), vouchers_.get(), FreshnessGate::kDefaultMaxQueued,
                        /*keep_fresh_every=*/absl::Milliseconds(30));
  absl::Notification done;
  keeping.WhenFresh("acme", [&](absl::StatusOr<FreshnessGate::Fresh>) { done.Notify(); });
  done.WaitForNotification();
  // Nothing else is queued, yet the version keeps being read: it is never
  // older than a few idle rounds.
  // (Margins wide enough for a loaded CI machine: rounds every 30 ms, the
  // version must be no older than 500 ms after 700 ms of idling.)
  for (int i = 0; i < 3; ++i) {
    absl::SleepFor(absl::Milliseconds(700));
    EXPECT_TRUE(vouchers_->VersionKnownWithin("acme", absl::Milliseconds(500)).has_value());
  }
  // The default gate (no keep_fresh_every) lets it age.
  absl::Notification other;
  gate_->WhenFresh("other", [&](absl::StatusOr<FreshnessGate::Fresh>) { other.Notify(); });
  other.WaitForNotification();
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_FALSE(vouchers_->VersionKnownWithin("other", absl::Milliseconds(200)).has_value());
}

TEST_F(FreshnessGateTest, ShutdownRunsEveryQueuedContinuationOnce) {
  std::atomic<int> ran{0};
  for (int i = 0; i < 50; ++i) {
    gate_->WhenFresh(absl::StrCat("t", i % 3), [&](absl::StatusOr<FreshnessGate::Fresh>) { ++ran; });
  }
  gate_.reset();
  EXPECT_EQ(ran.load(), 50);
}

}  // namespace
}  // namespace segmentd::targeting

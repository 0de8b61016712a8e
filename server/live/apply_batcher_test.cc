#include "server/live/apply_batcher.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "engine/profile_codec.h"
#include "server/live/live_test_fixture.h"
#include "server/live/test_orders.h"

namespace segmentd {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1'750'000'000);
// Every order is placed an hour before the clock, so each one counts in the
// lifetime totals read at kT0.
const absl::Time kPlacedAt = kT0 - absl::Hours(1);

// The clock stays at kT0: no test moves it, so the batcher's worker threads
// only ever read `now_`.
class ApplyBatcherTest : public LiveTestFixture {
 protected:
  ApplyBatcherTest() : LiveTestFixture(kT0) {
    batcher_ = std::make_unique<ApplyBatcher>(live_.get(), ApplyBatcher::Options());
  }

  // Submits and waits for the outcome.
  absl::StatusOr<CustomerOutcome> Apply(const std::string& tenant, CustomerEvents events) {
    absl::StatusOr<CustomerOutcome> out;
    absl::Notification done;
    batcher_->Submit(tenant, std::move(events), [&](absl::StatusOr<CustomerOutcome> o) {
      out = std::move(o);
      done.Notify();
    });
    done.WaitForNotification();
    return out;
  }

  engine::LifetimeTotals Lifetime(const std::string& tenant, const std::string& id) {
    const store::CustomerState state = (*store_.Read(tenant, {id}))[0];
    absl::StatusOr<engine::Profile> profile = engine::DecodeProfile(state.profile);
    EXPECT_TRUE(profile.ok()) << profile.status();
    return engine::ComputeLifetime(profile->view(), absl::ToUnixMillis(kT0));
  }

  // Destroyed before the fixture's members (it belongs to the derived
  // class), so its workers stop while live_ still exists.
  std::unique_ptr<ApplyBatcher> batcher_;
};

// Many callers at once, several per customer and tenant: every event lands
// exactly once, each caller hears about its own events, and a replayed order
// is a duplicate whichever batch it fell in.
TEST_F(ApplyBatcherTest, ConcurrentCallersEachGetTheirOwnOutcome) {
  constexpr int kThreads = 8, kPerThread = 40;
  std::atomic<int> applied{0}, duplicates{0}, failed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const std::string tenant = t % 2 ? "acme" : "bolt";
        const std::string customer = absl::StrCat("c", i % 5);
        // Threads t and t + 4 send the same order ids (same tenant and
        // customer): one of each pair is a
        // duplicate.
        const std::string order = absl::StrCat("o", t % 4, "-", i);
        absl::StatusOr<CustomerOutcome> out =
            Apply(tenant, CustomerEvents{customer, {Order(order, kPlacedAt, 10)}});
        if (!out.ok() || out->events.size() != 1 || !out->events[0].status.ok()) {
          ++failed;
          continue;
        }
        EXPECT_TRUE(out->after.found);
        (out->events[0].outcome == engine::EventOutcome::kApplied ? applied : duplicates)++;
      }
    });
  }
  for (std::thread& th : threads) th.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(applied.load(), kThreads * kPerThread / 2);
  EXPECT_EQ(duplicates.load(), kThreads * kPerThread / 2);
  int64_t orders = 0;
  for (const std::string tenant : {"acme", "bolt"}) {
    for (int c = 0; c < 5; ++c) orders += Lifetime(tenant, absl::StrCat("c", c)).orders;
  }
  EXPECT_EQ(orders, kThreads * kPerThread / 2);
}

// A customer's events are applied in submission order, while many customers
// of one tenant are spread over the workers: each cancel, submitted right
// after its order without waiting, finds the order there.
TEST_F(ApplyBatcherTest, OneCustomersEventsApplyInSubmissionOrder) {
  constexpr int kCustomers = 64;
  absl::Mutex mu;
  int answered = 0, failed = 0;
  auto done = [&](absl::StatusOr<CustomerOutcome> out) {
    absl::MutexLock lock(&mu);
    ++answered;
    if (!out.ok() || !out->commit.ok() || out->events.size() != 1 ||
        !out->events[0].status.ok() || out->events[0].outcome != engine::EventOutcome::kApplied) {
      ++failed;
    }
  };
  for (int c = 0; c < kCustomers; ++c) {
    const std::string customer = absl::StrCat("c", c);
    const std::string order = customer + "-o";  // order ids are unique per tenant
    batcher_->Submit("acme", CustomerEvents{customer, {Order(order, kPlacedAt, 10)}}, done);
    batcher_->Submit(
        "acme",
        CustomerEvents{customer, {[order](engine::Profile* p) { return p->CancelOrder(order); }}},
        done);
  }
  absl::MutexLock lock(&mu);
  mu.Await(absl::Condition(+[](int* n) { return *n == 2 * kCustomers; }, &answered));
  EXPECT_EQ(failed, 0);
  for (int c = 0; c < kCustomers; ++c) {
    EXPECT_EQ(Lifetime("acme", absl::StrCat("c", c)).orders, 0) << c;
  }
}

// An event the engine refuses fails only its own caller, even when it was
// committed in the same batch as other callers' events for the same customer.
TEST_F(ApplyBatcherTest, ARefusedEventFailsOnlyItsCaller) {
  ProfileMutation refuse = [](engine::Profile*) -> absl::StatusOr<engine::EventOutcome> {
    return absl::InvalidArgumentError("event.amount: must be >= 0");
  };
  std::vector<absl::StatusOr<CustomerOutcome>> outs(3);
  absl::Notification all;
  std::atomic<int> left{3};
  auto record = [&](int i) {
    return [&, i](absl::StatusOr<CustomerOutcome> o) {
      outs[i] = std::move(o);
      if (--left == 0) all.Notify();
    };
  };
  batcher_->Submit("acme", CustomerEvents{"c", {Order("a", kPlacedAt, 10)}}, record(0));
  batcher_->Submit("acme", CustomerEvents{"c", {refuse}}, record(1));
  batcher_->Submit("acme", CustomerEvents{"c", {Order("b", kPlacedAt, 10)}}, record(2));
  all.WaitForNotification();
  for (int i : {0, 2}) {
    ASSERT_TRUE(outs[i].ok()) << outs[i].status();
    EXPECT_TRUE(outs[i]->events[0].status.ok()) << i;
  }
  ASSERT_TRUE(outs[1].ok());
  EXPECT_EQ(outs[1]->events[0].status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Lifetime("acme", "c").orders, 2);
}

TEST_F(ApplyBatcherTest, OverloadIsRefusedNotQueuedWithoutBound) {
  ApplyBatcher::Options options;
  options.workers = 1;
  options.max_queued = 5;
  ApplyBatcher small(live_.get(), options);
  // Hold the worker inside a commit so that submissions pile up.
  absl::Notification inside, release;
  ProfileMutation hold = [&](engine::Profile* p) -> absl::StatusOr<engine::EventOutcome> {
    if (!inside.HasBeenNotified()) inside.Notify();
    release.WaitForNotification();
    return engine::EventOutcome::kApplied;
  };
  std::atomic<int> ok{0}, exhausted{0}, answered{0};
  auto count = [&](absl::StatusOr<CustomerOutcome> o) {
    if (o.ok()) ++ok;
    if (o.status().code() == absl::StatusCode::kResourceExhausted) ++exhausted;
    ++answered;
  };
  small.Submit("acme", CustomerEvents{"held", {hold}}, count);
  inside.WaitForNotification();
  for (int i = 0; i < 8; ++i) {
    small.Submit("acme",
                 CustomerEvents{absl::StrCat("c", i), {Order(absl::StrCat("o", i), kPlacedAt, 10)}},
                 count);
  }
  EXPECT_EQ(exhausted.load(), 3);  // 5 queued, 3 refused at once
  release.Notify();
  while (answered.load() < 9) absl::SleepFor(absl::Milliseconds(1));
  EXPECT_EQ(ok.load(), 6);
}

// An order id another customer placed first fails only its own caller, in
// a commit merged with other callers' events for the same customer.
TEST_F(ApplyBatcherTest, ATakenOrderIdFailsOnlyItsCallerInAMergedCommit) {
  ASSERT_TRUE(Apply("acme", CustomerEvents{"other", {Order("taken", kPlacedAt, 10)}}).ok());
  ApplyBatcher::Options options;
  options.workers = 1;
  ApplyBatcher one(live_.get(), options);
  absl::Notification inside, release;
  ProfileMutation hold = [&](engine::Profile*) -> absl::StatusOr<engine::EventOutcome> {
    if (!inside.HasBeenNotified()) inside.Notify();
    release.WaitForNotification();
    return engine::EventOutcome::kIgnored;
  };
  std::vector<absl::StatusOr<CustomerOutcome>> outs(4);
  std::atomic<int> answered{0};
  auto record = [&](int i) {
    return [&, i](absl::StatusOr<CustomerOutcome> o) {
      outs[i] = std::move(o);
      ++answered;
    };
  };
  // The worker is held inside this commit while the next three queue, so
  // they are merged into one commit for "c".
  one.Submit("acme", CustomerEvents{"held", {hold}}, record(0));
  inside.WaitForNotification();
  one.Submit("acme", CustomerEvents{"c", {[](engine::Profile* p) { return p->Register(kT0); }}},
             record(1));
  one.Submit("acme", CustomerEvents{"c", {Order("taken", kPlacedAt, 10)}}, record(2));
  one.Submit("acme", CustomerEvents{"c", {Order("mine", kPlacedAt, 10)}}, record(3));
  release.Notify();
  while (answered.load() < 4) absl::SleepFor(absl::Milliseconds(1));
  for (int i : {1, 3}) {
    ASSERT_TRUE(outs[i].ok()) << outs[i].status();
    EXPECT_TRUE(outs[i]->events[0].status.ok()) << i << ": " << outs[i]->events[0].status;
  }
  ASSERT_TRUE(outs[2].ok()) << outs[2].status();
  EXPECT_EQ(outs[2]->events[0].status.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(Lifetime("acme", "c").orders, 1);
  EXPECT_EQ(*store_.OrderOwners("acme", {engine::IdFingerprint("mine")}),
            std::vector<uint32_t>{(*store_.Read("acme", {"c"}))[0].ordinal});
}

TEST_F(ApplyBatcherTest, ShutdownAnswersEverySubmissionOnce) {
  std::atomic<int> answered{0};
  for (int i = 0; i < 100; ++i) {
    batcher_->Submit(
        "acme", CustomerEvents{absl::StrCat("c", i), {Order(absl::StrCat("o", i), kPlacedAt, 10)}},
        [&](absl::StatusOr<CustomerOutcome>) { ++answered; });
  }
  batcher_.reset();
  EXPECT_EQ(answered.load(), 100);
}

}  // namespace
}  // namespace segmentd

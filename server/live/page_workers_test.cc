#include "server/live/page_workers.h"

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace segmentd {
namespace {

std::vector<std::string> Page(int p) {
  std::vector<std::string> ids;
  for (int i = 0; i < 10; ++i) ids.push_back(absl::StrCat(p, "-", i));
  return ids;
}

TEST(PageWorkersTest, EveryPageHandedOverIsWorkedOnceAcrossTheThreads) {
  absl::Mutex mu;
  absl::flat_hash_set<std::string> seen;
  int repeated = 0;
  PageWorkers workers(3, [&](std::vector<std::string> page) {
    absl::MutexLock lock(&mu);
    for (const std::string& id : page) repeated += seen.insert(id).second ? 0 : 1;
    return absl::OkStatus();
  });
  for (int p = 0; p < 100; ++p) ASSERT_TRUE(workers.HandOver(Page(p)));
  EXPECT_TRUE(workers.Finish(absl::OkStatus()).ok());
  EXPECT_EQ(seen.size(), 1000u);
  EXPECT_EQ(repeated, 0);
}

TEST(PageWorkersTest, TheProducersErrorIsReturnedWhenNoWorkerFailed) {
  std::atomic<int> worked{0};
  PageWorkers workers(2, [&](std::vector<std::string>) {
    ++worked;
    return absl::OkStatus();
  });
  ASSERT_TRUE(workers.HandOver(Page(1)));
  EXPECT_EQ(workers.Finish(absl::UnavailableError("scan")).code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(worked, 1);  // pages handed over are still worked
}

// A worker's failure stops the producer (HandOver false) and the other
// workers after their page, and is what Finish returns, not the producer's
// cancellation it caused.
TEST(PageWorkersTest, AWorkersFailureStopsTheScanAndIsReturned) {
  std::atomic<int> worked{0};
  PageWorkers workers(2, [&](std::vector<std::string> page) {
    ++worked;
    if (page.front() == "3-0") return absl::DataLossError("corrupt");
    return absl::OkStatus();
  });
  int handed = 0;
  for (int p = 0; p < 1000 && workers.HandOver(Page(p)); ++p) ++handed;
  EXPECT_LT(handed, 1000);
  EXPECT_EQ(workers.Finish(absl::CancelledError("scan stopped")).code(),
            absl::StatusCode::kDataLoss);
  EXPECT_LT(worked, 1000);
}

// The producer waits while the workers are behind: at most 2 x threads
// pages wait, whatever the scan could read ahead.
TEST(PageWorkersTest, TheProducerWaitsWhileTheWorkersAreBehind) {
  absl::Notification release;
  std::atomic<int> started{0};
  PageWorkers workers(1, [&](std::vector<std::string>) {
    ++started;
    release.WaitForNotification();
    return absl::OkStatus();
  });
  std::atomic<int> handed{0};
  std::thread producer([&] {
    for (int p = 0; p < 10; ++p) {
      if (workers.HandOver(Page(p))) ++handed;
    }
  });
  // One page taken by the blocked worker; the second of the two waiting
  // ones blocks its HandOver.
  absl::SleepFor(absl::Milliseconds(200));
  EXPECT_LE(handed.load(), 2);
  release.Notify();
  producer.join();
  EXPECT_EQ(handed, 10);
  EXPECT_TRUE(workers.Finish(absl::OkStatus()).ok());
  EXPECT_EQ(started, 10);
}

}  // namespace
}  // namespace segmentd

#include "server/bounded_executor.h"

#include <atomic>

#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"

namespace segmentd {
namespace {

TEST(BoundedExecutor, RunsTasksOffTheCallingThread) {
  BoundedExecutor executor(2, 8);
  absl::Notification done;
  std::thread::id ran_on;
  ASSERT_TRUE(executor.TrySchedule([&] {
    ran_on = std::this_thread::get_id();
    done.Notify();
  }));
  done.WaitForNotification();
  EXPECT_NE(ran_on, std::this_thread::get_id());
}

TEST(BoundedExecutor, RefusesBeyondTheQueueAndRunsWhatItTookBeforeStopping) {
  std::atomic<int> ran{0};
  absl::Notification release;
  {
    BoundedExecutor executor(1, 2);
    absl::Notification started;
    // The one worker blocks on the first task; two more wait in the queue.
    ASSERT_TRUE(executor.TrySchedule([&] {
      started.Notify();
      release.WaitForNotification();
      ++ran;
    }));
    started.WaitForNotification();
    ASSERT_TRUE(executor.TrySchedule([&] { ++ran; }));
    ASSERT_TRUE(executor.TrySchedule([&] { ++ran; }));
    EXPECT_FALSE(executor.TrySchedule([&] { ran += 100; }));
    release.Notify();
  }  // The destructor runs both queued tasks before joining.
  EXPECT_EQ(ran.load(), 3);
}

}  // namespace
}  // namespace segmentd

#include "server/coalesced_read.h"

#include <atomic>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"

namespace segmentd {
namespace {

// Waits until `n` callers are inside Get() (bounded: the test fails, it does
// not hang, if they never get there).
void AwaitWaiting(CoalescedRead<int>& read, int n) {
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (read.Waiting() < n && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(1));
  ASSERT_EQ(read.Waiting(), n);
}

TEST(CoalescedReadTest, SequentialCallsEachRead) {
  int reads = 0;
  CoalescedRead<int> read([&]() -> absl::StatusOr<int> { return ++reads; });
  EXPECT_EQ(*read.Get(), 1);
  EXPECT_EQ(*read.Get(), 2);
  EXPECT_EQ(*read.Get(), 3);
}

// A caller arriving while a read is in flight must not get that read's
// answer (it may predate the caller's own writes), and every such caller
// shares the one next read.
TEST(CoalescedReadTest, LateCallersShareTheNextReadNotTheInFlightOne) {
  std::atomic<int> reads{0};
  absl::Notification release_first;
  CoalescedRead<int> read([&]() -> absl::StatusOr<int> {
    const int n = ++reads;
    if (n == 1) release_first.WaitForNotification();
    return n;
  });
  int first = 0;
  std::thread leader([&] { first = *read.Get(); });
  AwaitWaiting(read, 1);
  constexpr int kLate = 8;
  std::vector<int> late(kLate);
  std::vector<std::thread> threads;
  for (int i = 0; i < kLate; ++i) threads.emplace_back([&, i] { late[i] = *read.Get(); });
  AwaitWaiting(read, 1 + kLate);
  release_first.Notify();
  leader.join();
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(first, 1);
  for (int i = 0; i < kLate; ++i) EXPECT_EQ(late[i], 2) << "caller " << i;
  EXPECT_EQ(reads.load(), 2);
}

TEST(CoalescedReadTest, ErrorsReachEveryCallerOfTheRoundAndDoNotStick) {
  std::atomic<int> reads{0};
  absl::Notification release_first;
  CoalescedRead<int> read([&]() -> absl::StatusOr<int> {
    const int n = ++reads;
    if (n == 1) {
      release_first.WaitForNotification();
      return 1;
    }
    if (n == 2) return absl::UnavailableError("redis down");
    return n;
  });
  std::thread leader([&] { EXPECT_TRUE(read.Get().ok()); });
  AwaitWaiting(read, 1);
  std::vector<absl::Status> late(4);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < late.size(); ++i) {
    threads.emplace_back([&, i] { late[i] = read.Get().status(); });
  }
  AwaitWaiting(read, 5);
  release_first.Notify();
  leader.join();
  for (std::thread& t : threads) t.join();
  for (const absl::Status& s : late) EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(*read.Get(), 3);
}

}  // namespace
}  // namespace segmentd

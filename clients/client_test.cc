// SegmentdClient's own behaviour, without a server: what it does when there
// is none to reach.
#include "clients/client.h"

#include <thread>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace segmentd::clients {
namespace {

// A Watch waiting to reconnect ends when stopped, not when its backoff ends:
// here an hour, so without that the test would time out.
TEST(SegmentdClientTest, StopEndsAWatchWaitingToReconnect) {
  SegmentdClient::Options options;
  options.target = "127.0.0.1:1";  // nothing listens: UNAVAILABLE at once
  options.retry.max_attempts = 100;
  options.retry.initial_backoff = absl::Hours(1);
  options.retry.max_backoff = absl::Hours(1);
  absl::StatusOr<std::unique_ptr<SegmentdClient>> client = SegmentdClient::Connect(options);
  ASSERT_TRUE(client.ok()) << client.status();
  WatchStopper stopper;
  WatchOptions watch;
  watch.stopper = &stopper;
  absl::Status ended;
  absl::Notification done;
  std::thread watcher([&] {
    ended = (*client)->Watch(watch, [](const v1::MembershipChange&) { return true; });
    done.Notify();
  });
  // Long enough for the first attempt to fail and the backoff to begin (if
  // not, Stop() lands before the first attempt, which ends it as well).
  absl::SleepFor(absl::Milliseconds(300));
  EXPECT_FALSE(done.HasBeenNotified()) << ended;
  stopper.Stop();
  watcher.join();
  EXPECT_EQ(ended.code(), absl::StatusCode::kCancelled) << ended;
}

}  // namespace
}  // namespace segmentd::clients

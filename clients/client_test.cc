// SegmentdClient's own behaviour, without segmentd: what it does when there
// is no server to reach, or when an in-process stand-in breaks a stream.
#include "clients/client.h"

#include <grpcpp/grpcpp.h>

#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
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

// A TargetingService whose first stream breaks (UNAVAILABLE) after one
// chunk; a stream resumed after that chunk's cursor sends the rest.
class BreakingTargets final : public v1::TargetingService::Service {
 public:
  grpc::Status StreamTargets(grpc::ServerContext*, const v1::StreamTargetsRequest* request,
                             grpc::ServerWriter<v1::StreamTargetsResponse>* writer) override {
    {
      absl::MutexLock lock(&mu_);
      cursors_.push_back(request->cursor());
    }
    v1::StreamTargetsResponse chunk;
    if (request->cursor().empty()) {
      chunk.add_customers()->set_customer_id("a");
      chunk.add_customers()->set_customer_id("b");
      chunk.set_cursor("after-b");
      writer->Write(chunk);
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "broken");
    }
    if (request->cursor() != "after-b") {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "cursor: unexpected");
    }
    chunk.add_customers()->set_customer_id("c");
    chunk.set_cursor("after-c");
    writer->Write(chunk);
    return grpc::Status::OK;
  }

  std::vector<std::string> cursors() {
    absl::MutexLock lock(&mu_);
    return cursors_;
  }

 private:
  absl::Mutex mu_;
  std::vector<std::string> cursors_ ABSL_GUARDED_BY(mu_);
};

// A broken StreamTargets is opened again after the last chunk's cursor:
// every customer once, in order.
TEST(SegmentdClientTest, StreamTargetsGoesOnAfterTheLastCursor) {
  BreakingTargets service;
  int port = 0;
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);
  ASSERT_GT(port, 0);
  SegmentdClient::Options options;
  options.target = absl::StrCat("127.0.0.1:", port);
  options.retry.initial_backoff = absl::Milliseconds(1);
  absl::StatusOr<std::unique_ptr<SegmentdClient>> client = SegmentdClient::Connect(options);
  ASSERT_TRUE(client.ok()) << client.status();
  v1::TargetRef target;
  target.set_voucher_id("v");
  std::vector<std::string> seen;
  absl::Status s = (*client)->StreamTargets(target, StreamTargetsOptions(),
                                            [&](const v1::StreamTargetsResponse& chunk) {
                                              for (const auto& c : chunk.customers()) {
                                                seen.push_back(c.customer_id());
                                              }
                                              return true;
                                            });
  EXPECT_TRUE(s.ok()) << s;
  EXPECT_EQ(seen, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(service.cursors(), (std::vector<std::string>{"", "after-b"}));
  server->Shutdown();
}

}  // namespace
}  // namespace segmentd::clients

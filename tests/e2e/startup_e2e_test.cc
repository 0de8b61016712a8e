// End-to-end tests of segmentd's start-up failures: the real binary exits
// with status 1 and a message naming what is wrong, never a crash and never
// a server half up.
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/redis_server.h"
#include "testing/segmentd_process.h"

namespace segmentd {
namespace {

using ::segmentd::testing::RedisServer;
using ::segmentd::testing::SegmentdProcess;
using ::testing::HasSubstr;

// Starts segmentd on `redis_address` with `flags`; returns Start's error
// message ("" when it came up).
std::string StartError(const std::string& redis_address, std::vector<std::string> flags) {
  SegmentdProcess::Options options;
  options.redis_address = redis_address;
  options.extra_flags = std::move(flags);
  absl::StatusOr<std::unique_ptr<SegmentdProcess>> segmentd = SegmentdProcess::Start(options);
  return segmentd.ok() ? "" : std::string(segmentd.status().message());
}

TEST(StartupE2eTest, UnreachableRedisIsAnErrorNamingRedis) {
  const std::string error =
      StartError("unix:/nonexistent/redis.sock", {"--redis_startup_timeout=500ms"});
  EXPECT_THAT(error, HasSubstr("exited during start-up with status 1"));
  EXPECT_THAT(error, HasSubstr("cannot start"));
  EXPECT_THAT(error, HasSubstr("/nonexistent/redis.sock"));
}

class StartupWithRedisTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<RedisServer>> redis = RedisServer::Start({});
    ASSERT_TRUE(redis.ok()) << redis.status();
    redis_ = *std::move(redis);
  }
  std::unique_ptr<RedisServer> redis_;
};

TEST_F(StartupWithRedisTest, AnUnusableMetricsAddressIsAnErrorNamingTheFlag) {
  const std::string error = StartError(redis_->unix_address(), {"--metrics_listen=no-port-here"});
  EXPECT_THAT(error, HasSubstr("exited during start-up with status 1"));
  EXPECT_THAT(error, HasSubstr("--metrics_listen"));
}

TEST_F(StartupWithRedisTest, AMetricsPortInUseIsAnErrorNamingTheFlag) {
  SegmentdProcess::Options options;
  options.redis_address = redis_->unix_address();
  options.extra_flags = {"--metrics_listen=127.0.0.1:0"};
  absl::StatusOr<std::unique_ptr<SegmentdProcess>> first = SegmentdProcess::Start(options);
  ASSERT_TRUE(first.ok()) << first.status();
  const int port = (*first)->MetricsPort();
  ASSERT_NE(port, 0) << (*first)->Log();
  const std::string error =
      StartError(redis_->unix_address(), {absl::StrCat("--metrics_listen=127.0.0.1:", port)});
  EXPECT_THAT(error, HasSubstr("exited during start-up with status 1"));
  EXPECT_THAT(error, HasSubstr("--metrics_listen"));
}

}  // namespace
}  // namespace segmentd

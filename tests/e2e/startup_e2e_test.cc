// End-to-end tests of segmentd's start-up failures: the real binary exits
// with status 1 and a message naming what is wrong, never a crash and never
// a server half up.
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "testing/segmentd_process.h"

namespace segmentd {
namespace {

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

}  // namespace
}  // namespace segmentd

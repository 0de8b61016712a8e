#ifndef SEGMENTD_TESTING_REDIS_TEST_CLIENT_H_
#define SEGMENTD_TESTING_REDIS_TEST_CLIENT_H_

// Connecting the store's Redis client to a test's own redis-server.

#include <memory>

#include "absl/status/statusor.h"
#include "store/redis/redis_client.h"
#include "testing/redis_server.h"

namespace segmentd::testing {

// Returns a client of `server`'s Unix socket (`options.address` is set here;
// the other options are the caller's).
absl::StatusOr<std::unique_ptr<store::redis::RedisClient>> ConnectClient(
    const RedisServer& server, store::redis::RedisClient::Options options = {});

}  // namespace segmentd::testing

#endif  // SEGMENTD_TESTING_REDIS_TEST_CLIENT_H_

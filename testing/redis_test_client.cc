#include "testing/redis_test_client.h"

#include "store/redis/redis_address.h"

namespace segmentd::testing {

absl::StatusOr<std::unique_ptr<store::redis::RedisClient>> ConnectClient(
    const RedisServer& server, store::redis::RedisClient::Options options) {
  options.address = store::redis::RedisAddress::Unix(server.socket_path());
  return store::redis::RedisClient::Create(options);
}

}  // namespace segmentd::testing

#include "testing/redis_test_client.h"

#include <utility>

#include "store/redis/redis_address.h"

namespace segmentd::testing {

absl::StatusOr<std::unique_ptr<store::redis::RedisClient>> ConnectClient(
    const RedisServer& server, store::redis::RedisClient::Options options) {
  options.address = store::redis::RedisAddress::Unix(server.socket_path());
  return store::redis::RedisClient::Create(options);
}

absl::StatusOr<RedisWithClient> StartRedisWithClient(
    RedisServer::Options server_options, store::redis::RedisClient::Options client_options) {
  RedisWithClient redis;
  absl::StatusOr<std::unique_ptr<RedisServer>> server =
      RedisServer::Start(std::move(server_options));
  if (!server.ok()) return server.status();
  redis.server = *std::move(server);
  absl::StatusOr<std::unique_ptr<store::redis::RedisClient>> client =
      ConnectClient(*redis.server, std::move(client_options));
  if (!client.ok()) return client.status();
  redis.client = *std::move(client);
  return redis;
}

}  // namespace segmentd::testing

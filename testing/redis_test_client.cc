#include "testing/redis_test_client.h"

#include <string>
#include <utility>

#include "store/redis/redis_address.h"
#include "store/redis/redis_reply.h"
#include "store/tenant_presence.h"

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

absl::Status RegisterTenant(store::redis::RedisClient* client, absl::string_view tenant) {
  absl::StatusOr<store::redis::RedisReply> added = store::redis::ErrorReplyAsStatus(
      client->Command({"SADD", store::kTenantsKey, std::string(tenant)}));
  if (!added.ok()) return added.status();
  return store::EnsureTenantPresent(client, tenant);
}

}  // namespace segmentd::testing

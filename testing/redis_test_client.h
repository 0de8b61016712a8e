#ifndef SEGMENTD_TESTING_REDIS_TEST_CLIENT_H_
#define SEGMENTD_TESTING_REDIS_TEST_CLIENT_H_

// Connecting the store's Redis client to a test's own redis-server.

#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "store/redis/redis_client.h"
#include "testing/redis_server.h"

namespace segmentd::testing {

// Returns a client of `server`'s Unix socket (`options.address` is set here;
// the other options are the caller's).
absl::StatusOr<std::unique_ptr<store::redis::RedisClient>> ConnectClient(
    const RedisServer& server, store::redis::RedisClient::Options options = {});

// A test's own redis-server and one client of it. The client is declared
// last so that it is destroyed first, while the server still answers.
struct RedisWithClient {
  std::unique_ptr<RedisServer> server;
  std::unique_ptr<store::redis::RedisClient> client;
};

// Starts a redis-server with `server_options` and connects a client to it
// with `client_options` (as ConnectClient does). Returns the first error.
absl::StatusOr<RedisWithClient> StartRedisWithClient(
    RedisServer::Options server_options = {},
    store::redis::RedisClient::Options client_options = {});

// Registers `tenant` in `client`'s Redis as creating it does (the registry
// and its presence key, store/tenant_presence.h), without a tenant record:
// what a store's writes for the tenant require.
absl::Status RegisterTenant(store::redis::RedisClient* client, absl::string_view tenant);

}  // namespace segmentd::testing

#endif  // SEGMENTD_TESTING_REDIS_TEST_CLIENT_H_

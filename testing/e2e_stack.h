// E2eStack: the fixture every end-to-end test starts from. A real
// redis-server, the real segmentd binary on it, a gRPC channel to segmentd,
// the operator token, and the tenants the test asked for, each with an admin,
// a write and a read key.
//
//   E2eStack::Options options;
//   options.tenants = {"acme"};
//   absl::StatusOr<std::unique_ptr<E2eStack>> stack = E2eStack::Start(options);
//   ASSERT_TRUE(stack.ok()) << stack.status();
//   const TenantKeys& acme = (*stack)->keys("acme");
//   auto ingest = v1::IngestService::NewStub((*stack)->channel());
//
// The class is not thread-safe: start, restart, kill and destroy one instance
// from one thread (the child processes die if that thread exits, see
// SegmentdProcess). The channel it hands out is thread-safe, as are the free
// helpers below the class (config, events, ingest). The destructor drops the
// channel, then kills segmentd, then Redis.
#ifndef SEGMENTD_TESTING_E2E_STACK_H_
#define SEGMENTD_TESTING_E2E_STACK_H_

#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "segmentd/v1/ingest.pb.h"
#include "testing/redis_server.h"
#include "testing/segmentd_process.h"

namespace segmentd::testing {

class E2eStack {
 public:
  struct Options {
    // The redis-server's options, e.g. `redis.appendonly = true`. Default:
    // RedisServer's defaults (no persistence, Unix socket only).
    RedisServer::Options redis;
    // More segmentd flags, passed as they are, e.g. "--change_stream_cap=50".
    // Default: none.
    std::vector<std::string> segmentd_flags;
    // The --operator_key_file flag. Default: empty, meaning a file in
    // segmentd's own temporary directory (see SegmentdProcess::Options).
    std::string operator_key_file;
    // Tenants to create, in this order, each with one admin, one write and
    // one read key (CreateTenantWithKeys). Default: none.
    std::vector<std::string> tenants;
  };

  // Starts Redis, then segmentd on it; reads the operator token and creates
  // `options.tenants`. Returns the first error (NOT_FOUND for a missing
  // binary, UNAVAILABLE for a process that does not come up, or the error of
  // a CreateTenant/CreateApiKey call), with what was being done in front.
  static absl::StatusOr<std::unique_ptr<E2eStack>> Start(Options options);

  E2eStack(const E2eStack&) = delete;
  E2eStack& operator=(const E2eStack&) = delete;
  ~E2eStack() = default;

  // Returns the redis-server, e.g. to Kill() or Restart() it or to read its
  // socket_path().
  RedisServer& redis() const { return *redis_; }
  // Returns the segmentd process, e.g. to Kill() or Restart() it, or Log().
  SegmentdProcess& segmentd() const { return *segmentd_; }
  // Returns the channel to segmentd; it keeps working across
  // segmentd().Restart().
  const std::shared_ptr<grpc::Channel>& channel() const { return channel_; }
  // Returns the operator token, trimmed.
  const std::string& operator_token() const { return operator_token_; }
  // Returns the keys of `tenant_id`, which must be one of Options::tenants;
  // for any other id returns empty keys (every call with them fails
  // UNAUTHENTICATED).
  const TenantKeys& keys(const std::string& tenant_id) const;

 private:
  E2eStack() = default;

  // Declared in start order, so destroyed channel first, Redis last.
  std::unique_ptr<RedisServer> redis_;
  std::unique_ptr<SegmentdProcess> segmentd_;
  std::shared_ptr<grpc::Channel> channel_;
  std::string operator_token_;
  std::map<std::string, TenantKeys> tenants_;
};

// Turns off the segments that depend on population statistics (VIP, value
// tiers, big and low spender): one masked UpdateConfig, authorized by
// `admin_key`, with a 30 s deadline. Their changes arrive asynchronously
// (cause STATISTICS) whenever a cut-off or the store's average order value
// moves, so tests that compare exact memberships over time turn them off.
// Returns the call's error.
absl::Status DisableStatisticalSegments(grpc::Channel& channel, const std::string& admin_key);

// Returns an order_placed event: `customer` placed `order_id` at `at` (kept to
// the millisecond, see ToTimestamp), for `amount` minor currency units, with
// `categories`.
v1::Event OrderEvent(const std::string& customer, const std::string& order_id, absl::Time at,
                     int64_t amount, const std::vector<std::string>& categories = {});

// Returns a customer_registered event: `customer` registered at `at`.
v1::Event RegisteredEvent(const std::string& customer, absl::Time at);

// Sends `events` as one batch on a new BulkIngest stream authorized by
// `write_key` (20 s deadline), reads the one reply, closes the stream, and
// returns the reply. Returns UNKNOWN when the stream breaks before the reply
// without a status of its own, otherwise the stream's error. A reply with
// rejected events is still a reply: the caller checks `rejected()`.
absl::StatusOr<v1::BulkIngestResponse> IngestBatch(grpc::Channel& channel,
                                                   const std::string& write_key,
                                                   const std::vector<v1::Event>& events);

}  // namespace segmentd::testing

#endif  // SEGMENTD_TESTING_E2E_STACK_H_

// Fuzz target: the live path over Redis does what it does over the in-memory
// store. It runs the steps of live_steps.h (a batch, statistics passes, days
// passing, a config change, each through one of two replicas) over a
// RedisCustomerStore on a real redis-server (its Lua scripts, transactions,
// pipelines and paging; tiny pipelines and pages, so that small inputs cross
// their boundaries; each replica on connections of its own) and over a
// MemoryCustomerStore, and after each step compares everything either store
// answers about the tenant (store_snapshot.h), the steps' results and each
// replica's targeting index; after the statistics passes, every membership
// must be exact. At the end, an index loaded from Redis afresh must hold the
// member sets too. live_steps_fuzz runs the same steps in memory alone, far
// faster.
// Input: as live_steps.h says.
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "engine/generator.h"
#include "server/targeting/membership_index.h"
#include "store/memory_customer_store.h"
#include "store/redis_customer_store.h"
#include "testing/redis_test_client.h"
#include "tests/fuzz/fuzz_target.h"
#include "tests/fuzz/live_steps.h"

namespace segmentd::fuzz {
namespace {

// Inputs between two FLUSHALLs of the shared redis-server (each input has a
// tenant of its own, so this only bounds Redis's memory).
constexpr int kInputsPerFlush = 500;

// What one segmentd process holds of the shared Redis: a store on a
// connection of its own (its script and tenant caches are its own too), and
// another for its targeting index's tail, which blocks in XREAD. The clients
// are declared first so that they outlive the stores using them.
struct ReplicaStores {
  explicit ReplicaStores(const testing::RedisServer& server)
      : client(Connect(server)),
        tail_client(Connect(server)),
        store(Create(*client)),
        tail_store(Create(*tail_client)) {}

  static std::unique_ptr<store::redis::RedisClient> Connect(const testing::RedisServer& server) {
    absl::StatusOr<std::unique_ptr<store::redis::RedisClient>> connected =
        testing::ConnectClient(server);
    FUZZ_CHECK(connected.ok(), connected.status().ToString());
    return *std::move(connected);
  }
  // Tiny pipelines and pages, so that small inputs cross their boundaries
  // (calls of up to 6 writes pipelined 2 at a time, larger ones 3).
  static std::unique_ptr<store::RedisCustomerStore> Create(store::redis::RedisClient& client) {
    store::RedisCustomerStore::Options options;
    options.write_batch = 3;
    options.small_call_batch = 2;
    options.small_call_writes = 6;
    options.read_page = 4;
    absl::StatusOr<std::unique_ptr<store::RedisCustomerStore>> created =
        store::RedisCustomerStore::Create(&client, options);
    FUZZ_CHECK(created.ok(), created.status().ToString());
    return *std::move(created);
  }

  std::unique_ptr<store::redis::RedisClient> client;
  std::unique_ptr<store::redis::RedisClient> tail_client;
  std::unique_ptr<store::RedisCustomerStore> store;
  std::unique_ptr<store::RedisCustomerStore> tail_store;
};

// One redis-server for the process, started by the first input and stopped
// (its directory removed) at exit, and two replicas' connections to it.
struct SharedRedis {
  SharedRedis()
      : redis(Start()), replicas{ReplicaStores(*redis.server), ReplicaStores(*redis.server)} {}

  static testing::RedisWithClient Start() {
    // Redis times a blocked XREAD out only on its clock tick (`hz`, 10 a
    // second by default), so each index's destructor waited up to 100 ms for
    // its tail's read; at 500 (Redis's most), ~2 ms.
    testing::RedisServer::Options server_options;
    server_options.extra_args = {"--hz", "500"};
    absl::StatusOr<testing::RedisWithClient> started =
        testing::StartRedisWithClient(server_options);
    FUZZ_CHECK(started.ok(), started.status().ToString());
    return *std::move(started);
  }

  testing::RedisWithClient redis;  // the server, and a client for FLUSHALL
  ReplicaStores replicas[2];
  int inputs = 0;
};

SharedRedis& Redis() {
  static SharedRedis shared;
  return shared;
}

}  // namespace
}  // namespace segmentd::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace segmentd;
  const std::optional<fuzz::StepsInput> input = fuzz::ParseStepsInput(data, size);
  if (!input) return 0;
  fuzz::SharedRedis& shared = fuzz::Redis();
  if (++shared.inputs % fuzz::kInputsPerFlush == 0) {
    absl::StatusOr<store::redis::RedisReply> flushed = shared.redis.client->Command({"FLUSHALL"});
    FUZZ_CHECK(flushed.ok(), flushed.status().ToString());
  }
  const std::string tenant = absl::StrCat("fuzz", shared.inputs);
  const absl::Status registered = testing::RegisterTenant(shared.redis.client.get(), tenant);
  FUZZ_CHECK(registered.ok(), registered.ToString());
  absl::Time clock = engine::GeneratorOptions().now;
  store::MemoryCustomerStore memory_store;
  fuzz::Stack memory_0(&memory_store, &memory_store, &tenant, &clock);
  fuzz::Stack memory_1(&memory_store, &memory_store, &tenant, &clock);
  fuzz::Stack redis_0(shared.replicas[0].store.get(), shared.replicas[0].tail_store.get(), &tenant,
                      &clock);
  fuzz::Stack redis_1(shared.replicas[1].store.get(), shared.replicas[1].tail_store.get(), &tenant,
                      &clock);
  const fuzz::Side sides[] = {{"in memory", {&memory_0, &memory_1}},
                              {"in Redis", {&redis_0, &redis_1}}};
  fuzz::RunSteps(*input, sides, tenant, &clock);
  // The replicas' indexes loaded the tenant before its first customer and
  // then followed the stream; one loaded now reads the member sets as they are.
  targeting::MembershipIndex loaded(shared.replicas[0].store.get(),
                                    shared.replicas[0].tail_store.get(),
                                    fuzz::Stack::IndexOptions());
  fuzz::CheckIndex(loaded, fuzz::ReadMembers(*shared.replicas[0].store, tenant), tenant,
                   "an index loaded at the end, in Redis", fuzz::FreshRead::kRead);
  return 0;
}

// Fuzz target: the live path over Redis does what it does over the in-memory
// store. live_fuzz checks the live path's results against the engine over
// MemoryCustomerStore; this one drives a RedisCustomerStore on a real
// redis-server (its Lua scripts, transactions, pipelines and paging) and a
// MemoryCustomerStore through the same steps, and after each step compares
// everything either store answers about the tenant (store_snapshot.h).
// Each store serves two replicas (what one segmentd process runs: tenant
// contexts, live path, scheduler, statistics mover, targeting index; over
// Redis each on connections of its own), and each step is taken by the
// replica a hash of the input picks, the same one on both sides:
//
//  1. a BulkIngest batch (ApplyBulkBatch), with every segment enabled, in two
//     parts, each through its replica;
//  2. both replicas' StatisticsMover passes (VIP, value tiers, the spenders'
//     store AOV: each covers the statistics its own writes used);
//  3. the batch again;
//  4. time passes (input byte 0: 1-256 days), a TransitionScheduler pass
//     moves the customers due, and both replicas' StatisticsMover passes
//     those the store AOV, now over other days, moves;
//  5. a config change as UpdateConfig makes it (input byte 1: a preset, or
//     the defaults with VIP's share or LAPSED's days changed; its top bit:
//     every customer re-classified in full, as when the config replaced was
//     itself pending), then a scheduler pass that drains the rechecks the
//     update left (through the other replica, still holding the old config,
//     when the hash says so).
//
// The responses and the number of customers each step moved must agree too,
// and after each step each replica's targeting index (MembershipIndex, loaded
// before the tenant's first customer, then following the change stream) must
// hold exactly its store's member sets; at the end, so must one loaded from
// Redis afresh.
// Input: the two bytes, then a serialized BulkIngestRequest.
#include <algorithm>
#include <array>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "engine/config.h"
#include "engine/generator.h"
#include "server/config_convert.h"
#include "server/live/live_membership.h"
#include "server/live/statistics_mover.h"
#include "server/live/tenant_context.h"
#include "server/live/test_config_update.h"
#include "server/live/transition_scheduler.h"
#include "server/services/bulk_batch.h"
#include "server/targeting/membership_index.h"
#include "store/memory_customer_store.h"
#include "store/redis_customer_store.h"
#include "testing/redis_test_client.h"
#include "tests/fuzz/exact_membership.h"
#include "tests/fuzz/fuzz_target.h"
#include "tests/fuzz/generated_events.h"
#include "tests/fuzz/store_snapshot.h"

namespace segmentd::fuzz {
namespace {

constexpr int kMaxEvents = 64;
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
  // Tiny pipelines and pages, so that small inputs cross their boundaries.
  static std::unique_ptr<store::RedisCustomerStore> Create(store::redis::RedisClient& client) {
    store::RedisCustomerStore::Options options;
    options.write_batch = 3;
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

// What a segmentd process runs over one store, on a clock the target moves.
struct Stack {
  Stack(store::CustomerStore* store, store::CustomerStore* tail_store, const std::string* tenant,
        const absl::Time* clock)
      : store(store),
        contexts(store, ContextOptions(clock)),
        live(store, &contexts, LiveOptions(clock)),
        scheduler(store, &live, Lister(tenant), SchedulerOptions(clock)),
        mover(store, &contexts, &live, Lister(tenant), MoverOptions(clock)),
        index(store, tail_store, IndexOptions()) {}

  static std::function<absl::StatusOr<std::vector<std::string>>()> Lister(
      const std::string* tenant) {
    return [tenant]() -> absl::StatusOr<std::vector<std::string>> {
      return std::vector<std::string>{*tenant};
    };
  }
  static TenantContexts::Options ContextOptions(const absl::Time* clock) {
    TenantContexts::Options o;
    o.now = [clock] { return *clock; };
    // Snapshots are reloaded only when something says they must be (a write
    // refused for an older config version, a statistics pass, new category
    // names): days pass between steps on the target's clock, and a replica
    // holding a stale snapshot across them is what the store's version checks
    // and the movers are there for.
    o.max_age = absl::InfiniteDuration();
    return o;
  }
  static LiveMembership::Options LiveOptions(const absl::Time* clock) {
    LiveMembership::Options o;
    o.now = [clock] { return *clock; };
    o.reevaluate_threads = 1;  // pages in one order: the same writes in both stores
    o.background_pipeline = 2;
    return o;
  }
  static TransitionScheduler::Options SchedulerOptions(const absl::Time* clock) {
    TransitionScheduler::Options o;
    o.now = [clock] { return *clock; };
    o.batch = 3;
    o.recheck_slice = absl::Hours(1);  // a pass drains every recheck
    return o;
  }
  static targeting::MembershipIndex::Options IndexOptions() {
    targeting::MembershipIndex::Options o;
    o.scan_count = 3;
    o.change_batch = 4;
    o.tail_wait = absl::Milliseconds(1);  // the destructor waits for the tail's read
    return o;
  }
  static StatisticsMover::Options MoverOptions(const absl::Time* clock) {
    StatisticsMover::Options o;
    o.now = [clock] { return *clock; };
    return o;
  }

  store::CustomerStore* store;
  TenantContexts contexts;
  LiveMembership live;
  TransitionScheduler scheduler;
  StatisticsMover mover;
  // What the voucher service's queries read: loaded from the store, then
  // following its change stream.
  targeting::MembershipIndex index;
};

// Each segment's members as `index` sees them equal `store`'s member sets,
// and it knows every customer.
void CheckIndex(targeting::MembershipIndex& index, store::CustomerStore& store,
                const std::string& tenant, const std::string& where) {
  absl::StatusOr<std::vector<std::string>> names = SegmentNames(store, tenant);
  FUZZ_CHECK(names.ok(), names.status().ToString());
  std::vector<std::vector<std::string>> indexed(names->size());
  uint32_t customers = 0;
  absl::Status read =
      index.Read(tenant, /*fresh=*/true, [&](const targeting::MembershipIndex::View& view) {
        customers = view.customers();
        for (size_t i = 0; i < names->size(); ++i) {
          v1::TargetExpression segment;
          segment.set_segment((*names)[i]);
          for (uint32_t ordinal : view.Evaluate(segment).After(0, customers)) {
            indexed[i].emplace_back(view.IdOf(ordinal));
          }
          std::sort(indexed[i].begin(), indexed[i].end());
        }
      });
  FUZZ_CHECK(read.ok(), absl::StrCat(where, ": ", read.ToString()));
  absl::StatusOr<int64_t> count = store.CustomerCount(tenant);
  FUZZ_CHECK(count.ok() && *count == customers,
             absl::StrCat(where, ": the index knows ", customers, " customers"));
  for (size_t i = 0; i < names->size(); ++i) {
    absl::StatusOr<std::vector<std::string>> stored = SegmentMembers(store, tenant, (*names)[i]);
    FUZZ_CHECK(stored.ok(), stored.status().ToString());
    FUZZ_CHECK(indexed[i] == *stored, absl::StrCat(where, ": the index's ", (*names)[i], " is ",
                                                   absl::StrJoin(indexed[i], ","), ", the store's ",
                                                   absl::StrJoin(*stored, ",")));
  }
}

// The config step's choice.
engine::SegmentConfig ChangedConfig(uint8_t choice) {
  switch (choice % 6) {
    case 0:
    case 1:
    case 2:
    case 3:
      return engine::PresetConfig(static_cast<engine::Preset>(choice % 6));
    case 4: {
      engine::SegmentConfig c;
      c.vip.top_percent = 1 + choice % 50;
      return c;
    }
    default: {
      engine::SegmentConfig c;
      c.lapsed.inactive_days = 1 + choice % 200;
      return c;
    }
  }
}

// An update as UpdateConfig makes it (ApplyConfigUpdate: from the replaced
// snapshot, or `in_full` every customer), then marked applied. Returns the
// customers moved.
int64_t UpdateConfig(Stack& stack, const std::string& tenant, const engine::SegmentConfig& config,
                     bool in_full, absl::Time now) {
  absl::StatusOr<int64_t> moved =
      ApplyConfigUpdate(*stack.store, stack.contexts, stack.live, tenant, config, !in_full, now);
  FUZZ_CHECK(moved.ok(), moved.status().ToString());
  absl::StatusOr<std::shared_ptr<const TenantSnapshot>> updated = stack.contexts.GetCurrent(tenant);
  FUZZ_CHECK(updated.ok(), updated.status().ToString());
  absl::Status applied = stack.store->ConfigApplied(tenant, (*updated)->config_version);
  FUZZ_CHECK(applied.ok(), applied.ToString());
  return *moved;
}

// Two replicas over each store: a step's replica in memory does what the same
// replica does over Redis.
using Replicas = std::array<Stack*, 2>;

class Comparison {
 public:
  Comparison(const Replicas& memory, const Replicas& redis, const std::string& tenant,
             const v1::BulkIngestRequest& request)
      : memory_(memory), redis_(redis), tenant_(tenant) {
    for (const v1::Event& e : request.events()) {
      if (e.has_order_placed()) order_ids_.push_back(e.order_placed().order_id());
    }
  }

  // Compares both stores after `step`, and what the step returned.
  void After(const std::string& step, absl::Time now, const std::string& memory_result,
             const std::string& redis_result) {
    FUZZ_CHECK(memory_result == redis_result,
               absl::StrCat(step, ": in memory ", memory_result, "; in Redis ", redis_result));
    // A side's replicas share its store: one describes it.
    absl::StatusOr<std::vector<std::string>> a =
        DescribeStore(*memory_[0]->store, tenant_, now, order_ids_);
    FUZZ_CHECK(a.ok(), absl::StrCat(step, ": in memory ", a.status().ToString()));
    absl::StatusOr<std::vector<std::string>> b =
        DescribeStore(*redis_[0]->store, tenant_, now, order_ids_);
    FUZZ_CHECK(b.ok(), absl::StrCat(step, ": in Redis ", b.status().ToString()));
    const std::string difference = FirstDifference(*a, *b);
    FUZZ_CHECK(
        difference.empty(),
        absl::StrCat("after ", step, ", in memory (first) and in Redis (second), ", difference));
    for (int r = 0; r < 2; ++r) {
      CheckIndex(memory_[r]->index, *memory_[r]->store, tenant_,
                 absl::StrCat("after ", step, ", in memory, replica ", r));
      CheckIndex(redis_[r]->index, *redis_[r]->store, tenant_,
                 absl::StrCat("after ", step, ", in Redis, replica ", r));
    }
  }

  // After `step`, every stored membership is what a full re-evaluation under
  // `config` computes at `now` (the stores being equal, the in-memory one is
  // read).
  void Exact(const std::string& step, const engine::SegmentConfig& config, absl::Time now) {
    absl::StatusOr<std::string> inexact =
        FirstInexactMembership(*memory_[0]->store, tenant_, config, now);
    FUZZ_CHECK(inexact.ok(), absl::StrCat(step, ": ", inexact.status().ToString()));
    FUZZ_CHECK(inexact->empty(), absl::StrCat("after ", step, ", ", *inexact));
  }

 private:
  const Replicas memory_;
  const Replicas redis_;
  const std::string& tenant_;
  std::vector<std::string> order_ids_;
};

std::string Moved(const absl::StatusOr<int64_t>& moved) {
  return moved.ok() ? absl::StrCat(*moved, " moved") : moved.status().ToString();
}

// Both replicas' statistics passes, `first`'s first (each corrects what its
// own writes used); the customers they moved together.
std::string BothMovers(Stack& first, Stack& second) {
  const absl::StatusOr<int64_t> a = first.mover.RunOnce();
  if (!a.ok()) return Moved(a);
  const absl::StatusOr<int64_t> b = second.mover.RunOnce();
  return b.ok() ? Moved(*a + *b) : Moved(b);
}

// Events [begin, end) of `request`, applied as one batch; its response or error.
std::string ApplyEvents(Stack& stack, const std::string& tenant,
                        const v1::BulkIngestRequest& request, int begin, int end) {
  v1::BulkIngestRequest part;
  for (int i = begin; i < end; ++i) *part.add_events() = request.events(i);
  v1::BulkIngestResponse response;
  absl::Status applied =
      ApplyBulkBatch(&stack.contexts, &stack.live, nullptr, tenant, part, &response);
  return applied.ok() ? response.ShortDebugString() : applied.ToString();
}

// Which replica takes each step (bit i: step i), and where the batch is split
// the first time: from a hash of the whole input (FNV-1a), so that inputs
// stay in the same format and every mutation can move them.
uint64_t ReplicaPlan(const uint8_t* data, size_t size) {
  uint64_t h = 14695981039346656037ull;
  for (size_t i = 0; i < size; ++i) h = (h ^ data[i]) * 1099511628211ull;
  return h;
}

}  // namespace

std::vector<std::string> Seeds() {
  // Long histories (the generator's defaults), and recent ones with few
  // orders, whose customers are new, frequent or returning buyers and move
  // by time alone within the days the input lets pass.
  engine::GeneratorOptions recent;
  recent.history_days = 60;
  recent.mean_extra_orders = 3;
  std::vector<std::string> seeds;
  int n = 0;
  for (const engine::GeneratorOptions& options : {engine::GeneratorOptions(), recent}) {
    const std::vector<std::string> histories = GeneratedHistories(options, 16, kMaxEvents / 4);
    // Four customers per batch, each seed with other days and config changes.
    for (size_t i = 0; i + 3 < histories.size(); i += 4, ++n) {
      v1::BulkIngestRequest batch;
      for (size_t j = i; j < i + 4; ++j) {
        v1::BulkIngestRequest one;
        one.ParseFromString(histories[j]);
        for (const v1::Event& e : one.events()) *batch.add_events() = e;
      }
      const char choices[2] = {static_cast<char>(7 + 37 * n),
                               static_cast<char>(n % 2 ? 128 + n : n)};
      seeds.push_back(std::string(choices, 2) + batch.SerializeAsString());
    }
  }
  return seeds;
}

}  // namespace segmentd::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace segmentd;
  if (size < 2) return 0;
  const uint8_t days = data[0];
  const uint8_t config_choice = data[1];
  v1::BulkIngestRequest request;
  if (!request.ParseFromArray(data + 2, static_cast<int>(size - 2))) return 0;
  if (request.events_size() > fuzz::kMaxEvents) return 0;

  fuzz::SharedRedis& shared = fuzz::Redis();
  if (++shared.inputs % fuzz::kInputsPerFlush == 0) {
    absl::StatusOr<store::redis::RedisReply> flushed = shared.redis.client->Command({"FLUSHALL"});
    FUZZ_CHECK(flushed.ok(), flushed.status().ToString());
  }
  const std::string tenant = absl::StrCat("fuzz", shared.inputs);
  absl::Time clock = engine::GeneratorOptions().now;
  store::MemoryCustomerStore memory_store;
  fuzz::Stack memory_0(&memory_store, &memory_store, &tenant, &clock);
  fuzz::Stack memory_1(&memory_store, &memory_store, &tenant, &clock);
  fuzz::Stack redis_0(shared.replicas[0].store.get(), shared.replicas[0].tail_store.get(), &tenant,
                      &clock);
  fuzz::Stack redis_1(shared.replicas[1].store.get(), shared.replicas[1].tail_store.get(), &tenant,
                      &clock);
  const fuzz::Replicas memory = {&memory_0, &memory_1};
  const fuzz::Replicas redis = {&redis_0, &redis_1};
  fuzz::Comparison compare(memory, redis, tenant, request);
  const engine::SegmentConfig defaults;
  const uint64_t plan = fuzz::ReplicaPlan(data, size);
  // The replica taking step `i` on one side, and the other one.
  auto taking = [plan](const fuzz::Replicas& side, int i) -> fuzz::Stack& {
    return *side[(plan >> i) & 1];
  };
  auto other = [plan](const fuzz::Replicas& side, int i) -> fuzz::Stack& {
    return *side[1 - ((plan >> i) & 1)];
  };

  for (fuzz::Stack* s : {&memory_0, &redis_0}) {
    absl::StatusOr<int64_t> version =
        s->store->WriteConfig(tenant, 0, ConfigToProto(defaults).SerializeAsString(), clock);
    FUZZ_CHECK(version.ok() && s->store->ConfigApplied(tenant, *version).ok(), "store the config");
  }
  compare.After("the config", clock, "", "");

  // The batch in two parts, each through the replica its step picks: one
  // customer's events, the category dictionary's new names and an order's
  // placement and cancellation can reach the store through different
  // replicas, each with its own cached snapshot.
  const int events = request.events_size();
  const int split = static_cast<int>((plan >> 32) % (events + 1));
  std::string parts[2];  // per side, applied in order
  int side_index = 0;
  for (const fuzz::Replicas* side : {&memory, &redis}) {
    parts[side_index++] =
        absl::StrCat(fuzz::ApplyEvents(taking(*side, 0), tenant, request, 0, split), " | ",
                     fuzz::ApplyEvents(taking(*side, 1), tenant, request, split, events));
  }
  compare.After(absl::StrCat("the batch, split after ", split, " of ", events, " events"), clock,
                parts[0], parts[1]);
  compare.After("a statistics pass", clock, fuzz::BothMovers(taking(memory, 2), other(memory, 2)),
                fuzz::BothMovers(taking(redis, 2), other(redis, 2)));
  compare.Exact("a statistics pass", defaults, clock);
  compare.After("the batch again", clock,
                fuzz::ApplyEvents(taking(memory, 3), tenant, request, 0, events),
                fuzz::ApplyEvents(taking(redis, 3), tenant, request, 0, events));

  clock += absl::Hours(24) * (1 + days);
  compare.After(absl::StrCat(1 + days, " days later, a scheduler pass"), clock,
                fuzz::Moved(taking(memory, 4).scheduler.RunOnce()),
                fuzz::Moved(taking(redis, 4).scheduler.RunOnce()));
  compare.After("a statistics pass after them", clock,
                fuzz::BothMovers(taking(memory, 5), other(memory, 5)),
                fuzz::BothMovers(taking(redis, 5), other(redis, 5)));
  compare.Exact("a statistics pass after them", defaults, clock);

  // When the next step's replica is the other one, its cached config is then
  // stale: its pass must notice the update, as any later call would.
  const engine::SegmentConfig changed = fuzz::ChangedConfig(config_choice);
  const bool in_full = config_choice >= 128;
  const int64_t memory_moved =
      fuzz::UpdateConfig(taking(memory, 6), tenant, changed, in_full, clock);
  const int64_t redis_moved = fuzz::UpdateConfig(taking(redis, 6), tenant, changed, in_full, clock);
  compare.After(absl::StrCat("config change ", config_choice % 6, in_full ? " (in full)" : ""),
                clock, absl::StrCat(memory_moved), absl::StrCat(redis_moved));
  compare.After("the scheduler pass after it", clock,
                fuzz::Moved(taking(memory, 7).scheduler.RunOnce()),
                fuzz::Moved(taking(redis, 7).scheduler.RunOnce()));
  compare.Exact("the scheduler pass after the config change", changed, clock);

  // The days again, under the new config: the replica taking the scheduler
  // pass may still hold the old one (its writes must be refused and redone).
  clock += absl::Hours(24) * (1 + days);
  compare.After("the days again, a scheduler pass", clock,
                fuzz::Moved(taking(memory, 8).scheduler.RunOnce()),
                fuzz::Moved(taking(redis, 8).scheduler.RunOnce()));
  compare.After("a statistics pass after them", clock,
                fuzz::BothMovers(taking(memory, 9), other(memory, 9)),
                fuzz::BothMovers(taking(redis, 9), other(redis, 9)));
  compare.Exact("the last statistics pass", changed, clock);
  // The indexes above loaded the tenant before its first customer and then
  // followed the stream; one loaded now reads the member sets as they are.
  targeting::MembershipIndex loaded(shared.replicas[0].store.get(),
                                    shared.replicas[0].tail_store.get(),
                                    fuzz::Stack::IndexOptions());
  fuzz::CheckIndex(loaded, *shared.replicas[0].store, tenant,
                   "an index loaded at the end, in Redis");
  return 0;
}

// One contract, two implementations: every case runs against
// MemoryCustomerStore and against RedisCustomerStore on a real redis-server.
// Redis-only behaviour (durability, outages, key layout) is tested at the end.
#include "store/customer_store.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <iostream>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "store/memory_customer_store.h"
#include "store/order_log.h"
#include "store/redis/redis_client.h"
#include "store/redis_customer_store.h"
#include "store/tenant_presence.h"
#include "testing/redis_command_stats.h"
#include "testing/redis_server.h"
#include "testing/redis_test_client.h"

namespace segmentd::store {
namespace {

using redis::RedisClient;

constexpr char kTenant[] = "acme";

absl::Time Ms(int64_t ms) { return absl::FromUnixMillis(ms); }

// The instant `ms_of_day` into UTC day `day`, in Unix ms.
int64_t OnDay(int64_t day, int64_t ms_of_day = 0) { return day * kDayMillis + ms_of_day; }

CustomerWrite Write(std::string id, int64_t expected_version, std::vector<std::string> segments,
                    int64_t at_ms = 1000) {
  CustomerWrite w;
  w.customer_id = std::move(id);
  w.expected_version = expected_version;
  w.profile = "profile of " + w.customer_id;
  w.membership = std::string("m\0embership", 11);
  w.history = std::string("h\0istory of ", 12) + w.customer_id;
  w.segments = std::move(segments);
  w.changed_at = Ms(at_ms);
  return w;
}

// Returns (ms, seq) of a change position.
std::pair<uint64_t, uint64_t> Position(const std::string& position) {
  std::pair<std::string, std::string> parts = absl::StrSplit(position, '-');
  std::pair<uint64_t, uint64_t> parsed;
  EXPECT_TRUE(absl::SimpleAtoi(parts.first, &parsed.first)) << position;
  EXPECT_TRUE(absl::SimpleAtoi(parts.second, &parsed.second)) << position;
  return parsed;
}

// The ids ScanRegisteredNonBuyers hands over for [lo, hi), sorted (each as
// often as it was handed over).
std::vector<std::string> RegisteredNonBuyers(CustomerStore& store, absl::string_view tenant,
                                             int64_t lo = std::numeric_limits<int64_t>::min(),
                                             int64_t hi = std::numeric_limits<int64_t>::max()) {
  std::vector<std::string> ids;
  absl::Status s =
      store.ScanRegisteredNonBuyers(tenant, lo, hi, [&](std::vector<std::string> page) {
        ids.insert(ids.end(), page.begin(), page.end());
        return absl::OkStatus();
      });
  EXPECT_TRUE(s.ok()) << s;
  std::sort(ids.begin(), ids.end());
  return ids;
}

// Waits (bounded polling) until `client`'s Redis has a client blocked in a
// command such as XREAD BLOCK.
bool WaitForBlockedClient(RedisClient& client) {
  for (int i = 0; i < 500; ++i) {
    absl::StatusOr<redis::RedisReply> info = client.Command({"INFO", "clients"});
    if (info.ok() && !absl::StrContains(info->str(), "blocked_clients:0")) return true;
    absl::SleepFor(absl::Milliseconds(10));
  }
  return false;
}

class CustomerStoreTest : public ::testing::TestWithParam<bool> {
 protected:
  bool redis() const { return GetParam(); }

  void SetUp() override {
    if (redis()) {
      absl::StatusOr<std::unique_ptr<testing::RedisServer>> server =
          testing::RedisServer::Start({});
      ASSERT_TRUE(server.ok()) << server.status();
      server_ = *std::move(server);
      RedisClient::Options options;
      options.address = redis::RedisAddress::Unix(server_->socket_path());
      options.pool_size = 8;
      absl::StatusOr<std::unique_ptr<RedisClient>> client = RedisClient::Create(options);
      ASSERT_TRUE(client.ok()) << client.status();
      client_ = *std::move(client);
      // Writes need the tenant registered (store/tenant_presence.h).
      for (const char* tenant : {kTenant, "other", "t2", "empty"}) {
        ASSERT_TRUE(testing::RegisterTenant(client_.get(), tenant).ok());
      }
    }
    store_ = MakeStore(/*max_changes=*/1'000'000);
  }

  // Small pages and batches, so that paging and pipelining are exercised.
  std::unique_ptr<CustomerStore> MakeStore(int64_t max_changes) {
    if (!redis()) {
      MemoryCustomerStore::Options options;
      options.max_changes = max_changes;
      return std::make_unique<MemoryCustomerStore>(options);
    }
    RedisCustomerStore::Options options;
    options.max_changes = max_changes;
    options.write_batch = 3;
    options.small_call_batch = 3;
    options.read_page = 2;
    options.max_block = absl::Milliseconds(200);
    absl::StatusOr<std::unique_ptr<RedisCustomerStore>> store =
        RedisCustomerStore::Create(client_.get(), options);
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? *std::move(store) : nullptr;
  }

  // Writes and expects every write to commit.
  void MustWrite(std::vector<CustomerWrite> writes, absl::string_view tenant = kTenant) {
    absl::StatusOr<std::vector<bool>> done = store_->Write(tenant, writes);
    ASSERT_TRUE(done.ok()) << done.status();
    EXPECT_EQ(*done, std::vector<bool>(writes.size(), true));
  }

  // Makes kTenant one whose customers were written before the order record
  // existed: the record emptied and its marker gone.
  void ForgetOrderRecord() {
    if (!redis()) {
      static_cast<MemoryCustomerStore*>(store_.get())->ForgetOrderRecord(kTenant);
      return;
    }
    const std::string pattern = absl::StrCat("sd:{", kTenant, "}:oid:*");
    absl::StatusOr<redis::RedisReply> keys = client_->Command({"KEYS", pattern});
    ASSERT_TRUE(keys.ok()) << keys.status();
    for (const redis::RedisReply& key : keys->elements()) {
      ASSERT_TRUE(client_->Command({"DEL", key.str()}).ok());
    }
  }
  // Makes `tenant` one whose customers were written before the registration
  // index existed: the index, its marker and every customer's entry gone.
  void ForgetRegistrationIndex(absl::string_view tenant = kTenant) {
    if (!redis()) {
      static_cast<MemoryCustomerStore*>(store_.get())->ForgetRegistrationIndex(tenant);
      return;
    }
    const std::string prefix = absl::StrCat("sd:{", tenant, "}:");
    for (const char* key : {"m:reg", "m:reg:complete", "m:reg:next"}) {
      ASSERT_TRUE(client_->Command({"DEL", absl::StrCat(prefix, key)}).ok());
    }
    absl::StatusOr<redis::RedisReply> keys = client_->Command({"KEYS", prefix + "c:*"});
    ASSERT_TRUE(keys.ok()) << keys.status();
    for (const redis::RedisReply& key : keys->elements()) {
      ASSERT_TRUE(client_->Command({"HDEL", key.str(), "g"}).ok());
    }
  }

  // Makes kTenant one whose customers were written before every write kept
  // both AOV indexes: its marker gone.
  void ForgetAovIndexesKept() {
    if (!redis()) {
      static_cast<MemoryCustomerStore*>(store_.get())->ForgetAovIndexesKept(kTenant);
      return;
    }
    ASSERT_TRUE(client_->Command({"DEL", absl::StrCat("sd:{", kTenant, "}:m:aov:kept")}).ok());
  }

  CustomerState MustRead(const std::string& id, absl::string_view tenant = kTenant) {
    absl::StatusOr<std::vector<CustomerState>> states = store_->Read(tenant, {id});
    EXPECT_TRUE(states.ok()) << states.status();
    return states.ok() ? states->front() : CustomerState();
  }

  std::vector<StoredChange> AllChanges(absl::string_view tenant = kTenant) {
    absl::StatusOr<std::vector<StoredChange>> changes =
        store_->ReadChanges(tenant, "", 1'000'000, absl::ZeroDuration());
    EXPECT_TRUE(changes.ok()) << changes.status();
    return changes.ok() ? *changes : std::vector<StoredChange>();
  }

  std::unique_ptr<testing::RedisServer> server_;
  std::unique_ptr<RedisClient> client_;
  std::unique_ptr<CustomerStore> store_;
};

TEST_P(CustomerStoreTest, ReadOfAbsentCustomersIsVersionZero) {
  absl::StatusOr<std::vector<CustomerState>> states = store_->Read(kTenant, {"a", "b"});
  ASSERT_TRUE(states.ok()) << states.status();
  ASSERT_EQ(states->size(), 2u);
  EXPECT_EQ((*states)[0].customer_id, "a");
  EXPECT_EQ((*states)[1].customer_id, "b");
  for (const CustomerState& s : *states) {
    EXPECT_EQ(s.version, 0);
    EXPECT_EQ(s.ordinal, 0u);
    EXPECT_TRUE(s.profile.empty());
    EXPECT_TRUE(s.segments.empty());
    EXPECT_FALSE(s.next_change.has_value());
  }
  EXPECT_TRUE(store_->Read(kTenant, {})->empty());
}

TEST_P(CustomerStoreTest, WritesRoundTripAndAssignOrdinalsInOrder) {
  CustomerWrite a = Write("a", 0, {"VIP", "category:shoes"});
  a.profile = std::string("p\0\xff{}", 5);
  a.next_change = Ms(5000);
  MustWrite({a, Write("b", 0, {}), Write("c", 0, {"VIP"})});
  absl::StatusOr<std::vector<CustomerState>> states = store_->Read(kTenant, {"c", "a", "b"});
  ASSERT_TRUE(states.ok()) << states.status();
  EXPECT_EQ((*states)[0].ordinal, 3u);
  EXPECT_EQ((*states)[1].ordinal, 1u);
  EXPECT_EQ((*states)[2].ordinal, 2u);
  const CustomerState& read_a = (*states)[1];
  EXPECT_EQ(read_a.customer_id, "a");
  EXPECT_EQ(read_a.version, 1);
  EXPECT_EQ(read_a.profile, a.profile);
  EXPECT_EQ(read_a.membership, a.membership);
  EXPECT_EQ(read_a.history, a.history);
  EXPECT_EQ(read_a.segments, (std::vector<std::string>{"VIP", "category:shoes"}));
  EXPECT_EQ(read_a.next_change, Ms(5000));
  // A later write keeps the ordinal and bumps the version.
  CustomerWrite again = Write("a", 1, {"category:shoes"});
  MustWrite({again, Write("d", 0, {})});
  CustomerState after = MustRead("a");
  EXPECT_EQ(after.version, 2);
  EXPECT_EQ(after.ordinal, 1u);
  EXPECT_EQ(after.segments, std::vector<std::string>{"category:shoes"});
  EXPECT_FALSE(after.next_change.has_value());
  EXPECT_EQ(MustRead("d").ordinal, 4u);
  // ReadProfiles: the profile field and the AOV entries alone, "" for a
  // customer never stored.
  absl::StatusOr<std::vector<ProfileRead>> profiles =
      store_->ReadProfiles(kTenant, {"a", "nobody", "d"});
  ASSERT_TRUE(profiles.ok()) << profiles.status();
  ASSERT_EQ(profiles->size(), 3u);
  EXPECT_EQ((*profiles)[0].profile, again.profile);
  EXPECT_EQ((*profiles)[1].profile, "");
  EXPECT_EQ((*profiles)[2].profile, MustRead("d").profile);
  for (const ProfileRead& p : *profiles) {
    EXPECT_EQ(p.aov_milli[0], std::nullopt);
    EXPECT_EQ(p.aov_milli[1], std::nullopt);
  }
  EXPECT_EQ(store_->ReadProfiles(kTenant, {""}).status().code(),
            absl::StatusCode::kInvalidArgument);
  // A batch may write one customer twice: writes apply in order.
  absl::StatusOr<std::vector<bool>> twice =
      store_->Write(kTenant, {Write("e", 0, {"X"}), Write("e", 1, {"Y"}), Write("e", 1, {})});
  ASSERT_TRUE(twice.ok()) << twice.status();
  EXPECT_EQ(*twice, (std::vector<bool>{true, true, false}));
  EXPECT_EQ(MustRead("e").segments, std::vector<std::string>{"Y"});
  EXPECT_EQ(MustRead("e").ordinal, 5u);
}

TEST_P(CustomerStoreTest, VersionConflictChangesNothing) {
  CustomerWrite first = Write("a", 0, {"VIP"});
  first.next_change = Ms(100);
  first.lifetime_orders = 2;
  MustWrite({first});
  const std::vector<StoredChange> before = AllChanges();

  CustomerWrite stale = Write("a", 0, {"OTHER"});
  stale.profile = "stale";
  stale.lifetime_orders = 9;
  CustomerWrite future = Write("a", 5, {"OTHER"});
  absl::StatusOr<std::vector<bool>> done = store_->Write(kTenant, {stale});
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(*done, std::vector<bool>{false});
  EXPECT_EQ(*store_->Write(kTenant, {future}), std::vector<bool>{false});
  // One conflict does not stop the other writes of the batch.
  done = store_->Write(kTenant, {Write("b", 0, {"OTHER"}), Write("a", 3, {}), Write("c", 0, {})});
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(*done, (std::vector<bool>{true, false, true}));

  CustomerState a = MustRead("a");
  EXPECT_EQ(a.version, 1);
  EXPECT_EQ(a.profile, "profile of a");
  EXPECT_EQ(a.segments, std::vector<std::string>{"VIP"});
  EXPECT_EQ(*store_->SegmentSize(kTenant, "VIP"), 1);
  EXPECT_EQ(*store_->SegmentSize(kTenant, "OTHER"), 1);  // b only
  EXPECT_EQ(*store_->OrdersAtRank(kTenant, 1), 2);
  EXPECT_EQ(*store_->NextDue(kTenant), Ms(100));
  EXPECT_EQ(AllChanges().size(), before.size() + 1);  // b entered OTHER
}

// ReadAndWrite hands `decide` each customer's state, in order, and commits
// the writes it makes (re-classifications and others alike), each checked
// against the version read.
TEST_P(CustomerStoreTest, ReadAndWriteCommitsTheWritesMadeOfTheStatesRead) {
  MustWrite({Write("a", 0, {"S"}), Write("b", 0, {"S"}), Write("c", 0, {})});
  std::vector<std::string> seen;
  std::vector<int64_t> versions;
  auto decide =
      [&](const std::vector<CustomerState>& states) -> absl::StatusOr<std::vector<CustomerWrite>> {
    std::vector<CustomerWrite> writes;
    for (const CustomerState& state : states) {
      seen.push_back(state.customer_id);
      versions.push_back(state.version);
      if (state.customer_id == "a") {  // a re-classification
        CustomerWrite moved = Write("a", state.version, {"T"});
        moved.measures_as_stored = true;
        moved.cause = ChangeCause::kTime;
        writes.push_back(moved);
      } else if (state.customer_id == "b") {
        writes.push_back(Write("b", state.version + 6, {"T"}));  // stale
      } else if (state.customer_id == "c") {
        writes.push_back(Write("c", state.version, {"U"}));  // a full write
      }
    }
    return writes;
  };
  absl::StatusOr<std::vector<WriteResult>> results =
      store_->ReadAndWrite(kTenant, {"a", "nobody", "b", "c"}, decide);
  ASSERT_TRUE(results.ok()) << results.status();
  EXPECT_EQ(seen, (std::vector<std::string>{"a", "nobody", "b", "c"}));
  EXPECT_EQ(versions, (std::vector<int64_t>{1, 0, 1, 1}));
  EXPECT_EQ(*results, (std::vector<WriteResult>{WriteResult::kCommitted, WriteResult::kConflict,
                                                WriteResult::kCommitted}));
  EXPECT_EQ(MustRead("a").version, 2);
  EXPECT_EQ(MustRead("a").segments, std::vector<std::string>{"T"});
  EXPECT_EQ(MustRead("b").version, 1);
  EXPECT_EQ(MustRead("c").segments, std::vector<std::string>{"U"});
  EXPECT_EQ(*store_->SegmentSize(kTenant, "S"), 1);  // b
  EXPECT_EQ(*store_->SegmentSize(kTenant, "T"), 1);  // a
  // No writes: nothing to commit. decide's error, or an invalid write or
  // id, fails the call with nothing written.
  auto none = [](const std::vector<CustomerState>&) {
    return absl::StatusOr<std::vector<CustomerWrite>>(std::vector<CustomerWrite>());
  };
  EXPECT_TRUE(store_->ReadAndWrite(kTenant, {"a"}, none)->empty());
  auto fails = [](const std::vector<CustomerState>&) {
    return absl::StatusOr<std::vector<CustomerWrite>>(absl::InternalError("decided nothing"));
  };
  EXPECT_EQ(store_->ReadAndWrite(kTenant, {"a"}, fails).status().message(), "decided nothing");
  auto invalid = [](const std::vector<CustomerState>&) {
    return absl::StatusOr<std::vector<CustomerWrite>>(std::vector<CustomerWrite>{Write("", 2, {})});
  };
  EXPECT_EQ(store_->ReadAndWrite(kTenant, {"a"}, invalid).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->ReadAndWrite(kTenant, {""}, none).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(MustRead("a").version, 2);
}

TEST_P(CustomerStoreTest, OrdersBelongToTheCustomerThatPlacedThemFirst) {
  // Order id fingerprints: o1 and o1b share a bucket (top 16 bits) and
  // differ in one byte, next to NUL bytes; o2 and o4 have all bits set.
  constexpr uint64_t o1 = 0x0001'0000'0000'0001, o1b = 0x0001'0000'0000'0000;
  constexpr uint64_t o2 = 0xffff'ffff'ffff'ffff, o3 = 0x1234'5678'9abc'def0;
  constexpr uint64_t o4 = 0xffff'0000'0000'0000, o5 = 42, o6 = 0x8000'0000'0000'0000;
  CustomerWrite a = Write("a", 0, {"VIP"});
  a.placed_orders = {o1, o1b};
  CustomerWrite b = Write("b", 0, {});
  b.placed_orders = {o2};
  MustWrite({a, b});
  const uint32_t ord_a = MustRead("a").ordinal;
  const uint32_t ord_b = MustRead("b").ordinal;
  EXPECT_EQ(*store_->OrderOwners(kTenant, {o1, o2, o1b, o3}),
            (std::vector<uint32_t>{ord_a, ord_b, ord_a, 0}));
  EXPECT_EQ(*store_->OrderOwners("other", {o1}), std::vector<uint32_t>{0});

  // Placing o2 again for a, or for a new customer c: the whole write is
  // refused, whatever else it carries, and the other writes of the batch go
  // on. A version conflict is told apart (and checked first).
  const std::vector<StoredChange> before = AllChanges();
  CustomerWrite a2 = Write("a", 1, {"OTHER"});
  a2.placed_orders = {o4, o2};
  a2.lifetime_orders = 3;
  a2.order_totals = {{OnDay(10), 1, 500}};
  CustomerWrite c = Write("c", 0, {"VIP"});
  c.placed_orders = {o2};
  CustomerWrite d = Write("d", 0, {});
  d.placed_orders = {o5};
  CustomerWrite stale = Write("b", 0, {});
  stale.placed_orders = {o1};
  absl::StatusOr<std::vector<WriteResult>> done =
      store_->WriteWithResults(kTenant, {a2, c, d, stale});
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(*done, (std::vector<WriteResult>{WriteResult::kOrderTaken, WriteResult::kOrderTaken,
                                             WriteResult::kCommitted, WriteResult::kConflict}));
  EXPECT_EQ(MustRead("a").version, 1);
  EXPECT_EQ(MustRead("a").segments, std::vector<std::string>{"VIP"});
  EXPECT_EQ(MustRead("c").version, 0);
  EXPECT_EQ(*store_->CustomerCount(kTenant), 3);  // a, b and d: no ordinal for c
  EXPECT_EQ(store_->DailyTotals(kTenant, 10, 10)->front().orders, 0);
  EXPECT_EQ(AllChanges().size(), before.size());  // d entered nothing
  // a2's claim of o4 was released with the refusal.
  EXPECT_EQ(*store_->OrderOwners(kTenant, {o4, o5}),
            (std::vector<uint32_t>{0, MustRead("d").ordinal}));

  // Without the foreign order the write commits; an order the customer
  // already owns may be placed again (a retry of a write whose reply was
  // lost).
  a2.placed_orders = {o4, o1};
  MustWrite({a2});
  EXPECT_EQ(*store_->OrderOwners(kTenant, {o4}), std::vector<uint32_t>{ord_a});
  // A new customer placing a new order gets the ordinal it is recorded with.
  CustomerWrite e = Write("e", 0, {});
  e.placed_orders = {o6};
  MustWrite({e});
  EXPECT_EQ(*store_->OrderOwners(kTenant, {o6}), std::vector<uint32_t>{MustRead("e").ordinal});
}

// A tenant's first customer makes its order record complete; a tenant
// written before the record existed is filled by RecordOrders, whose cursor
// only moves up and completes the record past the last ordinal.
TEST_P(CustomerStoreTest, RecordOrdersFillsTheRecordOfATenantWrittenBeforeIt) {
  EXPECT_EQ(*store_->OrdersUnrecordedFrom(kTenant), std::optional<uint32_t>(0));  // no customer
  CustomerWrite a = Write("a", 0, {});
  a.placed_orders = {7};
  MustWrite({a, Write("b", 0, {}), Write("c", 0, {})});
  EXPECT_EQ(*store_->OrdersUnrecordedFrom(kTenant), std::nullopt);
  ForgetOrderRecord();
  EXPECT_EQ(*store_->OrdersUnrecordedFrom(kTenant), std::optional<uint32_t>(1));
  EXPECT_EQ(*store_->OrderOwners(kTenant, {7}), std::vector<uint32_t>{0});
  EXPECT_EQ(*store_->OrdersUnrecordedFrom("other"), std::optional<uint32_t>(0));

  // Orders of ordinals 1 and 2; order 9 was stored for both (before ids
  // were unique per tenant): the first recorded keeps it, the second counts.
  EXPECT_EQ(*store_->RecordOrders(kTenant, {{7, 1}, {9, 1}}, 0), 0);
  EXPECT_EQ(*store_->OrdersUnrecordedFrom(kTenant), std::optional<uint32_t>(1));  // 0: stays
  EXPECT_EQ(*store_->RecordOrders(kTenant, {{9, 2}, {7, 1}, {11, 2}}, 3), 1);
  EXPECT_EQ(*store_->OrdersUnrecordedFrom(kTenant), std::optional<uint32_t>(3));
  EXPECT_EQ(*store_->RecordOrders(kTenant, {}, 2), 0);  // never back
  EXPECT_EQ(*store_->OrdersUnrecordedFrom(kTenant), std::optional<uint32_t>(3));
  EXPECT_EQ(*store_->OrderOwners(kTenant, {7, 9, 11}), (std::vector<uint32_t>{1, 1, 2}));
  // A live write records its own orders meanwhile, and is refused one taken.
  CustomerWrite d = Write("d", 0, {});
  d.placed_orders = {11};
  EXPECT_EQ(*store_->WriteWithResults(kTenant, {d}),
            std::vector<WriteResult>{WriteResult::kOrderTaken});
  // Past the last ordinal (3), the record is complete: here with more orders
  // than one Redis pipeline records.
  std::vector<CustomerStore::RecordedOrder> many;
  for (uint64_t order = 1000; order < 3500; ++order) many.push_back({order, 3});
  EXPECT_EQ(*store_->RecordOrders(kTenant, many, 4), 0);
  EXPECT_EQ(*store_->OrdersUnrecordedFrom(kTenant), std::nullopt);
  EXPECT_EQ(*store_->OrderOwners(kTenant, {1000, 2222, 3499, 3500}),
            (std::vector<uint32_t>{3, 3, 3, 0}));

  EXPECT_EQ(store_->RecordOrders(kTenant, {{1, 1}, {2, 0}}, 0).status().message(),
            "orders[1].ordinal: must be >= 1");
  EXPECT_EQ(store_->RecordOrders("", {}, 0).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->OrdersUnrecordedFrom("").status().code(), absl::StatusCode::kInvalidArgument);
}

// The tenant's first customer vouches that every write of the tenant keeps
// both AOV indexes; a tenant written before never is.
TEST_P(CustomerStoreTest, AovIndexesAreKeptFromTheFirstCustomerOn) {
  EXPECT_FALSE(*store_->AovIndexesKeptFromStart(kTenant));  // no customer
  MustWrite({Write("a", 0, {})});
  EXPECT_TRUE(*store_->AovIndexesKeptFromStart(kTenant));
  MustWrite({Write("b", 0, {})});
  EXPECT_TRUE(*store_->AovIndexesKeptFromStart(kTenant));
  EXPECT_FALSE(*store_->AovIndexesKeptFromStart("other"));
  ForgetAovIndexesKept();
  MustWrite({Write("c", 0, {})});  // not the tenant's first customer
  EXPECT_FALSE(*store_->AovIndexesKeptFromStart(kTenant));
  EXPECT_EQ(store_->AovIndexesKeptFromStart("").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_P(CustomerStoreTest, CustomerCountFollowsOrdinals) {
  EXPECT_EQ(*store_->CustomerCount(kTenant), 0);
  MustWrite({Write("a", 0, {}), Write("b", 0, {"VIP"})});
  MustWrite({Write("a", 1, {"VIP"})});  // a rewrite is not a new customer
  EXPECT_EQ(*store_->CustomerCount(kTenant), 2);
  EXPECT_EQ(*store_->CustomerCount("other"), 0);
}

TEST_P(CustomerStoreTest, StatsInUseAreKeptPerTenantUntilRemoved) {
  using Entries = std::vector<std::pair<std::string, std::string>>;
  ASSERT_TRUE(store_->AddStatsInUse(kTenant, "r1/a", "1").ok());
  ASSERT_TRUE(store_->AddStatsInUse(kTenant, "r2/b", "2").ok());
  ASSERT_TRUE(store_->AddStatsInUse(kTenant, "r1/a", "3").ok());  // replaced
  ASSERT_TRUE(store_->AddStatsInUse("other", "r1/c", "4").ok());
  absl::StatusOr<Entries> entries = store_->StatsInUse(kTenant);
  ASSERT_TRUE(entries.ok()) << entries.status();
  std::sort(entries->begin(), entries->end());
  EXPECT_EQ(*entries, (Entries{{"r1/a", "3"}, {"r2/b", "2"}}));
  ASSERT_TRUE(store_->RemoveStatsInUse(kTenant, {"r1/a", "gone"}).ok());
  ASSERT_TRUE(store_->RemoveStatsInUse(kTenant, {}).ok());
  EXPECT_EQ(*store_->StatsInUse(kTenant), (Entries{{"r2/b", "2"}}));
  EXPECT_EQ(*store_->StatsInUse("other"), (Entries{{"r1/c", "4"}}));
}

TEST_P(CustomerStoreTest, AReplicaIsAliveUntilItsMarkRunsOut) {
  EXPECT_FALSE(*store_->MarkReplicaAlive("r1", absl::Seconds(60)));  // first mark
  EXPECT_TRUE(*store_->MarkReplicaAlive("r1", absl::Milliseconds(50)));
  EXPECT_FALSE(*store_->MarkReplicaAlive("r2", absl::Seconds(60)));
  EXPECT_EQ(*store_->ReplicasAlive({"r1", "r2", "r3"}), (std::vector<bool>{true, true, false}));
  absl::SleepFor(absl::Milliseconds(120));
  EXPECT_EQ(*store_->ReplicasAlive({"r1", "r2"}), (std::vector<bool>{false, true}));
  EXPECT_FALSE(*store_->MarkReplicaAlive("r1", absl::Seconds(60)));  // it had lapsed
  EXPECT_TRUE(store_->ReplicasAlive({})->empty());
}

TEST_P(CustomerStoreTest, ChangeHeadIsTheNewestChangeAndTheCustomerCount) {
  absl::StatusOr<ChangeHead> head = store_->ReadChangeHead(kTenant);
  ASSERT_TRUE(head.ok()) << head.status();
  EXPECT_EQ(head->position, "0-0");
  EXPECT_EQ(head->customers, 0);
  MustWrite({Write("a", 0, {"VIP"})});
  head = store_->ReadChangeHead(kTenant);
  ASSERT_TRUE(head.ok()) << head.status();
  const std::string after_a = *store_->LastChangePosition(kTenant);
  EXPECT_NE(after_a, "0-0");
  EXPECT_EQ(head->position, after_a);
  EXPECT_EQ(head->customers, 1);
  // A customer whose write enters no segment has no stream entry, but counts.
  MustWrite({Write("b", 0, {})});
  head = store_->ReadChangeHead(kTenant);
  ASSERT_TRUE(head.ok()) << head.status();
  EXPECT_EQ(head->position, after_a);
  EXPECT_EQ(head->customers, 2);
  EXPECT_EQ(store_->ReadChangeHead("other")->customers, 0);
  EXPECT_EQ(store_->ReadChangeHead("").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_P(CustomerStoreTest, SurveyTenantsReadsEachTenantsScheduleRechecksCustomersAndConfig) {
  std::vector<CustomerWrite> writes = {Write("a", 0, {}), Write("b", 0, {})};
  writes[0].next_change = Ms(3000);
  writes[1].next_change = Ms(1000);
  MustWrite(writes);
  MustWrite({Write("x", 0, {})}, "other");
  ASSERT_TRUE(store_->AddRechecks("other", {"x", "y", "z"}, 1).ok());
  ASSERT_TRUE(store_->WriteConfig("t2", 0, "config", Ms(5)).ok());
  // More tenants than the Redis store reads in one round trip (512), the
  // ones with something to say among them, not first.
  std::vector<std::string> tenants;
  for (int i = 0; i < 700; ++i) tenants.push_back(absl::StrCat("never-", i));
  tenants.insert(tenants.begin() + 600, {kTenant, "other", "t2", "empty"});
  absl::StatusOr<std::vector<CustomerStore::TenantSurvey>> survey = store_->SurveyTenants(tenants);
  ASSERT_TRUE(survey.ok()) << survey.status();
  ASSERT_EQ(survey->size(), tenants.size());
  auto of = [&](absl::string_view tenant) {
    const size_t i = std::find(tenants.begin(), tenants.end(), tenant) - tenants.begin();
    return (*survey)[i];
  };
  EXPECT_EQ(of(kTenant).next_due, Ms(1000));
  EXPECT_EQ(of(kTenant).customers, 2);
  EXPECT_EQ(of(kTenant).rechecks, 0);
  EXPECT_FALSE(of(kTenant).reclassification_pending);
  EXPECT_EQ(of("other").next_due, std::nullopt);
  EXPECT_EQ(of("other").customers, 1);
  EXPECT_EQ(of("other").rechecks, 3);
  EXPECT_TRUE(of("t2").reclassification_pending);
  EXPECT_EQ(of("t2").customers, 0);
  for (absl::string_view quiet : {"empty", "never-0", "never-699"}) {
    const CustomerStore::TenantSurvey s = of(quiet);
    EXPECT_EQ(s.next_due, std::nullopt) << quiet;
    EXPECT_EQ(s.customers + s.rechecks, 0) << quiet;
    EXPECT_FALSE(s.reclassification_pending) << quiet;
  }
  ASSERT_TRUE(store_->ConfigApplied("t2", 1).ok());
  EXPECT_FALSE((*store_->SurveyTenants({"t2"}))[0].reclassification_pending);
  EXPECT_TRUE(store_->SurveyTenants({})->empty());
  // One tenant's trouble is its own: a bad id, or (Redis) a key of the
  // wrong type, fails that tenant's entry, not the others'.
  if (redis()) ASSERT_TRUE(client_->Command({"SET", "sd:{t2}:sched", "x"}).ok());
  survey = store_->SurveyTenants({"Bad Tenant", kTenant, "t2"});
  ASSERT_TRUE(survey.ok()) << survey.status();
  EXPECT_EQ((*survey)[0].status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE((*survey)[1].status.ok()) << (*survey)[1].status;
  EXPECT_EQ((*survey)[1].next_due, Ms(1000));
  EXPECT_EQ((*survey)[2].status.ok(), !redis()) << (*survey)[2].status;
}

TEST_P(CustomerStoreTest, WritesOfAnOutdatedConfigAreRefused) {
  MustWrite({Write("a", 0, {"VIP"})});  // no config stored: version 0
  absl::StatusOr<int64_t> version = store_->WriteConfig(kTenant, 0, "config", Ms(5));
  ASSERT_TRUE(version.ok()) << version.status();
  ASSERT_EQ(*version, 1);
  // Computed under config version 0: refused like a version conflict, by
  // the Redis store's script and its re-classification transaction alike.
  EXPECT_EQ(*store_->Write(kTenant, {Write("a", 1, {})}), std::vector<bool>{false});
  CustomerWrite stale_move = Write("a", 1, {});
  stale_move.measures_as_stored = true;
  CustomerWrite stale_bookkeeping = Write("a", 1, {"VIP"});
  stale_bookkeeping.bookkeeping_only = true;
  EXPECT_EQ(*store_->Write(kTenant, {stale_move}), std::vector<bool>{false});
  EXPECT_EQ(*store_->Write(kTenant, {stale_bookkeeping}), std::vector<bool>{false});
  EXPECT_EQ(MustRead("a").segments, std::vector<std::string>{"VIP"});
  CustomerWrite current = Write("a", 1, {});
  current.config_version = 1;
  MustWrite({current});
  EXPECT_TRUE(MustRead("a").segments.empty());
}

TEST_P(CustomerStoreTest, AovIndexesFindCustomersByRange) {
  CustomerWrite a = Write("a", 0, {});
  a.aov_milli[0] = 5'000'000;
  a.aov_milli[1] = 7'000;
  CustomerWrite b = Write("b", 0, {});
  b.aov_milli[0] = 9'000'000;
  CustomerWrite c = Write("c", 0, {});  // no order in either lookback
  MustWrite({a, b, c});
  EXPECT_EQ(MustRead("a").aov_milli[0], 5'000'000);
  EXPECT_EQ(MustRead("a").aov_milli[1], 7'000);
  EXPECT_FALSE(MustRead("c").aov_milli[0].has_value());
  // What a config update reads of each candidate has them too.
  absl::StatusOr<std::vector<ProfileRead>> read = store_->ReadProfiles(kTenant, {"a", "b", "c"});
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ((*read)[0].aov_milli[0], 5'000'000);
  EXPECT_EQ((*read)[0].aov_milli[1], 7'000);
  EXPECT_EQ((*read)[1].aov_milli[0], 9'000'000);
  EXPECT_EQ((*read)[1].aov_milli[1], std::nullopt);
  EXPECT_EQ((*read)[2].aov_milli[0], std::nullopt);
  EXPECT_EQ((*read)[2].aov_milli[1], std::nullopt);
  EXPECT_EQ((*read)[2].profile, c.profile);
  auto sorted = [](absl::StatusOr<std::vector<std::string>> ids) {
    EXPECT_TRUE(ids.ok()) << ids.status();
    std::vector<std::string> out = ids.ok() ? *ids : std::vector<std::string>();
    std::sort(out.begin(), out.end());
    return out;
  };
  EXPECT_EQ(sorted(store_->CustomersByAov(kTenant, AovIndex::kBigSpender, 0, 9'000'000)),
            std::vector<std::string>{"a"});
  EXPECT_EQ(sorted(store_->CustomersByAov(kTenant, AovIndex::kBigSpender, 0, 9'000'001)),
            (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(sorted(store_->CustomersByAov(kTenant, AovIndex::kLowSpender, 0, 1'000'000)),
            std::vector<std::string>{"a"});
  // The whole index (a config update's candidates; refunds can make an AOV
  // negative).
  CustomerWrite d = Write("d", 0, {});
  d.aov_milli[0] = -4'000;
  MustWrite({d});
  EXPECT_EQ(sorted(store_->CustomersByAov(kTenant, AovIndex::kBigSpender,
                                          std::numeric_limits<int64_t>::min(),
                                          std::numeric_limits<int64_t>::max())),
            (std::vector<std::string>{"a", "b", "d"}));
  // And how many (which index a config update reads, when smaller).
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  EXPECT_EQ(*store_->CountCustomersByAov(kTenant, AovIndex::kBigSpender, kMin, kMax), 3);
  EXPECT_EQ(*store_->CountCustomersByAov(kTenant, AovIndex::kBigSpender, 0, 9'000'000), 1);
  EXPECT_EQ(*store_->CountCustomersByAov(kTenant, AovIndex::kLowSpender, kMin, kMax), 1);
  EXPECT_EQ(*store_->CountCustomersByAov("other", AovIndex::kLowSpender, kMin, kMax), 0);
  // Page by page too.
  std::vector<std::string> paged;
  EXPECT_TRUE(store_
                  ->ScanCustomersByAov(kTenant, AovIndex::kBigSpender, kMin, kMax,
                                       [&](std::vector<std::string> ids) {
                                         paged.insert(paged.end(), ids.begin(), ids.end());
                                         return absl::OkStatus();
                                       })
                  .ok());
  std::sort(paged.begin(), paged.end());
  EXPECT_EQ(paged, (std::vector<std::string>{"a", "b", "d"}));
  // A rewrite that keeps an entry keeps it indexed (the Redis store leaves
  // an unchanged entry alone); dropping an entry removes the customer.
  CustomerWrite b2 = Write("b", 1, {});
  b2.aov_milli[0] = 9'000'000;
  CustomerWrite a2 = Write("a", 1, {});
  MustWrite({b2, a2});
  EXPECT_FALSE(MustRead("a").aov_milli[0].has_value());
  EXPECT_EQ(sorted(store_->CustomersByAov(kTenant, AovIndex::kBigSpender, 0, 100'000'000)),
            std::vector<std::string>{"b"});
}

TEST_P(CustomerStoreTest, RegistrationIndexHoldsRegisteredNonBuyers) {
  EXPECT_TRUE(*store_->HasRegistrationIndex(kTenant));
  auto all = [&] {
    std::vector<std::string> ids = RegisteredNonBuyers(*store_, kTenant);
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    return ids;
  };
  std::vector<CustomerWrite> writes;
  for (int i = 0; i < 5; ++i) {
    writes.push_back(Write(absl::StrCat("n", i), 0, {}));
    writes.back().registered_non_buyer_ms = -1000 + 1000 * i;  // before 1970 too
  }
  writes.push_back(Write("buyer", 0, {}));  // no entry
  MustWrite(writes);
  EXPECT_EQ(all(), (std::vector<std::string>{"n0", "n1", "n2", "n3", "n4"}));
  EXPECT_EQ(RegisteredNonBuyers(*store_, kTenant, 0, 2000), (std::vector<std::string>{"n1", "n2"}));
  // A first order drops the entry; a bookkeeping-only write leaves it as stored.
  CustomerWrite bought = Write("n1", 1, {});
  CustomerWrite kept = Write("n2", 1, {});
  kept.bookkeeping_only = true;
  MustWrite({bought, kept});
  EXPECT_EQ(all(), (std::vector<std::string>{"n0", "n2", "n3", "n4"}));
  // An error in the sink stops the scan and is returned.
  absl::Status stopped = store_->ScanRegisteredNonBuyers(
      kTenant, std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max(),
      [](std::vector<std::string>) { return absl::CancelledError("enough"); });
  EXPECT_EQ(stopped.code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(store_->HasRegistrationIndex("").status().code(), absl::StatusCode::kInvalidArgument);
}

// A tenant's first customer makes its registration index complete; a
// tenant written before the index existed is filled by IndexRegistrations,
// which never overwrites an entry a write stored since, and whose cursor
// completes the index past the last ordinal.
TEST_P(CustomerStoreTest, IndexRegistrationsFillsTheIndexOfATenantWrittenBeforeIt) {
  auto indexed = [&](absl::string_view tenant = kTenant) {
    std::vector<std::string> ids = RegisteredNonBuyers(*store_, tenant);
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    return ids;
  };
  EXPECT_EQ(*store_->RegistrationsUnindexedFrom(kTenant), std::optional<uint32_t>(0));
  std::vector<CustomerWrite> writes;
  for (const char* id : {"a", "b", "c", "d"}) writes.push_back(Write(id, 0, {}));
  writes[0].registered_non_buyer_ms = 1000;
  writes[2].registered_non_buyer_ms = 3000;
  MustWrite(writes);
  EXPECT_EQ(*store_->RegistrationsUnindexedFrom(kTenant), std::nullopt);
  EXPECT_TRUE(*store_->HasRegistrationIndex(kTenant));
  ForgetRegistrationIndex();
  EXPECT_EQ(*store_->RegistrationsUnindexedFrom(kTenant), std::optional<uint32_t>(1));
  EXPECT_FALSE(*store_->HasRegistrationIndex(kTenant));
  EXPECT_EQ(indexed(), std::vector<std::string>{});

  // Ordinal 1 (a; b, ordinal 2, has no entry to store), the cursor left alone.
  EXPECT_EQ(*store_->IndexRegistrations(kTenant, {{"a", 1000}}, 0), 1);
  EXPECT_EQ(*store_->RegistrationsUnindexedFrom(kTenant), std::optional<uint32_t>(1));
  EXPECT_EQ(indexed(), std::vector<std::string>{"a"});
  // Filling again stores nothing; nor does an unknown customer.
  EXPECT_EQ(*store_->IndexRegistrations(kTenant, {{"a", 5}, {"zz", 7}}, 3), 0);
  EXPECT_EQ(*store_->RegistrationsUnindexedFrom(kTenant), std::optional<uint32_t>(3));
  EXPECT_EQ(*store_->IndexRegistrations(kTenant, {}, 2), 0);  // never back
  EXPECT_EQ(*store_->RegistrationsUnindexedFrom(kTenant), std::optional<uint32_t>(3));
  // c's write (a first order: no entry) comes before the backfill reaches
  // it, and the entry the backfill derived from c's older state loses.
  MustWrite({Write("c", 1, {})});
  EXPECT_EQ(*store_->IndexRegistrations(kTenant, {{"c", 3000}, {"d", 4000}}, 0), 1);  // d
  EXPECT_EQ(indexed(), (std::vector<std::string>{"a", "d"}));
  // The write script moves an entry the backfill stored like its own.
  MustWrite({Write("a", 1, {})});
  EXPECT_EQ(indexed(), std::vector<std::string>{"d"});
  // A customer the backfill left without an entry (b) is as one stored
  // with none: its write adds the entry it derives.
  CustomerWrite b = Write("b", 1, {});
  b.registered_non_buyer_ms = 2000;
  MustWrite({b});
  EXPECT_EQ(indexed(), (std::vector<std::string>{"b", "d"}));
  EXPECT_FALSE(*store_->HasRegistrationIndex(kTenant));
  // Past the last ordinal (4): complete.
  EXPECT_EQ(*store_->IndexRegistrations(kTenant, {}, 5), 0);
  EXPECT_EQ(*store_->RegistrationsUnindexedFrom(kTenant), std::nullopt);
  EXPECT_TRUE(*store_->HasRegistrationIndex(kTenant));

  // More customers than one Redis script takes.
  std::vector<CustomerWrite> many;
  for (int i = 0; i < 250; ++i) many.push_back(Write(absl::StrCat("m", i), 0, {}));
  MustWrite(many, "other");
  std::vector<CustomerStore::IndexedRegistration> entries;
  for (int i = 0; i < 250; ++i) entries.push_back({absl::StrCat("m", i), 10'000 + i});
  EXPECT_EQ(*store_->IndexRegistrations("other", entries, 0), 0);  // written with the index
  ForgetRegistrationIndex("other");
  EXPECT_EQ(*store_->IndexRegistrations("other", entries, 251), 250);
  EXPECT_EQ(indexed("other").size(), 250u);
  EXPECT_EQ(*store_->RegistrationsUnindexedFrom("other"), std::nullopt);
  // A tenant forgotten while empty: its first customer completes the index.
  ForgetRegistrationIndex("empty");
  MustWrite({Write("x", 0, {})}, "empty");
  EXPECT_EQ(*store_->RegistrationsUnindexedFrom("empty"), std::nullopt);

  EXPECT_EQ(store_->IndexRegistrations(kTenant, {{"a", 1}, {"", 2}}, 0).status().message(),
            "customers[1].customer_id: must be 1-128 bytes, got 0");
  EXPECT_EQ(store_->IndexRegistrations("", {}, 0).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->RegistrationsUnindexedFrom("").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_P(CustomerStoreTest, BookkeepingWritesMoveOnlyTheScheduleAndAovEntries) {
  CustomerWrite a = Write("a", 0, {"VIP", "category:x"});
  a.next_change = Ms(3000);
  a.aov_milli[0] = 5'000;
  a.lifetime_orders = 3;
  a.lifetime_revenue = 300;
  a.order_totals = {{OnDay(20000), 1, 100}, {OnDay(20000, 1), 1, 100}, {OnDay(20000, 2), 1, 100}};
  MustWrite({a});
  const size_t changes = AllChanges().size();

  CustomerWrite b = Write("a", 1, {"VIP", "category:x"});
  b.bookkeeping_only = true;
  b.membership = "moved";
  b.next_change = Ms(5000);
  b.aov_milli[1] = 7'000;  // and no aov_milli[0]
  b.profile = "ignored";
  b.history = "ignored";
  b.lifetime_orders = 9;  // ignored: measures are as stored
  MustWrite({b});
  const CustomerState read = MustRead("a");
  EXPECT_EQ(read.version, 2);
  EXPECT_EQ(read.membership, "moved");
  EXPECT_EQ(read.profile, a.profile);
  EXPECT_EQ(read.history, a.history);
  EXPECT_EQ(read.segments, a.segments);
  EXPECT_EQ(read.next_change, Ms(5000));
  EXPECT_FALSE(read.aov_milli[0].has_value());
  EXPECT_EQ(read.aov_milli[1], 7'000);
  EXPECT_TRUE(store_->Due(kTenant, Ms(4999), 10)->empty());
  EXPECT_EQ(*store_->Due(kTenant, Ms(5000), 10), std::vector<std::string>{"a"});
  EXPECT_TRUE(store_->CustomersByAov(kTenant, AovIndex::kBigSpender, 0, 100'000)->empty());
  EXPECT_EQ(*store_->CustomersByAov(kTenant, AovIndex::kLowSpender, 0, 100'000),
            std::vector<std::string>{"a"});
  EXPECT_EQ(*store_->OrdersAtRank(kTenant, 1), 3);
  EXPECT_EQ(*store_->RevenueAtRank(kTenant, 1), 300);
  EXPECT_EQ((*store_->DailyTotals(kTenant, 20000, 20000))[0].orders, 3);
  EXPECT_EQ(AllChanges().size(), changes);
  EXPECT_EQ(*store_->SegmentSize(kTenant, "VIP"), 1);

  // Removing the schedule entry; a stale version is refused.
  CustomerWrite c = b;
  c.expected_version = 2;
  c.next_change.reset();
  MustWrite({c});
  EXPECT_EQ(*store_->NextDue(kTenant), std::nullopt);
  EXPECT_EQ(*store_->Write(kTenant, {c}), std::vector<bool>{false});

  // Other segments than stored: a writer bug, refused with nothing written.
  CustomerWrite wrong = c;
  wrong.expected_version = 3;
  wrong.segments = {"VIP"};
  wrong.next_change = Ms(9000);
  EXPECT_EQ(store_->Write(kTenant, {wrong}).status().code(), absl::StatusCode::kInternal);
  EXPECT_EQ(MustRead("a").version, 3);
  EXPECT_EQ(*store_->NextDue(kTenant), std::nullopt);

  // Only for stored customers, and never with facts (order totals).
  CustomerWrite fresh = Write("new", 0, {});
  fresh.bookkeeping_only = true;
  absl::Status refused = store_->Write(kTenant, {fresh}).status();
  EXPECT_EQ(refused.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(refused.message(), "bookkeeping_only")) << refused;
  CustomerWrite facts = c;
  facts.expected_version = 3;
  facts.order_totals = {{OnDay(20000), 1, 1}};
  refused = store_->Write(kTenant, {facts}).status();
  EXPECT_EQ(refused.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(refused.message(), "bookkeeping_only")) << refused;
}

TEST_P(CustomerStoreTest, WritesWithMeasuresAsStoredLeaveTheMeasureIndexesAlone) {
  CustomerWrite a = Write("a", 0, {"VIP"});
  a.lifetime_orders = 3;
  a.lifetime_revenue = 300;
  CustomerWrite n = Write("n", 0, {});  // a non-buyer
  MustWrite({a, n});
  CustomerWrite moved = Write("a", 1, {"LAPSED"});
  moved.measures_as_stored = true;
  moved.lifetime_orders = 9;  // ignored
  moved.lifetime_revenue = 900;
  CustomerWrite still = Write("n", 1, {"WINDOW_SHOPPER"});
  still.measures_as_stored = true;
  MustWrite({moved, still});
  EXPECT_EQ(MustRead("a").segments, std::vector<std::string>{"LAPSED"});
  EXPECT_EQ(*store_->SegmentSize(kTenant, "VIP"), 0);
  EXPECT_EQ(*store_->Buyers(kTenant), 1);
  EXPECT_EQ(*store_->OrdersAtRank(kTenant, 1), 3);
  EXPECT_EQ(*store_->RevenueAtRank(kTenant, 1), 300);
  EXPECT_EQ(*store_->CustomersByOrders(kTenant, 0, 100), std::vector<std::string>{"a"});
  // Only for stored customers, and never with facts (order totals).
  CustomerWrite fresh = Write("new", 0, {});
  fresh.measures_as_stored = true;
  absl::Status refused = store_->Write(kTenant, {fresh}).status();
  EXPECT_EQ(refused.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(refused.message(), "measures_as_stored")) << refused;
  CustomerWrite facts = Write("a", 2, {});
  facts.measures_as_stored = true;
  facts.order_totals = {{OnDay(20000), 1, 1}};
  refused = store_->Write(kTenant, {facts}).status();
  EXPECT_EQ(refused.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(refused.message(), "measures_as_stored")) << refused;
}

TEST_P(CustomerStoreTest, DailyTotalsAccumulateDeltas) {
  CustomerWrite a = Write("a", 0, {});
  a.order_totals = {{OnDay(20000), 1, 500}, {OnDay(20002, 1), 1, 400}, {OnDay(20002, 9), 1, 500}};
  CustomerWrite b = Write("b", 0, {});
  b.order_totals = {{OnDay(20000, 7), 1, 100}};
  MustWrite({a, b});
  CustomerWrite refund = Write("a", 1, {});
  refund.order_totals = {{OnDay(20002, 1), 0, -400}};
  MustWrite({refund});
  absl::StatusOr<std::vector<DayTotals>> totals = store_->DailyTotals(kTenant, 19999, 20002);
  ASSERT_TRUE(totals.ok()) << totals.status();
  ASSERT_EQ(totals->size(), 4u);
  EXPECT_EQ((*totals)[0].orders, 0);
  EXPECT_EQ((*totals)[1].orders, 2);
  EXPECT_EQ((*totals)[1].revenue, 600);
  EXPECT_EQ((*totals)[2].orders, 0);
  EXPECT_EQ((*totals)[3].orders, 2);
  EXPECT_EQ((*totals)[3].revenue, 500);
  // A refused write adds nothing.
  CustomerWrite stale = Write("a", 1, {});
  stale.order_totals = {{OnDay(20000), 1, 5}};
  EXPECT_EQ(*store_->Write(kTenant, {stale}), std::vector<bool>{false});
  EXPECT_EQ((*store_->DailyTotals(kTenant, 20000, 20000))[0].orders, 2);
  EXPECT_EQ(store_->DailyTotals(kTenant, 5, 4).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->DailyTotals(kTenant, 0, kMaxDailyRange).status().code(),
            absl::StatusCode::kInvalidArgument);
  // Other tenants see nothing.
  EXPECT_EQ((*store_->DailyTotals("other", 20000, 20000))[0].orders, 0);
}

// The store AOV's window: the orders placed in (after, up_to], to the
// millisecond, whatever the time of day at either end (SPEC's "in that
// lookback"; whole days were counted until 2026-12-06).
TEST_P(CustomerStoreTest, OrderTotalsInCountsAWindowToTheMillisecond) {
  CustomerWrite a = Write("a", 0, {});
  a.order_totals = {{OnDay(20000, 1'000), 1, 100},
                    {OnDay(20000, 50'000'000), 1, 200},
                    {OnDay(20001, 10), 1, 400},
                    {OnDay(20005, 80'000'000), 1, 800}};
  CustomerWrite b = Write("b", 0, {});
  b.order_totals = {{OnDay(20005, 3'000), 1, 1'600}};
  MustWrite({a, b});
  // A later cancel and a refund are booked at their orders' instants.
  CustomerWrite undo = Write("a", 1, {});
  undo.order_totals = {{OnDay(20000, 50'000'000), -1, -200}, {OnDay(20001, 10), 0, -40}};
  MustWrite({undo});

  auto totals = [&](int64_t after, int64_t up_to) {
    absl::StatusOr<DayTotals> t = store_->OrderTotalsIn(kTenant, after, up_to);
    EXPECT_TRUE(t.ok()) << t.status();
    return std::pair(t.ok() ? t->orders : -1, t.ok() ? t->revenue : -1);
  };
  using P = std::pair<int64_t, int64_t>;
  EXPECT_EQ(totals(OnDay(19990), OnDay(20010)), P(4, 100 + 360 + 800 + 1'600));
  // Start exclusive, end inclusive, within a day and across days.
  EXPECT_EQ(totals(OnDay(20000, 1'000), OnDay(20005, 3'000)), P(2, 360 + 1'600));
  EXPECT_EQ(totals(OnDay(20000, 999), OnDay(20005, 2'999)), P(2, 100 + 360));
  EXPECT_EQ(totals(OnDay(20000, 0), OnDay(20000, 1'000)), P(1, 100));
  EXPECT_EQ(totals(OnDay(20001, 10), OnDay(20005, 79'999'999)), P(1, 1'600));
  EXPECT_EQ(totals(OnDay(20001, 9), OnDay(20005, 80'000'000)), P(3, 360 + 800 + 1'600));
  // A lookback of 5 days ending at 20005 00:00:03.000 starts at 20000 00:00:03.
  EXPECT_EQ(totals(OnDay(20005, 3'000) - 5 * kDayMillis, OnDay(20005, 3'000)), P(2, 360 + 1'600));
  EXPECT_EQ(totals(OnDay(20002), OnDay(20005)), P(0, 0));
  // Later appends are read too.
  CustomerWrite c = Write("c", 0, {});
  c.order_totals = {{OnDay(20000, 1'001), 1, 3}};
  MustWrite({c});
  EXPECT_EQ(totals(OnDay(20000, 1'000), OnDay(20000, 2'000)), P(1, 3));
  EXPECT_EQ(totals(OnDay(19990), OnDay(20010)), P(5, 100 + 360 + 800 + 1'600 + 3));
  // Other tenants see nothing.
  EXPECT_EQ(store_->OrderTotalsIn("other", OnDay(19990), OnDay(20010))->orders, 0);
  // Windows: nonempty, at most ten years.
  for (auto [after, up_to] : {P(OnDay(20000), OnDay(20000)), P(OnDay(20001), OnDay(20000)),
                              P(OnDay(20000), OnDay(20000 + kMaxTotalsWindowDays, 1))}) {
    const absl::Status s = store_->OrderTotalsIn(kTenant, after, up_to).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << after << " " << up_to;
    EXPECT_TRUE(absl::StrContains(s.message(), "up_to_ms")) << s;
  }
  EXPECT_TRUE(
      store_->OrderTotalsIn(kTenant, OnDay(20000), OnDay(20000 + kMaxTotalsWindowDays)).ok());
  // Each delta is one order's change.
  CustomerWrite two = Write("d", 0, {});
  two.order_totals = {{OnDay(20000), 2, 10}};
  const absl::Status refused = store_->Write(kTenant, {two}).status();
  EXPECT_EQ(refused.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(refused.message(), "order_totals")) << refused;
}

TEST_P(CustomerStoreTest, InvalidInputIsRejected) {
  for (const std::string& id : {std::string(), std::string(129, 'x')}) {
    EXPECT_EQ(store_->Read(kTenant, {id}).status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(store_->Write(kTenant, {Write(id, 0, {})}).status().code(),
              absl::StatusCode::kInvalidArgument);
  }
  MustWrite({Write(std::string(128, 'x'), 0, {})});
  // A bad write fails the whole batch before anything is written.
  EXPECT_EQ(store_->Write(kTenant, {Write("ok", 0, {}), Write("", 0, {})}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->Write(kTenant, {Write("a", 0, {"S", "S"})}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->Write(kTenant, {Write("a", 0, {""})}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(MustRead("ok").version, 0);
  for (const std::string& tenant :
       {std::string(), std::string(64, 'a'), std::string("Acme"), std::string("a:b"),
        std::string("a{b}"), std::string("a b"), std::string("a\nb"), std::string("*")}) {
    EXPECT_EQ(store_->Read(tenant, {"a"}).status().code(), absl::StatusCode::kInvalidArgument)
        << tenant;
    EXPECT_EQ(store_->Write(tenant, {Write("a", 0, {})}).status().code(),
              absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(store_->SegmentSize(tenant, "S").status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(store_->ReadConfig(tenant).status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(store_->ReadChanges(tenant, "", 1, absl::ZeroDuration()).status().code(),
              absl::StatusCode::kInvalidArgument);
  }
  EXPECT_EQ(store_->ReadChanges(kTenant, "x", 1, absl::ZeroDuration()).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->ReadChanges(kTenant, "", 0, absl::ZeroDuration()).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->Due(kTenant, Ms(0), 0).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->ScanCustomers(kTenant, "nope", 10).status().code(),
            absl::StatusCode::kInvalidArgument);

  // Placed orders: distinct, and only in writes that move facts.
  CustomerWrite twice = Write("a", 0, {});
  twice.placed_orders = {7, 7};
  absl::StatusOr<std::vector<bool>> refused = store_->Write(kTenant, {twice});
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(refused.status().message(), "writes[0].placed_orders"))
      << refused.status();
  MustWrite({Write("a", 0, {})});
  CustomerWrite bookkeeping = Write("a", 1, {});
  bookkeeping.bookkeeping_only = true;
  bookkeeping.placed_orders = {7};
  EXPECT_EQ(store_->Write(kTenant, {bookkeeping}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_P(CustomerStoreTest, SegmentDiffUpdatesMemberSetsAndChangeStream) {
  EXPECT_EQ(*store_->LastChangePosition(kTenant), "0-0");
  MustWrite({Write("a", 0, {"VIP", "category:shoes"}, 1000)});
  CustomerWrite second = Write("a", 1, {"category:shoes", "NEW"}, 2000);
  second.cause = ChangeCause::kTime;
  MustWrite({second, Write("b", 0, {"NEW"}, 3000)});
  EXPECT_EQ(*store_->SegmentSize(kTenant, "VIP"), 0);
  EXPECT_EQ(*store_->SegmentSize(kTenant, "category:shoes"), 1);
  EXPECT_EQ(*store_->SegmentSize(kTenant, "NEW"), 2);
  EXPECT_EQ(*store_->SegmentSize(kTenant, "NEVER"), 0);
  EXPECT_EQ(*store_->SegmentSizes(kTenant, {"NEW", "VIP", "category:shoes", "NEVER"}),
            (std::vector<int64_t>{2, 0, 1, 0}));
  EXPECT_EQ(store_->SegmentSizes(kTenant, {"NEW", ""}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(store_->SegmentSizes(kTenant, {})->empty());

  const std::vector<StoredChange> changes = AllChanges();
  ASSERT_EQ(changes.size(), 5u);
  struct Expected {
    std::string customer, segment;
    bool entered;
    int64_t ms;
    ChangeCause cause;
  };
  const std::vector<Expected> expected = {
      {"a", "VIP", true, 1000, ChangeCause::kEvent},
      {"a", "category:shoes", true, 1000, ChangeCause::kEvent},
      {"a", "VIP", false, 2000, ChangeCause::kTime},
      {"a", "NEW", true, 2000, ChangeCause::kTime},
      {"b", "NEW", true, 3000, ChangeCause::kEvent},
  };
  for (size_t i = 0; i < changes.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(changes[i].customer_id, expected[i].customer);
    EXPECT_EQ(changes[i].segment, expected[i].segment);
    EXPECT_EQ(changes[i].entered, expected[i].entered);
    EXPECT_EQ(changes[i].changed_at, Ms(expected[i].ms));
    EXPECT_EQ(changes[i].cause, expected[i].cause);
    if (i > 0) {
      EXPECT_LT(Position(changes[i - 1].position), Position(changes[i].position));
    }
  }
  EXPECT_EQ(*store_->LastChangePosition(kTenant), changes.back().position);
  // Writing the same list again changes nothing in the stream.
  MustWrite({Write("b", 1, {"NEW"}, 4000)});
  EXPECT_EQ(AllChanges().size(), 5u);
}

TEST_P(CustomerStoreTest, ScansVisitEveryMemberAndCustomerOnce) {
  constexpr int kCustomers = 300;
  std::vector<CustomerWrite> writes;
  for (int i = 0; i < kCustomers; ++i) {
    std::vector<std::string> segments = {"ALL"};
    if (i % 3 == 0) segments.push_back("THIRD");
    writes.push_back(Write(absl::StrCat("customer ", i), 0, segments));
  }
  MustWrite(writes);
  EXPECT_EQ(*store_->SegmentSize(kTenant, "ALL"), kCustomers);
  for (const auto& [segment, size] :
       std::map<std::string, int>{{"ALL", kCustomers}, {"THIRD", kCustomers / 3}, {"NONE", 0}}) {
    std::multiset<std::string> seen;
    std::string cursor;
    int pages = 0;
    do {
      absl::StatusOr<IdPage> page = store_->ScanSegment(kTenant, segment, cursor, 17);
      ASSERT_TRUE(page.ok()) << page.status();
      seen.insert(page->ids.begin(), page->ids.end());
      cursor = page->next_cursor;
      ASSERT_LT(++pages, 1000);
    } while (!cursor.empty());
    EXPECT_EQ(static_cast<int>(seen.size()), size) << segment;
    EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(), seen.size()) << segment;
  }
  // The first pages of several at once, continued one by one.
  const std::vector<std::string> segments = {"ALL", "THIRD", "NONE"};
  absl::StatusOr<std::vector<IdPage>> first = store_->ScanSegmentsFirstPages(kTenant, segments, 17);
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_EQ(first->size(), segments.size());
  for (size_t i = 0; i < segments.size(); ++i) {
    std::set<std::string> seen((*first)[i].ids.begin(), (*first)[i].ids.end());
    for (std::string cursor = (*first)[i].next_cursor; !cursor.empty();) {
      absl::StatusOr<IdPage> page = store_->ScanSegment(kTenant, segments[i], cursor, 17);
      ASSERT_TRUE(page.ok()) << page.status();
      seen.insert(page->ids.begin(), page->ids.end());
      cursor = page->next_cursor;
    }
    EXPECT_EQ(seen.size(), std::vector<size_t>({kCustomers, kCustomers / 3, 0})[i]) << segments[i];
  }
  std::vector<std::string> customers;
  std::string cursor;
  do {
    absl::StatusOr<IdPage> page = store_->ScanCustomers(kTenant, cursor, 7);
    ASSERT_TRUE(page.ok()) << page.status();
    customers.insert(customers.end(), page->ids.begin(), page->ids.end());
    cursor = page->next_cursor;
  } while (!cursor.empty());
  ASSERT_EQ(customers.size(), static_cast<size_t>(kCustomers));
  for (int i = 0; i < kCustomers; ++i) EXPECT_EQ(customers[i], absl::StrCat("customer ", i));
  absl::StatusOr<IdPage> empty = store_->ScanCustomers("globex", "", 10);
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->ids.empty());
  EXPECT_TRUE(empty->next_cursor.empty());
}

TEST_P(CustomerStoreTest, ReadChangesAfterAPositionWithALimit) {
  for (int i = 0; i < 5; ++i) MustWrite({Write(absl::StrCat("c", i), 0, {"S"}, 1000 + i)});
  const std::vector<StoredChange> all = AllChanges();
  ASSERT_EQ(all.size(), 5u);
  absl::StatusOr<std::vector<StoredChange>> page =
      store_->ReadChanges(kTenant, all[1].position, 2, absl::ZeroDuration());
  ASSERT_TRUE(page.ok()) << page.status();
  ASSERT_EQ(page->size(), 2u);
  EXPECT_EQ((*page)[0].customer_id, "c2");
  EXPECT_EQ((*page)[1].customer_id, "c3");
  EXPECT_EQ((*page)[1].position, all[3].position);
  page = store_->ReadChanges(kTenant, all[4].position, 10, absl::ZeroDuration());
  ASSERT_TRUE(page.ok());
  EXPECT_TRUE(page->empty());
  // An empty wait returns empty after about `wait`.
  page = store_->ReadChanges(kTenant, all[4].position, 10, absl::Milliseconds(30));
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_TRUE(page->empty());
  // Other tenants have their own streams.
  EXPECT_TRUE(AllChanges("globex").empty());
}

TEST_P(CustomerStoreTest, WriteFromAnotherThreadWakesAWaitingReader) {
  MustWrite({Write("first", 0, {"S"})});
  const std::string last = *store_->LastChangePosition(kTenant);
  // Longer than max_block, so the Redis store blocks more than once if the
  // writer is slow; the reader returns as soon as the entry is there.
  absl::StatusOr<std::vector<StoredChange>> woken;
  std::thread reader([&] { woken = store_->ReadChanges(kTenant, last, 10, absl::Seconds(30)); });
  // Redis shows blocked clients: write only once the reader waits. (The
  // memory store returns the entry whether the write comes first or not.)
  if (redis()) {
    EXPECT_TRUE(WaitForBlockedClient(*client_));
  }
  MustWrite({Write("second", 0, {"S"}, 7000)});
  reader.join();
  ASSERT_TRUE(woken.ok()) << woken.status();
  ASSERT_EQ(woken->size(), 1u);
  EXPECT_EQ((*woken)[0].customer_id, "second");
  EXPECT_EQ((*woken)[0].changed_at, Ms(7000));
}

TEST_P(CustomerStoreTest, ChangeTailIsTheChangesThenTheCustomerCount) {
  absl::StatusOr<ChangeTail> tail = store_->ReadChangeTail(kTenant, "", 10, absl::ZeroDuration());
  ASSERT_TRUE(tail.ok()) << tail.status();
  EXPECT_TRUE(tail->changes.empty());
  EXPECT_FALSE(tail->retained_from.has_value());
  EXPECT_EQ(tail->customers, 0);
  EXPECT_EQ(tail->newest, "0-0");
  MustWrite({Write("a", 0, {"S"}, 1000)});
  // A customer whose write enters no segment has no entry, but counts.
  MustWrite({Write("b", 0, {})});
  tail = store_->ReadChangeTail(kTenant, "", 10, absl::ZeroDuration());
  ASSERT_TRUE(tail.ok()) << tail.status();
  ASSERT_EQ(tail->changes.size(), 1u);
  EXPECT_EQ(tail->changes[0].customer_id, "a");
  EXPECT_EQ(tail->changes[0].changed_at, Ms(1000));
  EXPECT_FALSE(tail->retained_from.has_value());
  EXPECT_EQ(tail->customers, 2);
  EXPECT_EQ(tail->newest, tail->changes[0].position);

  // A waiting tail is woken by a write, and counts the customer written.
  const std::string last = tail->changes[0].position;
  absl::StatusOr<ChangeTail> woken;
  std::thread reader([&] { woken = store_->ReadChangeTail(kTenant, last, 10, absl::Seconds(30)); });
  if (redis()) {
    EXPECT_TRUE(WaitForBlockedClient(*client_));
  }
  MustWrite({Write("c", 0, {"S"}, 2000)});
  reader.join();
  ASSERT_TRUE(woken.ok()) << woken.status();
  ASSERT_EQ(woken->changes.size(), 1u);
  EXPECT_EQ(woken->changes[0].customer_id, "c");
  EXPECT_EQ(woken->customers, 3);
  EXPECT_EQ(woken->newest, woken->changes[0].position);
  // Nothing after the newest: empty once the wait is over.
  tail = store_->ReadChangeTail(kTenant, woken->changes[0].position, 10, absl::Milliseconds(30));
  ASSERT_TRUE(tail.ok()) << tail.status();
  EXPECT_TRUE(tail->changes.empty());
  EXPECT_EQ(tail->customers, 3);
  EXPECT_EQ(tail->newest, woken->changes[0].position);

  EXPECT_EQ(store_->ReadChangeTail("", "", 10, absl::ZeroDuration()).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->ReadChangeTail(kTenant, "x", 10, absl::ZeroDuration()).status().code(),
            absl::StatusCode::kInvalidArgument);
  absl::Status limit = store_->ReadChangeTail(kTenant, "", 0, absl::ZeroDuration()).status();
  EXPECT_EQ(limit.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(limit.message(), "limit")) << limit;
}

TEST_P(CustomerStoreTest, ScheduleOrdersDueCustomersAndForgetsUnscheduled) {
  EXPECT_EQ(*store_->NextDue(kTenant), std::nullopt);
  std::vector<CustomerWrite> writes = {Write("a", 0, {}), Write("b", 0, {}), Write("c", 0, {}),
                                       Write("d", 0, {})};
  writes[0].next_change = Ms(3000);
  writes[1].next_change = Ms(1000);
  writes[2].next_change = Ms(2000);
  MustWrite(writes);
  EXPECT_EQ(*store_->NextDue(kTenant), Ms(1000));
  EXPECT_EQ(*store_->Due(kTenant, Ms(2500), 10), (std::vector<std::string>{"b", "c"}));
  EXPECT_EQ(*store_->Due(kTenant, Ms(2500), 1), std::vector<std::string>{"b"});
  EXPECT_EQ(*store_->Due(kTenant, Ms(2000), 10), (std::vector<std::string>{"b", "c"}));
  EXPECT_TRUE(store_->Due(kTenant, Ms(999), 10)->empty());
  // The first instant after another, in milliseconds as Due compares them.
  EXPECT_EQ(*store_->NextDueAfter(kTenant, Ms(999)), Ms(1000));
  EXPECT_EQ(*store_->NextDueAfter(kTenant, Ms(1000)), Ms(2000));
  EXPECT_EQ(*store_->NextDueAfter(kTenant, Ms(1000) + absl::Microseconds(999)), Ms(2000));
  EXPECT_EQ(*store_->NextDueAfter(kTenant, Ms(3000)), std::nullopt);
  EXPECT_EQ(*store_->NextDueAfter(kTenant, absl::InfiniteFuture()), std::nullopt);
  // A rewrite that keeps the instant keeps the entry (the Redis store leaves
  // an unchanged entry alone).
  CustomerWrite same = Write("a", 1, {});
  same.next_change = Ms(3000);
  MustWrite({same});
  EXPECT_EQ(*store_->Due(kTenant, Ms(3000), 10), (std::vector<std::string>{"b", "c", "a"}));
  // Rescheduling moves, nullopt removes.
  CustomerWrite b = Write("b", 1, {});
  CustomerWrite c = Write("c", 1, {});
  c.next_change = Ms(4000);
  MustWrite({b, c});
  EXPECT_EQ(*store_->NextDue(kTenant), Ms(3000));
  EXPECT_EQ(*store_->Due(kTenant, Ms(10000), 10), (std::vector<std::string>{"a", "c"}));
  MustWrite({Write("a", 2, {}), Write("c", 2, {})});
  EXPECT_EQ(*store_->NextDue(kTenant), std::nullopt);
  EXPECT_TRUE(store_->Due(kTenant, Ms(10000), 10)->empty());
}

TEST_P(CustomerStoreTest, MeasureIndexesHoldBuyersOnly) {
  auto buyer = [](std::string id, int64_t version, int64_t orders, int64_t revenue) {
    CustomerWrite w = Write(std::move(id), version, {});
    w.lifetime_orders = orders;
    w.lifetime_revenue = revenue;
    return w;
  };
  MustWrite({buyer("a", 0, 3, 300), buyer("b", 0, 1, 50), buyer("c", 0, 3, 700),
             buyer("d", 0, 0, 0), buyer("e", 0, 0, 99), buyer("f", 0, 1, -20)});
  EXPECT_EQ(*store_->Buyers(kTenant), 4);
  EXPECT_EQ(*store_->OrdersAtRank(kTenant, 1), 3);
  EXPECT_EQ(*store_->OrdersAtRank(kTenant, 2), 3);  // a tie
  EXPECT_EQ(*store_->OrdersAtRank(kTenant, 3), 1);
  EXPECT_EQ(*store_->OrdersAtRank(kTenant, 4), 1);
  EXPECT_EQ(*store_->OrdersAtRank(kTenant, 5), std::nullopt);
  EXPECT_EQ(*store_->OrdersAtRank(kTenant, 0), std::nullopt);
  EXPECT_EQ(*store_->RevenueAtRank(kTenant, 1), 700);
  EXPECT_EQ(*store_->RevenueAtRank(kTenant, 2), 300);
  EXPECT_EQ(*store_->RevenueAtRank(kTenant, 4), -20);
  EXPECT_EQ(*store_->CustomersByOrders(kTenant, 1, 3), (std::vector<std::string>{"b", "f"}));
  EXPECT_EQ(*store_->CustomersByOrders(kTenant, 3, 4), (std::vector<std::string>{"a", "c"}));
  EXPECT_EQ(*store_->CustomersByOrders(kTenant, 0, 100),
            (std::vector<std::string>{"b", "f", "a", "c"}));
  EXPECT_TRUE(store_->CustomersByOrders(kTenant, 4, 100)->empty());
  EXPECT_TRUE(store_->CustomersByOrders(kTenant, 3, 3)->empty());
  EXPECT_EQ(*store_->CountCustomersByOrders(kTenant, 1, 3), 2);
  EXPECT_EQ(*store_->CountCustomersByOrders(kTenant, 3, std::numeric_limits<int64_t>::max()), 2);
  EXPECT_EQ(*store_->CountCustomersByOrders(kTenant, 0, 100), 4);
  EXPECT_EQ(*store_->CountCustomersByOrders(kTenant, 3, 3), 0);
  // The same range handed over page by page (read_page 2 for Redis: pages).
  std::vector<std::string> paged;
  int pages = 0;
  EXPECT_TRUE(store_
                  ->ScanCustomersByOrders(kTenant, 0, 100,
                                          [&](std::vector<std::string> ids) {
                                            ++pages;
                                            paged.insert(paged.end(), ids.begin(), ids.end());
                                            return absl::OkStatus();
                                          })
                  .ok());
  EXPECT_EQ(paged, (std::vector<std::string>{"b", "f", "a", "c"}));
  EXPECT_GE(pages, 1);
  // An error of the receiver stops the scan and is returned.
  EXPECT_EQ(store_
                ->ScanCustomersByOrders(kTenant, 0, 100,
                                        [](std::vector<std::string>) {
                                          return absl::CancelledError("enough");
                                        })
                .code(),
            absl::StatusCode::kCancelled);
  EXPECT_EQ(*store_->CustomersByRevenue(kTenant, -100, 300), (std::vector<std::string>{"f", "b"}));
  EXPECT_EQ(*store_->CustomersByRevenue(kTenant, 300, 701), (std::vector<std::string>{"a", "c"}));
  // Orders back to 0 (e.g. refunds folded in): no longer a buyer.
  MustWrite({buyer("a", 1, 0, 0), buyer("e", 1, 2, 10)});
  EXPECT_EQ(*store_->Buyers(kTenant), 4);
  EXPECT_EQ(*store_->CustomersByOrders(kTenant, 3, 4), std::vector<std::string>{"c"});
  EXPECT_EQ(*store_->CustomersByOrders(kTenant, 2, 3), std::vector<std::string>{"e"});
  EXPECT_EQ(*store_->RevenueAtRank(kTenant, 2), 50);
  EXPECT_EQ(*store_->Buyers("globex"), 0);
}

TEST_P(CustomerStoreTest, ConfigIsVersionedCompareAndSet) {
  EXPECT_EQ(*store_->ReadConfig(kTenant), std::nullopt);
  EXPECT_EQ(store_->WriteConfig(kTenant, 1, "x", Ms(1)).status().code(),
            absl::StatusCode::kAborted);
  EXPECT_EQ(*store_->WriteConfig(kTenant, 0, std::string("v\0one", 5), Ms(1500)), 1);
  EXPECT_EQ(store_->WriteConfig(kTenant, 0, "again", Ms(1)).status().code(),
            absl::StatusCode::kAborted);
  absl::StatusOr<std::optional<VersionedBlob>> config = store_->ReadConfig(kTenant);
  ASSERT_TRUE(config.ok()) << config.status();
  ASSERT_TRUE(config->has_value());
  EXPECT_EQ((*config)->version, 1);
  EXPECT_EQ((*config)->bytes, std::string("v\0one", 5));
  EXPECT_EQ((*config)->updated_at, Ms(1500));
  EXPECT_TRUE((*config)->reclassification_pending);
  EXPECT_EQ((*config)->reclassifying_replica, "");
  EXPECT_EQ(*store_->WriteConfig(kTenant, 1, "two", Ms(2500)), 2);
  EXPECT_EQ((*store_->ReadConfig(kTenant))->bytes, "two");
  // A claim of the stored, pending version from its current claimant.
  EXPECT_FALSE(*store_->ClaimReclassification(kTenant, 1, "", "r1"));    // not stored
  EXPECT_FALSE(*store_->ClaimReclassification(kTenant, 2, "r0", "r1"));  // not r0's
  EXPECT_TRUE(*store_->ClaimReclassification(kTenant, 2, "", "r1"));
  EXPECT_EQ((*store_->ReadConfig(kTenant))->reclassifying_replica, "r1");
  EXPECT_FALSE(*store_->ClaimReclassification(kTenant, 2, "", "r2"));
  EXPECT_TRUE(*store_->ClaimReclassification(kTenant, 2, "r1", "r2"));
  EXPECT_EQ((*store_->ReadConfig(kTenant))->reclassifying_replica, "r2");
  EXPECT_TRUE((*store_->ReadConfig(kTenant))->reclassification_pending);
  for (absl::string_view bad : {"", "1"}) {
    EXPECT_EQ(store_->ClaimReclassification(kTenant, 2, "r2", bad).status().code(),
              absl::StatusCode::kInvalidArgument);
  }
  // Only the stored version's re-classification clears the flag.
  ASSERT_TRUE(store_->ConfigApplied(kTenant, 1).ok());
  EXPECT_TRUE((*store_->ReadConfig(kTenant))->reclassification_pending);
  ASSERT_TRUE(store_->ConfigApplied(kTenant, 2).ok());
  EXPECT_FALSE((*store_->ReadConfig(kTenant))->reclassification_pending);
  EXPECT_EQ((*store_->ReadConfig(kTenant))->reclassifying_replica, "");
  EXPECT_FALSE(*store_->ClaimReclassification(kTenant, 2, "r2", "r3"));  // nothing pending
  EXPECT_EQ((*store_->ReadConfig(kTenant))->version, 2);
  EXPECT_EQ(*store_->ReadConfig("globex"), std::nullopt);
}

TEST_P(CustomerStoreTest, RechecksKeepTheHighestVersionAndClearOnlyWhatWasDone) {
  // More than one script page (500), with binary ids.
  std::vector<std::string> ids;
  for (int i = 0; i < 1203; ++i) {
    ids.push_back(absl::StrCat("c{", i, "}\n", std::string("\0x", 2), i % 7));
  }
  ids.push_back(std::string("nul\0id", 6));
  EXPECT_EQ(*store_->RecheckCount(kTenant), 0);
  EXPECT_TRUE(store_->Rechecks(kTenant, 10)->empty());
  ASSERT_TRUE(store_->AddRechecks(kTenant, ids, 3).ok());
  EXPECT_EQ(*store_->RecheckCount(kTenant), static_cast<int64_t>(ids.size()));
  EXPECT_EQ(*store_->RecheckCount("globex"), 0);
  // A later update's entry replaces an earlier one; an earlier one never
  // replaces a later.
  ASSERT_TRUE(store_->AddRechecks(kTenant, {ids[0], ids[1]}, 5).ok());
  ASSERT_TRUE(store_->AddRechecks(kTenant, {ids[1], ids.back()}, 2).ok());
  std::map<std::string, int64_t> seen;
  absl::StatusOr<std::vector<CustomerStore::Recheck>> all =
      store_->Rechecks(kTenant, static_cast<int>(ids.size()) + 10);
  ASSERT_TRUE(all.ok()) << all.status();
  for (const CustomerStore::Recheck& r : *all) seen[r.customer_id] = r.config_version;
  ASSERT_EQ(seen.size(), ids.size());
  EXPECT_EQ(seen[ids[0]], 5);
  EXPECT_EQ(seen[ids[1]], 5);
  EXPECT_EQ(seen[ids[2]], 3);
  EXPECT_EQ(seen[ids.back()], 3);
  EXPECT_EQ(store_->Rechecks(kTenant, 7)->size(), 7u);
  // Re-classified under version 4: entries of version 5 stay.
  ASSERT_TRUE(store_->ClearRechecks(kTenant, ids, 4).ok());
  all = store_->Rechecks(kTenant, 100);
  ASSERT_TRUE(all.ok());
  std::vector<std::string> left;
  for (const CustomerStore::Recheck& r : *all) left.push_back(r.customer_id);
  std::sort(left.begin(), left.end());
  std::vector<std::string> want = {ids[0], ids[1]};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(left, want);
  ASSERT_TRUE(store_->ClearRechecks(kTenant, {ids[0], "never added"}, 5).ok());
  EXPECT_EQ(*store_->RecheckCount(kTenant), 1);
  // Bad input names the field.
  EXPECT_EQ(store_->AddRechecks(kTenant, {ids[0], ""}, 1).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(store_->AddRechecks(kTenant, {ids[0], ""}, 1).message(),
                                 "customer_ids[1]"));
  EXPECT_TRUE(absl::StrContains(store_->ClearRechecks(kTenant, {ids[0]}, -1).message(),
                                "config_version"));
  EXPECT_EQ(store_->Rechecks(kTenant, 0).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->RecheckCount("Bad Tenant").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_P(CustomerStoreTest, CategoriesAreInternedOnceAndDensely) {
  EXPECT_TRUE(store_->CategoryNames(kTenant)->empty());
  EXPECT_EQ(*store_->InternCategories(kTenant, {"shoes", "hats", "shoes"}),
            (std::vector<uint16_t>{0, 1, 0}));
  EXPECT_EQ(*store_->InternCategories(kTenant, {"hats", "bags:{x}\n"}),
            (std::vector<uint16_t>{1, 2}));
  EXPECT_TRUE(store_->InternCategories(kTenant, {})->empty());
  EXPECT_EQ(*store_->CategoryNames(kTenant),
            (std::vector<std::string>{"shoes", "hats", "bags:{x}\n"}));
  EXPECT_EQ(*store_->InternCategories("globex", {"hats"}), std::vector<uint16_t>{0});
}

TEST_P(CustomerStoreTest, ConcurrentInterningAgreesOnIds) {
  constexpr int kThreads = 4;
  constexpr int kNames = 40;
  std::vector<std::vector<uint16_t>> ids(kThreads);
  std::vector<std::vector<std::string>> names(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kNames; ++i) {
      // Each thread walks the names in its own order, one small batch at a time.
      names[t].push_back(absl::StrCat("cat", (i * (2 * t + 1)) % kNames));
    }
    threads.emplace_back([&, t] {
      for (int i = 0; i < kNames; i += 4) {
        std::vector<std::string> batch(names[t].begin() + i, names[t].begin() + i + 4);
        absl::StatusOr<std::vector<uint16_t>> got = store_->InternCategories(kTenant, batch);
        ASSERT_TRUE(got.ok()) << got.status();
        ids[t].insert(ids[t].end(), got->begin(), got->end());
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  const std::vector<std::string> by_id = *store_->CategoryNames(kTenant);
  ASSERT_EQ(by_id.size(), static_cast<size_t>(kNames));
  for (int t = 0; t < kThreads; ++t) {
    ASSERT_EQ(ids[t].size(), static_cast<size_t>(kNames));
    for (int i = 0; i < kNames; ++i) EXPECT_EQ(by_id[ids[t][i]], names[t][i]);
  }
}

TEST_P(CustomerStoreTest, CategoryIdsRunOutAfter65536) {
  std::vector<std::string> names;
  for (int i = 0; i < 65536; ++i) names.push_back(absl::StrCat(i));
  for (size_t i = 0; i < names.size(); i += 8192) {
    std::vector<std::string> batch(names.begin() + i, names.begin() + i + 8192);
    absl::StatusOr<std::vector<uint16_t>> ids = store_->InternCategories(kTenant, batch);
    ASSERT_TRUE(ids.ok()) << ids.status();
    EXPECT_EQ(ids->back(), i + 8191);
  }
  EXPECT_EQ(store_->InternCategories(kTenant, {"0", "one too many"}).status().code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(*store_->InternCategories(kTenant, {"65535", "7"}), (std::vector<uint16_t>{65535, 7}));
}

TEST_P(CustomerStoreTest, TenantsAndTrickyIdsNeverCollide) {
  const std::vector<std::string> ids = {"x",
                                        "x}:c:y",
                                        "c:x",
                                        "{t2}",
                                        "a\nb",
                                        "a b",
                                        ":",
                                        "}",
                                        "{",
                                        std::string("x\0y", 3),
                                        "sd:{acme}:c:x",
                                        "ord",
                                        "sched",
                                        "changes",
                                        "s:VIP",
                                        std::string("\0", 1)};
  std::vector<CustomerWrite> writes;
  for (const std::string& id : ids) {
    CustomerWrite w = Write(id, 0, {"VIP", "category:{t2}\n" + id});
    w.profile = "acme:" + id;
    w.next_change = Ms(1000);
    w.lifetime_orders = 1;
    writes.push_back(w);
  }
  MustWrite(writes);
  MustWrite({Write("x", 0, {"VIP"})}, "t2");
  for (size_t i = 0; i < ids.size(); ++i) {
    CustomerState s = MustRead(ids[i]);
    EXPECT_EQ(s.customer_id, ids[i]);
    EXPECT_EQ(s.version, 1) << ids[i];
    EXPECT_EQ(s.ordinal, i + 1) << ids[i];
    EXPECT_EQ(s.profile, "acme:" + ids[i]);
    EXPECT_EQ(*store_->SegmentSize(kTenant, "category:{t2}\n" + ids[i]), 1);
  }
  EXPECT_EQ(*store_->SegmentSize(kTenant, "VIP"), static_cast<int64_t>(ids.size()));
  EXPECT_EQ(*store_->Buyers(kTenant), static_cast<int64_t>(ids.size()));
  EXPECT_EQ(store_->Due(kTenant, Ms(1000), 100)->size(), ids.size());
  // Tenant t2 sees only its own "x".
  CustomerState t2x = MustRead("x", "t2");
  EXPECT_EQ(t2x.version, 1);
  EXPECT_EQ(t2x.ordinal, 1u);
  EXPECT_EQ(t2x.profile, "profile of x");
  EXPECT_EQ(*store_->SegmentSize("t2", "VIP"), 1);
  EXPECT_EQ(*store_->Buyers("t2"), 0);
  EXPECT_TRUE(store_->Due("t2", Ms(1000), 100)->empty());
  EXPECT_EQ(MustRead("{t2}", "t2").version, 0);
  EXPECT_EQ(AllChanges("t2").size(), 1u);
  EXPECT_EQ(AllChanges().size(), 2 * ids.size());

  if (redis()) {
    // Every key but the tenant registry is tagged with its tenant (and
    // SetUp registered others).
    absl::StatusOr<redis::RedisReply> keys = client_->Command({"KEYS", "*"});
    ASSERT_TRUE(keys.ok());
    for (const redis::RedisReply& key : keys->elements()) {
      EXPECT_TRUE(key.str() == kTenantsKey || absl::EndsWith(key.str(), "}:present") ||
                  absl::StartsWith(key.str(), "sd:{acme}:") ||
                  absl::StartsWith(key.str(), "sd:{t2}:"))
          << key.str();
    }
  }
}

TEST_P(CustomerStoreTest, ConcurrentReadModifyWriteLosesNoUpdate) {
  constexpr int kThreads = 4;
  constexpr int kIncrements = 25;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int done = 0; done < kIncrements;) {
        absl::StatusOr<std::vector<CustomerState>> read = store_->Read(kTenant, {"hot"});
        ASSERT_TRUE(read.ok()) << read.status();
        const CustomerState& s = read->front();
        int64_t count = 0;
        if (!s.profile.empty()) {
          ASSERT_TRUE(absl::SimpleAtoi(s.profile, &count));
        }
        CustomerWrite w = Write("hot", s.version, {absl::StrCat("S", (count + 1) % 2)});
        w.profile = absl::StrCat(count + 1);
        // Half the threads write as re-classifications (in Redis: checked
        // by a transaction, not a script), racing the others' scripts.
        w.measures_as_stored = t % 2 == 1 && s.version > 0;
        absl::StatusOr<std::vector<bool>> ok = store_->Write(kTenant, {w});
        ASSERT_TRUE(ok.ok()) << ok.status();
        if (ok->front()) ++done;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  CustomerState hot = MustRead("hot");
  EXPECT_EQ(hot.version, kThreads * kIncrements);
  EXPECT_EQ(hot.profile, absl::StrCat(kThreads * kIncrements));
  EXPECT_EQ(*store_->SegmentSize(kTenant, "S0") + *store_->SegmentSize(kTenant, "S1"), 1);
  // 1 entry for the first write, 2 (left + entered) for every later one.
  EXPECT_EQ(AllChanges().size(), static_cast<size_t>(2 * kThreads * kIncrements - 1));
}

TEST_P(CustomerStoreTest, ChangeStreamIsCapped) {
  store_ = MakeStore(/*max_changes=*/100);
  MustWrite({Write("first", 0, {"S"})});
  const std::string first = *store_->LastChangePosition(kTenant);
  EXPECT_FALSE(store_->RetainedFrom(kTenant)->has_value());  // nothing dropped yet
  EXPECT_FALSE(store_->RetainedFrom("empty")->has_value());
  std::vector<CustomerWrite> writes;
  for (int i = 0; i < 1000; ++i) writes.push_back(Write(absl::StrCat("c", i), 0, {"S"}));
  MustWrite(writes);
  const std::vector<StoredChange> kept = AllChanges();
  // Redis trims whole stream nodes (100 entries): between cap and cap + node.
  EXPECT_GE(kept.size(), 100u);
  EXPECT_LE(kept.size(), 200u);
  EXPECT_EQ(kept.back().customer_id, "c999");
  // The oldest retained entry is reported, so readers can tell they missed some.
  absl::StatusOr<std::optional<std::string>> retained = store_->RetainedFrom(kTenant);
  ASSERT_TRUE(retained.ok()) << retained.status();
  ASSERT_TRUE(retained->has_value());
  EXPECT_EQ(**retained, kept.front().position);
  // A tail still at the first write's entry learns the same with its changes,
  // which start past the gap.
  absl::StatusOr<ChangeTail> tail =
      store_->ReadChangeTail(kTenant, first, 10, absl::ZeroDuration());
  ASSERT_TRUE(tail.ok()) << tail.status();
  ASSERT_EQ(tail->changes.size(), 10u);
  EXPECT_EQ(tail->changes[0].position, kept.front().position);
  ASSERT_TRUE(tail->retained_from.has_value());
  EXPECT_EQ(*tail->retained_from, kept.front().position);
  EXPECT_EQ(tail->customers, 1001);
}

TEST_P(CustomerStoreTest, ThroughputSanity) {
  // Reported, not asserted: wall-clock limits make flaky tests.
  constexpr int kCustomers = 2000;
  std::vector<CustomerWrite> writes;
  for (int i = 0; i < kCustomers; ++i) {
    CustomerWrite w = Write(absl::StrCat("customer-", i), 0, {"ALL", absl::StrCat("S", i % 10)});
    w.profile = std::string(200, 'p');
    w.next_change = Ms(1000 + i);
    w.lifetime_orders = i % 5;
    writes.push_back(w);
  }
  const absl::Time start = absl::Now();
  MustWrite(writes);
  const absl::Duration took = absl::Now() - start;
  std::cout << (redis() ? "Redis" : "Memory") << ": " << kCustomers << " writes in " << took << " ("
            << kCustomers / absl::ToDoubleSeconds(took) << "/s)\n";
  EXPECT_EQ(*store_->SegmentSize(kTenant, "ALL"), kCustomers);
}

INSTANTIATE_TEST_SUITE_P(Stores, CustomerStoreTest, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Redis" : "Memory";
                         });

// Redis only: durability and outages.
class RedisCustomerStoreTest : public ::testing::Test {
 protected:
  void Start(bool appendonly) {
    testing::RedisServer::Options server_options;
    server_options.appendonly = appendonly;
    absl::StatusOr<std::unique_ptr<testing::RedisServer>> server =
        testing::RedisServer::Start(server_options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    RedisClient::Options options;
    options.address = redis::RedisAddress::Unix(server_->socket_path());
    options.initial_backoff = absl::Milliseconds(1);
    options.max_backoff = absl::Milliseconds(10);
    absl::StatusOr<std::unique_ptr<RedisClient>> client = RedisClient::Create(options);
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = *std::move(client);
    ASSERT_TRUE(testing::RegisterTenant(client_.get(), kTenant).ok());
    RedisCustomerStore::Options store_options;
    store_options.write_batch = 16;
    store_options.small_call_batch = 16;
    absl::StatusOr<std::unique_ptr<RedisCustomerStore>> store =
        RedisCustomerStore::Create(client_.get(), store_options);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
  }

  // Retries `f` until it succeeds (the client may be backing off right after
  // a restart); bounded polling.
  template <typename F>
  auto Eventually(F f) {
    auto result = f();
    for (int i = 0; i < 200 && !result.ok(); ++i) {
      absl::SleepFor(absl::Milliseconds(10));
      result = f();
    }
    return result;
  }

  std::unique_ptr<testing::RedisServer> server_;
  std::unique_ptr<RedisClient> client_;
  std::unique_ptr<RedisCustomerStore> store_;
};

TEST_F(RedisCustomerStoreTest, CreateRejectsBadOptions) {
  EXPECT_EQ(RedisCustomerStore::Create(nullptr, {}).status().code(),
            absl::StatusCode::kInvalidArgument);
  Start(false);
  RedisCustomerStore::Options options;
  options.max_changes = 0;
  EXPECT_EQ(RedisCustomerStore::Create(client_.get(), options).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// A write Redis refuses (here: a member set that is not a set, which only
// something other than segmentd can have stored) fails that customer alone:
// the writes pipelined with it, before and after, are committed and say so.
TEST_F(RedisCustomerStoreTest, ARefusedWriteFailsItsCustomerAlone) {
  Start(false);
  auto write = [](std::string id, std::string segment) {
    CustomerWrite w;
    w.customer_id = std::move(id);
    w.segments = {std::move(segment)};
    return w;
  };
  ASSERT_EQ(*store_->Write(kTenant, {write("first", "NEW")}), std::vector<bool>{true});
  ASSERT_TRUE(client_->Command({"SET", absl::StrCat("sd:{", kTenant, "}:s:VIP"), "x"}).ok());
  absl::StatusOr<std::vector<WriteResult>> results =
      store_->WriteWithResults(kTenant, {write("a", "NEW"), write("b", "VIP"), write("c", "NEW")});
  ASSERT_TRUE(results.ok()) << results.status();
  ASSERT_EQ(results->size(), 3u);
  EXPECT_EQ((*results)[0], WriteResult::kCommitted);
  EXPECT_EQ((*results)[1], WriteResult::kRefused);
  EXPECT_EQ((*results)[1].refusal.code(), absl::StatusCode::kDataLoss) << (*results)[1].refusal;
  EXPECT_TRUE(absl::StrContains((*results)[1].refusal.message(), "customer b"))
      << (*results)[1].refusal;
  EXPECT_EQ((*results)[2], WriteResult::kCommitted);
  EXPECT_EQ(*store_->SegmentSize(kTenant, "NEW"), 3);
  // An error of the store's, not of one customer's (here: out of memory),
  // fails the whole call, so that a caller retries rather than skips.
  ASSERT_TRUE(client_->Command({"CONFIG", "SET", "maxmemory", "1"}).ok());
  absl::StatusOr<std::vector<WriteResult>> full =
      store_->WriteWithResults(kTenant, {write("d", "NEW"), write("e", "NEW")});
  EXPECT_EQ(full.status().code(), absl::StatusCode::kResourceExhausted) << full.status();
  ASSERT_TRUE(client_->Command({"CONFIG", "SET", "maxmemory", "0"}).ok());
}

// A Redis that lost the tenant's data (here: FLUSHALL) refuses its writes,
// whichever path they take, and writes nothing; a tenant registered before
// presence keys existed gets its key on the first write.
TEST_F(RedisCustomerStoreTest, WritesToATenantTheStoreNoLongerHoldsAreRefused) {
  Start(false);
  CustomerWrite first;
  first.customer_id = "first";
  first.segments = {"VIP"};
  ASSERT_EQ(*store_->Write(kTenant, {first}), std::vector<bool>{true});
  ASSERT_TRUE(client_->Command({"FLUSHALL"}).ok());

  CustomerWrite again = first;
  again.expected_version = 1;
  again.segments = {};
  EXPECT_EQ(store_->Write(kTenant, {again}).status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(store_->Write(kTenant, {first}).status().code(), absl::StatusCode::kDataLoss);
  // A re-classification (the transaction path) of a customer read as absent.
  auto reclassify = [&](const std::vector<CustomerState>&) {
    CustomerWrite w = again;
    w.cause = ChangeCause::kConfig;
    w.measures_as_stored = true;
    return absl::StatusOr<std::vector<CustomerWrite>>(std::vector<CustomerWrite>{w});
  };
  EXPECT_EQ(store_->ReadAndWrite(kTenant, {"first"}, reclassify).status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(store_->WriteConfig(kTenant, 0, "c", Ms(1)).status().code(),
            absl::StatusCode::kDataLoss);
  // Nor a statistics-in-use entry (a replica re-recording its entries).
  EXPECT_EQ(store_->AddStatsInUse(kTenant, "field", "value").code(), absl::StatusCode::kDataLoss);
  absl::StatusOr<redis::RedisReply> keys = client_->Command({"KEYS", "*"});
  ASSERT_TRUE(keys.ok());
  EXPECT_TRUE(keys->elements().empty()) << *keys;

  // Registered as an older build did (no presence key): the write sets it.
  ASSERT_TRUE(client_->Command({"SADD", kTenantsKey, kTenant}).ok());
  EXPECT_EQ(*store_->Write(kTenant, {first}), std::vector<bool>{true});
  EXPECT_EQ(*store_->WriteConfig(kTenant, 0, "c", Ms(1)), 1);
  EXPECT_EQ(client_->Command({"EXISTS", TenantPresenceKey(kTenant)})->integer(), 1);
  EXPECT_TRUE(store_->AddStatsInUse(kTenant, "field", "value").ok());
  EXPECT_EQ(store_->StatsInUse(kTenant)->size(), 1u);
}

// A tenant that had customers before the registration index existed has no
// marker (here: removed), and says so; a tenant's first customer sets it.
TEST_F(RedisCustomerStoreTest, RegistrationIndexIsCompleteOnlyFromATenantsFirstCustomer) {
  Start(false);
  EXPECT_TRUE(*store_->HasRegistrationIndex(kTenant));  // nothing to index yet
  CustomerWrite first;
  first.customer_id = "first";
  ASSERT_EQ(*store_->Write(kTenant, {first}), std::vector<bool>{true});
  EXPECT_TRUE(*store_->HasRegistrationIndex(kTenant));
  const std::string marker = absl::StrCat("sd:{", kTenant, "}:m:reg:complete");
  ASSERT_TRUE(client_->Command({"DEL", marker}).ok());
  CustomerWrite second;
  second.customer_id = "second";
  ASSERT_EQ(*store_->Write(kTenant, {second}), std::vector<bool>{true});
  EXPECT_FALSE(*store_->HasRegistrationIndex(kTenant));
}

// A tenant stored before the day logs counts whole days at a window's ends
// (the last day whole, the first not at all) until its logs are complete
// from both ends' days on: the first OrderTotalsIn marks the day after
// Redis's today. A tenant's first customer marks every day complete.
TEST_F(RedisCustomerStoreTest, ATenantOlderThanTheDayLogsCountsWholeDaysAtTheEnds) {
  Start(false);
  CustomerWrite a = Write("a", 0, {});
  a.order_totals = {{OnDay(20000, 10), 1, 1},
                    {OnDay(20000, 80'000'000), 1, 2},
                    {OnDay(20001, 10), 1, 4},
                    {OnDay(20002, 80'000'000), 1, 8}};
  ASSERT_EQ(*store_->Write(kTenant, {a}), std::vector<bool>{true});
  const std::vector<std::string> first_logged = {"HGET", "sd:{acme}:daily", "f"};
  EXPECT_EQ(client_->Command(first_logged)->str(), "-2147483648");
  auto revenue = [&](int64_t after, int64_t up_to) {
    absl::StatusOr<DayTotals> t = store_->OrderTotalsIn(kTenant, after, up_to);
    EXPECT_TRUE(t.ok()) << t.status();
    return t.ok() ? t->revenue : -1;
  };
  EXPECT_EQ(revenue(OnDay(20000, 20), OnDay(20002, 20)), 2 + 4);

  // As an older tenant would be: no marker, no logs.
  ASSERT_TRUE(client_->Command({"HDEL", "sd:{acme}:daily", "f"}).ok());
  for (int64_t day : {20000, 20001, 20002}) {
    ASSERT_TRUE(client_->Command({"DEL", absl::StrCat("sd:{acme}:dl:", day)}).ok());
  }
  EXPECT_EQ(revenue(OnDay(20000, 20), OnDay(20002, 20)), 4 + 8);
  const int64_t today = UtcDayOf(absl::ToUnixMillis(absl::Now()));
  const std::string marked = client_->Command(first_logged)->str();
  EXPECT_TRUE(marked == absl::StrCat(today + 1) || marked == absl::StrCat(today + 2)) << marked;
  // Builds before 2026-12-05 booked an order dated ahead on arrival, without
  // a log: the mark then follows the last day holding totals.
  ASSERT_TRUE(client_->Command({"HDEL", "sd:{acme}:daily", "f"}).ok());
  ASSERT_TRUE(
      client_->Command({"HINCRBY", "sd:{acme}:daily", absl::StrCat("o", today + 9), "1"}).ok());
  // Not days back to zero, nor beyond ten years ahead.
  ASSERT_TRUE(
      client_->Command({"HSET", "sd:{acme}:daily", absl::StrCat("o", today + 20), "0"}).ok());
  ASSERT_TRUE(
      client_->Command({"HSET", "sd:{acme}:daily", absl::StrCat("o", today + 5000), "1"}).ok());
  EXPECT_EQ(revenue(OnDay(today + 8), OnDay(today + 9, 5)), 0);  // no revenue booked
  EXPECT_EQ(store_->OrderTotalsIn(kTenant, OnDay(today + 8), OnDay(today + 9, 5))->orders, 1);
  EXPECT_EQ(client_->Command(first_logged)->str(), absl::StrCat(today + 10));
  ASSERT_TRUE(client_->Command({"HSET", "sd:{acme}:daily", "f", marked}).ok());
  for (int64_t day : {today + 9, today + 20, today + 5000}) {
    ASSERT_TRUE(client_->Command({"HDEL", "sd:{acme}:daily", absl::StrCat("o", day)}).ok());
  }
  // Later writes log their changes, but days before the mark still count whole.
  CustomerWrite b = Write("b", 0, {});
  b.order_totals = {{OnDay(20002, 10), 1, 16}};
  ASSERT_EQ(*store_->Write(kTenant, {b}), std::vector<bool>{true});
  EXPECT_EQ(revenue(OnDay(20000, 20), OnDay(20002, 20)), 4 + 8 + 16);
  // Days from the mark on are exact.
  CustomerWrite c = Write("c", 0, {});
  c.order_totals = {{OnDay(today + 3, 10), 1, 32}, {OnDay(today + 3, 30), 1, 64}};
  ASSERT_EQ(*store_->Write(kTenant, {c}), std::vector<bool>{true});
  EXPECT_EQ(revenue(OnDay(today + 3, 20), OnDay(today + 4)), 64);
  EXPECT_EQ(revenue(OnDay(today + 2), OnDay(today + 3, 20)), 32);
}

// The day logs a store read are kept, and only what was appended since is
// fetched; a log replaced since it was read (a Redis restored from an older
// snapshot, written again), shorter or longer, is read afresh.
TEST_F(RedisCustomerStoreTest, DayLogsAreReadAgainWhenTheyGrowOrShrink) {
  Start(false);
  CustomerWrite a = Write("a", 0, {});
  a.order_totals = {{OnDay(20000, 10), 1, 1}, {OnDay(20000, 20), 1, 2}};
  ASSERT_EQ(*store_->Write(kTenant, {a}), std::vector<bool>{true});
  auto revenue = [&] {
    absl::StatusOr<DayTotals> t = store_->OrderTotalsIn(kTenant, OnDay(20000, 5), OnDay(20001));
    EXPECT_TRUE(t.ok()) << t.status();
    return t.ok() ? t->revenue : -1;
  };
  EXPECT_EQ(revenue(), 3);
  CustomerWrite b = Write("b", 0, {});
  b.order_totals = {{OnDay(20000, 30), 1, 4}};
  ASSERT_EQ(*store_->Write(kTenant, {b}), std::vector<bool>{true});
  EXPECT_EQ(revenue(), 7);
  ASSERT_TRUE(client_->Command({"DEL", "sd:{acme}:dl:20000"}).ok());
  CustomerWrite c = Write("c", 0, {});
  c.order_totals = {{OnDay(20000, 40), 1, 8}};
  ASSERT_EQ(*store_->Write(kTenant, {c}), std::vector<bool>{true});
  EXPECT_EQ(revenue(), 8);
  // Replaced by a longer log.
  ASSERT_TRUE(client_->Command({"DEL", "sd:{acme}:dl:20000"}).ok());
  CustomerWrite d = Write("d", 0, {});
  d.order_totals = {
      {OnDay(20000, 40), 1, 16}, {OnDay(20000, 50), 1, 32}, {OnDay(20000, 60), 1, 64}};
  ASSERT_EQ(*store_->Write(kTenant, {d}), std::vector<bool>{true});
  EXPECT_EQ(revenue(), 16 + 32 + 64);
}

// A cache over its bound starts over (keeping the log just read): sums stay
// right as logs are dropped, read afresh and appended to.
TEST_F(RedisCustomerStoreTest, TheOrderLogCacheStartsOverBeyondItsBound) {
  Start(false);
  OrderLogCache cache(/*max_bytes=*/400);
  std::string log;
  for (int i = 0; i < 20; ++i) AppendOrderLogRecord({OnDay(20000, i), 1, 1}, log);
  for (const char* key : {"k1", "k2"}) ASSERT_TRUE(client_->Command({"SET", key, log}).ok());
  auto orders = [&](const std::string& key) {
    absl::StatusOr<DayTotals> sum = cache.Sum(*client_, key, -1, kDayMillis);
    EXPECT_TRUE(sum.ok()) << sum.status();
    return sum.ok() ? sum->orders : -1;
  };
  EXPECT_EQ(orders("k1"), 20);
  EXPECT_EQ(orders("k2"), 20);  // k1 dropped
  std::string more;
  for (int i = 0; i < 10; ++i) AppendOrderLogRecord({OnDay(20000, 100 + i), 1, 1}, more);
  for (const char* key : {"k1", "k2"}) ASSERT_TRUE(client_->Command({"APPEND", key, more}).ok());
  EXPECT_EQ(orders("k2"), 30);  // appended past the bound: starts over with k2
  EXPECT_EQ(orders("k1"), 30);
  EXPECT_EQ(orders("k2"), 30);
  EXPECT_EQ(orders("absent"), 0);
}

// Customers who stay in a measure range the whole time are always found,
// however many others leave and re-enter it while the range is paged (paging
// by rank alone skipped one each time a member before the page left).
TEST_F(RedisCustomerStoreTest, MeasurePagingSurvivesConcurrentMoves) {
  Start(false);
  RedisCustomerStore::Options options;
  options.read_page = 3;
  absl::StatusOr<std::unique_ptr<RedisCustomerStore>> store =
      RedisCustomerStore::Create(client_.get(), options);
  ASSERT_TRUE(store.ok()) << store.status();
  const std::string key = absl::StrCat("sd:{", kTenant, "}:m:orders");
  // Equal scores sort by member: the movers ("m...") come before the stayers.
  for (int i = 0; i < 60; ++i) {
    ASSERT_TRUE(client_->Command({"ZADD", key, "5", absl::StrCat("s", 100 + i)}).ok());
    ASSERT_TRUE(client_->Command({"ZADD", key, "5", absl::StrCat("m", 100 + i)}).ok());
  }
  std::atomic<bool> stop{false};
  std::thread mover([&] {
    for (int round = 0; !stop; ++round) {
      for (int i = 0; i < 60 && !stop; ++i) {
        const std::string score = round % 2 ? "5" : "50";
        (void)client_->Command({"ZADD", key, score, absl::StrCat("m", 100 + i)});
      }
    }
  });
  int missing = 0;
  for (int call = 0; call < 100; ++call) {
    absl::StatusOr<std::vector<std::string>> found = (*store)->CustomersByOrders(kTenant, 5, 6);
    ASSERT_TRUE(found.ok()) << found.status();
    const std::set<std::string> got(found->begin(), found->end());
    EXPECT_EQ(got.size(), found->size()) << "an id reported twice";
    for (int i = 0; i < 60; ++i) missing += got.count(absl::StrCat("s", 100 + i)) == 0;
    for (const std::string& id : *found) EXPECT_TRUE(id[0] == 's' || id[0] == 'm') << id;
  }
  stop = true;
  mover.join();
  EXPECT_EQ(missing, 0);
}

TEST_F(RedisCustomerStoreTest, AcknowledgedWritesSurviveACrash) {
  Start(/*appendonly=*/true);
  std::vector<CustomerWrite> writes;
  for (int i = 0; i < 200; ++i) writes.push_back(Write(absl::StrCat("c", i), 0, {"S"}));
  absl::StatusOr<std::vector<bool>> done = store_->Write(kTenant, writes);
  ASSERT_TRUE(done.ok()) << done.status();
  ASSERT_TRUE(store_->WriteConfig(kTenant, 0, "config", Ms(1)).ok());
  ASSERT_TRUE(store_->InternCategories(kTenant, {"shoes"}).ok());
  ASSERT_TRUE(server_->Kill().ok());
  ASSERT_TRUE(server_->Restart().ok());

  absl::StatusOr<int64_t> size = Eventually([&] { return store_->SegmentSize(kTenant, "S"); });
  ASSERT_TRUE(size.ok()) << size.status();
  EXPECT_EQ(*size, 200);
  std::vector<std::string> ids;
  for (const CustomerWrite& w : writes) ids.push_back(w.customer_id);
  absl::StatusOr<std::vector<CustomerState>> states = store_->Read(kTenant, ids);
  ASSERT_TRUE(states.ok()) << states.status();
  for (int i = 0; i < 200; ++i) {
    EXPECT_EQ((*states)[i].version, 1);
    EXPECT_EQ((*states)[i].ordinal, static_cast<uint32_t>(i + 1));
  }
  EXPECT_EQ(store_->ReadChanges(kTenant, "", 1000, absl::ZeroDuration())->size(), 200u);
  EXPECT_EQ((*store_->ReadConfig(kTenant))->bytes, "config");
  EXPECT_EQ(*store_->CategoryNames(kTenant), std::vector<std::string>{"shoes"});
  // The restarted Redis forgot the scripts: pipelined EVALSHA reloads them.
  std::vector<CustomerWrite> more;
  for (int i = 0; i < 40; ++i) {
    more.push_back(Write(absl::StrCat("c", i), 1, {}));
    more.back().config_version = 1;  // the config written above
  }
  done = store_->Write(kTenant, more);
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(*done, std::vector<bool>(40, true));
  EXPECT_EQ(*store_->SegmentSize(kTenant, "S"), 160);
}

// Re-classifications (measures as stored, bookkeeping-only) of customers
// written once in a batch commit as one transaction, without a script; the
// rest of the batch, and a customer written twice, through scripts, in order.
TEST_F(RedisCustomerStoreTest, ReclassificationsCommitAsOneTransactionWithoutScripts) {
  Start(/*appendonly=*/false);
  CustomerWrite a = Write("a", 0, {"VIP", "LOYAL"});
  a.next_change = Ms(5000);
  a.lifetime_orders = 4;
  CustomerWrite b = Write("b", 0, {"NEW"});
  b.registered_non_buyer_ms = 77;
  b.aov_milli[1] = 300;
  CustomerWrite c = Write("c", 0, {});
  ASSERT_EQ(*store_->Write(kTenant, {a, b, c}), std::vector<bool>(3, true));
  auto all_changes = [&] { return *store_->ReadChanges(kTenant, "", 1000, absl::ZeroDuration()); };
  const size_t changes_before = all_changes().size();
  const int64_t scripts = testing::CommandCalls(*client_, "evalsha");
  const int64_t transactions = testing::CommandCalls(*client_, "exec");

  CustomerWrite moved = Write("a", 1, {"LOYAL", "LAPSED"}, /*at_ms=*/9000);
  moved.measures_as_stored = true;
  moved.cause = ChangeCause::kConfig;
  moved.next_change = Ms(7000);
  moved.aov_milli[0] = 1234;
  CustomerWrite kept = Write("b", 1, {"NEW"});
  kept.bookkeeping_only = true;
  kept.membership = "bookkeeping";
  kept.next_change = Ms(6000);  // and no AOV entry any more
  CustomerWrite event = Write("c", 1, {"ONE"});
  CustomerWrite after_event = Write("c", 2, {"TWO"});
  after_event.measures_as_stored = true;
  absl::StatusOr<std::vector<bool>> done =
      store_->Write(kTenant, {moved, kept, event, after_event});
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(*done, std::vector<bool>(4, true));
  EXPECT_EQ(testing::CommandCalls(*client_, "exec"), transactions + 1);
  EXPECT_EQ(testing::CommandCalls(*client_, "evalsha"), scripts + 2);  // c's two

  const CustomerState read_a = (*store_->Read(kTenant, {"a"}))[0];
  EXPECT_EQ(read_a.version, 2);
  EXPECT_EQ(read_a.segments, moved.segments);
  EXPECT_EQ(read_a.profile, moved.profile);
  EXPECT_EQ(read_a.history, moved.history);
  EXPECT_EQ(read_a.next_change, Ms(7000));
  EXPECT_EQ(read_a.aov_milli[0], 1234);
  EXPECT_EQ(*store_->OrdersAtRank(kTenant, 1), 4);  // the measures as stored
  EXPECT_EQ(*store_->SegmentSize(kTenant, "VIP"), 0);
  EXPECT_EQ(*store_->SegmentSize(kTenant, "LAPSED"), 1);
  const CustomerState read_b = (*store_->Read(kTenant, {"b"}))[0];
  EXPECT_EQ(read_b.version, 2);
  EXPECT_EQ(read_b.membership, "bookkeeping");
  EXPECT_EQ(read_b.profile, b.profile);
  EXPECT_FALSE(read_b.aov_milli[1].has_value());
  EXPECT_TRUE(store_->CustomersByAov(kTenant, AovIndex::kLowSpender, 0, 1000)->empty());
  EXPECT_EQ(*store_->CustomersByAov(kTenant, AovIndex::kBigSpender, 1234, 1235),
            std::vector<std::string>{"a"});
  // b keeps its registration entry (a bookkeeping write leaves it); a's
  // re-classification stores none, as the script would.
  EXPECT_EQ(RegisteredNonBuyers(*store_, kTenant, 0, 1000), std::vector<std::string>{"b"});
  EXPECT_EQ(*store_->Due(kTenant, Ms(6500), 10), std::vector<std::string>{"b"});
  EXPECT_EQ((*store_->Read(kTenant, {"c"}))[0].segments, std::vector<std::string>{"TWO"});

  // The stream: a left VIP and entered LAPSED (cause config, at 9000), then
  // c's two moves; nothing for b.
  const std::vector<StoredChange> changes = all_changes();
  ASSERT_EQ(changes.size(), changes_before + 5);
  EXPECT_EQ(changes[changes_before].customer_id, "a");
  EXPECT_EQ(changes[changes_before].segment, "VIP");
  EXPECT_FALSE(changes[changes_before].entered);
  EXPECT_EQ(changes[changes_before].cause, ChangeCause::kConfig);
  EXPECT_EQ(changes[changes_before].changed_at, Ms(9000));
  EXPECT_EQ(changes[changes_before + 1].segment, "LAPSED");
  EXPECT_TRUE(changes[changes_before + 1].entered);
  for (size_t i = changes_before + 2; i < changes.size(); ++i) {
    EXPECT_EQ(changes[i].customer_id, "c");
  }
}

// ReadAndWrite reads each customer once, under the WATCH of the
// transaction that commits its re-classification: a transaction (and a call
// of `decide`) per write_batch customers (16 here), no script. A customer
// written by anyone else in between sends its batch through the scripts.
TEST_F(RedisCustomerStoreTest, ReadAndWriteReadsEachCustomerOnceInItsTransaction) {
  Start(/*appendonly=*/false);
  std::vector<CustomerWrite> created;
  std::vector<std::string> ids;
  for (int i = 0; i < 20; ++i) {
    ids.push_back(absl::StrCat("c", i));
    created.push_back(Write(ids.back(), 0, {"S"}));
  }
  ASSERT_EQ(*store_->Write(kTenant, created), std::vector<bool>(20, true));
  std::vector<size_t> calls;  // states per call of decide
  auto move_all =
      [&](const std::vector<CustomerState>& states) -> absl::StatusOr<std::vector<CustomerWrite>> {
    calls.push_back(states.size());
    std::vector<CustomerWrite> writes;
    for (const CustomerState& state : states) {
      CustomerWrite w = Write(state.customer_id, state.version, {"T"});
      w.measures_as_stored = true;
      writes.push_back(w);
    }
    return writes;
  };
  const int64_t reads = testing::CommandCalls(*client_, "hmget");
  const int64_t scripts = testing::CommandCalls(*client_, "evalsha");
  const int64_t transactions = testing::CommandCalls(*client_, "exec");
  const int64_t removals = testing::CommandCalls(*client_, "srem");
  const int64_t additions = testing::CommandCalls(*client_, "sadd");
  absl::StatusOr<std::vector<WriteResult>> results = store_->ReadAndWrite(kTenant, ids, move_all);
  ASSERT_TRUE(results.ok()) << results.status();
  EXPECT_EQ(*results, std::vector<WriteResult>(20, WriteResult::kCommitted));
  EXPECT_EQ(calls, (std::vector<size_t>{16, 4}));
  EXPECT_EQ(testing::CommandCalls(*client_, "hmget"), reads + 20);
  EXPECT_EQ(testing::CommandCalls(*client_, "exec"), transactions + 2);
  EXPECT_EQ(testing::CommandCalls(*client_, "evalsha"), scripts);
  // One SREM and one SADD per transaction, each with all its customers.
  EXPECT_EQ(testing::CommandCalls(*client_, "srem"), removals + 2);
  EXPECT_EQ(testing::CommandCalls(*client_, "sadd"), additions + 2);
  EXPECT_EQ(*store_->SegmentSize(kTenant, "S"), 0);
  EXPECT_EQ(*store_->SegmentSize(kTenant, "T"), 20);

  // c3 written by an event between the reads and EXEC: its batch's writes
  // go through the scripts, which refuse c3's (a conflict) alone.
  int hooked = 0;
  store_->SetBeforeReclassifyCommitForTest([&] {
    if (hooked++ > 0) return;
    ASSERT_EQ(*store_->Write(kTenant, {Write("c3", 2, {"EVENT"})}), std::vector<bool>{true});
  });
  results = store_->ReadAndWrite(kTenant, {"c1", "c3", "c5"}, move_all);
  store_->SetBeforeReclassifyCommitForTest(nullptr);
  ASSERT_TRUE(results.ok()) << results.status();
  EXPECT_EQ(*results, (std::vector<WriteResult>{WriteResult::kCommitted, WriteResult::kConflict,
                                                WriteResult::kCommitted}));
  EXPECT_EQ((*store_->Read(kTenant, {"c3"}))[0].segments, std::vector<std::string>{"EVENT"});
  EXPECT_EQ((*store_->Read(kTenant, {"c5"}))[0].version, 3);
}

// Rechecks are added and cleared with one HMGET and one HSET or HDEL per
// script page of 500 customers, not a command per customer.
TEST_F(RedisCustomerStoreTest, RechecksMoveAPageOfEntriesPerCommand) {
  Start(/*appendonly=*/false);
  std::vector<std::string> ids;
  for (int i = 0; i < 1200; ++i) ids.push_back(absl::StrCat("c", i));
  const int64_t reads = testing::CommandCalls(*client_, "hmget");
  const int64_t sets = testing::CommandCalls(*client_, "hset");
  const int64_t deletes = testing::CommandCalls(*client_, "hdel");
  ASSERT_TRUE(store_->AddRechecks(kTenant, ids, 2).ok());
  ASSERT_TRUE(store_->AddRechecks(kTenant, ids, 1).ok());  // none lower: no HSET
  ASSERT_TRUE(store_->ClearRechecks(kTenant, ids, 2).ok());
  EXPECT_EQ(testing::CommandCalls(*client_, "hmget"), reads + 9);
  EXPECT_EQ(testing::CommandCalls(*client_, "hset"), sets + 3);
  EXPECT_EQ(testing::CommandCalls(*client_, "hdel"), deletes + 3);
  EXPECT_EQ(testing::CommandCalls(*client_, "hget"), 0);
  EXPECT_EQ(*store_->RecheckCount(kTenant), 0);
}

// A customer written by anyone else between the transaction's reads and
// EXEC aborts it; the batch then goes through the scripts, which see the
// newer version.
TEST_F(RedisCustomerStoreTest, AWriteUnderAReclassificationSendsItsBatchThroughScripts) {
  Start(/*appendonly=*/false);
  ASSERT_EQ(*store_->Write(kTenant, {Write("a", 0, {"S"}), Write("b", 0, {"S"})}),
            std::vector<bool>(2, true));
  int hooked = 0;
  store_->SetBeforeReclassifyCommitForTest([&] {
    if (hooked++ > 0) return;
    // An event for a, committed by its script on another connection.
    ASSERT_EQ(*store_->Write(kTenant, {Write("a", 1, {"EVENT"})}), std::vector<bool>{true});
  });
  const int64_t scripts = testing::CommandCalls(*client_, "evalsha");
  CustomerWrite move_a = Write("a", 1, {"MOVED"});
  move_a.measures_as_stored = true;
  CustomerWrite move_b = Write("b", 1, {"MOVED"});
  move_b.measures_as_stored = true;
  absl::StatusOr<std::vector<bool>> done = store_->Write(kTenant, {move_a, move_b});
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(hooked, 1);
  EXPECT_EQ(*done, (std::vector<bool>{false, true}));  // a: a version conflict
  // The event's script, then both moves' scripts.
  EXPECT_EQ(testing::CommandCalls(*client_, "evalsha"), scripts + 3);
  EXPECT_EQ((*store_->Read(kTenant, {"a"}))[0].segments, std::vector<std::string>{"EVENT"});
  EXPECT_EQ((*store_->Read(kTenant, {"b"}))[0].segments, std::vector<std::string>{"MOVED"});
  EXPECT_EQ(*store_->SegmentSize(kTenant, "S"), 0);
  EXPECT_EQ(*store_->SegmentSize(kTenant, "MOVED"), 1);
}

// What else can change under a re-classification transaction: the config
// (its writes are then refused as computed under a replaced config), and the
// registration index's backfill storing a customer's entry (the write then
// moves the entry the backfill stored). Both abort it; the scripts decide.
TEST_F(RedisCustomerStoreTest, AConfigOrIndexWriteUnderAReclassificationIsSeen) {
  Start(/*appendonly=*/false);
  CustomerWrite a = Write("a", 0, {"S"});
  a.registered_non_buyer_ms = 50;
  ASSERT_EQ(*store_->Write(kTenant, {a, Write("b", 0, {"S"})}), std::vector<bool>(2, true));
  store_->SetBeforeReclassifyCommitForTest(
      [&] { ASSERT_EQ(*store_->WriteConfig(kTenant, 0, "new config", Ms(1)), 1); });
  CustomerWrite move_b = Write("b", 1, {"MOVED"});
  move_b.measures_as_stored = true;  // computed under config version 0
  EXPECT_EQ(*store_->Write(kTenant, {move_b}), std::vector<bool>{false});
  EXPECT_EQ((*store_->Read(kTenant, {"b"}))[0].segments, std::vector<std::string>{"S"});

  // a as in a tenant older than the index: no `g`, no entry.
  ASSERT_TRUE(client_->Command({"HDEL", "sd:{acme}:c:a", "g"}).ok());
  ASSERT_TRUE(client_->Command({"ZREM", "sd:{acme}:m:reg", "a"}).ok());
  store_->SetBeforeReclassifyCommitForTest([&] {
    ASSERT_EQ(*store_->IndexRegistrations(kTenant, {{"a", 50}}, 0), 1);
  });
  CustomerWrite move_a = Write("a", 1, {"MOVED"});
  move_a.measures_as_stored = true;
  move_a.config_version = 1;
  move_a.registered_non_buyer_ms = 70;
  EXPECT_EQ(*store_->Write(kTenant, {move_a}), std::vector<bool>{true});
  store_->SetBeforeReclassifyCommitForTest(nullptr);
  // Moved from 50, not left there.
  EXPECT_EQ(RegisteredNonBuyers(*store_, kTenant, 70, 71), std::vector<std::string>{"a"});
  EXPECT_TRUE(RegisteredNonBuyers(*store_, kTenant, 0, 70).empty());

  // And a re-classification moves the entry out of the index and back.
  CustomerWrite out = Write("a", 2, {"MOVED"});
  out.measures_as_stored = true;
  out.config_version = 1;
  CustomerWrite back = Write("a", 3, {"MOVED"});
  back.measures_as_stored = true;
  back.config_version = 1;
  back.registered_non_buyer_ms = 90;
  EXPECT_EQ(*store_->Write(kTenant, {out}), std::vector<bool>{true});
  EXPECT_TRUE(RegisteredNonBuyers(*store_, kTenant, 0, 1000).empty());
  EXPECT_EQ(*store_->Write(kTenant, {back}), std::vector<bool>{true});
  EXPECT_EQ(RegisteredNonBuyers(*store_, kTenant, 90, 91), std::vector<std::string>{"a"});
}

// A bookkeeping write of a customer written twice in a batch goes through
// its script, which refuses other segments than stored as the transaction
// does: INTERNAL, nothing of that write stored.
TEST_F(RedisCustomerStoreTest, TheBookkeepingScriptRefusesOtherSegmentsToo) {
  Start(/*appendonly=*/false);
  ASSERT_EQ(*store_->Write(kTenant, {Write("a", 0, {"S"})}), std::vector<bool>{true});
  CustomerWrite first = Write("a", 1, {"S"});
  first.bookkeeping_only = true;
  first.next_change = Ms(4000);
  CustomerWrite second = Write("a", 2, {"OTHER"});
  second.bookkeeping_only = true;
  second.next_change = Ms(9000);
  const int64_t scripts = testing::CommandCalls(*client_, "evalsha");
  EXPECT_EQ(store_->Write(kTenant, {first, second}).status().code(), absl::StatusCode::kInternal);
  EXPECT_EQ(testing::CommandCalls(*client_, "evalsha"), scripts + 2);
  EXPECT_EQ((*store_->Read(kTenant, {"a"}))[0].version, 2);  // the first one only
  EXPECT_EQ(*store_->NextDue(kTenant), Ms(4000));
}

TEST_F(RedisCustomerStoreTest, UndecodableStoredDataIsDataLoss) {
  Start(/*appendonly=*/false);
  ASSERT_TRUE(client_->Command({"HSET", "sd:{acme}:c:a", "v", "1", "o", "1", "s", "9:VIP"}).ok());
  EXPECT_EQ(store_->Read(kTenant, {"a"}).status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(store_->Write(kTenant, {Write("a", 1, {"S"})}).status().code(),
            absl::StatusCode::kDataLoss);
  CustomerWrite move = Write("a", 1, {"S"});
  move.measures_as_stored = true;  // checked by the transaction, not a script
  EXPECT_EQ(store_->Write(kTenant, {move}).status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(*store_->SegmentSize(kTenant, "S"), 0);  // nothing written
  EXPECT_EQ((*client_->Command({"HGET", "sd:{acme}:c:a", "v"})).str(), "1");
  ASSERT_TRUE(client_->Command({"HSET", "sd:{acme}:c:b", "v", "x"}).ok());
  EXPECT_EQ(store_->Read(kTenant, {"b"}).status().code(), absl::StatusCode::kDataLoss);
  // A key of another type under a customer's name (not segmentd's): its
  // reads are DATA_LOSS too, naming the customer.
  ASSERT_TRUE(client_->Command({"SET", "sd:{acme}:c:s", "a string"}).ok());
  for (const absl::Status& read :
       {store_->Read(kTenant, {"s"}).status(), store_->ReadProfiles(kTenant, {"s"}).status()}) {
    EXPECT_EQ(read.code(), absl::StatusCode::kDataLoss) << read;
    EXPECT_TRUE(absl::StrContains(read.message(), "customer s")) << read;
  }
}

// A write the script refuses halfway (here: the daily total would overflow)
// changes nothing else of the customer: its hash, member sets, index
// entries and order ids stay in step, which the script's skipping of
// unchanged sorted-set entries relies on.
TEST_F(RedisCustomerStoreTest, AFailedDailyTotalLeavesTheCustomerAsItWas) {
  Start(/*appendonly=*/false);
  CustomerWrite first = Write("a", 0, {"VIP"});
  first.next_change = absl::FromUnixMillis(5000);
  first.aov_milli[0] = 1000;
  first.lifetime_orders = 1;
  ASSERT_EQ(*store_->Write(kTenant, {first}), std::vector<bool>{true});
  ASSERT_TRUE(
      client_->Command({"HSET", "sd:{acme}:daily", "r20000", "9223372036854775807"}).ok());
  CustomerWrite overflow = Write("a", 1, {"OTHER"});
  overflow.next_change = absl::FromUnixMillis(9000);
  overflow.aov_milli[0] = 2000;
  overflow.lifetime_orders = 2;
  overflow.order_totals = {{OnDay(20000), 1, 1}};
  overflow.placed_orders = {2};
  EXPECT_EQ(store_->Write(kTenant, {overflow}).status().code(), absl::StatusCode::kInternal);
  // Its order id was claimed before the daily totals, and released with them;
  // the order count moved before the revenue overflowed, and moved back.
  EXPECT_EQ(*store_->OrderOwners(kTenant, {2}), std::vector<uint32_t>{0});
  EXPECT_EQ(store_->DailyTotals(kTenant, 20000, 20000)->front().orders, 0);
  EXPECT_EQ(client_->Command({"EXISTS", "sd:{acme}:dl:20000"})->integer(), 0);  // nor its log
  const CustomerState a = (*store_->Read(kTenant, {"a"}))[0];
  EXPECT_EQ(a.version, 1);
  EXPECT_EQ(a.segments, std::vector<std::string>{"VIP"});
  EXPECT_EQ(*store_->SegmentSize(kTenant, "OTHER"), 0);
  EXPECT_EQ(*store_->NextDue(kTenant), absl::FromUnixMillis(5000));
  EXPECT_EQ(*store_->CustomersByAov(kTenant, AovIndex::kBigSpender, 1000, 1001),
            std::vector<std::string>{"a"});
  EXPECT_EQ(*store_->OrdersAtRank(kTenant, 1), 1);
  // Only the first write's change ("a" entered VIP) is in the stream.
  EXPECT_EQ(store_->ReadChanges(kTenant, "", 100, absl::ZeroDuration())->size(), 1u);
}

// Reads of client commands Redis made since the last call (INFO stats), less
// the INFO call itself: at least one per round trip (a pipeline waits for the
// one before it), two for a pipeline larger than Redis's 16 KB read.
int64_t ReadsSince(RedisClient& client, int64_t& last) {
  absl::StatusOr<redis::RedisReply> info = client.Command({"INFO", "stats"});
  EXPECT_TRUE(info.ok()) << info.status();
  int64_t reads = 0;
  for (absl::string_view line : absl::StrSplit(info->str(), "\r\n")) {
    if (absl::ConsumePrefix(&line, "total_reads_processed:")) {
      EXPECT_TRUE(absl::SimpleAtoi(line, &reads)) << line;
    }
  }
  const int64_t since = reads - last - 1;
  last = reads;
  return since;
}

// A call of few writes (40 here: a live feed's batch) pipelines 8 per round
// trip, so that another client's command never waits behind more than 8 of
// them; a larger call (an import's: 100) keeps 32 per round trip.
TEST_F(RedisCustomerStoreTest, FewWritesGoInShortPipelines) {
  Start(/*appendonly=*/false);
  absl::StatusOr<std::unique_ptr<RedisCustomerStore>> store =
      RedisCustomerStore::Create(client_.get(), {});
  ASSERT_TRUE(store.ok()) << store.status();
  // The write script loaded, then nothing else sent meanwhile.
  ASSERT_EQ(*(*store)->Write(kTenant, {Write("first", 0, {"S"})}), std::vector<bool>{true});
  int64_t last = 0;
  ReadsSince(*client_, last);
  // 40 and 64 writes: 5 and 8 round trips (32 per trip: 2, at most 4 reads);
  // 100: 4 round trips, at most 8 reads (8 per trip: 13).
  for (const auto& [writes, at_least, at_most] :
       {std::tuple<int, int64_t, int64_t>{40, 5, 10}, {64, 8, 16}, {100, 4, 8}}) {
    std::vector<CustomerWrite> batch;
    for (int i = 0; i < writes; ++i) batch.push_back(Write(absl::StrCat(writes, "-", i), 0, {"S"}));
    ASSERT_EQ(*(*store)->Write(kTenant, batch), std::vector<bool>(batch.size(), true));
    const int64_t reads = ReadsSince(*client_, last);
    EXPECT_GE(reads, at_least) << writes << " writes";
    EXPECT_LE(reads, at_most) << writes << " writes";
  }
  EXPECT_EQ(*(*store)->SegmentSize(kTenant, "S"), 205);
}

TEST_F(RedisCustomerStoreTest, RedisDownIsUnavailable) {
  Start(/*appendonly=*/false);
  ASSERT_TRUE(store_->Write(kTenant, {Write("a", 0, {"S"})}).ok());
  // A reader blocked in XREAD when Redis dies returns UNAVAILABLE at once.
  absl::StatusOr<std::vector<StoredChange>> blocked;
  std::thread reader([&] {
    blocked = store_->ReadChanges(kTenant, "0-0", 10, absl::ZeroDuration());
    if (blocked.ok()) {
      blocked = store_->ReadChanges(kTenant, blocked->back().position, 10, absl::Seconds(30));
    }
  });
  EXPECT_TRUE(WaitForBlockedClient(*client_));
  ASSERT_TRUE(server_->Kill().ok());
  reader.join();
  EXPECT_EQ(blocked.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(store_->Write(kTenant, {Write("b", 0, {"S"})}).status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(store_->Read(kTenant, {"a"}).status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(store_->ReadChanges(kTenant, "", 10, absl::Seconds(30)).status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(store_->InternCategories(kTenant, {"x"}).status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(store_->WriteConfig(kTenant, 0, "x", Ms(1)).status().code(),
            absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace segmentd::store

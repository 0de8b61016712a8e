#include "server/targeting/membership_index.h"

#include <google/protobuf/text_format.h>

#include <atomic>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/targeting/put_segments.h"
#include "store/memory_customer_store.h"
#include "store/redis/redis_address.h"
#include "store/redis/redis_client.h"
#include "store/redis_customer_store.h"
#include "testing/redis_server.h"
#include "testing/redis_test_client.h"

namespace segmentd::targeting {
namespace {

const std::vector<std::string> kSegments = {"VIP", "LAPSED", "LOYAL_CUSTOMER", "category:shoes"};

v1::TargetExpression Parse(const std::string& text) {
  v1::TargetExpression e;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &e)) << text;
  return e;
}

// Returns the ids of the customers in `bitmap`, read through `index`.
std::set<std::string> Ids(MembershipIndex& index, const v1::TargetExpression& e,
                          absl::Status* status) {
  std::set<std::string> ids;
  *status = index.Read("acme", /*fresh=*/true, [&](const MembershipIndex::View& view) {
    Bitmap b = view.Evaluate(e);
    for (uint32_t ordinal : b.After(0, b.Cardinality())) ids.emplace(view.IdOf(ordinal));
  });
  return ids;
}

// Every customer's segments, from the store (the truth).
std::map<std::string, std::set<std::string>> Truth(store::CustomerStore& store,
                                                   const std::vector<std::string>& ids) {
  std::map<std::string, std::set<std::string>> out;
  absl::StatusOr<std::vector<store::CustomerState>> states = store.Read("acme", ids);
  EXPECT_TRUE(states.ok()) << states.status();
  for (const store::CustomerState& s : *states) {
    if (s.version > 0) out[s.customer_id] = {s.segments.begin(), s.segments.end()};
  }
  return out;
}

std::set<std::string> Expected(const std::map<std::string, std::set<std::string>>& truth,
                               bool (*pred)(const std::set<std::string>&)) {
  std::set<std::string> out;
  for (const auto& [id, segments] : truth) {
    if (pred(segments)) out.insert(id);
  }
  return out;
}

// Polls `condition` every 20 ms until it holds or `timeout` passes.
template <typename Condition>
bool PollUntil(Condition condition, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!condition()) {
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return true;
}

MembershipIndex::Options Fast() {
  MembershipIndex::Options options;
  options.scan_count = 7;  // Many small pages.
  options.change_batch = 5;
  options.tail_wait = absl::Milliseconds(20);
  return options;
}

TEST(MembershipIndexTest, LoadsThenFollowsTheStream) {
  store::MemoryCustomerStore store;
  ASSERT_TRUE(store.InternCategories("acme", {"shoes", "hats"}).ok());
  PutSegments(store, "acme", "a", {"VIP", "LAPSED"});
  PutSegments(store, "acme", "b", {"LAPSED"});
  PutSegments(store, "acme", "c", {"category:shoes"});
  MembershipIndex index(&store, &store, Fast());
  absl::Status status;
  EXPECT_EQ(Ids(index, Parse(R"(segment: "LAPSED")"), &status), (std::set<std::string>{"a", "b"}));
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(Ids(index, Parse(R"(none_of { children { segment: "LAPSED" } })"), &status),
            (std::set<std::string>{"c"}));
  EXPECT_EQ(Ids(index, Parse(R"(segment: "category:shoes")"), &status),
            (std::set<std::string>{"c"}));
  // Written after the load: seen by the next fresh read, without waiting.
  PutSegments(store, "acme", "d", {"VIP"});
  PutSegments(store, "acme", "a", {"LAPSED"});
  EXPECT_EQ(Ids(index, Parse(R"(segment: "VIP")"), &status), (std::set<std::string>{"d"}));
  EXPECT_EQ(Ids(index, Parse(R"(all_of { children { segment: "LAPSED" } children { none_of {
                                 children { segment: "VIP" } } } })"),
                &status),
            (std::set<std::string>{"a", "b"}));
  ASSERT_TRUE(status.ok()) << status;
  // A new category appears through the stream.
  PutSegments(store, "acme", "e", {"category:hats"});
  EXPECT_EQ(Ids(index, Parse(R"(segment: "category:hats")"), &status),
            (std::set<std::string>{"e"}));
  // A customer with no segment at all is still a customer (none_of counts them).
  PutSegments(store, "acme", "f", {});
  EXPECT_TRUE(
      index.Read("acme", true, [](const MembershipIndex::View& v) { EXPECT_EQ(v.customers(), 6u); })
          .ok());
}

TEST(MembershipIndexTest, LoadsManyCategoriesTheirFirstPagesReadTogether) {
  // More categories than one round trip of first pages (256), some with more
  // members than a page (Fast(): 7).
  store::MemoryCustomerStore store;
  std::vector<std::string> names;
  for (int k = 0; k < 600; ++k) names.push_back(absl::StrCat("k", k));
  ASSERT_TRUE(store.InternCategories("acme", names).ok());
  std::map<std::string, std::set<std::string>> members;
  for (int i = 0; i < 700; ++i) {
    const std::string id = absl::StrCat("c", i);
    std::vector<std::string> segments = {absl::StrCat("category:k", i % 600)};
    if (i % 50 == 0) segments.push_back("category:k255");
    if (i % 3 == 0) segments.push_back("VIP");
    for (const std::string& s : segments) members[s].insert(id);
    PutSegments(store, "acme", id, segments);
  }
  MembershipIndex index(&store, &store, Fast());
  absl::Status status;
  for (const char* segment :
       {"VIP", "category:k0", "category:k255", "category:k256", "category:k599"}) {
    EXPECT_EQ(Ids(index, Parse(absl::StrCat("segment: \"", segment, "\"")), &status),
              members[segment])
        << segment;
    ASSERT_TRUE(status.ok()) << status;
  }
  EXPECT_GT(members["category:k255"].size(), 7u);
}

TEST(MembershipIndexTest, AFreshReadKnowsACustomerWhoseWriteChangedNoSegment) {
  store::MemoryCustomerStore store;
  PutSegments(store, "acme", "a", {"LAPSED"});
  MembershipIndex::Options options = Fast();
  // The tail blocks in its stream read for longer than a fresh read may
  // wait: it cannot be what makes the new customer known in time.
  options.tail_wait = absl::Seconds(2);
  options.catch_up_wait = absl::Milliseconds(1);
  MembershipIndex index(&store, &store, options);
  absl::Status status;
  EXPECT_EQ(Ids(index, Parse(R"(none_of { children { segment: "LAPSED" } })"), &status),
            std::set<std::string>{});
  ASSERT_TRUE(status.ok()) << status;
  // No stream entry: the only trace of b is the customer count.
  PutSegments(store, "acme", "b", {});
  EXPECT_EQ(Ids(index, Parse(R"(none_of { children { segment: "LAPSED" } })"), &status),
            std::set<std::string>{"b"});
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_TRUE(index.AwaitFresh("acme").ok());
  PutSegments(store, "acme", "c", {});
  EXPECT_TRUE(index.AwaitFresh("acme").ok());
  EXPECT_TRUE(index
                  .ReadNow("acme",
                           [](const MembershipIndex::View& v) {
                             EXPECT_EQ(v.customers(), 3u);
                             EXPECT_TRUE(v.OrdinalOf("c").has_value());
                           })
                  .ok());
}

TEST(MembershipIndexTest, ExactWhileWritersRunDuringTheLoad) {
  store::MemoryCustomerStore store;
  std::vector<std::string> ids;
  for (int i = 0; i < 300; ++i) ids.push_back(absl::StrCat("customer ", i, " {x}"));
  std::mt19937 rng(7);
  auto random_segments = [&] {
    std::vector<std::string> s;
    for (const std::string& name : kSegments) {
      if (rng() % 3 == 0) s.push_back(name);
    }
    return s;
  };
  // Category segments exist only for interned categories (as ingest does).
  ASSERT_TRUE(store.InternCategories("acme", {"shoes"}).ok());
  for (int i = 0; i < 200; ++i) PutSegments(store, "acme", ids[i], random_segments());
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    std::mt19937 wrng(11);
    for (int n = 0; !stop; ++n) {
      const std::string& id = ids[wrng() % ids.size()];
      std::vector<std::string> s;
      for (const std::string& name : kSegments) {
        if (wrng() % 2 == 0) s.push_back(name);
      }
      PutSegments(store, "acme", id, s);
      if (n > 3000) break;
    }
  });
  MembershipIndex index(&store, &store, Fast());
  absl::Status status;
  Ids(index, Parse(R"(segment: "VIP")"), &status);  // Starts the load mid-writes.
  stop = true;
  writer.join();
  const auto truth = Truth(store, ids);
  EXPECT_EQ(Ids(index, Parse(R"(segment: "VIP")"), &status),
            Expected(truth, [](const std::set<std::string>& s) { return s.count("VIP") > 0; }));
  EXPECT_EQ(
      Ids(index,
          Parse(R"(all_of { children { any_of { children { segment: "LAPSED" } children { segment: "category:shoes" } } }
                            children { none_of { children { segment: "VIP" } } } })"),
          &status),
      Expected(truth, [](const std::set<std::string>& s) {
        return (s.count("LAPSED") || s.count("category:shoes")) && !s.count("VIP");
      }));
  EXPECT_EQ(Ids(index, Parse(R"(none_of { children { segment: "LOYAL_CUSTOMER" } })"), &status),
            Expected(truth, [](const std::set<std::string>& s) {
              return s.count("LOYAL_CUSTOMER") == 0;
            }));
  ASSERT_TRUE(status.ok()) << status;
}

// A store whose change-stream reads can be held, to make the index's tail
// fall behind on purpose.
// An index of `store` (the tail reading it too) whose queries wait 100 ms
// for a catch-up, once it has answered that "a" alone is in VIP; nullptr
// (and a test failure) when it does not.
std::unique_ptr<MembershipIndex> LoadedOnVipA(store::CustomerStore& store) {
  MembershipIndex::Options options = Fast();
  options.catch_up_wait = absl::Milliseconds(100);
  auto index = std::make_unique<MembershipIndex>(&store, &store, options);
  absl::Status status;
  EXPECT_EQ(Ids(*index, Parse(R"(segment: "VIP")"), &status), (std::set<std::string>{"a"}));
  EXPECT_TRUE(status.ok()) << status;
  if (!status.ok()) return nullptr;
  return index;
}

class HeldTailStore : public store::MemoryCustomerStore {
 public:
  using MemoryCustomerStore::MemoryCustomerStore;
  absl::StatusOr<std::vector<store::StoredChange>> ReadChanges(absl::string_view tenant,
                                                               absl::string_view after, int limit,
                                                               absl::Duration wait) override {
    while (held) {
      waiting = true;
      absl::SleepFor(absl::Milliseconds(5));
    }
    return MemoryCustomerStore::ReadChanges(tenant, after, limit, wait);
  }
  std::atomic<bool> held{false};
  std::atomic<bool> waiting{false};
};

TEST(MembershipIndexTest, TailBehindTheStreamCapRebuildsInsteadOfSkippingChanges) {
  store::MemoryCustomerStore::Options store_options;
  store_options.max_changes = 4;
  HeldTailStore store(store_options);
  PutSegments(store, "acme", "a", {"VIP"});
  std::unique_ptr<MembershipIndex> loaded = LoadedOnVipA(store);
  ASSERT_NE(loaded, nullptr);
  MembershipIndex& index = *loaded;
  absl::Status status;

  // The tail stops; more changes than the cap land, so some it never read
  // are dropped.
  store.held = true;
  ASSERT_TRUE(PollUntil([&] { return store.waiting.load(); }, absl::Seconds(5)));
  for (const char* id : {"b", "c", "d", "e", "f", "g"}) {
    PutSegments(store, "acme", id, {"VIP", "LAPSED"});
  }
  PutSegments(store, "acme", "a", {"LAPSED"});
  // Meanwhile nothing is answered from the stale bitmaps (fail closed).
  Ids(index, Parse(R"(segment: "VIP")"), &status);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;

  store.held = false;
  const std::vector<std::string> all = {"a", "b", "c", "d", "e", "f", "g"};
  auto vip = [](const std::set<std::string>& s) { return s.count("VIP") > 0; };
  auto lapsed = [](const std::set<std::string>& s) { return s.count("LAPSED") > 0; };
  std::set<std::string> got;
  // Once rebuilt, the index equals the member sets (skipping the dropped
  // changes would have left b.. out of VIP).
  EXPECT_TRUE(PollUntil(
      [&] {
        got = Ids(index, Parse(R"(segment: "VIP")"), &status);
        return status.ok();
      },
      absl::Seconds(5)))
      << status;
  EXPECT_EQ(got, Expected(Truth(store, all), vip));
  EXPECT_EQ(Ids(index, Parse(R"(segment: "LAPSED")"), &status), Expected(Truth(store, all), lapsed));
  ASSERT_TRUE(status.ok()) << status;
}

// A store whose newest change goes back before what the index applied (a
// restored older copy, with as many customers): the index stops answering
// and rebuilds.
class RestoredStore : public store::MemoryCustomerStore {
 public:
  absl::StatusOr<store::ChangeTail> ReadChangeTail(absl::string_view tenant,
                                                   absl::string_view after, int limit,
                                                   absl::Duration wait) override {
    absl::StatusOr<store::ChangeTail> tail =
        MemoryCustomerStore::ReadChangeTail(tenant, after, limit, wait);
    if (tail.ok() && went_back) tail->newest = "0-1";
    return tail;
  }
  std::atomic<bool> went_back{false};
};

TEST(MembershipIndexTest, AStoreWhoseNewestChangeWentBackIsNotTrustedUntilRebuilt) {
  RestoredStore store;
  PutSegments(store, "acme", "a", {"VIP"});
  PutSegments(store, "acme", "b", {"LAPSED"});
  std::unique_ptr<MembershipIndex> loaded = LoadedOnVipA(store);
  ASSERT_NE(loaded, nullptr);
  MembershipIndex& index = *loaded;
  absl::Status status;
  uint64_t generation = 0;
  ASSERT_TRUE(
      index.ReadNow("acme", [&](const MembershipIndex::View& v) { generation = v.generation(); })
          .ok());

  store.went_back = true;
  ASSERT_TRUE(PollUntil(
      [&] {
        status = index.ReadNow("acme", [](const MembershipIndex::View&) {});
        return !status.ok();
      },
      absl::Seconds(5)));
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  EXPECT_THAT(std::string(status.message()),
              ::testing::HasSubstr("went back (Redis lost data or was restored)"));

  store.went_back = false;
  uint64_t rebuilt = 0;
  ASSERT_TRUE(PollUntil(
      [&] {
        return index
            .ReadNow("acme", [&](const MembershipIndex::View& v) { rebuilt = v.generation(); })
            .ok();
      },
      absl::Seconds(5)));
  EXPECT_GT(rebuilt, generation);
  EXPECT_EQ(Ids(index, Parse(R"(segment: "LAPSED")"), &status), (std::set<std::string>{"b"}));
}

TEST(MembershipIndexTest, ReadIfFreshWithinAnswersOnlyFromAnIndexKnownCurrentWithinTheBound) {
  store::MemoryCustomerStore store;
  PutSegments(store, "acme", "a", {"VIP"});
  MembershipIndex index(&store, &store, Fast());
  const absl::Time start = absl::Now();
  int calls = 0;
  auto count = [&](const MembershipIndex::View&) { ++calls; };
  // Not loaded yet: declines (and starts the load).
  EXPECT_EQ(index.ReadIfFreshWithin("acme", absl::InfiniteDuration(), count), std::nullopt);
  EXPECT_EQ(calls, 0);
  // Once loaded, the tail's reads that reach the head keep proving it
  // current: a bound of a few tail waits is met without any read of ours.
  std::optional<absl::Time> as_of;
  ASSERT_TRUE(PollUntil(
      [&] {
        as_of = index.ReadIfFreshWithin("acme", absl::Now() - start, count);
        return as_of.has_value();
      },
      absl::Seconds(5)));
  EXPECT_EQ(calls, 1);
  EXPECT_GE(*as_of, start);
  EXPECT_LE(*as_of, absl::Now());
  // Nothing can be known fresher than now.
  EXPECT_EQ(index.ReadIfFreshWithin("acme", -absl::Seconds(1), count), std::nullopt);
  EXPECT_EQ(calls, 1);

  // A change committed before a view's age began is in it.
  PutSegments(store, "acme", "b", {"VIP"});
  const absl::Time written = absl::Now();
  std::set<std::string> vip;
  ASSERT_TRUE(PollUntil(
      [&] {
        return index
            .ReadIfFreshWithin("acme", absl::Now() - written,
                              [&](const MembershipIndex::View& view) {
                                Bitmap b = view.Evaluate(Parse(R"(segment: "VIP")"));
                                vip.clear();
                                for (uint32_t o : b.After(0, 10)) vip.emplace(view.IdOf(o));
                              })
            .has_value();
      },
      absl::Seconds(5)));
  EXPECT_EQ(vip, (std::set<std::string>{"a", "b"}));
}

// Records the longest wait each read of the change stream was given.
class WaitRecordingStore : public store::MemoryCustomerStore {
 public:
  absl::StatusOr<std::vector<store::StoredChange>> ReadChanges(absl::string_view tenant,
                                                               absl::string_view after, int limit,
                                                               absl::Duration wait) override {
    {
      absl::MutexLock lock(&mu_);
      waits_.push_back(wait);
    }
    return MemoryCustomerStore::ReadChanges(tenant, after, limit, wait);
  }
  // The wait of the latest read.
  absl::Duration LastWait() {
    absl::MutexLock lock(&mu_);
    return waits_.empty() ? absl::ZeroDuration() : waits_.back();
  }

 private:
  absl::Mutex mu_;
  std::vector<absl::Duration> waits_ ABSL_GUARDED_BY(mu_);
};

// A tenant nobody queries lately is tailed with longer reads (fewer of them,
// idle), which still return as soon as a change is appended; a query brings
// the short reads back.
TEST(MembershipIndexTest, AnIdleTenantsTailReadsLongerAndStillAppliesChangesAtOnce) {
  WaitRecordingStore store;
  MembershipIndex::Options options = Fast();
  options.idle_tail_wait = absl::Milliseconds(800);
  options.idle_after = absl::Seconds(1);
  MembershipIndex index(&store, &store, options);
  absl::Status status;
  EXPECT_TRUE(Ids(index, Parse(R"(segment: "VIP")"), &status).empty());
  ASSERT_TRUE(status.ok()) << status;
  absl::SleepFor(absl::Milliseconds(100));
  EXPECT_EQ(store.LastWait(), absl::Milliseconds(20));
  // Past idle_after without a query: an 800 ms read began at ~1 s.
  absl::SleepFor(absl::Milliseconds(1400));
  EXPECT_EQ(store.LastWait(), absl::Milliseconds(800));
  // A change appended now is applied well before that read's end (~1.8 s).
  PutSegments(store, "acme", "a", {"VIP"});
  absl::SleepFor(absl::Milliseconds(100));
  std::set<std::string> seen;
  ASSERT_TRUE(index
                  .Read("acme", /*fresh=*/false,
                        [&](const MembershipIndex::View& v) {
                          if (std::optional<uint32_t> o = v.OrdinalOf("a")) {
                            if (v.Contains("VIP", *o)) seen.insert("a");
                          }
                        })
                  .ok());
  EXPECT_EQ(seen, std::set<std::string>{"a"});
  // That query makes the tenant busy again: once the read under way ends
  // (by ~2.3 s), short reads.
  absl::SleepFor(absl::Seconds(1));
  EXPECT_EQ(store.LastWait(), absl::Milliseconds(20));
}

TEST(BitmapTest, After) {
  Bitmap b;
  for (uint32_t x : {3u, 5u, 9u, 100000u}) roaring_bitmap_add(b.get(), x);
  EXPECT_THAT(b.After(0, 10), ::testing::ElementsAre(3, 5, 9, 100000));
  EXPECT_THAT(b.After(3, 2), ::testing::ElementsAre(5, 9));
  EXPECT_THAT(b.After(9, 10), ::testing::ElementsAre(100000));
  EXPECT_TRUE(b.After(100000, 10).empty());
}

// On a real Redis: the same load + tail, and fail closed while Redis is down.
// A test's own Redis, with a client and store for queries and another pair
// for the tail, as segmentd connects them. Destroyed in reverse order: the
// stores, the clients, then the server.
struct RedisStores {
  std::unique_ptr<testing::RedisServer> redis;
  std::unique_ptr<store::redis::RedisClient> client;
  std::unique_ptr<store::redis::RedisClient> tail_client;
  std::unique_ptr<store::RedisCustomerStore> store;
  std::unique_ptr<store::RedisCustomerStore> tail_store;
};

absl::StatusOr<RedisStores> StartRedisStores(testing::RedisServer::Options redis_options,
                                             store::redis::RedisClient::Options client_options) {
  RedisStores s;
  absl::StatusOr<std::unique_ptr<testing::RedisServer>> redis =
      testing::RedisServer::Start(redis_options);
  if (!redis.ok()) return redis.status();
  s.redis = *std::move(redis);
  client_options.address = *store::redis::RedisAddress::Parse(s.redis->unix_address());
  for (auto* client : {&s.client, &s.tail_client}) {
    auto created = store::redis::RedisClient::Create(client_options);
    if (!created.ok()) return created.status();
    *client = *std::move(created);
  }
  if (absl::Status r = testing::RegisterTenant(s.client.get(), "acme"); !r.ok()) return r;
  auto store = store::RedisCustomerStore::Create(s.client.get(), {});
  if (!store.ok()) return store.status();
  s.store = *std::move(store);
  auto tail_store = store::RedisCustomerStore::Create(s.tail_client.get(), {});
  if (!tail_store.ok()) return tail_store.status();
  s.tail_store = *std::move(tail_store);
  return s;
}

TEST(MembershipIndexRedisTest, FailsClosedWhileRedisIsDownAndRecovers) {
  testing::RedisServer::Options redis_options;
  redis_options.appendonly = true;
  store::redis::RedisClient::Options client_options;
  client_options.max_backoff = absl::Milliseconds(100);
  absl::StatusOr<RedisStores> started = StartRedisStores(redis_options, client_options);
  ASSERT_TRUE(started.ok()) << started.status();
  RedisStores& s = *started;
  ASSERT_TRUE(s.store->InternCategories("acme", {"shoes"}).ok());
  for (int i = 0; i < 2500; ++i) {
    ASSERT_NO_FATAL_FAILURE(
        PutSegments(*s.store, "acme", absl::StrCat("c", i),
                    i % 2 ? std::vector<std::string>{"VIP"}
                          : std::vector<std::string>{"LAPSED", "category:shoes"}));
  }
  MembershipIndex::Options options;
  options.catch_up_wait = absl::Milliseconds(300);
  MembershipIndex index(s.store.get(), s.tail_store.get(), options);
  absl::Status status;
  EXPECT_EQ(Ids(index, Parse(R"(segment: "VIP")"), &status).size(), 1250u);
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(Ids(index, Parse(R"(segment: "category:shoes")"), &status).size(), 1250u);
  PutSegments(*s.store, "acme", "c0", {"VIP"});
  EXPECT_EQ(Ids(index, Parse(R"(segment: "VIP")"), &status).size(), 1251u);

  // Known current without a read of its own while the tail follows Redis.
  ASSERT_TRUE(PollUntil(
      [&] {
        return index.ReadIfFreshWithin("acme", absl::Milliseconds(250),
                                      [](const MembershipIndex::View&) {})
            .has_value();
      },
      absl::Seconds(5)));

  ASSERT_TRUE(s.redis->Kill().ok());
  // The tail's read fails as soon as the connection drops: bounded reads
  // decline from then on, whatever the bound, instead of answering from an
  // index nobody can check.
  ASSERT_TRUE(PollUntil(
      [&] {
        return !index.ReadIfFreshWithin("acme", absl::InfiniteDuration(),
                                       [](const MembershipIndex::View&) {})
                    .has_value();
      },
      absl::Seconds(2)));
  for (bool fresh : {true, false}) {
    absl::Status s = absl::OkStatus();
    // Without a fresh read the tail has to notice first: within a retry or two.
    ASSERT_TRUE(PollUntil(
        [&] {
          s = index.Read("acme", fresh, [](const MembershipIndex::View&) {});
          return !s.ok();
        },
        absl::Seconds(5)));
    EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
  }
  ASSERT_TRUE(s.redis->Restart().ok());  // AOF: the data and the stream are back.
  ASSERT_TRUE(PollUntil([&] { return s.client->Ping().ok(); }, absl::Seconds(10)));
  PutSegments(*s.store, "acme", "new", {"VIP"});
  std::set<std::string> vip;
  EXPECT_TRUE(PollUntil(
      [&] {
        vip = Ids(index, Parse(R"(segment: "VIP")"), &status);
        return status.ok();
      },
      absl::Seconds(10)))
      << status;
  EXPECT_EQ(vip.size(), 1252u);
  EXPECT_EQ(vip.count("new"), 1u);
}

// Redis loses its data (or is restored from an older copy) and the merchant
// imports again: the same customer ids come back with other ordinals and
// segments. The index must not go on from what it knew.
TEST(MembershipIndexRedisTest, RebuildsWhenTheStoreGoesBack) {
  absl::StatusOr<RedisStores> started = StartRedisStores({}, {});
  ASSERT_TRUE(started.ok()) << started.status();
  RedisStores& s = *started;
  for (int i = 0; i < 300; ++i) {
    PutSegments(*s.store, "acme", absl::StrCat("c", i), {i % 2 ? "VIP" : "LAPSED"});
  }
  MembershipIndex index(s.store.get(), s.tail_store.get(), Fast());
  absl::Status status;
  EXPECT_EQ(Ids(index, Parse(R"(segment: "VIP")"), &status).size(), 150u);
  ASSERT_TRUE(status.ok()) << status;

  absl::StatusOr<store::redis::RedisReply> flushed = s.client->Command({"FLUSHALL"});
  ASSERT_TRUE(flushed.ok()) << flushed.status();
  // The tenant created again in the empty store (its writes are refused until then).
  ASSERT_TRUE(testing::RegisterTenant(s.client.get(), "acme").ok());
  std::vector<std::string> again;
  for (int i = 99; i >= 0; --i) {  // other ordinals than before
    again.push_back(absl::StrCat("c", i));
    PutSegments(*s.store, "acme", again.back(), {"LOYAL_CUSTOMER"});
  }
  auto vip = [](const std::set<std::string>& s) { return s.count("VIP") > 0; };
  auto loyal = [](const std::set<std::string>& s) { return s.count("LOYAL_CUSTOMER") > 0; };
  std::set<std::string> got;
  EXPECT_TRUE(PollUntil(
      [&] {
        got = Ids(index, Parse(R"(segment: "LOYAL_CUSTOMER")"), &status);
        return status.ok() && got.size() == 100;
      },
      absl::Seconds(10)))
      << status;
  EXPECT_EQ(got, Expected(Truth(*s.store, again), loyal));
  EXPECT_EQ(Ids(index, Parse(R"(segment: "VIP")"), &status), Expected(Truth(*s.store, again), vip));
  ASSERT_TRUE(status.ok()) << status;
}

}  // namespace
}  // namespace segmentd::targeting

#include "server/live/registration_index_backfill.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/profile.h"
#include "engine/profile_codec.h"
#include "server/live/live_test_fixture.h"
#include "server/live/order_record_backfill.h"
#include "server/live/test_orders.h"
#include "server/live/transition_scheduler.h"
#include "server/metrics/metrics.h"
#include "store/redis_customer_store.h"
#include "testing/redis_test_client.h"

namespace segmentd {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1'750'000'000);
constexpr int64_t kDay = 24 * 3600 * 1000;

ProfileMutation Registered(absl::Time at) {
  return [at](engine::Profile* p) { return p->Register(at); };
}

// The ids a scan of `store`'s registration index over [lo, hi) finds.
std::vector<std::string> Scan(store::CustomerStore& store, const std::string& tenant, int64_t lo,
                              int64_t hi) {
  std::vector<std::string> ids;
  EXPECT_TRUE(store
                  .ScanRegisteredNonBuyers(tenant, lo, hi,
                                           [&](std::vector<std::string> page) {
                                             ids.insert(ids.end(), page.begin(), page.end());
                                             return absl::OkStatus();
                                           })
                  .ok());
  return ids;
}

// The ids in `tenant`'s registration index, each with its entry: the
// customer's registration instant when the index holds it there, else -1.
std::map<std::string, int64_t> Indexed(store::CustomerStore& store, const std::string& tenant) {
  std::map<std::string, int64_t> out;
  for (const std::string& id : Scan(store, tenant, std::numeric_limits<int64_t>::min(),
                                    std::numeric_limits<int64_t>::max())) {
    const store::CustomerState state = (*store.Read(tenant, {id}))[0];
    absl::StatusOr<engine::Profile> profile = engine::DecodeProfile(state.profile);
    EXPECT_TRUE(profile.ok()) << profile.status();
    if (!profile.ok()) continue;
    const int64_t at = profile->view().registered_ms;
    const std::vector<std::string> there = Scan(store, tenant, at, at + 1);
    out[id] = std::find(there.begin(), there.end(), id) != there.end() ? at : -1;
  }
  return out;
}

// A tenant whose customers were stored before the registration index
// existed: r20 (registered 20 days ago), b (registered, then an order), r3
// (registered 3 days ago), u (an order, never registered); then the index
// forgotten.
class RegistrationIndexBackfillTest : public LiveTestFixture {
 protected:
  RegistrationIndexBackfillTest() : LiveTestFixture(kT0) {}

  void SetUp() override {
    Apply("r20", {Registered(kT0 - absl::Hours(24 * 20))});
    Apply("b", {Registered(kT0 - absl::Hours(24 * 30)), Order("b-1", kT0 - absl::Hours(1), 100)});
    Apply("r3", {Registered(kT0 - absl::Hours(24 * 3))});
    Apply("u", {Order("u-1", kT0 - absl::Hours(1), 100)});
    store_.ForgetRegistrationIndex("acme");
  }

  void Apply(const std::string& customer, std::vector<ProfileMutation> events) {
    absl::StatusOr<std::vector<CustomerOutcome>> out =
        live_->Apply("acme", {CustomerEvents{customer, std::move(events)}});
    ASSERT_TRUE(out.ok()) << out.status();
    ASSERT_TRUE((*out)[0].commit.ok()) << (*out)[0].commit;
  }

  bool Member(const std::string& segment, const std::string& customer) {
    const store::CustomerState state = (*store_.Read("acme", {customer}))[0];
    return std::find(state.segments.begin(), state.segments.end(), segment) != state.segments.end();
  }
};

const int64_t kR20 = absl::ToUnixMillis(kT0) - 20 * kDay;
const int64_t kR3 = absl::ToUnixMillis(kT0) - 3 * kDay;

TEST_F(RegistrationIndexBackfillTest, FillsTheIndexPageByPageWithoutOverwritingNewerWrites) {
  EXPECT_FALSE(*store_.HasRegistrationIndex("acme"));
  EXPECT_TRUE(Indexed(store_, "acme").empty());
  RegistrationIndexBackfill backfill(&store_, [this] { return now_; });
  Metrics metrics;
  backfill.set_metrics(&metrics);
  ASSERT_EQ(*backfill.Step("acme", 2), false);  // r20, b
  EXPECT_THAT(
      metrics.Text(),
      ::testing::HasSubstr("segmentd_backfill_customers_total{backfill=\"registration_index\"} 2"));
  EXPECT_EQ(Indexed(store_, "acme"), (std::map<std::string, int64_t>{{"r20", kR20}}));
  EXPECT_EQ(*store_.RegistrationsUnindexedFrom("acme"), std::optional<uint32_t>(3));
  EXPECT_FALSE(*store_.HasRegistrationIndex("acme"));
  // r3 places a first order before the backfill reaches it: its write
  // stores its entry (none), and the backfill, reading the newer profile,
  // derives none either. (A write landing between the backfill's read and
  // its store is the store's test: customer_store_test.)
  Apply("r3", {Order("r3-1", kT0, 100)});
  // A newcomer registers meanwhile: its own write indexes it.
  Apply("new", {Registered(kT0)});
  backfill.set_progress_interval(absl::ZeroDuration());  // every step logs its progress
  ::testing::internal::CaptureStderr();
  const absl::StatusOr<bool> stepped = backfill.Step("acme", 2);  // r3, u
  const std::string logged = ::testing::internal::GetCapturedStderr();
  ASSERT_EQ(stepped.value_or(true), false) << stepped.status();
  EXPECT_THAT(logged, ::testing::HasSubstr(
                          "registration index of tenant acme: at ordinal 3 of 5 customers"));
  ASSERT_EQ(*backfill.Step("acme", 2), false);  // new (written with the index)
  EXPECT_EQ(*backfill.Step("acme", 2), true);
  EXPECT_TRUE(*store_.HasRegistrationIndex("acme"));
  EXPECT_EQ(Indexed(store_, "acme"),
            (std::map<std::string, int64_t>{{"r20", kR20}, {"new", absl::ToUnixMillis(kT0)}}));
  EXPECT_EQ(*backfill.Step("other", 2), true);  // no customer: nothing to fill
  EXPECT_EQ(backfill.Step("acme", 0).status().code(), absl::StatusCode::kInvalidArgument);
}

// Once complete, a NEW_DOWNLOAD change reads the index alone, and the
// customer the backfill indexed moves as it should.
TEST_F(RegistrationIndexBackfillTest, AConfigUpdateAfterTheBackfillMovesTheCustomersItIndexed) {
  EXPECT_FALSE(Member("NEW_DOWNLOAD", "r20"));  // 20 days > 14
  EXPECT_TRUE(Member("NEW_DOWNLOAD", "r3"));
  RegistrationIndexBackfill backfill(&store_, [this] { return now_; });
  while (!*backfill.Step("acme", 100)) {
  }
  engine::SegmentConfig config;
  config.new_download.max_days = 30;
  int64_t deferred = 0;
  EXPECT_EQ(StoreConfigAndReevaluate("acme", config, /*by_profile=*/true, &deferred), 1);
  EXPECT_TRUE(Member("NEW_DOWNLOAD", "r20"));
  EXPECT_TRUE(Member("NEW_DOWNLOAD", "r3"));
  EXPECT_FALSE(Member("NEW_DOWNLOAD", "b"));
}

// Until the backfill completes, the same change reads every customer: r3,
// not indexed yet, leaves NEW_DOWNLOAD.
TEST_F(RegistrationIndexBackfillTest, BeforeTheBackfillAConfigUpdateReadsEveryCustomer) {
  RegistrationIndexBackfill backfill(&store_, [this] { return now_; });
  ASSERT_EQ(*backfill.Step("acme", 1), false);  // r20 only: the index is still incomplete
  ASSERT_TRUE(Member("NEW_DOWNLOAD", "r3"));
  engine::SegmentConfig config;
  config.new_download.max_days = 2;
  int64_t deferred = 0;
  // (Reading everyone also re-classifies b and u, whose value tiers this
  // fixture, without a statistics mover, left as the first buyer's
  // statistics made them: how many moved says nothing here.)
  EXPECT_GE(StoreConfigAndReevaluate("acme", config, /*by_profile=*/true, &deferred), 1);
  EXPECT_FALSE(Member("NEW_DOWNLOAD", "r3"));
}

// The leading replica's scheduler runs every backfill it is given, one
// after the other; a follower's none.
TEST_F(RegistrationIndexBackfillTest, TheLeadingSchedulerRunsEachBackfill) {
  store_.ForgetOrderRecord("acme");
  OrderRecordBackfill orders(&store_);
  RegistrationIndexBackfill registrations(&store_, [this] { return now_; });
  auto tenants = [] {
    return absl::StatusOr<std::vector<std::string>>(std::vector<std::string>{"acme", "other"});
  };
  TransitionScheduler::Options options;
  options.now = [this] { return now_; };
  options.backfills = {&orders, &registrations};
  options.batch = 1;
  options.leading = [] { return false; };
  TransitionScheduler follower(&store_, live_.get(), tenants, options);
  ASSERT_TRUE(follower.RunOnce().ok());
  EXPECT_EQ(*store_.OrdersUnrecordedFrom("acme"), std::optional<uint32_t>(1));
  EXPECT_EQ(*store_.RegistrationsUnindexedFrom("acme"), std::optional<uint32_t>(1));
  options.leading = [] { return true; };
  TransitionScheduler leader(&store_, live_.get(), tenants, options);
  ASSERT_TRUE(leader.RunOnce().ok());
  EXPECT_EQ(*store_.OrdersUnrecordedFrom("acme"), std::nullopt);
  EXPECT_EQ(*store_.RegistrationsUnindexedFrom("acme"), std::nullopt);
  EXPECT_EQ(Indexed(store_, "acme"), (std::map<std::string, int64_t>{{"r20", kR20}, {"r3", kR3}}));
}

// Against Redis, from what a store before the index left (customers without
// their `g` field, no index, no marker): entries as the write script stores
// them; c2, whose stored ordinal cannot be read (so its page is read one
// customer at a time), c5, whose profile cannot be decoded, and c6, whose
// key is not a hash, skipped, each other customer given its own entry; the
// index complete after the last page, and a later write moving a
// backfilled entry.
TEST(RegistrationIndexBackfillRedisTest, FillsWhatAStoreBeforeTheIndexLeft) {
  absl::StatusOr<RedisStoreForTest> redis = StartRedisStore();
  ASSERT_TRUE(redis.ok()) << redis.status();
  store::redis::RedisClient& client = *redis->redis.client;
  store::RedisCustomerStore& store = *redis->store;
  std::vector<store::CustomerWrite> writes;
  for (int i = 1; i <= 6; ++i) {
    engine::Profile profile;
    ASSERT_TRUE(profile.Register(kT0 - absl::Hours(24 * i)).ok());
    if (i == 4) {
      ASSERT_TRUE(profile.PlaceOrder({"o4", kT0, 100, {}}).ok());  // a buyer
    }
    store::CustomerWrite w;
    w.customer_id = absl::StrCat("c", i);
    w.profile = i == 5 ? "not a profile" : engine::EncodeProfile(profile);
    w.changed_at = kT0;
    writes.push_back(std::move(w));  // no registration entry: as a store before the index
  }
  ASSERT_EQ(*store.Write("acme", writes), std::vector<bool>(6, true));
  for (int i = 1; i <= 6; ++i) {
    ASSERT_TRUE(client.Command({"HDEL", absl::StrCat("sd:{acme}:c:c", i), "g"}).ok());
  }
  ASSERT_TRUE(client.Command({"DEL", "sd:{acme}:m:reg:complete"}).ok());
  ASSERT_TRUE(client.Command({"HSET", "sd:{acme}:c:c2", "o", "not a number"}).ok());
  ASSERT_TRUE(client.Command({"DEL", "sd:{acme}:c:c6"}).ok());
  ASSERT_TRUE(client.Command({"SET", "sd:{acme}:c:c6", "not a hash"}).ok());
  EXPECT_FALSE(*store.HasRegistrationIndex("acme"));

  RegistrationIndexBackfill backfill(&store, [] { return kT0; });
  ASSERT_EQ(*backfill.Step("acme", 3), false);  // c1, c2 (skipped), c3
  ASSERT_EQ(*backfill.Step("acme", 3), false);  // c4, c5, c6 (both skipped): the last page
  ASSERT_EQ(*backfill.Step("acme", 3), true);
  EXPECT_TRUE(*store.HasRegistrationIndex("acme"));
  absl::StatusOr<store::redis::RedisReply> index =
      client.Command({"ZRANGE", "sd:{acme}:m:reg", "0", "-1", "WITHSCORES"});
  ASSERT_TRUE(index.ok()) << index.status();
  std::vector<std::string> entries;
  for (const store::redis::RedisReply& e : index->elements()) entries.push_back(e.str());
  const int64_t t0 = absl::ToUnixMillis(kT0);
  EXPECT_EQ(entries, (std::vector<std::string>{"c3", absl::StrCat(t0 - 3 * kDay), "c1",
                                               absl::StrCat(t0 - 1 * kDay)}));
  absl::StatusOr<store::redis::RedisReply> buyer = client.Command({"HGET", "sd:{acme}:c:c4", "g"});
  ASSERT_TRUE(buyer.ok()) << buyer.status();
  EXPECT_TRUE(buyer->is_nil());  // left alone: no entry is what it has
  // c1's first order (a write whose entry is none) takes it out of the index.
  store::CustomerWrite bought;
  bought.customer_id = "c1";
  bought.expected_version = 1;
  bought.changed_at = kT0;
  ASSERT_EQ(*store.Write("acme", {bought}), std::vector<bool>{true});
  absl::StatusOr<store::redis::RedisReply> c1 = client.Command({"ZSCORE", "sd:{acme}:m:reg", "c1"});
  ASSERT_TRUE(c1.ok()) << c1.status();
  EXPECT_TRUE(c1->is_nil());
}

// A store whose profile reads are refused, as Redis refuses a client whose
// credentials changed under it.
class RefusingStore : public store::MemoryCustomerStore {
 public:
  absl::StatusOr<std::vector<store::ProfileRead>> ReadProfiles(
      absl::string_view tenant, absl::Span<const std::string> customer_ids) override {
    if (refuse) return absl::FailedPreconditionError("NOAUTH Authentication required.");
    return MemoryCustomerStore::ReadProfiles(tenant, customer_ids);
  }
  bool refuse = false;
};

// An error other than unreadable stored data skips nobody: the step fails,
// the cursor stays, and the next step fills the customer in.
TEST(RegistrationIndexBackfillErrorTest, ARefusedReadSkipsNobody) {
  RefusingStore store;
  engine::Profile profile;
  ASSERT_TRUE(profile.Register(kT0 - absl::Hours(1)).ok());
  store::CustomerWrite w;
  w.customer_id = "r";
  w.profile = engine::EncodeProfile(profile);
  w.changed_at = kT0;
  ASSERT_EQ(*store.Write("acme", {w}), std::vector<bool>{true});
  store.ForgetRegistrationIndex("acme");
  RegistrationIndexBackfill backfill(&store, [] { return kT0; });
  store.refuse = true;
  EXPECT_EQ(backfill.Step("acme", 10).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(*store.RegistrationsUnindexedFrom("acme"), std::optional<uint32_t>(1));
  store.refuse = false;
  EXPECT_EQ(*backfill.Step("acme", 10), false);
  EXPECT_EQ(*backfill.Step("acme", 10), true);
  EXPECT_EQ(Indexed(store, "acme"),
            (std::map<std::string, int64_t>{{"r", absl::ToUnixMillis(kT0 - absl::Hours(1))}}));
}

}  // namespace
}  // namespace segmentd

// End-to-end tests of ConfigService: the real segmentd binary on a real
// redis-server, over gRPC. A small population whose FREQUENT_BUYER and
// NEW_CUSTOMER memberships the test computes itself: customer cN has N orders,
// placed 0.5, 2.5, 4.5, ... days ago (N = 0..7; c0 is only registered).
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "segmentd/v1/classification.grpc.pb.h"
#include "segmentd/v1/config.grpc.pb.h"
#include "segmentd/v1/ingest.pb.h"
#include "store/redis/redis_client.h"
#include "testing/e2e_stack.h"
#include "testing/redis_test_client.h"
#include "testing/segmentd_process.h"

namespace segmentd {
namespace {

using ::segmentd::testing::ConnectClient;
using ::segmentd::testing::E2eStack;
using ::segmentd::testing::IngestBatch;
using ::segmentd::testing::NewContext;
using ::segmentd::testing::OrderEvent;
using ::segmentd::testing::RegisteredEvent;
using ::segmentd::testing::SegmentdProcess;
using ::segmentd::testing::TenantKeys;
using ::testing::HasSubstr;

constexpr int kMaxOrders = 7;

std::string Customer(int n) { return absl::StrCat("c", n); }

// Orders of cN within the last `window_days` days.
int OrdersWithin(int n, int window_days) {
  int count = 0;
  for (int i = 0; i < n; ++i) count += (2 * i + 0.5) < window_days ? 1 : 0;
  return count;
}

class ConfigE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    E2eStack::Options options;
    options.tenants = {"cfg"};
    absl::StatusOr<std::unique_ptr<E2eStack>> stack = E2eStack::Start(options);
    ASSERT_TRUE(stack.ok()) << stack.status();
    stack_ = *std::move(stack);
    keys_ = stack_->keys("cfg");
    config_ = v1::ConfigService::NewStub(stack_->channel());

    const absl::Time now = absl::Now();
    loaded_at_ = now;
    std::vector<v1::Event> events;
    for (int n = 0; n <= kMaxOrders; ++n) {
      events.push_back(RegisteredEvent(Customer(n), now - absl::Hours(24 * 20)));
      for (int i = 0; i < n; ++i) {
        events.push_back(OrderEvent(Customer(n), absl::StrCat(Customer(n), "-", i),
                                    now - absl::Hours(48 * i + 12), 1000));
      }
    }
    absl::StatusOr<v1::BulkIngestResponse> reply =
        IngestBatch(*stack_->channel(), keys_.write, events);
    ASSERT_TRUE(reply.ok()) << reply.status();
    ASSERT_EQ(reply->rejected(), 0u) << reply->DebugString();
  }

  v1::VersionedConfig Get() {
    v1::GetConfigResponse response;
    auto ctx = NewContext(keys_.read);
    grpc::Status status = config_->GetConfig(ctx.get(), v1::GetConfigRequest(), &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.config();
  }

  // Sets FREQUENT_BUYER's window and minimum, then classifies `ids` with
  // their reasons into `*classified`.
  void SetFrequentBuyerAndClassify(int window_days, int min_orders,
                                   const std::vector<std::string>& ids,
                                   v1::ClassifyCustomersResponse* classified) {
    v1::UpdateConfigRequest request;
    request.mutable_config()->mutable_frequent_buyer()->set_window_days(window_days);
    request.mutable_config()->mutable_frequent_buyer()->set_min_orders(min_orders);
    request.mutable_update_mask()->add_paths("frequent_buyer.window_days");
    request.mutable_update_mask()->add_paths("frequent_buyer.min_orders");
    v1::UpdateConfigResponse response;
    ASSERT_TRUE(Update(request, &response).ok());
    v1::ClassifyCustomersRequest classify;
    for (const std::string& id : ids) classify.add_customer_ids(id);
    classify.set_include_reasons(true);
    auto ctx = NewContext(keys_.read);
    ASSERT_TRUE(v1::ClassificationService::NewStub(stack_->channel())
                    ->ClassifyCustomers(ctx.get(), classify, classified)
                    .ok());
  }

  // Whether Redis's member set of `segment` holds `customer`.
  bool StoredMember(const std::string& segment, const std::string& customer) {
    absl::StatusOr<std::unique_ptr<store::redis::RedisClient>> redis =
        ConnectClient(stack_->redis());
    EXPECT_TRUE(redis.ok()) << redis.status();
    if (!redis.ok()) return false;
    absl::StatusOr<store::redis::RedisReply> stored =
        (*redis)->Command({"SISMEMBER", absl::StrCat("sd:{cfg}:s:", segment), customer});
    EXPECT_TRUE(stored.ok()) << stored.status();
    return stored.ok() && stored->integer() == 1;
  }

  // Returns, per customer, whether it is in `segment` right now, as
  // ClassifyCustomers answers through `channel` (default: the stack's
  // segmentd). ClassifyCustomers classifies the stored profiles on the fly,
  // so it cannot tell whether UpdateConfig finished re-classifying: the
  // stored membership, the segment's member set in Redis, must agree too.
  std::map<std::string, bool> MembersOf(const std::string& segment,
                                        std::shared_ptr<grpc::Channel> channel = nullptr) {
    v1::ClassifyCustomersRequest request;
    for (int n = 0; n <= kMaxOrders; ++n) request.add_customer_ids(Customer(n));
    v1::ClassifyCustomersResponse response;
    auto ctx = NewContext(keys_.read);
    auto stub = v1::ClassificationService::NewStub(channel ? channel : stack_->channel());
    grpc::Status status = stub->ClassifyCustomers(ctx.get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    std::map<std::string, bool> out;
    for (const v1::CustomerClassification& c : response.classifications()) {
      EXPECT_TRUE(c.found()) << c.customer_id();
      bool member = false;
      for (const std::string& s : c.membership().segments()) member |= s == segment;
      out[c.customer_id()] = member;
    }
    EXPECT_EQ(StoredMembersOf(segment), out) << segment << ": stored member set";
    return out;
  }

  // Returns, per customer, whether Redis's member set of `segment` holds it.
  std::map<std::string, bool> StoredMembersOf(const std::string& segment) {
    std::map<std::string, bool> out;
    absl::StatusOr<std::unique_ptr<store::redis::RedisClient>> redis =
        ConnectClient(stack_->redis());
    EXPECT_TRUE(redis.ok()) << redis.status();
    if (!redis.ok()) return out;
    for (int n = 0; n <= kMaxOrders; ++n) {
      absl::StatusOr<store::redis::RedisReply> reply = (*redis)->Command(
          {"SISMEMBER", absl::StrCat("sd:{cfg}:s:", segment), Customer(n)});
      EXPECT_TRUE(reply.ok()) << reply.status();
      out[Customer(n)] = reply.ok() && reply->is_integer() && reply->integer() == 1;
    }
    return out;
  }

  // Expected FREQUENT_BUYER membership for (min_orders, window_days).
  static std::map<std::string, bool> ExpectedFrequent(int min_orders, int window_days) {
    std::map<std::string, bool> out;
    for (int n = 0; n <= kMaxOrders; ++n) out[Customer(n)] = OrdersWithin(n, window_days) >= min_orders;
    return out;
  }

  grpc::Status Update(const v1::UpdateConfigRequest& request, v1::UpdateConfigResponse* response) {
    auto ctx = NewContext(keys_.admin, absl::Seconds(30));
    return config_->UpdateConfig(ctx.get(), request, response);
  }

  std::unique_ptr<E2eStack> stack_;
  absl::Time loaded_at_;  // the "now" the population's orders are placed from
  TenantKeys keys_;
  std::unique_ptr<v1::ConfigService::Stub> config_;
};

TEST_F(ConfigE2eTest, DefaultsThenFullAndMaskedUpdatesCompleteBeforeReturning) {
  const v1::VersionedConfig initial = Get();
  EXPECT_EQ(initial.version(), 0);
  EXPECT_EQ(initial.config().frequent_buyer().min_orders(), 5u);
  EXPECT_EQ(initial.config().frequent_buyer().window_days(), 30u);
  EXPECT_TRUE(initial.config().frequent_buyer().enabled());
  EXPECT_EQ(initial.config().returning_customer().min_orders(), 2u);
  EXPECT_EQ(MembersOf("FREQUENT_BUYER"), ExpectedFrequent(5, 30));

  // Full replace: only frequent_buyer.min_orders given, the rest defaults.
  v1::UpdateConfigRequest full;
  full.mutable_config()->mutable_frequent_buyer()->set_min_orders(4);
  full.mutable_config()->mutable_returning_customer()->set_min_orders(3);
  full.set_expected_version(0);
  v1::UpdateConfigResponse response;
  grpc::Status status = Update(full, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.config().version(), 1);
  EXPECT_EQ(response.config().config().frequent_buyer().min_orders(), 4u);
  EXPECT_EQ(response.config().config().frequent_buyer().window_days(), 30u);
  EXPECT_TRUE(response.config().has_updated_at());
  // Membership is complete when the call returns: c4 entered FREQUENT_BUYER,
  // c2 left RETURNING_CUSTOMER (2 orders < 3).
  EXPECT_EQ(MembersOf("FREQUENT_BUYER"), ExpectedFrequent(4, 30));
  EXPECT_FALSE(MembersOf("RETURNING_CUSTOMER")["c2"]);
  EXPECT_TRUE(MembersOf("RETURNING_CUSTOMER")["c3"]);
  // c4 and c2 changed segments; the server also counts customers whose
  // next_change_at moved (part of Membership), so only a lower bound holds.
  EXPECT_GE(response.customers_changed(), 2);
  EXPECT_LE(response.customers_changed(), kMaxOrders + 1);

  // Masked: only window_days changes; min_orders in the message is ignored.
  v1::UpdateConfigRequest masked;
  masked.mutable_config()->mutable_frequent_buyer()->set_window_days(5);
  masked.mutable_config()->mutable_frequent_buyer()->set_min_orders(1);
  masked.mutable_update_mask()->add_paths("frequent_buyer.window_days");
  status = Update(masked, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.config().version(), 2);
  EXPECT_EQ(response.config().config().frequent_buyer().min_orders(), 4u);
  EXPECT_EQ(response.config().config().frequent_buyer().window_days(), 5u);
  EXPECT_EQ(response.config().config().returning_customer().min_orders(), 3u);
  // At most 3 orders in 5 days: nobody is a frequent buyer any more.
  EXPECT_EQ(MembersOf("FREQUENT_BUYER"), ExpectedFrequent(4, 5));
  EXPECT_GE(response.customers_changed(), 4);  // c4..c7 left
  EXPECT_LE(response.customers_changed(), kMaxOrders + 1);
  EXPECT_EQ(Get().version(), 2);

  // A stale expected_version is refused and changes nothing.
  full.set_expected_version(1);
  status = Update(full, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::ABORTED);
  EXPECT_THAT(status.error_message(), HasSubstr("expected_version"));
  EXPECT_EQ(Get().version(), 2);
  EXPECT_EQ(Get().config().frequent_buyer().window_days(), 5u);
}

// Concurrent updates: each caller hears of the config it stored (its own
// version and contents), not of one stored while it re-classified. None
// sends expected_version, so none fails for another's update stored
// meanwhile (a reviewer saw 3-4 of 12 ABORTED): full and masked updates.
TEST_F(ConfigE2eTest, EachConcurrentUpdateAnswersWithTheConfigItStored) {
  constexpr int kCallers = 6;
  std::set<int64_t> versions;
  int stored = 0;
  for (int round = 0; round < 3; ++round) {
    std::vector<v1::UpdateConfigResponse> responses(kCallers);
    std::vector<grpc::Status> statuses(kCallers);
    std::vector<std::thread> callers;
    for (int i = 0; i < kCallers; ++i) {
      callers.emplace_back([&, i] {
        // Values new each round: each update changes the config (one that
        // changes nothing stores nothing).
        v1::UpdateConfigRequest request;
        if (i % 2 == 0) {
          request.mutable_config()->mutable_frequent_buyer()->set_min_orders(1 + i + 10 * round);
        } else {
          request.mutable_config()->mutable_frequent_buyer()->set_window_days(10 + i + 10 * round);
          request.mutable_update_mask()->add_paths("frequent_buyer.window_days");
        }
        statuses[i] = Update(request, &responses[i]);
      });
    }
    for (std::thread& t : callers) t.join();
    for (int i = 0; i < kCallers; ++i) {
      ASSERT_TRUE(statuses[i].ok()) << i << ": " << statuses[i].error_message();
      ++stored;
      const v1::FrequentBuyerConfig& fb = responses[i].config().config().frequent_buyer();
      if (i % 2 == 0) {
        EXPECT_EQ(fb.min_orders(), static_cast<uint32_t>(1 + i + 10 * round))
            << "caller " << i << " got version " << responses[i].config().version();
      } else {
        EXPECT_EQ(fb.window_days(), static_cast<uint32_t>(10 + i + 10 * round))
            << "caller " << i << " got version " << responses[i].config().version();
      }
      EXPECT_TRUE(versions.insert(responses[i].config().version()).second)
          << "version " << responses[i].config().version() << " answered twice";
    }
  }
  EXPECT_EQ(stored, 3 * kCallers);
  EXPECT_EQ(Get().version(), *versions.rbegin());
}

// A window lengthened past the history kept per order (365 days by default:
// older orders are folded into lifetime totals) counts the folded orders it
// holds all of: after the update every such customer is a member, stored and
// classified alike (a reviewer saw FREQUENT_BUYER over 3650 days leave out
// every customer whose orders were all over 365 days old).
TEST_F(ConfigE2eTest, AWindowLengthenedPastFoldedHistoryCountsIt) {
  const absl::Time now = absl::Now();
  const std::vector<std::string> old = {"old1", "old2", "mixed"};
  absl::StatusOr<v1::BulkIngestResponse> reply =
      IngestBatch(*stack_->channel(), keys_.write,
                  {OrderEvent("old1", "old1-a", now - absl::Hours(24 * 519), 1000),
                   OrderEvent("old2", "old2-a", now - absl::Hours(24 * 500), 1000),
                   OrderEvent("old2", "old2-b", now - absl::Hours(24 * 400), 1000),
                   OrderEvent("mixed", "mixed-a", now - absl::Hours(24 * 500), 1000),
                   OrderEvent("mixed", "mixed-b", now - absl::Hours(24 * 10), 1000)});
  ASSERT_TRUE(reply.ok()) << reply.status();
  ASSERT_EQ(reply->rejected(), 0u) << reply->DebugString();
  v1::ClassifyCustomersResponse classified;
  SetFrequentBuyerAndClassify(3650, 1, old, &classified);
  ASSERT_EQ(classified.classifications_size(), 3);
  const std::map<std::string, std::string> reasons = {
      {"old1", "1 order in the last 3650 days (>= 1)"},
      {"old2", "2 orders in the last 3650 days (>= 1)"},
      {"mixed", "2 orders in the last 3650 days (>= 1)"}};
  for (const v1::CustomerClassification& c : classified.classifications()) {
    EXPECT_THAT(c.membership().segments(), ::testing::Contains("FREQUENT_BUYER"))
        << c.customer_id();
    bool explained = false;
    for (const v1::SegmentReason& r : c.reasons()) {
      if (r.segment() == "FREQUENT_BUYER") explained = r.reason() == reasons.at(c.customer_id());
    }
    EXPECT_TRUE(explained) << c.DebugString();
    EXPECT_TRUE(StoredMember("FREQUENT_BUYER", c.customer_id())) << c.customer_id();
  }
}

// A window whose start falls among the folded orders counts those placed
// after it (their placements are kept), stored and classified alike, with
// the reason's count; the update's next changes include their exits.
TEST_F(ConfigE2eTest, AWindowStartingAmongFoldedOrdersCountsThoseAfterIt) {
  const absl::Time now = absl::Now();
  absl::StatusOr<v1::BulkIngestResponse> reply =
      IngestBatch(*stack_->channel(), keys_.write,
                  {OrderEvent("straddle", "s-a", now - absl::Hours(24 * 500), 1000),
                   OrderEvent("straddle", "s-b", now - absl::Hours(24 * 400), 1000),
                   OrderEvent("straddle", "s-c", now - absl::Hours(24 * 390), 1000)});
  ASSERT_TRUE(reply.ok()) << reply.status();
  ASSERT_EQ(reply->rejected(), 0u) << reply->DebugString();
  // 450 days: the orders of 400 and 390 days ago, not the one of 500.
  v1::ClassifyCustomersResponse classified;
  SetFrequentBuyerAndClassify(450, 2, {"straddle"}, &classified);
  ASSERT_EQ(classified.classifications_size(), 1);
  const v1::CustomerClassification& c = classified.classifications(0);
  EXPECT_THAT(c.membership().segments(), ::testing::Contains("FREQUENT_BUYER"));
  bool explained = false;
  for (const v1::SegmentReason& r : c.reasons()) {
    if (r.segment() == "FREQUENT_BUYER") {
      explained = r.reason() == "2 orders in the last 450 days (>= 2)";
    }
  }
  EXPECT_TRUE(explained) << c.DebugString();
  // It leaves when the order of 400 days ago does: in 50 days.
  ASSERT_TRUE(c.membership().has_next_change_at());
  EXPECT_LE(absl::AbsDuration(absl::FromUnixSeconds(c.membership().next_change_at().seconds()) -
                              (now + absl::Hours(24 * 50))),
            absl::Minutes(1))
      << c.DebugString();
  EXPECT_TRUE(StoredMember("FREQUENT_BUYER", "straddle"));
}

// Folded orders keep their categories: a category-affinity lookback
// lengthened past the fold horizon counts them, at now (stored and
// classified alike) and at an explicit as_of before the horizon, which is
// exact for such a customer (it was refused OUT_OF_RANGE while folded orders
// kept no categories).
TEST_F(ConfigE2eTest, ALongerCategoryLookbackCountsFoldedOrdersCategories) {
  const absl::Time now = absl::Now();
  // Folded on arrival (older than the 365-day horizon); "toys" only once.
  absl::StatusOr<v1::BulkIngestResponse> reply = IngestBatch(
      *stack_->channel(), keys_.write,
      {OrderEvent("reader", "r-a", now - absl::Hours(24 * 500), 1000, {"books", "toys"}),
       OrderEvent("reader", "r-b", now - absl::Hours(24 * 450), 1000, {"books"})});
  ASSERT_TRUE(reply.ok()) << reply.status();
  ASSERT_EQ(reply->rejected(), 0u) << reply->DebugString();
  auto classify = [&](std::optional<absl::Time> as_of, v1::ClassifyCustomersResponse* out) {
    v1::ClassifyCustomersRequest request;
    request.add_customer_ids("reader");
    request.set_include_reasons(true);
    if (as_of) request.mutable_as_of()->set_seconds(absl::ToUnixSeconds(*as_of));
    auto ctx = NewContext(keys_.read);
    return v1::ClassificationService::NewStub(stack_->channel())
        ->ClassifyCustomers(ctx.get(), request, out);
  };
  v1::ClassifyCustomersResponse before;
  ASSERT_TRUE(classify(std::nullopt, &before).ok());
  ASSERT_EQ(before.classifications_size(), 1);
  EXPECT_THAT(before.classifications(0).membership().segments(),
              ::testing::Not(::testing::Contains("category:books")));

  v1::UpdateConfigRequest request;
  request.mutable_config()->mutable_category_affinity()->set_lookback_days(600);
  request.mutable_update_mask()->add_paths("category_affinity.lookback_days");
  v1::UpdateConfigResponse response;
  ASSERT_TRUE(Update(request, &response).ok());
  v1::ClassifyCustomersResponse after;
  ASSERT_TRUE(classify(std::nullopt, &after).ok());
  ASSERT_EQ(after.classifications_size(), 1);
  const v1::CustomerClassification& c = after.classifications(0);
  EXPECT_THAT(c.membership().segments(), ::testing::Contains("category:books"));
  EXPECT_THAT(c.membership().segments(), ::testing::Not(::testing::Contains("category:toys")));
  EXPECT_TRUE(StoredMember("category:books", "reader"));
  // It leaves when the order of 500 days ago leaves the lookback: in 100 days.
  ASSERT_TRUE(c.membership().has_next_change_at());
  EXPECT_LE(absl::AbsDuration(absl::FromUnixSeconds(c.membership().next_change_at().seconds()) -
                              (now + absl::Hours(24 * 100))),
            absl::Minutes(1))
      << c.DebugString();

  // 440 days ago, before the horizon: both orders were placed then.
  v1::ClassifyCustomersResponse past;
  const grpc::Status status = classify(now - absl::Hours(24 * 440), &past);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(past.classifications_size(), 1);
  EXPECT_THAT(past.classifications(0).membership().segments(),
              ::testing::Contains("category:books"));
  // 480 days ago only the first was.
  ASSERT_TRUE(classify(now - absl::Hours(24 * 480), &past).ok());
  EXPECT_THAT(past.classifications(0).membership().segments(),
              ::testing::Not(::testing::Contains("category:books")));
}

TEST_F(ConfigE2eTest, NextChangesLeftToTheBackgroundAreRecomputedByTheServer) {
  // A longer NEW_CUSTOMER window moves no one's membership, only when c1
  // (one order, 12 hours ago) next changes: weeks away, so the update
  // leaves it to the server's scheduler instead of writing it.
  const std::map<std::string, bool> new_customers = MembersOf("NEW_CUSTOMER");
  EXPECT_TRUE(new_customers.at("c1"));
  v1::UpdateConfigRequest request;
  request.mutable_config()->mutable_new_customer()->set_window_days(40);
  request.mutable_update_mask()->add_paths("new_customer.window_days");
  v1::UpdateConfigResponse response;
  grpc::Status status = Update(request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  // (customers_changed may count statistics moves still due after the
  // import: not asserted.)
  EXPECT_GE(response.config().schedule_updates_pending(), 1);
  EXPECT_EQ(MembersOf("NEW_CUSTOMER"), new_customers);
  // The server works through them by itself (TransitionScheduler, every 200 ms).
  const absl::Time give_up = absl::Now() + absl::Seconds(20);
  while (Get().schedule_updates_pending() > 0 && absl::Now() < give_up) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  EXPECT_EQ(Get().schedule_updates_pending(), 0);
  // c1's schedule entry is now its first order + 40 days.
  absl::StatusOr<std::unique_ptr<store::redis::RedisClient>> redis =
      ConnectClient(stack_->redis());
  ASSERT_TRUE(redis.ok()) << redis.status();
  absl::StatusOr<store::redis::RedisReply> score =
      (*redis)->Command({"ZSCORE", "sd:{cfg}:sched", "c1"});
  ASSERT_TRUE(score.ok()) << score.status();
  ASSERT_TRUE(score->is_string());
  const absl::Time first_order = loaded_at_ - absl::Hours(12);
  EXPECT_EQ(score->str(),
            absl::StrCat(absl::ToUnixMillis(first_order + absl::Hours(24 * 40))));
  absl::StatusOr<store::redis::RedisReply> left =
      (*redis)->Command({"HLEN", "sd:{cfg}:recheck"});
  ASSERT_TRUE(left.ok()) << left.status();
  EXPECT_EQ(left->integer(), 0);
}

// NEW_DOWNLOAD and WINDOW_SHOPPER changes read only the registered
// non-buyers (sd:{t}:m:reg); a tenant without that index (written before it
// existed: here its keys and fields are removed) is read whole instead until
// the server has filled the index in, and is as right.
TEST_F(ConfigE2eTest, RulesOfNonBuyersReadTheRegistrationIndexOrEveryone) {
  // Beside c0 (registered 20 days ago, no order): non-buyers of 3 and 40 days.
  const absl::Time now = absl::Now();
  absl::StatusOr<v1::BulkIngestResponse> reply = IngestBatch(
      *stack_->channel(), keys_.write,
      {RegisteredEvent("nb3", now - absl::Hours(24 * 3)),
       RegisteredEvent("nb40", now - absl::Hours(24 * 40))});
  ASSERT_TRUE(reply.ok()) << reply.status();
  absl::StatusOr<std::unique_ptr<store::redis::RedisClient>> redis =
      ConnectClient(stack_->redis());
  ASSERT_TRUE(redis.ok()) << redis.status();
  auto command = [&](std::vector<std::string> args) {
    absl::StatusOr<store::redis::RedisReply> r = (*redis)->Command(args);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : store::redis::RedisReply();
  };
  auto member = [&](const std::string& segment, const std::string& id) {
    return command({"SISMEMBER", absl::StrCat("sd:{cfg}:s:", segment), id}).integer() == 1;
  };
  std::vector<std::string> indexed;
  const store::redis::RedisReply range = command({"ZRANGE", "sd:{cfg}:m:reg", "0", "-1"});
  for (const store::redis::RedisReply& e : range.elements()) {
    indexed.push_back(e.str());
  }
  EXPECT_EQ(indexed, (std::vector<std::string>{"nb40", "c0", "nb3"}));  // by registration
  EXPECT_TRUE(member("NEW_DOWNLOAD", "nb3"));
  EXPECT_FALSE(member("NEW_DOWNLOAD", "c0"));
  EXPECT_TRUE(member("WINDOW_SHOPPER", "nb40"));

  auto update = [&](const std::string& path, int days) {
    v1::UpdateConfigRequest request;
    if (path == "new_download.max_days") {
      request.mutable_config()->mutable_new_download()->set_max_days(days);
    } else {
      request.mutable_config()->mutable_window_shopper()->set_min_days(days);
    }
    request.mutable_update_mask()->add_paths(path);
    v1::UpdateConfigResponse response;
    grpc::Status status = Update(request, &response);
    EXPECT_TRUE(status.ok()) << path << ": " << status.error_message();
  };
  update("new_download.max_days", 25);  // longer: c0 enters
  EXPECT_TRUE(member("NEW_DOWNLOAD", "c0"));
  EXPECT_TRUE(member("NEW_DOWNLOAD", "nb3"));
  EXPECT_FALSE(member("NEW_DOWNLOAD", "nb40"));
  update("window_shopper.min_days", 10);  // c0 enters
  EXPECT_TRUE(member("WINDOW_SHOPPER", "c0"));
  EXPECT_FALSE(member("WINDOW_SHOPPER", "nb3"));

  // A first order takes a customer out of the index.
  reply = IngestBatch(*stack_->channel(), keys_.write, {OrderEvent("nb3", "nb3-0", now, 500)});
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_TRUE(command({"ZSCORE", "sd:{cfg}:m:reg", "nb3"}).is_nil());
  EXPECT_FALSE(member("NEW_DOWNLOAD", "nb3"));

  // As if the tenant predated the index: no customer's entry, nothing
  // indexed, no marker (in that order: while the marker stands, no
  // backfill looks at the tenant). The server may fill the index in again
  // while the updates below run, or (once it has seen the tenant complete)
  // not until it restarts; read whole or through the index, the answers
  // agree.
  const store::redis::RedisReply customers = command({"KEYS", "sd:{cfg}:c:*"});
  ASSERT_FALSE(customers.elements().empty());
  for (const store::redis::RedisReply& key : customers.elements()) {
    command({"HDEL", key.str(), "g"});
  }
  command({"DEL", "sd:{cfg}:m:reg", "sd:{cfg}:m:reg:complete"});
  update("window_shopper.min_days", 30);  // c0 (20 days) leaves, nb40 stays
  EXPECT_FALSE(member("WINDOW_SHOPPER", "c0"));
  EXPECT_TRUE(member("WINDOW_SHOPPER", "nb40"));
  update("new_download.max_days", 10);  // c0 leaves (its own members: fine)
  EXPECT_FALSE(member("NEW_DOWNLOAD", "c0"));
  update("new_download.max_days", 45);  // longer again: c0 and nb40 enter
  EXPECT_TRUE(member("NEW_DOWNLOAD", "c0"));
  EXPECT_TRUE(member("NEW_DOWNLOAD", "nb40"));
}

TEST_F(ConfigE2eTest, AnotherServerAnswersWithTheNewConfigAsSoonAsTheUpdateReturns) {
  SegmentdProcess::Options options;
  options.redis_address = stack_->redis().unix_address();
  absl::StatusOr<std::unique_ptr<SegmentdProcess>> second = SegmentdProcess::Start(options);
  ASSERT_TRUE(second.ok()) << second.status();
  std::shared_ptr<grpc::Channel> channel2 = (*second)->NewChannel();
  // The second server has the default config cached (it classified with it).
  EXPECT_EQ(MembersOf("FREQUENT_BUYER", channel2), ExpectedFrequent(5, 30));

  v1::UpdateConfigRequest request;
  request.mutable_config()->mutable_frequent_buyer()->set_min_orders(3);
  request.mutable_update_mask()->add_paths("frequent_buyer.min_orders");
  v1::UpdateConfigResponse response;
  grpc::Status status = Update(request, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  // At once, well within the second server's 1 s snapshot cache.
  EXPECT_EQ(MembersOf("FREQUENT_BUYER", channel2), ExpectedFrequent(3, 30));
}

TEST_F(ConfigE2eTest, InvalidConfigsNameTheFieldAndChangeNothing) {
  struct Case {
    std::string name;
    v1::UpdateConfigRequest request;
    std::string field;
  };
  std::vector<Case> cases(7);
  cases[0].name = "min_orders 0";
  cases[0].request.mutable_config()->mutable_frequent_buyer()->set_min_orders(0);
  cases[0].field = "config.frequent_buyer.min_orders";
  cases[1].name = "tiers sum";
  cases[1].request.mutable_config()->mutable_value_tiers()->set_high_percent(50);
  cases[1].field = "config.value_tiers.low_percent";
  cases[2].name = "masked bad value";
  cases[2].request.mutable_config()->mutable_new_customer()->set_window_days(400);
  cases[2].request.mutable_update_mask()->add_paths("new_customer.window_days");
  cases[2].field = "config.new_customer.window_days";
  cases[3].name = "bad mask path";
  cases[3].request.mutable_update_mask()->add_paths("no_such.field");
  cases[3].field = "update_mask.paths[0]";
  // An empty path was taken and merged nothing: OK, nothing changed.
  cases[4].name = "empty mask path";
  cases[4].request.mutable_config()->mutable_frequent_buyer()->set_min_orders(9);
  cases[4].request.mutable_update_mask()->add_paths("");
  cases[4].field = "update_mask.paths[0]: \"\" is not a field";
  // Unbounded input is not echoed back whole (a C-core client refuses a
  // status message past 8 kB as metadata and reports that instead).
  cases[5].name = "long mask path";
  cases[5].request.mutable_update_mask()->add_paths(std::string(10'000, 'a'));
  cases[5].field = "...\" (10000 bytes) is not a field";
  cases[6].name = "long primary_priority";
  for (int i = 0; i < 50'000; ++i) cases[6].request.mutable_config()->add_primary_priority("VIP");
  cases[6].field = "config.primary_priority: at most 22 names";
  for (const Case& c : cases) {
    v1::UpdateConfigResponse response;
    grpc::Status status = Update(c.request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << c.name;
    EXPECT_THAT(status.error_message(), HasSubstr(c.field)) << c.name;
    EXPECT_LT(status.error_message().size(), 2000u) << c.name;
  }
  {
    // Every bad path and every bad value of the fields the others name, in
    // one refusal.
    v1::UpdateConfigRequest request;
    request.mutable_config()->mutable_frequent_buyer()->set_min_orders(0);
    for (const char* path :
         {"vip.top_percent", "frequent_buyer.min_orders", "vip.top_percnt", "lapsd"}) {
      request.mutable_update_mask()->add_paths(path);
    }
    v1::UpdateConfigResponse response;
    grpc::Status status = Update(request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    for (const char* field :
         {"update_mask.paths[2]", "update_mask.paths[3]", "config.frequent_buyer.min_orders"}) {
      EXPECT_THAT(status.error_message(), HasSubstr(field));
    }
  }
  EXPECT_EQ(Get().version(), 0);
  // Preview validates the same way.
  v1::PreviewConfigRequest preview;
  preview.mutable_config()->mutable_frequent_buyer()->set_window_days(0);
  v1::PreviewConfigResponse response;
  auto ctx = NewContext(keys_.read);
  grpc::Status status = config_->PreviewConfig(ctx.get(), preview, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("config.frequent_buyer.window_days"));
  // A read key cannot change the config.
  v1::UpdateConfigRequest ok;
  v1::UpdateConfigResponse ok_response;
  auto rctx = NewContext(keys_.read);
  EXPECT_EQ(config_->UpdateConfig(rctx.get(), ok, &ok_response).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(ConfigE2eTest, PresetsAreListedAndApplied) {
  v1::ListPresetsResponse list;
  {
    auto ctx = NewContext(keys_.read);
    ASSERT_TRUE(config_->ListPresets(ctx.get(), v1::ListPresetsRequest(), &list).ok());
  }
  ASSERT_EQ(list.presets_size(), 4);
  std::map<int, v1::PresetDescription> by_preset;
  for (const v1::PresetDescription& p : list.presets()) by_preset[p.preset()] = p;
  EXPECT_EQ(by_preset[v1::PRESET_FAST_FOOD].config().frequent_buyer().min_orders(), 8u);
  EXPECT_EQ(by_preset[v1::PRESET_FAST_FOOD].config().big_spender().threshold_amount(), 15000);
  EXPECT_EQ(by_preset[v1::PRESET_FASHION].config().frequent_buyer().min_orders(), 4u);
  EXPECT_EQ(by_preset[v1::PRESET_FASHION].config().frequent_buyer().window_days(), 90u);
  EXPECT_EQ(by_preset[v1::PRESET_GROCERY].config().low_spender().threshold_amount(), 10000);
  EXPECT_EQ(by_preset[v1::PRESET_ELECTRONICS].config().frequent_buyer().window_days(), 120u);

  v1::ApplyPresetRequest apply;
  apply.set_preset(v1::PRESET_FASHION);
  apply.set_expected_version(0);
  v1::ApplyPresetResponse applied;
  {
    auto ctx = NewContext(keys_.admin, absl::Seconds(30));
    grpc::Status status = config_->ApplyPreset(ctx.get(), apply, &applied);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  EXPECT_EQ(applied.config().version(), 1);
  EXPECT_EQ(applied.config().config().SerializeAsString(),
            by_preset[v1::PRESET_FASHION].config().SerializeAsString());
  EXPECT_EQ(Get().config().SerializeAsString(),
            by_preset[v1::PRESET_FASHION].config().SerializeAsString());
  EXPECT_EQ(MembersOf("FREQUENT_BUYER"), ExpectedFrequent(4, 90));
  {
    auto ctx = NewContext(keys_.admin);
    EXPECT_EQ(config_->ApplyPreset(ctx.get(), apply, &applied).error_code(),
              grpc::StatusCode::ABORTED);  // expected_version 0 is stale now
  }
  {
    v1::ApplyPresetRequest bad;
    auto ctx = NewContext(keys_.admin);
    grpc::Status status = config_->ApplyPreset(ctx.get(), bad, &applied);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(status.error_message(), HasSubstr("preset"));
  }
  EXPECT_EQ(Get().version(), 1);
}

// The proto's "version increases by one with every change": an update or a
// preset that stores the stored config again changes nothing, so it stores
// nothing and answers with the stored version (until 2026-12-06 each spent
// a version, and re-read the customers).
TEST_F(ConfigE2eTest, AnUpdateThatChangesNothingStoresNothing) {
  v1::UpdateConfigRequest update;
  update.mutable_config()->mutable_frequent_buyer()->set_min_orders(3);
  update.mutable_update_mask()->add_paths("frequent_buyer.min_orders");
  v1::UpdateConfigResponse first, again;
  ASSERT_TRUE(Update(update, &first).ok());
  EXPECT_EQ(first.config().version(), 1);
  EXPECT_GT(first.customers_changed(), 0);
  ASSERT_TRUE(Update(update, &again).ok());
  EXPECT_EQ(again.config().version(), 1);
  EXPECT_EQ(again.customers_changed(), 0);
  EXPECT_EQ(again.config().updated_at().SerializeAsString(),
            first.config().updated_at().SerializeAsString());
  EXPECT_EQ(again.config().config().SerializeAsString(),
            first.config().config().SerializeAsString());
  // The whole config again, and with its version expected.
  v1::UpdateConfigRequest whole;
  *whole.mutable_config() = first.config().config();
  whole.set_expected_version(1);
  ASSERT_TRUE(Update(whole, &again).ok());
  EXPECT_EQ(again.config().version(), 1);
  whole.set_expected_version(0);  // still refused when stale
  EXPECT_EQ(Update(whole, &again).error_code(), grpc::StatusCode::ABORTED);
  // A preset applied twice.
  v1::ApplyPresetRequest apply;
  apply.set_preset(v1::PRESET_GROCERY);
  v1::ApplyPresetResponse applied;
  for (int i = 0; i < 2; ++i) {
    auto ctx = NewContext(keys_.admin, absl::Seconds(30));
    ASSERT_TRUE(config_->ApplyPreset(ctx.get(), apply, &applied).ok());
    EXPECT_EQ(applied.config().version(), 2) << i;
  }
  EXPECT_EQ(applied.customers_changed(), 0);
  EXPECT_EQ(Get().version(), 2);
  EXPECT_EQ(MembersOf("FREQUENT_BUYER"), ExpectedFrequent(6, 45));
}

TEST_F(ConfigE2eTest, PreviewCountsSizesEnteringAndLeavingAndSavesNothing) {
  v1::PreviewConfigRequest request;
  request.mutable_config()->mutable_frequent_buyer()->set_min_orders(2);
  request.mutable_config()->mutable_frequent_buyer()->set_window_days(5);
  request.mutable_config()->mutable_new_customer()->set_enabled(false);
  v1::PreviewConfigResponse response;
  {
    auto ctx = NewContext(keys_.read, absl::Seconds(30));
    grpc::Status status = config_->PreviewConfig(ctx.get(), request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }
  std::map<std::string, v1::SegmentPreview> by_segment;
  for (const v1::SegmentPreview& s : response.segments()) by_segment[s.segment()] = s;

  // Computed here: current FREQUENT_BUYER (5 in 30 d) vs proposed (2 in 5 d).
  std::map<std::string, bool> current = ExpectedFrequent(5, 30);
  std::map<std::string, bool> proposed = ExpectedFrequent(2, 5);
  int64_t current_size = 0, proposed_size = 0, entering = 0, leaving = 0;
  for (const auto& [id, in] : current) {
    current_size += in;
    proposed_size += proposed[id];
    entering += !in && proposed[id];
    leaving += in && !proposed[id];
  }
  ASSERT_TRUE(by_segment.count("FREQUENT_BUYER"));
  const v1::SegmentPreview& fb = by_segment["FREQUENT_BUYER"];
  EXPECT_EQ(fb.current_size(), current_size);
  EXPECT_EQ(fb.proposed_size(), proposed_size);
  EXPECT_EQ(fb.entering(), entering);
  EXPECT_EQ(fb.leaving(), leaving);
  // Every buyer's first order is within 30 days: all NEW_CUSTOMER, all leave.
  ASSERT_TRUE(by_segment.count("NEW_CUSTOMER"));
  const v1::SegmentPreview& nc = by_segment["NEW_CUSTOMER"];
  EXPECT_EQ(nc.current_size(), kMaxOrders);
  EXPECT_EQ(nc.proposed_size(), 0);
  EXPECT_EQ(nc.entering(), 0);
  EXPECT_EQ(nc.leaving(), kMaxOrders);
  // The live memberships agree with the preview's current sizes.
  int64_t live = 0;
  for (const auto& [id, in] : MembersOf("FREQUENT_BUYER")) live += in;
  EXPECT_EQ(live, current_size);

  // Nothing saved.
  EXPECT_EQ(Get().version(), 0);
  EXPECT_EQ(MembersOf("FREQUENT_BUYER"), ExpectedFrequent(5, 30));
  EXPECT_EQ(MembersOf("NEW_CUSTOMER")["c1"], true);
  EXPECT_FALSE(response.reclassification_pending());
  EXPECT_FALSE(Get().reclassification_pending());
}

// A config whose re-classification did not finish (its segmentd stopped
// midway; here the flag is set by hand) says so, in GetConfig and in a
// preview, whose counts are then not those of the stored member sets.
TEST_F(ConfigE2eTest, AnUnfinishedReclassificationIsReported) {
  v1::UpdateConfigRequest update;
  update.mutable_config()->mutable_frequent_buyer()->set_min_orders(4);
  v1::UpdateConfigResponse updated;
  ASSERT_TRUE(Update(update, &updated).ok());
  EXPECT_FALSE(updated.config().reclassification_pending());
  absl::StatusOr<std::unique_ptr<store::redis::RedisClient>> redis = ConnectClient(stack_->redis());
  ASSERT_TRUE(redis.ok()) << redis.status();
  // The server's background pass finishes such a re-classification (and
  // clears the flag) within seconds: an answer of false counts only while
  // the flag is still stored after it; one that raced the pass is retried.
  auto stored_pending = [&] {
    absl::StatusOr<store::redis::RedisReply> p =
        (*redis)->Command({"HEXISTS", "sd:{cfg}:config", "p"});
    return p.ok() && p->is_integer() && p->integer() == 1;
  };
  v1::PreviewConfigRequest request;
  *request.mutable_config() = updated.config().config();
  bool got = false, preview_got = false;
  for (int tries = 0; tries < 20 && !(got && preview_got); ++tries) {
    ASSERT_TRUE((*redis)->Command({"HSET", "sd:{cfg}:config", "p", "1"}).ok());
    const bool said = Get().reclassification_pending();
    EXPECT_TRUE(said || !stored_pending()) << "GetConfig said complete while pending";
    got |= said;
    v1::PreviewConfigResponse response;
    auto ctx = NewContext(keys_.read, absl::Seconds(30));
    ASSERT_TRUE(config_->PreviewConfig(ctx.get(), request, &response).ok());
    EXPECT_TRUE(response.reclassification_pending() || !stored_pending())
        << "PreviewConfig said complete while pending";
    preview_got |= response.reclassification_pending();
  }
  EXPECT_TRUE(got);
  EXPECT_TRUE(preview_got);
}

}  // namespace
}  // namespace segmentd

// End-to-end tests of InsightsService: the real segmentd binary on a real
// redis-server, over gRPC. A small population, a config change in the middle
// of the measured period, and expected KPIs and flows computed in the test
// from classifications read before and after the change.
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "segmentd/v1/classification.grpc.pb.h"
#include "segmentd/v1/config.grpc.pb.h"
#include "segmentd/v1/ingest.grpc.pb.h"
#include "segmentd/v1/insights.grpc.pb.h"
#include "segmentd/v1/targeting.grpc.pb.h"
#include "testing/e2e_stack.h"
#include "testing/segmentd_process.h"

namespace segmentd {
namespace {

using ::segmentd::testing::E2eStack;
using ::segmentd::testing::IngestBatch;
using ::segmentd::testing::NewContext;
using ::segmentd::testing::OrderEvent;
using ::segmentd::testing::RegisteredEvent;
using ::segmentd::testing::TenantKeys;
using ::segmentd::testing::ToTimestamp;
using ::testing::HasSubstr;

constexpr int kCustomers = 8;

std::string Customer(int n) { return absl::StrCat("k", n); }

// Membership of every customer as ClassifyCustomers reports it.
struct Snapshot {
  std::map<std::string, std::set<std::string>> segments;  // fixed segments only
  std::map<std::string, std::string> primary;
};

class InsightsE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    E2eStack::Options options;
    options.tenants = {"ins"};
    absl::StatusOr<std::unique_ptr<E2eStack>> stack = E2eStack::Start(options);
    ASSERT_TRUE(stack.ok()) << stack.status();
    stack_ = *std::move(stack);
    keys_ = stack_->keys("ins");
    config_ = v1::ConfigService::NewStub(stack_->channel());
    classify_ = v1::ClassificationService::NewStub(stack_->channel());
    ingest_ = v1::IngestService::NewStub(stack_->channel());
    insights_ = v1::InsightsService::NewStub(stack_->channel());

    // Statistics-driven segments move asynchronously; keep them out so every
    // change in the period is the config change's.
    v1::UpdateConfigRequest update;
    update.mutable_config()->mutable_vip()->set_enabled(false);
    update.mutable_config()->mutable_value_tiers()->set_enabled(false);
    update.mutable_config()->mutable_big_spender()->set_enabled(false);
    update.mutable_config()->mutable_low_spender()->set_enabled(false);
    v1::UpdateConfigResponse updated;
    auto uctx = NewContext(keys_.admin);
    ASSERT_TRUE(config_->UpdateConfig(uctx.get(), update, &updated).ok());
    base_config_ = update.config();

    // kN has N orders, 1.5 days apart, the last one a day ago.
    const absl::Time now = absl::Now();
    std::vector<v1::Event> events;
    for (int n = 0; n < kCustomers; ++n) {
      events.push_back(RegisteredEvent(Customer(n), now - absl::Hours(24 * 40)));
      for (int i = 0; i < n; ++i) {
        events.push_back(OrderEvent(Customer(n), absl::StrCat(Customer(n), "-", i),
                                    now - absl::Hours(24 + 36 * i), 1000 * (i + 1)));
      }
    }
    absl::StatusOr<v1::BulkIngestResponse> reply =
        IngestBatch(*stack_->channel(), keys_.write, events);
    ASSERT_TRUE(reply.ok()) << reply.status();
    ASSERT_EQ(reply->rejected(), 0u) << reply->DebugString();
  }

  Snapshot Classify(std::optional<absl::Time> as_of = std::nullopt,
                    const std::vector<std::string>& more = {}) {
    auto ctx = NewContext(keys_.read);
    v1::ClassifyCustomersRequest request;
    for (int n = 0; n < kCustomers; ++n) request.add_customer_ids(Customer(n));
    for (const std::string& id : more) request.add_customer_ids(id);
    if (as_of) *request.mutable_as_of() = ToTimestamp(*as_of);
    v1::ClassifyCustomersResponse response;
    EXPECT_TRUE(classify_->ClassifyCustomers(ctx.get(), request, &response).ok());
    Snapshot s;
    for (const v1::CustomerClassification& c : response.classifications()) {
      for (const std::string& segment : c.membership().segments()) {
        if (segment.rfind("category:", 0) != 0) s.segments[c.customer_id()].insert(segment);
      }
      s.primary[c.customer_id()] = c.membership().primary_segment();
    }
    return s;
  }

  std::unique_ptr<E2eStack> stack_;
  TenantKeys keys_;
  v1::SegmentConfig base_config_;
  std::unique_ptr<v1::ConfigService::Stub> config_;
  std::unique_ptr<v1::ClassificationService::Stub> classify_;
  std::unique_ptr<v1::IngestService::Stub> ingest_;
  std::unique_ptr<v1::InsightsService::Stub> insights_;
};

TEST_F(InsightsE2eTest, KpisAndFlowsAcrossAConfigChange) {
  absl::SleepFor(absl::Milliseconds(5));  // history entries strictly before t1
  const absl::Time t1 = absl::Now();
  Snapshot before = Classify();

  // The config change: FREQUENT_BUYER needs 3 orders in 30 days (was 5),
  // RETURNING_CUSTOMER 4 in 60 (was 2).
  v1::UpdateConfigRequest update;
  *update.mutable_config() = base_config_;
  update.mutable_config()->mutable_frequent_buyer()->set_min_orders(3);
  update.mutable_config()->mutable_returning_customer()->set_min_orders(4);
  v1::UpdateConfigResponse updated;
  auto uctx = NewContext(keys_.admin);
  ASSERT_TRUE(config_->UpdateConfig(uctx.get(), update, &updated).ok());
  // And one order inside the period, by k2.
  {
    auto ctx = NewContext(keys_.write);
    v1::PlaceOrderRequest order;
    order.mutable_event()->set_customer_id(Customer(2));
    order.mutable_event()->set_order_id("k2-late");
    *order.mutable_event()->mutable_placed_at() = ToTimestamp(absl::Now());
    order.mutable_event()->set_amount(500);
    v1::PlaceOrderResponse placed;
    ASSERT_TRUE(ingest_->PlaceOrder(ctx.get(), order, &placed).ok());
  }
  Snapshot after = Classify();
  const absl::Time t2 = absl::Now() + absl::Milliseconds(1);

  // Expected KPIs from the two snapshots.
  std::map<std::string, int64_t> start_size, end_size, entered, left;
  for (int n = 0; n < kCustomers; ++n) {
    const std::string c = Customer(n);
    for (const std::string& s : before.segments[c]) ++start_size[s];
    for (const std::string& s : after.segments[c]) ++end_size[s];
    for (const std::string& s : after.segments[c]) entered[s] += before.segments[c].count(s) == 0;
    for (const std::string& s : before.segments[c]) left[s] += after.segments[c].count(s) == 0;
  }
  ASSERT_GT(entered["FREQUENT_BUYER"], 0);  // the change really moved someone
  ASSERT_GT(left["RETURNING_CUSTOMER"], 0);

  v1::GetSegmentKpisRequest request;
  *request.mutable_period()->mutable_start() = ToTimestamp(t1);
  *request.mutable_period()->mutable_end() = ToTimestamp(t2);
  v1::GetSegmentKpisResponse kpis;
  auto ctx = NewContext(keys_.read);
  ASSERT_TRUE(insights_->GetSegmentKpis(ctx.get(), request, &kpis).ok());
  ASSERT_EQ(kpis.segments_size(), 22);
  for (const v1::SegmentKpis& k : kpis.segments()) {
    SCOPED_TRACE(k.segment());
    EXPECT_EQ(k.size_at_start(), start_size[k.segment()]);
    EXPECT_EQ(k.size_at_end(), end_size[k.segment()]);
    EXPECT_EQ(k.entered(), entered[k.segment()]);
    EXPECT_EQ(k.left(), left[k.segment()]);
    const bool k2_at_end = after.segments[Customer(2)].count(k.segment()) > 0;
    EXPECT_EQ(k.orders(), k2_at_end ? 1 : 0);
    EXPECT_EQ(k.net_revenue(), k2_at_end ? 500 : 0);
    const bool k2_at_start = before.segments[Customer(2)].count(k.segment()) > 0;
    const int64_t starters = start_size[k.segment()];
    EXPECT_DOUBLE_EQ(k.conversion_rate(),
                     starters == 0 ? 0.0 : (k2_at_start ? 1.0 : 0.0) / starters);
  }

  // Flows between the primary segments, each customer once.
  v1::GetSegmentFlowsRequest flows_request;
  *flows_request.mutable_from() = ToTimestamp(t1);
  *flows_request.mutable_to() = ToTimestamp(t2);
  v1::GetSegmentFlowsResponse flows;
  auto fctx = NewContext(keys_.read);
  ASSERT_TRUE(insights_->GetSegmentFlows(fctx.get(), flows_request, &flows).ok());
  std::map<std::pair<std::string, std::string>, int64_t> expected_cells;
  for (int n = 0; n < kCustomers; ++n) {
    ++expected_cells[{before.primary[Customer(n)], after.primary[Customer(n)]}];
  }
  std::map<std::pair<std::string, std::string>, int64_t> cells;
  int64_t total = 0;
  for (const v1::FlowCell& cell : flows.cells()) {
    cells[{cell.from_segment(), cell.to_segment()}] = cell.customers();
    total += cell.customers();
  }
  EXPECT_EQ(cells, expected_cells);
  EXPECT_EQ(total, kCustomers);
  for (const v1::SegmentMovement& m : flows.movements()) {
    EXPECT_EQ(m.entered(), entered[m.segment()]) << m.segment();
    EXPECT_EQ(m.left(), left[m.segment()]) << m.segment();
  }
}

// Order history imported in bulk has no record before the import: KPIs and
// flows of a period two years back reconstruct it, with the statistics of
// the instants asked about, so that the spender rules (relative to the store
// AOV) put there whom ClassifyCustomers at those instants does. Until
// 2026-12-06 they took the current store AOV and disagreed.
TEST_F(InsightsE2eTest, KpisOfImportedHistoryAgreeWithClassificationsThen) {
  v1::UpdateConfigRequest update;
  *update.mutable_config() = base_config_;
  update.mutable_config()->mutable_big_spender()->set_enabled(true);
  update.mutable_config()->mutable_low_spender()->set_enabled(true);
  v1::UpdateConfigResponse updated;
  auto uctx = NewContext(keys_.admin);
  ASSERT_TRUE(config_->UpdateConfig(uctx.get(), update, &updated).ok());
  const absl::Time now = absl::FromUnixMillis(absl::ToUnixMillis(absl::Now()));
  const absl::Time start = now - absl::Hours(24 * 720);
  const absl::Time end = start + absl::Hours(24 * 10);
  std::vector<std::string> old;
  std::vector<v1::Event> events;
  for (int n = 0; n < 6; ++n) {
    old.push_back(absl::StrCat("old", n));
    events.push_back(OrderEvent(old.back(), absl::StrCat(old.back(), "-a"),
                                start - absl::Hours(24 * (n + 1)), 100 << n));
    // A second order inside the period for some: their AOV moves there.
    if (n % 2 == 0) {
      events.push_back(OrderEvent(old.back(), absl::StrCat(old.back(), "-b"),
                                  start + absl::Hours(24 * (n + 1)), 150 << n));
    }
  }
  absl::StatusOr<v1::BulkIngestResponse> reply =
      IngestBatch(*stack_->channel(), keys_.write, events);
  ASSERT_TRUE(reply.ok()) << reply.status();
  ASSERT_EQ(reply->rejected(), 0u) << reply->DebugString();

  const absl::Time last = end - absl::Milliseconds(1);
  Snapshot at_start = Classify(start, old);
  Snapshot at_end = Classify(last, old);
  std::map<std::string, int64_t> start_size, end_size;
  for (const auto& [id, segments] : at_start.segments) {
    for (const std::string& s : segments) ++start_size[s];
  }
  for (const auto& [id, segments] : at_end.segments) {
    for (const std::string& s : segments) ++end_size[s];
  }
  ASSERT_GT(start_size["BIG_SPENDER"], 0);  // the store AOV then makes some
  ASSERT_GT(start_size["LOW_SPENDER"], 0);

  v1::GetSegmentKpisRequest request;
  *request.mutable_period()->mutable_start() = ToTimestamp(start);
  *request.mutable_period()->mutable_end() = ToTimestamp(end);
  v1::GetSegmentKpisResponse kpis;
  auto ctx = NewContext(keys_.read);
  ASSERT_TRUE(insights_->GetSegmentKpis(ctx.get(), request, &kpis).ok());
  for (const v1::SegmentKpis& k : kpis.segments()) {
    SCOPED_TRACE(k.segment());
    EXPECT_EQ(k.size_at_start(), start_size[k.segment()]);
    EXPECT_EQ(k.size_at_end(), end_size[k.segment()]);
    EXPECT_EQ(k.size_at_end() - k.size_at_start(), k.entered() - k.left());
  }

  v1::GetSegmentFlowsRequest flows_request;
  *flows_request.mutable_from() = ToTimestamp(start);
  *flows_request.mutable_to() = ToTimestamp(last);
  v1::GetSegmentFlowsResponse flows;
  auto fctx = NewContext(keys_.read);
  ASSERT_TRUE(insights_->GetSegmentFlows(fctx.get(), flows_request, &flows).ok());
  std::map<std::pair<std::string, std::string>, int64_t> expected_cells, cells;
  for (const auto& [id, primary] : at_start.primary)
    ++expected_cells[{primary, at_end.primary[id]}];
  for (const v1::FlowCell& cell : flows.cells()) {
    cells[{cell.from_segment(), cell.to_segment()}] = cell.customers();
  }
  EXPECT_EQ(cells, expected_cells);
}

TEST_F(InsightsE2eTest, BadRequestsNameTheField) {
  auto ctx = NewContext(keys_.read);
  v1::GetSegmentKpisRequest request;
  v1::GetSegmentKpisResponse response;
  grpc::Status status = insights_->GetSegmentKpis(ctx.get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("period.start"));
  *request.mutable_period()->mutable_start() = ToTimestamp(absl::Now());
  *request.mutable_period()->mutable_end() = ToTimestamp(absl::Now() - absl::Hours(1));
  auto ctx2 = NewContext(keys_.read);
  status = insights_->GetSegmentKpis(ctx2.get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("period.end"));
  request.mutable_period()->mutable_end()->set_seconds(request.period().start().seconds() + 10);
  request.add_segments("category:shoes");
  auto ctx3 = NewContext(keys_.read);
  status = insights_->GetSegmentKpis(ctx3.get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("segments[0]"));
  request.clear_segments();
  request.add_segments("VIP");
  request.add_segments("VIP");
  auto ctx7 = NewContext(keys_.read);
  status = insights_->GetSegmentKpis(ctx7.get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("segments[1]: \"VIP\" named twice"));
  // Membership ahead of the clock is not recorded yet: a future end is refused.
  request.clear_segments();
  *request.mutable_period()->mutable_end() = ToTimestamp(absl::Now() + absl::Hours(24 * 365));
  auto ctx5 = NewContext(keys_.read);
  status = insights_->GetSegmentKpis(ctx5.get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("period.end: must not be more than a minute ahead of the server's clock"));
  v1::GetSegmentFlowsRequest flows;
  *flows.mutable_from() = ToTimestamp(absl::Now() - absl::Hours(1));
  *flows.mutable_to() = ToTimestamp(absl::Now() + absl::Hours(2));
  v1::GetSegmentFlowsResponse flows_response;
  auto ctx6 = NewContext(keys_.read);
  status = insights_->GetSegmentFlows(ctx6.get(), flows, &flows_response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("to: must not be more than a minute ahead of the server's clock"));
  request.mutable_period()->mutable_end()->set_seconds(request.period().start().seconds() + 10);
  auto ctx4 = NewContext(keys_.write);  // write scope cannot read insights
  request.clear_segments();
  status = insights_->GetSegmentKpis(ctx4.get(), request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(InsightsE2eTest, RedemptionsAndConversionPerArm) {
  auto targeting = v1::TargetingService::NewStub(stack_->channel());
  // Every buyer (k1..k7; k0 only registered and is a window shopper), split 1:1.
  v1::PutVoucherTargetRequest put;
  put.mutable_target()->set_voucher_id("spring");
  put.mutable_target()->mutable_expression()->mutable_none_of()->add_children()->set_segment(
      "WINDOW_SHOPPER");
  v1::Arm* offer = put.mutable_target()->add_arms();
  offer->set_name("offer");
  offer->set_weight(1);
  v1::Arm* holdout = put.mutable_target()->add_arms();
  holdout->set_name("holdout");
  holdout->set_weight(1);
  v1::PutVoucherTargetResponse put_response;
  auto pctx = NewContext(keys_.write);
  ASSERT_TRUE(targeting->PutVoucherTarget(pctx.get(), put, &put_response).ok());

  // Each customer's arm as the targeting service assigns it.
  std::map<std::string, std::string> arm_of;
  {
    v1::CheckEligibilityBatchRequest check;
    check.mutable_target()->set_voucher_id("spring");
    for (int n = 0; n < kCustomers; ++n) check.add_customer_ids(Customer(n));
    v1::CheckEligibilityBatchResponse checked;
    auto ctx = NewContext(keys_.read);
    ASSERT_TRUE(targeting->CheckEligibilityBatch(ctx.get(), check, &checked).ok());
    for (const v1::Eligibility& e : checked.results()) {
      if (e.eligible()) arm_of[e.customer_id()] = e.arm();
    }
  }
  ASSERT_EQ(arm_of.size(), kCustomers - 1u);

  const absl::Time now = absl::Now();
  // Redeemed 3, 2 and 1 hours ago.
  auto redeem = [&](const std::string& customer, const std::string& order, int hours_ago) {
    v1::RecordRedemptionRequest request;
    request.set_customer_id(customer);
    request.set_voucher_id("spring");
    request.set_order_id(order);
    *request.mutable_redeemed_at() = ToTimestamp(now - absl::Hours(hours_ago));
    v1::RecordRedemptionResponse response;
    auto ctx = NewContext(keys_.write);
    EXPECT_TRUE(insights_->RecordRedemption(ctx.get(), request, &response).ok());
    return response.outcome();
  };
  EXPECT_EQ(redeem(Customer(1), "r1", 3), v1::ITEM_OUTCOME_APPLIED);
  EXPECT_EQ(redeem(Customer(2), "r2", 2), v1::ITEM_OUTCOME_APPLIED);
  EXPECT_EQ(redeem(Customer(2), "r2", 2), v1::ITEM_OUTCOME_DUPLICATE);  // replay
  EXPECT_EQ(redeem(Customer(5), "r5", 1), v1::ITEM_OUTCOME_APPLIED);
  std::map<std::string, int64_t> expected_redeemed;
  for (int n : {1, 2, 5}) ++expected_redeemed[arm_of[Customer(n)]];

  v1::GetVoucherStatsRequest request;
  request.set_voucher_id("spring");
  v1::GetVoucherStatsResponse stats;
  auto ctx = NewContext(keys_.read);
  ASSERT_TRUE(insights_->GetVoucherStats(ctx.get(), request, &stats).ok());
  EXPECT_EQ(stats.targeted(), kCustomers - 1);
  EXPECT_EQ(stats.redemptions(), 3);
  EXPECT_DOUBLE_EQ(stats.conversion_rate(), 3.0 / (kCustomers - 1));
  ASSERT_EQ(stats.arms_size(), 2);
  int64_t targeted_sum = 0;
  for (const v1::ArmStats& arm : stats.arms()) {
    SCOPED_TRACE(arm.arm());
    int64_t in_arm = 0;
    for (const auto& [customer, a] : arm_of) in_arm += a == arm.arm();
    EXPECT_EQ(arm.targeted(), in_arm);
    EXPECT_EQ(arm.redemptions(), expected_redeemed[arm.arm()]);
    targeted_sum += arm.targeted();
  }
  EXPECT_EQ(targeted_sum, kCustomers - 1);

  // 90 minutes ago: the same audience (every fact is a day old or more), the
  // first two redemptions only.
  v1::GetVoucherStatsRequest earlier = request;
  *earlier.mutable_as_of() = ToTimestamp(now - absl::Minutes(90));
  v1::GetVoucherStatsResponse then;
  auto actx = NewContext(keys_.read);
  grpc::Status then_status = insights_->GetVoucherStats(actx.get(), earlier, &then);
  ASSERT_TRUE(then_status.ok()) << then_status.error_message();
  EXPECT_EQ(then.evaluated_at().seconds(), earlier.as_of().seconds());
  EXPECT_EQ(then.targeted(), kCustomers - 1);
  EXPECT_EQ(then.redemptions(), 2);
  std::map<std::string, int64_t> redeemed_then;
  for (int n : {1, 2}) ++redeemed_then[arm_of[Customer(n)]];
  ASSERT_EQ(then.arms_size(), 2);
  for (const v1::ArmStats& arm : then.arms()) {
    EXPECT_EQ(arm.redemptions(), redeemed_then[arm.arm()]) << arm.arm();
  }
  // Two days ago k1 (whose one order is a day old) had not bought yet: a
  // window shopper then, outside the audience; no redemption yet.
  *earlier.mutable_as_of() = ToTimestamp(now - absl::Hours(48));
  auto dctx = NewContext(keys_.read);
  then_status = insights_->GetVoucherStats(dctx.get(), earlier, &then);
  ASSERT_TRUE(then_status.ok()) << then_status.error_message();
  EXPECT_EQ(then.targeted(), kCustomers - 2);
  EXPECT_EQ(then.redemptions(), 0);
  earlier.mutable_as_of()->set_nanos(-1);
  auto bctx = NewContext(keys_.read);
  grpc::Status bad = insights_->GetVoucherStats(bctx.get(), earlier, &then);
  EXPECT_EQ(bad.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(bad.error_message(), HasSubstr("as_of"));

  // A redemption's time is bounded as any event's; the field is named.
  v1::RecordRedemptionRequest late;
  late.set_customer_id(Customer(1));
  late.set_voucher_id("spring");
  late.set_order_id("late");
  *late.mutable_redeemed_at() = ToTimestamp(absl::Now() + absl::Hours(24 * 400));
  v1::RecordRedemptionResponse refused;
  auto lctx = NewContext(keys_.write);
  grpc::Status late_status = insights_->RecordRedemption(lctx.get(), late, &refused);
  EXPECT_EQ(late_status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(late_status.error_message(), HasSubstr("redeemed_at: must not be more than"));
  late.mutable_redeemed_at()->set_seconds(-86400);
  auto ectx = NewContext(keys_.write);
  EXPECT_THAT(insights_->RecordRedemption(ectx.get(), late, &refused).error_message(),
              HasSubstr("redeemed_at: must not be before 1970"));
  late.clear_voucher_id();
  auto vctx = NewContext(keys_.write);
  EXPECT_THAT(insights_->RecordRedemption(vctx.get(), late, &refused).error_message(),
              ::testing::StartsWith("voucher_id: "));

  // An unknown voucher is NOT_FOUND; a read key cannot record.
  v1::RecordRedemptionRequest unknown;
  unknown.set_customer_id(Customer(1));
  unknown.set_voucher_id("nope");
  unknown.set_order_id("x");
  v1::RecordRedemptionResponse ignored;
  auto uctx = NewContext(keys_.write);
  EXPECT_EQ(insights_->RecordRedemption(uctx.get(), unknown, &ignored).error_code(),
            grpc::StatusCode::NOT_FOUND);
  auto rctx = NewContext(keys_.read);
  EXPECT_EQ(insights_->RecordRedemption(rctx.get(), unknown, &ignored).error_code(),
            grpc::StatusCode::PERMISSION_DENIED);
}

}  // namespace
}  // namespace segmentd

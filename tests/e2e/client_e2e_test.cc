// The C++ client library (clients/client.h) against the real segmentd: the
// voucher service's calls an integrator makes through it, each checked
// against what the server stored or answered.
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "clients/client.h"
#include "gtest/gtest.h"
#include "segmentd/v1/targeting.pb.h"
#include "testing/e2e_stack.h"
#include "testing/segmentd_process.h"
#include "testing/target_refs.h"

namespace segmentd {
namespace {

using ::segmentd::clients::SegmentdClient;
using ::segmentd::clients::StreamTargetsOptions;
using ::segmentd::testing::E2eStack;

v1::TargetExpression Parse(const std::string& text) { return testing::ParseExpression(text); }
v1::TargetRef Voucher(const std::string& id) { return testing::VoucherRef(id); }

class ClientE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    E2eStack::Options options;
    options.tenants = {"acme"};
    absl::StatusOr<std::unique_ptr<E2eStack>> stack = E2eStack::Start(options);
    ASSERT_TRUE(stack.ok()) << stack.status();
    stack_ = *std::move(stack);
    ASSERT_TRUE(
        testing::DisableStatisticalSegments(*stack_->channel(), stack_->keys("acme").admin).ok());
    SegmentdClient::Options client_options;
    client_options.target = stack_->segmentd().address();
    client_options.api_key = stack_->keys("acme").admin;
    absl::StatusOr<std::unique_ptr<SegmentdClient>> client =
        SegmentdClient::Connect(client_options);
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = *std::move(client);
  }

  // Customers buyer-0 .. buyer-(n-1), one order each: FIRST_TIME_BUYER.
  void Buyers(int n) {
    const absl::Time at = absl::Now() - absl::Hours(1);
    std::vector<v1::Event> batch;
    for (int i = 0; i < n; ++i) {
      batch.push_back(
          testing::OrderEvent(absl::StrCat("buyer-", i), absl::StrCat("o", i), at, 500));
      if (batch.size() == 1000 || i == n - 1) {
        absl::StatusOr<v1::BulkIngestResponse> r =
            testing::IngestBatch(*stack_->channel(), stack_->keys("acme").write, batch);
        ASSERT_TRUE(r.ok()) << r.status();
        batch.clear();
      }
    }
  }

  absl::Status Put(const std::string& id, const std::string& expression) {
    v1::VoucherTarget target;
    target.set_voucher_id(id);
    *target.mutable_expression() = Parse(expression);
    return client_->PutVoucherTarget(target).status();
  }

  std::unique_ptr<E2eStack> stack_;
  std::unique_ptr<SegmentdClient> client_;
};

TEST_F(ClientE2eTest, VoucherTargetsArePutReadListedAndDeleted) {
  v1::VoucherTarget vip;
  vip.set_voucher_id("vip-only");
  *vip.mutable_expression() = Parse(R"(segment: "VIP")");
  absl::StatusOr<v1::PutVoucherTargetResponse> put = client_->PutVoucherTarget(vip);
  ASSERT_TRUE(put.ok()) << put.status();
  EXPECT_EQ(put->target().voucher_id(), "vip-only");
  // VIP is disabled (SetUp): the server says so, and the client passes it on.
  ASSERT_EQ(put->warnings_size(), 1) << put->DebugString();
  EXPECT_NE(put->warnings(0).find("VIP"), std::string::npos) << put->warnings(0);
  ASSERT_TRUE(Put("first", R"(segment: "FIRST_TIME_BUYER")").ok());

  absl::StatusOr<v1::VoucherTarget> got = client_->GetVoucherTarget("first");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->expression().segment(), "FIRST_TIME_BUYER");
  absl::StatusOr<std::vector<v1::VoucherTarget>> all = client_->ListVoucherTargets();
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].voucher_id(), "first");
  EXPECT_EQ((*all)[1].voucher_id(), "vip-only");

  ASSERT_TRUE(client_->DeleteVoucherTarget("vip-only").ok());
  EXPECT_EQ(client_->GetVoucherTarget("vip-only").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(client_->DeleteVoucherTarget("vip-only").code(), absl::StatusCode::kNotFound);
  all = client_->ListVoucherTargets();
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ(all->size(), 1u);
}

TEST_F(ClientE2eTest, BatchChecksAndStreamsCoverEveryCustomerOnce) {
  Buyers(1500);
  ASSERT_TRUE(Put("first", R"(segment: "FIRST_TIME_BUYER")").ok());
  // More ids than one call takes: the client splits them and keeps the order.
  std::vector<std::string> ids;
  for (int i = 0; i < 1500; ++i) ids.push_back(absl::StrCat("buyer-", i));
  ids.push_back("nobody");
  absl::StatusOr<std::vector<v1::Eligibility>> checked =
      client_->CheckEligibilityBatch(Voucher("first"), ids);
  ASSERT_TRUE(checked.ok()) << checked.status();
  ASSERT_EQ(checked->size(), ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    EXPECT_EQ((*checked)[i].customer_id(), ids[i]);
    EXPECT_EQ((*checked)[i].eligible(), ids[i] != "nobody") << ids[i];
    EXPECT_EQ((*checked)[i].found(), ids[i] != "nobody") << ids[i];
  }

  StreamTargetsOptions options;
  options.chunk_size = 100;
  std::multiset<std::string> streamed;
  int chunks = 0;
  std::string after_two;
  absl::Status s = client_->StreamTargets(Voucher("first"), options,
                                          [&](const v1::StreamTargetsResponse& chunk) {
                                            if (++chunks == 2) after_two = chunk.cursor();
                                            for (const auto& c : chunk.customers()) {
                                              streamed.insert(c.customer_id());
                                            }
                                            return true;
                                          });
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(streamed.size(), 1500u);
  EXPECT_EQ(std::set<std::string>(streamed.begin(), streamed.end()).size(), 1500u);
  EXPECT_GE(chunks, 15);

  // Stopping early is OK; resuming from a cursor gives the rest.
  int seen = 0;
  s = client_->StreamTargets(Voucher("first"), options, [&](const v1::StreamTargetsResponse& c) {
    seen += c.customers_size();
    return false;
  });
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(seen, 100);
  options.cursor = after_two;
  std::set<std::string> rest;
  s = client_->StreamTargets(Voucher("first"), options, [&](const v1::StreamTargetsResponse& c) {
    for (const auto& t : c.customers()) rest.insert(t.customer_id());
    return true;
  });
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(rest.size(), 1300u);
}

TEST_F(ClientE2eTest, RedemptionsAreRecordedOnceAndCounted) {
  Buyers(3);
  ASSERT_TRUE(Put("first", R"(segment: "FIRST_TIME_BUYER")").ok());
  const absl::Time at = absl::Now() - absl::Minutes(1);
  absl::StatusOr<v1::ItemOutcome> outcome = client_->RecordRedemption("buyer-0", "first", "r1", at);
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  EXPECT_EQ(*outcome, v1::ITEM_OUTCOME_APPLIED);
  outcome = client_->RecordRedemption("buyer-0", "first", "r1", at);
  ASSERT_TRUE(outcome.ok()) << outcome.status();
  EXPECT_EQ(*outcome, v1::ITEM_OUTCOME_DUPLICATE);
  EXPECT_EQ(client_->RecordRedemption("buyer-1", "first", "r1", at).status().code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(client_->RecordRedemption("buyer-1", "unknown", "r2", at).status().code(),
            absl::StatusCode::kNotFound);

  absl::StatusOr<v1::GetVoucherStatsResponse> stats = client_->GetVoucherStats("first");
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->redemptions(), 1);
  EXPECT_EQ(stats->targeted(), 3);
  // Before the redemption: none.
  stats = client_->GetVoucherStats("first", at - absl::Seconds(1));
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->redemptions(), 0);
}

}  // namespace
}  // namespace segmentd

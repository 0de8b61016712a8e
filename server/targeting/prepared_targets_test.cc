#include "server/targeting/prepared_targets.h"

#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "server/field_error.h"
#include "testing/redis_test_client.h"

namespace segmentd::targeting {
namespace {

class PreparedTargetsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<testing::RedisWithClient> redis = testing::StartRedisWithClient();
    ASSERT_TRUE(redis.ok()) << redis.status();
    redis_ = *std::move(redis);
    ASSERT_TRUE(testing::RegisterTenant(redis_.client.get(), "acme").ok());
    vouchers_ = std::make_unique<VoucherStore>(redis_.client.get(), VoucherStore::Options());
  }

  void PutVoucher(const std::string& id, const std::string& segment, bool split) {
    v1::VoucherTarget t;
    t.set_voucher_id(id);
    v1::ExpressionList* any = t.mutable_expression()->mutable_any_of();
    any->add_children()->set_segment(segment);
    any->add_children()->set_segment("VIP");
    if (split) {
      v1::Arm* a = t.add_arms();
      a->set_name("offer");
      a->set_weight(9);
      a = t.add_arms();
      a->set_name("holdout");
      a->set_weight(1);
    }
    ASSERT_TRUE(vouchers_->Put("acme", t).ok());
  }

  static v1::TargetRef Voucher(const std::string& id) {
    v1::TargetRef ref;
    ref.set_voucher_id(id);
    return ref;
  }

  std::string Version() { return *vouchers_->ReadVersion("acme"); }

  testing::RedisWithClient redis_;
  std::unique_ptr<VoucherStore> vouchers_;
  PreparedTargets prepared_;
};

TEST_F(PreparedTargetsTest, RegisteredTargetsAreBuiltOncePerVersion) {
  ASSERT_NO_FATAL_FAILURE(PutVoucher("spring", "LAPSED", /*split=*/true));
  const std::string v1 = Version();
  auto a = prepared_.Get(*vouchers_, "acme", Voucher("spring"), "target", v1);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ((*a)->mentioned, (std::vector<std::string>{"LAPSED", "VIP"}));
  EXPECT_TRUE((*a)->arms.has_arms());
  EXPECT_EQ((*a)->arms.Arm("c1"), ArmAssigner("acme", "spring", (*a)->target.arms).Arm("c1"));
  auto again = prepared_.Get(*vouchers_, "acme", Voucher("spring"), "target", v1,
                             /*may_read=*/false);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->get(), a->get());  // The same object: nothing rebuilt.

  // A new version (the target changed): rebuilt from the store.
  ASSERT_NO_FATAL_FAILURE(PutVoucher("spring", "LOYAL_CUSTOMER", /*split=*/false));
  const std::string v2 = Version();
  // Not prepared at v2 yet: without may_read, no store read, nullptr.
  auto unread = prepared_.Get(*vouchers_, "acme", Voucher("spring"), "target", v2,
                              /*may_read=*/false);
  ASSERT_TRUE(unread.ok());
  EXPECT_EQ(*unread, nullptr);
  auto b = prepared_.Get(*vouchers_, "acme", Voucher("spring"), "target", v2);
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_NE(b->get(), a->get());
  EXPECT_EQ((*b)->mentioned, (std::vector<std::string>{"LOYAL_CUSTOMER", "VIP"}));
  EXPECT_FALSE((*b)->arms.has_arms());
  // Another tenant's voucher of the same id is its own entry.
  EXPECT_EQ(prepared_.Get(*vouchers_, "other", Voucher("spring"), "target", v2).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(PreparedTargetsTest, InlineExpressionsAreValidatedAndNeverCached) {
  v1::TargetRef ref;
  ref.mutable_expression()->set_segment("VIP");
  auto a = prepared_.Get(*vouchers_, "acme", ref, "target", "0");
  auto b = prepared_.Get(*vouchers_, "acme", ref, "target", "0");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->get(), b->get());
  EXPECT_EQ((*a)->mentioned, (std::vector<std::string>{"VIP"}));
  ref.mutable_expression()->set_segment("not a segment");
  EXPECT_EQ(FieldOf(prepared_.Get(*vouchers_, "acme", ref, "target", "0").status()),
            "target.expression.segment");
  EXPECT_EQ(prepared_.Get(*vouchers_, "acme", Voucher("missing"), "target", "0").status().code(),
            absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace segmentd::targeting

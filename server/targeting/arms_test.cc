#include "server/targeting/arms.h"

#include <cmath>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/field_error.h"
#include "server/targeting/test_arms.h"

namespace segmentd::targeting {
namespace {

TEST(ValidateArmsTest, AcceptsAndRejects) {
  EXPECT_TRUE(ValidateArms(Arms({}), "t.arms").ok());
  EXPECT_TRUE(ValidateArms(Arms({{"offer", 90}, {"holdout", 10}}), "t.arms").ok());
  EXPECT_EQ(FieldOf(ValidateArms(Arms({{"a", 1}, {"", 1}}), "t.arms")), "t.arms[1].name");
  EXPECT_EQ(FieldOf(ValidateArms(Arms({{"a", 1}, {std::string(65, 'x'), 1}}), "t.arms")),
            "t.arms[1].name");
  EXPECT_EQ(FieldOf(ValidateArms(Arms({{"a", 1}, {"a", 2}}), "t.arms")), "t.arms[1].name");
  EXPECT_EQ(FieldOf(ValidateArms(Arms({{"a\nb", 1}}), "t.arms")), "t.arms[0].name");
  EXPECT_TRUE(ValidateArms(Arms({{"a b\t", 1}}), "t.arms").ok());
  EXPECT_EQ(FieldOf(ValidateArms(Arms({{"a", 0}}), "t.arms")), "t.arms[0].weight");
  EXPECT_EQ(FieldOf(ValidateArms(Arms({{"a", kMaxArmWeight + 1}}), "t.arms")), "t.arms[0].weight");
  std::vector<std::pair<std::string, uint32_t>> many;
  for (int i = 0; i < kMaxArms + 1; ++i) many.push_back({absl::StrCat("arm", i), 1});
  EXPECT_EQ(FieldOf(ValidateArms(Arms(many), "t.arms")), "t.arms");
  many.pop_back();
  EXPECT_TRUE(ValidateArms(Arms(many), "t.arms").ok());
}

TEST(ArmHashTest, Deterministic) {
  EXPECT_EQ(ArmHash("acme", "v1", "alice"), ArmHash("acme", "v1", "alice"));
  ArmAssigner a("acme", "v1", Arms({{"x", 1}, {"y", 1}}));
  ArmAssigner b("acme", "v1", Arms({{"x", 1}, {"y", 1}}));
  for (int i = 0; i < 1000; ++i) {
    const std::string id = absl::StrCat("c", i);
    EXPECT_EQ(a.ArmIndex(id), b.ArmIndex(id));
  }
  // Field boundaries matter: ("ab","c") and ("a","bc") hash differently.
  EXPECT_NE(ArmHash("t", "ab", "c"), ArmHash("t", "a", "bc"));
  EXPECT_NE(ArmHash("t", "v", "c"), ArmHash("u", "v", "c"));
}

TEST(ArmHashTest, GoldenValue) {
  // SHA-256 of the length-prefixed ("segmentd-arm-v1", "acme", "v1", "alice"),
  // first 8 bytes big-endian; computed independently with Python hashlib.
  EXPECT_EQ(ArmHash("acme", "v1", "alice"), 0x6f6357247db3474cull);
  // A 128-byte id with key-like bytes: the input spans three SHA-256 blocks,
  // the first of them the prefix state every customer's hash continues.
  const std::string id = std::string(100, 'c') + ":{x}\n" + std::string(23, 'z');
  ASSERT_EQ(id.size(), 128u);
  EXPECT_EQ(ArmHash("acme", "v1", id), 0x0992bd8f2938babfull);
}

TEST(ArmAssignerTest, OneAssignerSharedByThreadsAgreesWithTheHash) {
  // Prepared targets share one assigner between RPC threads; each thread
  // continues the assigner's prefix state in its own scratch state.
  const ArmAssigner shared("acme", "v1", Arms({{"x", 1}, {"y", 1}}));
  constexpr int kThreads = 4;
  constexpr int kN = 5'000;
  std::vector<int> mismatches(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kN; ++i) {
        const std::string id = absl::StrCat("customer-", t, "-", i);
        // Weights 1 and 1: arm = hash modulo 2.
        mismatches[t] += shared.ArmIndex(id) != static_cast<int>(ArmHash("acme", "v1", id) % 2);
      }
    });
  }
  for (std::thread& t : threads) t.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(mismatches[t], 0) << "thread " << t;
}

TEST(ArmAssignerTest, NoSplit) {
  ArmAssigner a("acme", "v1", Arms({}));
  EXPECT_FALSE(a.has_arms());
  EXPECT_EQ(a.Arm("alice"), "");
}

TEST(ArmAssignerTest, ProportionsWithinStatisticalBounds) {
  const std::vector<std::pair<std::string, uint32_t>> spec = {
      {"offer", 90}, {"holdout", 10}};
  const std::vector<std::pair<std::string, uint32_t>> spec3 = {{"a", 1}, {"b", 2}, {"c", 7}};
  for (const auto& arms : {spec, spec3}) {
    ArmAssigner a("acme", "summer", Arms(arms));
    constexpr int kN = 100'000;
    std::vector<int> counts(arms.size());
    for (int i = 0; i < kN; ++i) ++counts[a.ArmIndex(absl::StrCat("customer-", i))];
    double total = 0;
    for (const auto& arm : arms) total += arm.second;
    for (size_t i = 0; i < arms.size(); ++i) {
      const double p = arms[i].second / total;
      const double sigma = std::sqrt(kN * p * (1 - p));
      // 5 sigma: a false failure once in ~3.5 million runs (and the inputs are fixed).
      EXPECT_NEAR(counts[i], kN * p, 5 * sigma) << arms[i].first;
    }
  }
}

TEST(ArmAssignerTest, IndependentOfVoucherAndTenant) {
  // The same customer lands in different arms across vouchers about as often
  // as independence predicts (50/50 split: ~50% agreement).
  ArmAssigner v1("acme", "v1", Arms({{"x", 1}, {"y", 1}}));
  ArmAssigner v2("acme", "v2", Arms({{"x", 1}, {"y", 1}}));
  int same = 0;
  constexpr int kN = 20'000;
  for (int i = 0; i < kN; ++i) {
    const std::string id = absl::StrCat(i);
    same += v1.ArmIndex(id) == v2.ArmIndex(id);
  }
  EXPECT_NEAR(same, kN / 2, 5 * std::sqrt(kN * 0.25));
}

}  // namespace
}  // namespace segmentd::targeting

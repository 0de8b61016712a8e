#include "server/targeting/arm_cache.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "server/targeting/arms.h"
#include "server/targeting/membership_index.h"
#include "server/targeting/put_segments.h"
#include "server/targeting/test_arms.h"
#include "store/memory_customer_store.h"

namespace segmentd::targeting {
namespace {

v1::TargetExpression Vip() {
  v1::TargetExpression e;
  e.set_segment("VIP");
  return e;
}

class ArmCacheTest : public ::testing::Test {
 protected:
  // The VIP members and the index generation, from a fresh view.
  void Evaluate(Bitmap* members, uint64_t* generation) {
    ASSERT_TRUE(index_
                    .Read("acme", /*fresh=*/true,
                          [&](const MembershipIndex::View& view) {
                            *members = view.Evaluate(Vip());
                            *generation = view.generation();
                          })
                    .ok());
  }

  // Per arm, the VIP members it holds, by hashing every member's id.
  std::vector<int64_t> Expected(const std::vector<std::string>& vip, absl::string_view voucher,
                                const google::protobuf::RepeatedPtrField<v1::Arm>& arms) {
    const ArmAssigner assigner("acme", voucher, arms);
    std::vector<int64_t> counts(arms.size());
    for (const std::string& id : vip) ++counts[assigner.ArmIndex(id)];
    return counts;
  }

  std::vector<int64_t> Count(ArmCache& cache, absl::string_view voucher,
                             const google::protobuf::RepeatedPtrField<v1::Arm>& arms) {
    Bitmap members;
    uint64_t generation = 0;
    Evaluate(&members, &generation);
    absl::StatusOr<std::vector<int64_t>> counts =
        cache.Count(index_, "acme", voucher, arms, members, generation, [] { return false; });
    EXPECT_TRUE(counts.ok()) << counts.status();
    return counts.ok() ? *counts : std::vector<int64_t>();
  }

  store::MemoryCustomerStore store_;
  MembershipIndex index_{&store_, &store_, MembershipIndex::Options()};
};

TEST_F(ArmCacheTest, CountsMatchHashingEveryMemberAsMembershipMoves) {
  std::vector<std::string> vip;
  for (int i = 0; i < 300; ++i) {
    const std::string id = absl::StrCat("c", i);
    const bool is_vip = i % 3 != 0;
    PutSegments(store_, "acme", id,
                is_vip ? std::vector<std::string>{"VIP"} : std::vector<std::string>{"LAPSED"});
    if (is_vip) vip.push_back(id);
  }
  const auto arms = Arms({{"a", 1}, {"b", 2}, {"c", 7}});
  ArmCache cache;
  EXPECT_EQ(Count(cache, "summer", arms), Expected(vip, "summer", arms));
  EXPECT_EQ(cache.hashed(), static_cast<int64_t>(vip.size()));
  // Again: every member is cached now, nothing is hashed, same answer.
  EXPECT_EQ(Count(cache, "summer", arms), Expected(vip, "summer", arms));
  EXPECT_EQ(cache.hashed(), static_cast<int64_t>(vip.size()));

  // Members leave and new customers (new ordinals) join.
  for (int i = 1; i < 100; i += 3) PutSegments(store_, "acme", absl::StrCat("c", i), {});
  vip.clear();
  for (int i = 0; i < 300; ++i) {
    if (i % 3 != 0 && !(i < 100 && i % 3 == 1)) vip.push_back(absl::StrCat("c", i));
  }
  for (int i = 300; i < 400; ++i) {
    PutSegments(store_, "acme", absl::StrCat("c", i), {"VIP"});
    vip.push_back(absl::StrCat("c", i));
  }
  const int64_t before_new = cache.hashed();
  EXPECT_EQ(Count(cache, "summer", arms), Expected(vip, "summer", arms));
  EXPECT_EQ(cache.hashed(), before_new + 100);  // only the 100 new customers

  // Another voucher, or other arms for the same voucher, split differently.
  EXPECT_EQ(Count(cache, "winter", arms), Expected(vip, "winter", arms));
  const auto reweighted = Arms({{"a", 5}, {"b", 5}});
  EXPECT_EQ(Count(cache, "summer", reweighted), Expected(vip, "summer", reweighted));
  EXPECT_EQ(cache.size(), 3u);
}

TEST_F(ArmCacheTest, KeepsTheMostRecentlyUsedVouchers) {
  PutSegments(store_, "acme", "x", {"VIP"});
  const auto arms = Arms({{"a", 1}, {"b", 1}});
  ArmCache cache(/*max_entries=*/2);
  Count(cache, "v1", arms);
  Count(cache, "v2", arms);
  Count(cache, "v1", arms);  // v2 is now the least recently used
  Count(cache, "v3", arms);  // evicts v2
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_EQ(cache.hashed(), 3);
  Count(cache, "v1", arms);  // still cached
  EXPECT_EQ(cache.hashed(), 3);
  EXPECT_EQ(Count(cache, "v2", arms), Expected({"x"}, "v2", arms));  // hashed again
  EXPECT_EQ(cache.hashed(), 4);
}

TEST_F(ArmCacheTest, ANewerIndexGenerationStartsOverAnOlderOneIsNotKept) {
  PutSegments(store_, "acme", "x", {"VIP"});
  PutSegments(store_, "acme", "y", {"VIP"});
  const auto arms = Arms({{"a", 1}, {"b", 1}});
  ArmCache cache;
  Bitmap members;
  uint64_t generation = 0;
  Evaluate(&members, &generation);
  auto never = [] { return false; };
  ASSERT_TRUE(cache.Count(index_, "acme", "v", arms, members, generation, never).ok());
  EXPECT_EQ(cache.hashed(), 2);
  // Under a newer generation the entry's ordinals are not trusted: it is
  // rebuilt from the ids the index holds, with the same (correct) answer.
  absl::StatusOr<std::vector<int64_t>> again =
      cache.Count(index_, "acme", "v", arms, members, generation + 1, never);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(*again, Expected({"x", "y"}, "v", arms));
  EXPECT_EQ(cache.hashed(), 4);
  EXPECT_EQ(cache.size(), 1u);
  // A count of the older generation is answered (hashing its members) but
  // leaves the newer entry in place, so the newer generation hashes nothing.
  ASSERT_TRUE(cache.Count(index_, "acme", "v", arms, members, generation, never).ok());
  EXPECT_EQ(cache.hashed(), 6);
  ASSERT_TRUE(cache.Count(index_, "acme", "v", arms, members, generation + 1, never).ok());
  EXPECT_EQ(cache.hashed(), 6);
}

TEST_F(ArmCacheTest, ACancelledCountFailsCancelled) {
  PutSegments(store_, "acme", "x", {"VIP"});
  Bitmap members;
  uint64_t generation = 0;
  Evaluate(&members, &generation);
  ArmCache cache;
  absl::StatusOr<std::vector<int64_t>> counts =
      cache.Count(index_, "acme", "v", Arms({{"a", 1}}), members, generation, [] { return true; });
  EXPECT_EQ(counts.status().code(), absl::StatusCode::kCancelled);
}

}  // namespace
}  // namespace segmentd::targeting

#include "server/targeting/customer_ids.h"

#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace segmentd::targeting {
namespace {

TEST(CustomerIdsTest, BothWaysForManyIdsAcrossMovesAndRehashes) {
  CustomerIds ids;
  EXPECT_EQ(ids.size(), 0u);
  EXPECT_EQ(ids.OrdinalOf("a"), std::nullopt);
  const std::string odd("a}:b\n\0c", 7);  // Any bytes, including NUL.
  ids.Add(odd);
  ids.Add("");  // Even empty: ends tell ids apart, not separators.
  for (int i = 0; i < 100'000; ++i) ids.Add(absl::StrCat("cust-", i));  // Many rehashes.
  CustomerIds moved = std::move(ids);  // The set's functors must follow the ids.
  CustomerIds target;
  target.Add("old");
  target = std::move(moved);
  ASSERT_EQ(target.size(), 100'002u);
  EXPECT_EQ(target.IdOf(1), odd);
  EXPECT_EQ(target.OrdinalOf(odd), 1u);
  EXPECT_EQ(target.IdOf(2), "");
  EXPECT_EQ(target.OrdinalOf(""), 2u);
  for (int i = 0; i < 100'000; i += 997) {
    EXPECT_EQ(target.IdOf(i + 3), absl::StrCat("cust-", i));
    EXPECT_EQ(target.OrdinalOf(absl::StrCat("cust-", i)), static_cast<uint32_t>(i + 3));
  }
  EXPECT_EQ(target.OrdinalOf("old"), std::nullopt);
  EXPECT_EQ(target.OrdinalOf("cust-100000"), std::nullopt);
  EXPECT_EQ(target.OrdinalOf(std::string("a}:b\n\0", 6)), std::nullopt);  // A prefix is not the id.
  target.Add("late");
  EXPECT_EQ(target.OrdinalOf("late"), 100'003u);
}

}  // namespace
}  // namespace segmentd::targeting

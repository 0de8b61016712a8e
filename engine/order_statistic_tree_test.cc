#include "engine/order_statistic_tree.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <random>
#include <vector>

namespace segmentd::engine {
namespace {

TEST(OrderStatisticTree, MatchesSortedVector) {
  std::mt19937_64 rng(7);
  OrderStatisticTree tree;
  std::vector<int64_t> keys;
  for (int step = 0; step < 5000; ++step) {
    if (!keys.empty() && rng() % 3 == 0) {
      const size_t i = rng() % keys.size();
      tree.Add(keys[i], -1, -keys[i]);
      keys.erase(keys.begin() + i);
    } else {
      const int64_t k = static_cast<int64_t>(rng() % 200) - 50;
      tree.Add(k, 1, k);
      keys.push_back(k);
    }
    if (step % 97 != 0) continue;
    std::vector<int64_t> sorted = keys;
    std::sort(sorted.begin(), sorted.end(), std::greater<int64_t>());
    ASSERT_EQ(tree.total_count(), static_cast<int64_t>(sorted.size()));
    for (size_t place = 1; place <= sorted.size(); place += 7) {
      ASSERT_EQ(tree.KthLargest(place), sorted[place - 1]);
    }
    for (int64_t probe : {-60, -50, 0, 10, 149, 150}) {
      int64_t c = 0, w = 0;
      for (int64_t k : keys) {
        if (k <= probe) {
          ++c;
          w += k;
        }
      }
      ASSERT_EQ(tree.PrefixUpTo(probe), std::make_pair(c, w));
    }
  }
}

}  // namespace
}  // namespace segmentd::engine

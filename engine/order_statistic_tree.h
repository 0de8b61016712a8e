#ifndef SEGMENTD_ENGINE_ORDER_STATISTIC_TREE_H_
#define SEGMENTD_ENGINE_ORDER_STATISTIC_TREE_H_

// A multiset of int64 keys, each occurrence carrying an int64 weight, with
// rank and prefix-sum queries in O(log n) expected time (a treap over the
// distinct keys, with subtree counts and sums).
//
// Used for exact live percentile cut-offs (key = a customer's lifetime order
// count or revenue) and for store AOV over a lookback (key = order placement
// instant, weight = net amount).
//
// Thread-safety: not thread-safe for writes; const methods may run
// concurrently with each other.

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace segmentd::engine {

class OrderStatisticTree {
 public:
  OrderStatisticTree() = default;

  // Adds `count` occurrences of `key` (negative removes) with total weight
  // `weight` (negative subtracts). Removing more occurrences than present is
  // a caller bug; the key's count is clamped at zero and the key dropped.
  void Add(int64_t key, int64_t count, int64_t weight);

  // Number of occurrences (with multiplicity) and total weight.
  int64_t total_count() const;
  int64_t total_weight() const;
  // Number of distinct keys.
  size_t distinct_keys() const { return nodes_.size() - free_.size(); }

  // Returns the key at 1-based place `place` when all occurrences are listed
  // from the largest key down. Requires 1 <= place <= total_count().
  int64_t KthLargest(int64_t place) const;

  // Returns {count, weight} of all occurrences with key <= `key`.
  std::pair<int64_t, int64_t> PrefixUpTo(int64_t key) const;

 private:
  struct Node {
    int64_t key;
    int64_t count;
    int64_t weight;
    int64_t sub_count;
    int64_t sub_weight;
    uint64_t priority;
    int32_t left;
    int32_t right;
  };
  static constexpr int32_t kNil = -1;

  void Pull(int32_t n);
  // Splits `n` into keys < key (or <= key when inclusive) and the rest.
  void Split(int32_t n, int64_t key, bool inclusive, int32_t* l, int32_t* r);
  int32_t Merge(int32_t a, int32_t b);
  int32_t NewNode(int64_t key, int64_t count, int64_t weight);

  std::vector<Node> nodes_;
  std::vector<int32_t> free_;
  int32_t root_ = kNil;
  uint64_t rng_ = 0x9e3779b97f4a7c15ULL;
};

}  // namespace segmentd::engine

#endif  // SEGMENTD_ENGINE_ORDER_STATISTIC_TREE_H_

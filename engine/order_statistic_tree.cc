#include "engine/order_statistic_tree.h"

namespace segmentd::engine {

void OrderStatisticTree::Pull(int32_t n) {
  Node& x = nodes_[n];
  x.sub_count = x.count;
  x.sub_weight = x.weight;
  if (x.left != kNil) {
    x.sub_count += nodes_[x.left].sub_count;
    x.sub_weight += nodes_[x.left].sub_weight;
  }
  if (x.right != kNil) {
    x.sub_count += nodes_[x.right].sub_count;
    x.sub_weight += nodes_[x.right].sub_weight;
  }
}

void OrderStatisticTree::Split(int32_t n, int64_t key, bool inclusive,
                               int32_t* l, int32_t* r) {
  if (n == kNil) {
    *l = *r = kNil;
    return;
  }
  const bool goes_left =
      inclusive ? nodes_[n].key <= key : nodes_[n].key < key;
  if (goes_left) {
    int32_t a, b;
    Split(nodes_[n].right, key, inclusive, &a, &b);
    nodes_[n].right = a;
    Pull(n);
    *l = n;
    *r = b;
  } else {
    int32_t a, b;
    Split(nodes_[n].left, key, inclusive, &a, &b);
    nodes_[n].left = b;
    Pull(n);
    *l = a;
    *r = n;
  }
}

int32_t OrderStatisticTree::Merge(int32_t a, int32_t b) {
  if (a == kNil) return b;
  if (b == kNil) return a;
  if (nodes_[a].priority > nodes_[b].priority) {
    nodes_[a].right = Merge(nodes_[a].right, b);
    Pull(a);
    return a;
  }
  nodes_[b].left = Merge(a, nodes_[b].left);
  Pull(b);
  return b;
}

int32_t OrderStatisticTree::NewNode(int64_t key, int64_t count,
                                    int64_t weight) {
  // SplitMix64 for treap priorities: deterministic, well spread.
  rng_ += 0x9e3779b97f4a7c15ULL;
  uint64_t z = rng_;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  z ^= z >> 31;
  Node node{key, count, weight, count, weight, z, kNil, kNil};
  if (!free_.empty()) {
    const int32_t n = free_.back();
    free_.pop_back();
    nodes_[n] = node;
    return n;
  }
  nodes_.push_back(node);
  return static_cast<int32_t>(nodes_.size() - 1);
}

void OrderStatisticTree::Add(int64_t key, int64_t count, int64_t weight) {
  int32_t less, rest, mid, greater;
  Split(root_, key, /*inclusive=*/false, &less, &rest);
  Split(rest, key, /*inclusive=*/true, &mid, &greater);
  if (mid == kNil) {
    if (count > 0) mid = NewNode(key, count, weight);
  } else {
    nodes_[mid].count += count;
    nodes_[mid].weight += weight;
    if (nodes_[mid].count <= 0) {
      free_.push_back(mid);
      mid = kNil;
    } else {
      Pull(mid);
    }
  }
  root_ = Merge(Merge(less, mid), greater);
}

int64_t OrderStatisticTree::total_count() const {
  return root_ == kNil ? 0 : nodes_[root_].sub_count;
}

int64_t OrderStatisticTree::total_weight() const {
  return root_ == kNil ? 0 : nodes_[root_].sub_weight;
}

int64_t OrderStatisticTree::KthLargest(int64_t place) const {
  int32_t n = root_;
  while (n != kNil) {
    const Node& x = nodes_[n];
    const int64_t right = x.right == kNil ? 0 : nodes_[x.right].sub_count;
    if (place <= right) {
      n = x.right;
    } else if (place <= right + x.count) {
      return x.key;
    } else {
      place -= right + x.count;
      n = x.left;
    }
  }
  return 0;  // place out of range: documented precondition
}

std::pair<int64_t, int64_t> OrderStatisticTree::PrefixUpTo(int64_t key) const {
  int64_t count = 0, weight = 0;
  int32_t n = root_;
  while (n != kNil) {
    const Node& x = nodes_[n];
    if (x.key <= key) {
      count += x.count;
      weight += x.weight;
      if (x.left != kNil) {
        count += nodes_[x.left].sub_count;
        weight += nodes_[x.left].sub_weight;
      }
      n = x.right;
    } else {
      n = x.left;
    }
  }
  return {count, weight};
}

}  // namespace segmentd::engine

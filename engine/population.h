#ifndef SEGMENTD_ENGINE_POPULATION_H_
#define SEGMENTD_ENGINE_POPULATION_H_

// Population: many profiles packed into a few flat arrays, for evaluating a
// whole tenant (full re-classification, stats, benchmarks) with sequential
// memory access and no per-customer heap objects.
//
// Its views carry no order corrections (ProfileView::corrections): each
// order is as of its latest cancellation or refund, right at any instant
// after every correction (the server applies each as of its write).
//
// Thread-safety: Add() needs exclusive access; view() and size() may be
// called concurrently once filling is done.

#include <cstddef>
#include <cstdint>
#include <vector>

#include "engine/profile.h"

namespace segmentd::engine {

class Population {
 public:
  Population() = default;

  // Copies `profile` in; returns its index.
  size_t Add(const ProfileView& profile);
  size_t size() const { return entries_.size(); }
  // Returns a view valid until the next Add().
  ProfileView view(size_t i) const;
  void Reserve(size_t customers, size_t orders);

 private:
  struct Entry {
    Millis registered_ms;
    Millis last_activity_ms;
    FoldedTotals folded;
    CartFacts cart;
    bool has_cart;
    uint32_t orders_begin, orders_count;
    uint64_t categories_begin;
    uint32_t categories_count;
    uint32_t messages_begin, messages_count;
    uint32_t cart_categories_begin, cart_categories_count;
    uint32_t folded_orders_begin, folded_orders_count;
    uint64_t folded_categories_begin;
    uint32_t folded_categories_count;
  };
  std::vector<Entry> entries_;
  std::vector<OrderFacts> orders_;
  std::vector<CategoryId> categories_;
  std::vector<MessageFacts> messages_;
  std::vector<CategoryId> cart_categories_;
  // Kept so that a window lengthened past the fold horizon counts them as
  // Classify on the profile itself does (UnfoldedOrders); read by no
  // evaluation whose windows end before them.
  std::vector<FoldedOrderFacts> folded_orders_;
  std::vector<CategoryId> folded_categories_;
};

}  // namespace segmentd::engine

#endif  // SEGMENTD_ENGINE_POPULATION_H_

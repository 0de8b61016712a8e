#include "engine/population.h"

namespace segmentd::engine {

void Population::Reserve(size_t customers, size_t orders) {
  entries_.reserve(customers);
  orders_.reserve(orders);
  categories_.reserve(orders * 2);
}

size_t Population::Add(const ProfileView& p) {
  Entry e;
  e.registered_ms = p.registered_ms;
  e.last_activity_ms = p.last_activity_ms;
  e.folded = p.folded;
  e.cart = p.cart;
  e.has_cart = p.has_cart;
  e.orders_begin = static_cast<uint32_t>(orders_.size());
  e.orders_count = static_cast<uint32_t>(p.orders.size());
  orders_.insert(orders_.end(), p.orders.begin(), p.orders.end());
  e.categories_begin = categories_.size();
  e.categories_count = static_cast<uint32_t>(p.order_categories.size());
  categories_.insert(categories_.end(), p.order_categories.begin(),
                     p.order_categories.end());
  e.messages_begin = static_cast<uint32_t>(messages_.size());
  e.messages_count = static_cast<uint32_t>(p.messages.size());
  messages_.insert(messages_.end(), p.messages.begin(), p.messages.end());
  e.cart_categories_begin = static_cast<uint32_t>(cart_categories_.size());
  e.cart_categories_count = static_cast<uint32_t>(p.cart_categories.size());
  cart_categories_.insert(cart_categories_.end(), p.cart_categories.begin(),
                          p.cart_categories.end());
  e.folded_orders_begin = static_cast<uint32_t>(folded_orders_.size());
  e.folded_orders_count = static_cast<uint32_t>(p.folded_orders.size());
  folded_orders_.insert(folded_orders_.end(), p.folded_orders.begin(), p.folded_orders.end());
  e.folded_categories_begin = folded_categories_.size();
  e.folded_categories_count = static_cast<uint32_t>(p.folded_order_categories.size());
  folded_categories_.insert(folded_categories_.end(), p.folded_order_categories.begin(),
                            p.folded_order_categories.end());
  entries_.push_back(e);
  return entries_.size() - 1;
}

ProfileView Population::view(size_t i) const {
  const Entry& e = entries_[i];
  ProfileView v;
  v.registered_ms = e.registered_ms;
  v.last_activity_ms = e.last_activity_ms;
  v.folded = e.folded;
  v.orders = absl::MakeConstSpan(orders_.data() + e.orders_begin, e.orders_count);
  // Order category indices are relative to the profile's own pool.
  v.order_categories = absl::MakeConstSpan(
      categories_.data() + e.categories_begin, e.categories_count);
  v.messages =
      absl::MakeConstSpan(messages_.data() + e.messages_begin, e.messages_count);
  v.has_cart = e.has_cart;
  v.cart = e.cart;
  v.cart_categories = absl::MakeConstSpan(
      cart_categories_.data() + e.cart_categories_begin,
      e.cart_categories_count);
  v.folded_orders =
      absl::MakeConstSpan(folded_orders_.data() + e.folded_orders_begin, e.folded_orders_count);
  // Folded orders' category indices are relative to the profile's own pool too.
  v.folded_order_categories = absl::MakeConstSpan(
      folded_categories_.data() + e.folded_categories_begin, e.folded_categories_count);
  return v;
}

}  // namespace segmentd::engine

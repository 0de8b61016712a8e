#include "server/live/test_orders.h"

#include <utility>

#include "engine/profile.h"

namespace segmentd {

ProfileMutation Order(std::string id, absl::Time at, int64_t amount) {
  return [id = std::move(id), at, amount](engine::Profile* p) {
    engine::OrderPlaced order;
    order.order_id = id;
    order.placed_at = at;
    order.amount = amount;
    return p->PlaceOrder(order);
  };
}

}  // namespace segmentd

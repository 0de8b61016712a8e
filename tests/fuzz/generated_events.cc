#include "tests/fuzz/generated_events.h"

#include "absl/strings/str_cat.h"
#include "server/proto_time.h"

namespace segmentd::fuzz {
namespace {

std::vector<std::string> CategoryNames(const std::vector<engine::CategoryId>& ids) {
  std::vector<std::string> names;
  for (engine::CategoryId id : ids) names.push_back(absl::StrCat("c", id));
  return names;
}

}  // namespace

v1::BulkIngestRequest EventsOf(const engine::GeneratedCustomer& c) {
  v1::BulkIngestRequest request;
  auto* registered = request.add_events()->mutable_customer_registered();
  registered->set_customer_id(c.customer_id);
  *registered->mutable_registered_at() = ToProtoTime(c.registered_at);
  for (const engine::GeneratedOrder& o : c.orders) {
    auto* placed = request.add_events()->mutable_order_placed();
    placed->set_customer_id(c.customer_id);
    placed->set_order_id(o.order_id);
    *placed->mutable_placed_at() = ToProtoTime(o.placed_at);
    placed->set_amount(o.amount);
    for (const std::string& name : CategoryNames(o.categories)) placed->add_categories(name);
    if (o.cancelled) {
      auto* cancelled = request.add_events()->mutable_order_cancelled();
      cancelled->set_customer_id(c.customer_id);
      cancelled->set_order_id(o.order_id);
      *cancelled->mutable_cancelled_at() = ToProtoTime(o.placed_at + absl::Hours(1));
    }
    if (o.refunded > 0) {
      auto* refunded = request.add_events()->mutable_order_refunded();
      refunded->set_customer_id(c.customer_id);
      refunded->set_order_id(o.order_id);
      refunded->set_refund_id(o.order_id + "/refund");
      refunded->set_amount(o.refunded);
      *refunded->mutable_refunded_at() = ToProtoTime(o.placed_at + absl::Hours(2));
    }
  }
  for (const engine::GeneratedMessage& m : c.messages) {
    auto engage = [&](v1::EngagementKind kind, absl::Time at) {
      auto* e = request.add_events()->mutable_engagement();
      e->set_customer_id(c.customer_id);
      e->set_message_id(m.message_id);
      e->set_kind(kind);
      *e->mutable_occurred_at() = ToProtoTime(at);
    };
    engage(v1::ENGAGEMENT_KIND_SENT, m.sent_at);
    if (m.opened_at) engage(v1::ENGAGEMENT_KIND_OPENED, *m.opened_at);
    if (m.acted_at) engage(v1::ENGAGEMENT_KIND_ACTED, *m.acted_at);
  }
  if (c.cart) {
    auto* cart = request.add_events()->mutable_cart_updated();
    cart->set_customer_id(c.customer_id);
    cart->set_value(c.cart->value);
    for (const std::string& name : CategoryNames(c.cart->categories)) cart->add_categories(name);
    *cart->mutable_updated_at() = ToProtoTime(c.cart->updated_at);
    if (c.cart->converted_at) {
      auto* converted = request.add_events()->mutable_cart_converted();
      converted->set_customer_id(c.customer_id);
      *converted->mutable_converted_at() = ToProtoTime(*c.cart->converted_at);
    }
  }
  if (c.last_activity) {
    auto* activity = request.add_events()->mutable_activity();
    activity->set_customer_id(c.customer_id);
    *activity->mutable_occurred_at() = ToProtoTime(*c.last_activity);
  }
  return request;
}

std::vector<std::string> GeneratedHistories(const engine::GeneratorOptions& options, int customers,
                                            int max_events) {
  std::vector<std::string> histories;
  for (int i = 0; i < customers; ++i) {
    v1::BulkIngestRequest request = EventsOf(engine::GenerateCustomer(options, i));
    if (request.events_size() > max_events) {
      request.mutable_events()->DeleteSubrange(max_events, request.events_size() - max_events);
    }
    histories.push_back(request.SerializeAsString());
  }
  return histories;
}

}  // namespace segmentd::fuzz

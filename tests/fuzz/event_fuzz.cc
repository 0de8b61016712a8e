// Fuzz target: a batch of events as BulkIngest receives it
// (segmentd.v1.BulkIngestRequest), through the validation at the edge
// (PrepareEvent), into profiles through the mutations the live path applies,
// then classified under the default config.
//
// Checks: a rejected event is INVALID_ARGUMENT naming a field below its own
// "events[i]."; an event the profile refuses fails with a caller's error,
// never an internal one, and leaves the profile as it was (the live path
// applies each event to a copy); every resulting profile keeps the engine's
// promises at the instants its facts make interesting (customer_checks.h).
#include <map>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "engine/classify.h"
#include "engine/config.h"
#include "engine/generator.h"
#include "engine/stats.h"
#include "server/proto_time.h"
#include "server/services/event_conversion.h"
#include "tests/fuzz/customer_checks.h"
#include "tests/fuzz/fuzz_target.h"

namespace segmentd::fuzz {
namespace {

// Beyond this many events an input explores volume, not rules.
constexpr int kMaxEvents = 64;

const engine::GeneratorOptions& Options() {
  static const engine::GeneratorOptions options;
  return options;
}

std::vector<std::string> CategoryNames(const std::vector<engine::CategoryId>& ids) {
  std::vector<std::string> names;
  for (engine::CategoryId id : ids) names.push_back(absl::StrCat("c", id));
  return names;
}

// A generated customer's history as the API's events.
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

bool IsCallersError(const absl::Status& s) {
  return absl::IsInvalidArgument(s) || absl::IsNotFound(s) || absl::IsFailedPrecondition(s) ||
         absl::IsOutOfRange(s) || absl::IsAlreadyExists(s);
}

}  // namespace

std::vector<std::string> Seeds() {
  std::vector<std::string> seeds;
  for (uint64_t i = 0; i < 12; ++i) {
    v1::BulkIngestRequest request = EventsOf(engine::GenerateCustomer(Options(), i));
    if (request.events_size() > kMaxEvents)
      request.mutable_events()->DeleteSubrange(kMaxEvents, request.events_size() - kMaxEvents);
    seeds.push_back(request.SerializeAsString());
  }
  return seeds;
}

}  // namespace segmentd::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace segmentd;
  v1::BulkIngestRequest request;
  if (!request.ParseFromArray(data, static_cast<int>(size))) return 0;
  if (request.events_size() > fuzz::kMaxEvents) return 0;
  std::map<std::string, engine::Profile> profiles;
  absl::flat_hash_map<std::string, engine::CategoryId> category_ids;
  for (int i = 0; i < request.events_size(); ++i) {
    const std::string prefix = absl::StrCat("events[", i, "].");
    absl::StatusOr<PreparedEvent> event = PrepareEvent(request.events(i), prefix);
    if (!event.ok()) {
      FUZZ_CHECK(absl::IsInvalidArgument(event.status()) &&
                     absl::StartsWith(event.status().message(), prefix),
                 event.status().ToString());
      continue;
    }
    std::vector<engine::CategoryId> ids;
    for (const std::string& name : event->category_names) {
      ids.push_back(category_ids.emplace(name, category_ids.size()).first->second);
    }
    engine::Profile& profile = profiles[event->customer_id];
    engine::Profile trial = profile;
    absl::StatusOr<engine::EventOutcome> outcome = event->mutation(ids)(&trial);
    if (outcome.ok()) {
      profile = std::move(trial);
    } else {
      FUZZ_CHECK(fuzz::IsCallersError(outcome.status()), outcome.status().ToString());
    }
  }
  const engine::SegmentConfig config;
  const absl::Time now = fuzz::Options().now;
  std::vector<engine::ProfileView> views;
  for (const auto& [id, profile] : profiles) views.push_back(profile.view());
  absl::StatusOr<engine::Classifier> classifier =
      engine::Classifier::Create(config, engine::ComputeStats(views, config, now));
  FUZZ_CHECK(classifier.ok(), classifier.status().ToString());
  for (const auto& [id, profile] : profiles) {
    for (absl::Time t : fuzz::InstantsOf(profile, now))
      fuzz::CheckCustomer(*classifier, profile, t);
  }
  return 0;
}

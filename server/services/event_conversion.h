#ifndef SEGMENTD_SERVER_SERVICES_EVENT_CONVERSION_H_
#define SEGMENTD_SERVER_SERVICES_EVENT_CONVERSION_H_

// Turns API events (segmentd.v1.Event and its kinds) into validated profile
// mutations. Validation names the offending field with the caller's prefix,
// e.g. "event.placed_at" or "events[3].order_placed.amount".

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "engine/segment.h"
#include "segmentd/v1/ingest.pb.h"
#include "server/live/live_membership.h"

namespace segmentd {

// Limits on input, beyond which a field is INVALID_ARGUMENT.
inline constexpr size_t kMaxCustomerIdBytes = 128;
inline constexpr size_t kMaxEventIdBytes = 128;  // order, refund, message ids
inline constexpr size_t kMaxCategoryBytes = engine::kMaxCategoryNameBytes;
inline constexpr int kMaxCategories = 64;

// A validated event: whose it is, the category names it mentions, and how to
// build its mutation once those names have ids (in the same order).
// How far ahead of the server's clock an event may be dated (a client's
// clock may run ahead; an order dated ahead counts from its date on).
inline constexpr absl::Duration kMaxEventLead = absl::Hours(24);

// INVALID_ARGUMENT naming `field` unless `t` is an instant an event may
// carry: from 1970 to at most kMaxEventLead ahead of the server's clock.
absl::Status ValidateEventTime(absl::Time t, absl::string_view field);

struct PreparedEvent {
  std::string customer_id;
  // The event's field path prefix ("event.", "events[3].order_refunded."):
  // the engine names fields relative to the event (ScopeFieldError).
  std::string field_prefix;
  std::vector<std::string> category_names;
  std::function<ProfileMutation(const std::vector<engine::CategoryId>& category_ids)> mutation;
};

// Returns OK when `id` is 1-128 bytes (proto3 already guarantees valid UTF-8).
absl::Status ValidateCustomerId(absl::string_view id, absl::string_view field);

// Validates and prepares one event. `prefix` is prepended to field paths.
absl::StatusOr<PreparedEvent> PrepareEvent(const v1::Event& event, absl::string_view prefix);

absl::StatusOr<PreparedEvent> PrepareCustomerRegistered(const v1::CustomerRegistered& e,
                                                        absl::string_view prefix);
absl::StatusOr<PreparedEvent> PrepareOrderPlaced(const v1::OrderPlaced& e,
                                                 absl::string_view prefix);
absl::StatusOr<PreparedEvent> PrepareOrderCancelled(const v1::OrderCancelled& e,
                                                    absl::string_view prefix);
absl::StatusOr<PreparedEvent> PrepareOrderRefunded(const v1::OrderRefunded& e,
                                                   absl::string_view prefix);
absl::StatusOr<PreparedEvent> PrepareEngagement(const v1::EngagementEvent& e,
                                                absl::string_view prefix);
absl::StatusOr<PreparedEvent> PrepareCartUpdated(const v1::CartUpdated& e,
                                                 absl::string_view prefix);
absl::StatusOr<PreparedEvent> PrepareCartConverted(const v1::CartConverted& e,
                                                   absl::string_view prefix);
absl::StatusOr<PreparedEvent> PrepareActivity(const v1::ActivityRecorded& e,
                                              absl::string_view prefix);

// The API's name for what happened to an accepted event.
v1::ItemOutcome ItemOutcomeProto(engine::EventOutcome outcome);

}  // namespace segmentd

#endif  // SEGMENTD_SERVER_SERVICES_EVENT_CONVERSION_H_

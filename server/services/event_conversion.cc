#include "server/services/event_conversion.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "engine/profile.h"
#include "engine/time_ms.h"
#include "server/field_error.h"
#include "server/proto_time.h"

namespace segmentd {
namespace {

absl::Status Invalid(absl::string_view prefix, absl::string_view field, absl::string_view what) {
  return FieldError(absl::StrCat(prefix, field), what);
}

absl::Status ValidateId(absl::string_view id, absl::string_view prefix, absl::string_view field) {
  if (id.empty() || id.size() > kMaxEventIdBytes) {
    return Invalid(prefix, field, absl::StrCat("must be 1-", kMaxEventIdBytes, " bytes, got ",
                                               id.size()));
  }
  return absl::OkStatus();
}

// Returns the instant of a required timestamp field.
absl::StatusOr<absl::Time> RequiredTime(bool present, const google::protobuf::Timestamp& ts,
                                        absl::string_view prefix, absl::string_view field) {
  const std::string path = absl::StrCat(prefix, field);
  absl::StatusOr<absl::Time> t = RequiredProtoTime(present, ts, path);
  if (!t.ok()) return t.status();
  if (absl::Status s = ValidateEventTime(*t, path); !s.ok()) return s;
  return t;
}

absl::Status ValidateAmount(int64_t amount, absl::string_view prefix, absl::string_view field,
                            int64_t min) {
  if (amount < min || amount > engine::kMaxAmount) {
    return Invalid(prefix, field,
                   absl::StrCat("must be in [", min, ", ", engine::kMaxAmount, "], got ", amount));
  }
  return absl::OkStatus();
}

absl::Status ValidateCategories(const google::protobuf::RepeatedPtrField<std::string>& names,
                                absl::string_view prefix, absl::string_view field) {
  if (names.size() > kMaxCategories) {
    return Invalid(prefix, field, absl::StrCat("at most ", kMaxCategories, " categories"));
  }
  for (int i = 0; i < names.size(); ++i) {
    if (names[i].empty() || names[i].size() > kMaxCategoryBytes) {
      return Invalid(prefix, absl::StrCat(field, "[", i, "]"),
                     absl::StrCat("must be 1-", kMaxCategoryBytes, " bytes"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<PreparedEvent> Start(absl::string_view customer_id, absl::string_view prefix) {
  if (absl::Status s = ValidateCustomerId(customer_id, absl::StrCat(prefix, "customer_id"));
      !s.ok()) {
    return s;
  }
  PreparedEvent prepared;
  prepared.customer_id = std::string(customer_id);
  prepared.field_prefix = std::string(prefix);
  return prepared;
}

}  // namespace

absl::Status ValidateEventTime(absl::Time t, absl::string_view field) {
  if (t < absl::UnixEpoch()) return FieldError(field, "must not be before 1970");
  // Dated further ahead of this server's clock than any clock skew: a client
  // clock or data error. Accepted, it would count only from that date, and a
  // cart or activity dated years ahead would hide every real update until
  // then (only the latest is kept).
  const absl::Time latest = absl::Now() + kMaxEventLead;
  if (t > latest) {
    // The clock itself is not in the message: the same event must be
    // refused in the same words whenever it is sent.
    return FieldError(field,
                      absl::StrCat("must not be more than ", absl::FormatDuration(kMaxEventLead),
                                   " ahead of the server's clock, got ", absl::FormatTime(t)));
  }
  // The engine's own range, checked here so that a refusal names this field.
  if (t > engine::FromMillis(engine::kMaxEventMillis)) {
    return FieldError(field,
                      absl::StrCat("must not be after ",
                                   absl::FormatTime(engine::FromMillis(engine::kMaxEventMillis))));
  }
  return absl::OkStatus();
}

absl::Status ValidateCustomerId(absl::string_view id, absl::string_view field) {
  if (id.empty() || id.size() > kMaxCustomerIdBytes) {
    return FieldError(field,
                      absl::StrCat("must be 1-", kMaxCustomerIdBytes, " bytes, got ", id.size()));
  }
  return absl::OkStatus();
}

absl::StatusOr<PreparedEvent> PrepareCustomerRegistered(const v1::CustomerRegistered& e,
                                                        absl::string_view prefix) {
  absl::StatusOr<PreparedEvent> p = Start(e.customer_id(), prefix);
  if (!p.ok()) return p;
  absl::StatusOr<absl::Time> at =
      RequiredTime(e.has_registered_at(), e.registered_at(), prefix, "registered_at");
  if (!at.ok()) return at.status();
  p->mutation = [at = *at](const std::vector<engine::CategoryId>&) -> ProfileMutation {
    return [at](engine::Profile* profile) { return profile->Register(at); };
  };
  return p;
}

absl::StatusOr<PreparedEvent> PrepareOrderPlaced(const v1::OrderPlaced& e,
                                                 absl::string_view prefix) {
  absl::StatusOr<PreparedEvent> p = Start(e.customer_id(), prefix);
  if (!p.ok()) return p;
  if (absl::Status s = ValidateId(e.order_id(), prefix, "order_id"); !s.ok()) return s;
  absl::StatusOr<absl::Time> at = RequiredTime(e.has_placed_at(), e.placed_at(), prefix, "placed_at");
  if (!at.ok()) return at.status();
  if (absl::Status s = ValidateAmount(e.amount(), prefix, "amount", 0); !s.ok()) return s;
  if (absl::Status s = ValidateCategories(e.categories(), prefix, "categories"); !s.ok()) return s;
  p->category_names.assign(e.categories().begin(), e.categories().end());
  p->mutation = [order_id = e.order_id(), at = *at,
                 amount = e.amount()](const std::vector<engine::CategoryId>& ids) -> ProfileMutation {
    return [order_id, at, amount, ids](engine::Profile* profile) {
      engine::OrderPlaced order;
      order.order_id = order_id;
      order.placed_at = at;
      order.amount = amount;
      order.categories = ids;
      return profile->PlaceOrder(order);
    };
  };
  return p;
}

absl::StatusOr<PreparedEvent> PrepareOrderCancelled(const v1::OrderCancelled& e,
                                                    absl::string_view prefix) {
  absl::StatusOr<PreparedEvent> p = Start(e.customer_id(), prefix);
  if (!p.ok()) return p;
  if (absl::Status s = ValidateId(e.order_id(), prefix, "order_id"); !s.ok()) return s;
  absl::StatusOr<absl::Time> at =
      RequiredTime(e.has_cancelled_at(), e.cancelled_at(), prefix, "cancelled_at");
  if (!at.ok()) return at.status();
  p->mutation = [order_id = e.order_id(),
                 at = *at](const std::vector<engine::CategoryId>&) -> ProfileMutation {
    return [order_id, at](engine::Profile* profile) { return profile->CancelOrder(order_id, at); };
  };
  return p;
}

absl::StatusOr<PreparedEvent> PrepareOrderRefunded(const v1::OrderRefunded& e,
                                                   absl::string_view prefix) {
  absl::StatusOr<PreparedEvent> p = Start(e.customer_id(), prefix);
  if (!p.ok()) return p;
  if (absl::Status s = ValidateId(e.order_id(), prefix, "order_id"); !s.ok()) return s;
  if (absl::Status s = ValidateId(e.refund_id(), prefix, "refund_id"); !s.ok()) return s;
  if (absl::Status s = ValidateAmount(e.amount(), prefix, "amount", 1); !s.ok()) return s;
  absl::StatusOr<absl::Time> at =
      RequiredTime(e.has_refunded_at(), e.refunded_at(), prefix, "refunded_at");
  if (!at.ok()) return at.status();
  p->mutation = [order_id = e.order_id(), refund_id = e.refund_id(), amount = e.amount(),
                 at = *at](const std::vector<engine::CategoryId>&) -> ProfileMutation {
    return [order_id, refund_id, amount, at](engine::Profile* profile) {
      return profile->RefundOrder(order_id, refund_id, amount, at);
    };
  };
  return p;
}

absl::StatusOr<PreparedEvent> PrepareEngagement(const v1::EngagementEvent& e,
                                                absl::string_view prefix) {
  absl::StatusOr<PreparedEvent> p = Start(e.customer_id(), prefix);
  if (!p.ok()) return p;
  if (absl::Status s = ValidateId(e.message_id(), prefix, "message_id"); !s.ok()) return s;
  absl::StatusOr<absl::Time> at =
      RequiredTime(e.has_occurred_at(), e.occurred_at(), prefix, "occurred_at");
  if (!at.ok()) return at.status();
  const v1::EngagementKind kind = e.kind();
  if (kind != v1::ENGAGEMENT_KIND_SENT && kind != v1::ENGAGEMENT_KIND_OPENED &&
      kind != v1::ENGAGEMENT_KIND_ACTED) {
    return Invalid(prefix, "kind", "must be SENT, OPENED or ACTED");
  }
  p->mutation = [message_id = e.message_id(), at = *at,
                 kind](const std::vector<engine::CategoryId>&) -> ProfileMutation {
    return [message_id, at, kind](engine::Profile* profile) {
      switch (kind) {
        case v1::ENGAGEMENT_KIND_SENT:
          return profile->MessageSent(message_id, at);
        case v1::ENGAGEMENT_KIND_OPENED:
          return profile->MessageOpened(message_id, at);
        default:
          return profile->MessageActed(message_id, at);
      }
    };
  };
  return p;
}

absl::StatusOr<PreparedEvent> PrepareCartUpdated(const v1::CartUpdated& e,
                                                 absl::string_view prefix) {
  absl::StatusOr<PreparedEvent> p = Start(e.customer_id(), prefix);
  if (!p.ok()) return p;
  if (absl::Status s = ValidateAmount(e.value(), prefix, "value", 0); !s.ok()) return s;
  if (absl::Status s = ValidateCategories(e.categories(), prefix, "categories"); !s.ok()) return s;
  absl::StatusOr<absl::Time> at =
      RequiredTime(e.has_updated_at(), e.updated_at(), prefix, "updated_at");
  if (!at.ok()) return at.status();
  p->category_names.assign(e.categories().begin(), e.categories().end());
  p->mutation = [at = *at,
                 value = e.value()](const std::vector<engine::CategoryId>& ids) -> ProfileMutation {
    return [at, value, ids](engine::Profile* profile) {
      return profile->UpdateCart(at, value, ids);
    };
  };
  return p;
}

absl::StatusOr<PreparedEvent> PrepareCartConverted(const v1::CartConverted& e,
                                                   absl::string_view prefix) {
  absl::StatusOr<PreparedEvent> p = Start(e.customer_id(), prefix);
  if (!p.ok()) return p;
  if (e.order_id().size() > kMaxEventIdBytes) {
    return Invalid(prefix, "order_id", absl::StrCat("at most ", kMaxEventIdBytes, " bytes"));
  }
  absl::StatusOr<absl::Time> at =
      RequiredTime(e.has_converted_at(), e.converted_at(), prefix, "converted_at");
  if (!at.ok()) return at.status();
  p->mutation = [at = *at](const std::vector<engine::CategoryId>&) -> ProfileMutation {
    return [at](engine::Profile* profile) { return profile->ConvertCart(at); };
  };
  return p;
}

absl::StatusOr<PreparedEvent> PrepareActivity(const v1::ActivityRecorded& e,
                                              absl::string_view prefix) {
  absl::StatusOr<PreparedEvent> p = Start(e.customer_id(), prefix);
  if (!p.ok()) return p;
  absl::StatusOr<absl::Time> at =
      RequiredTime(e.has_occurred_at(), e.occurred_at(), prefix, "occurred_at");
  if (!at.ok()) return at.status();
  p->mutation = [at = *at](const std::vector<engine::CategoryId>&) -> ProfileMutation {
    return [at](engine::Profile* profile) { return profile->RecordActivity(at); };
  };
  return p;
}

absl::StatusOr<PreparedEvent> PrepareEvent(const v1::Event& event, absl::string_view prefix) {
  switch (event.kind_case()) {
    case v1::Event::kCustomerRegistered:
      return PrepareCustomerRegistered(event.customer_registered(),
                                       absl::StrCat(prefix, "customer_registered."));
    case v1::Event::kOrderPlaced:
      return PrepareOrderPlaced(event.order_placed(), absl::StrCat(prefix, "order_placed."));
    case v1::Event::kOrderCancelled:
      return PrepareOrderCancelled(event.order_cancelled(),
                                   absl::StrCat(prefix, "order_cancelled."));
    case v1::Event::kOrderRefunded:
      return PrepareOrderRefunded(event.order_refunded(), absl::StrCat(prefix, "order_refunded."));
    case v1::Event::kEngagement:
      return PrepareEngagement(event.engagement(), absl::StrCat(prefix, "engagement."));
    case v1::Event::kCartUpdated:
      return PrepareCartUpdated(event.cart_updated(), absl::StrCat(prefix, "cart_updated."));
    case v1::Event::kCartConverted:
      return PrepareCartConverted(event.cart_converted(), absl::StrCat(prefix, "cart_converted."));
    case v1::Event::kActivity:
      return PrepareActivity(event.activity(), absl::StrCat(prefix, "activity."));
    case v1::Event::KIND_NOT_SET:
      break;
  }
  return Invalid(prefix, "kind", "exactly one event kind is required");
}

v1::ItemOutcome ItemOutcomeProto(engine::EventOutcome outcome) {
  switch (outcome) {
    case engine::EventOutcome::kApplied:
      return v1::ITEM_OUTCOME_APPLIED;
    case engine::EventOutcome::kDuplicate:
      return v1::ITEM_OUTCOME_DUPLICATE;
    case engine::EventOutcome::kIgnored:
      return v1::ITEM_OUTCOME_IGNORED;
  }
  return v1::ITEM_OUTCOME_UNSPECIFIED;
}

}  // namespace segmentd

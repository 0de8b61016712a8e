#include "server/services/ingest_service.h"

#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "server/field_error.h"
#include "server/grpc_status.h"
#include "server/services/event_conversion.h"

namespace segmentd {
namespace {

v1::ItemOutcome ToProto(engine::EventOutcome outcome) {
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

// The one Prepare* function for each event message type.
absl::StatusOr<PreparedEvent> Prepare(const v1::CustomerRegistered& e, absl::string_view p) {
  return PrepareCustomerRegistered(e, p);
}
absl::StatusOr<PreparedEvent> Prepare(const v1::OrderPlaced& e, absl::string_view p) {
  return PrepareOrderPlaced(e, p);
}
absl::StatusOr<PreparedEvent> Prepare(const v1::OrderCancelled& e, absl::string_view p) {
  return PrepareOrderCancelled(e, p);
}
absl::StatusOr<PreparedEvent> Prepare(const v1::OrderRefunded& e, absl::string_view p) {
  return PrepareOrderRefunded(e, p);
}
absl::StatusOr<PreparedEvent> Prepare(const v1::EngagementEvent& e, absl::string_view p) {
  return PrepareEngagement(e, p);
}
absl::StatusOr<PreparedEvent> Prepare(const v1::CartUpdated& e, absl::string_view p) {
  return PrepareCartUpdated(e, p);
}
absl::StatusOr<PreparedEvent> Prepare(const v1::CartConverted& e, absl::string_view p) {
  return PrepareCartConverted(e, p);
}
absl::StatusOr<PreparedEvent> Prepare(const v1::ActivityRecorded& e, absl::string_view p) {
  return PrepareActivity(e, p);
}

}  // namespace

IngestServiceImpl::IngestServiceImpl(Authenticator* authenticator, TenantContexts* contexts,
                                     LiveMembership* live, Metrics* metrics)
    : contexts_(contexts),
      live_(live),
      metrics_(metrics),
      authorizer_(authenticator, v1::IngestService::service_full_name()),
      batcher_(live, ApplyBatcher::Options()) {}

template <typename Event>
grpc::ServerUnaryReactor* IngestServiceImpl::ApplyOne(grpc::CallbackServerContext* context,
                                                      absl::string_view method, const Event& event,
                                                      bool has_event, v1::IngestResult* result) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  absl::StatusOr<Caller> caller = authorizer_.Authorize(*context, method);
  absl::Status s = caller.status();
  if (s.ok() && !has_event) s = absl::InvalidArgumentError("event: is required");
  absl::StatusOr<PreparedEvent> prepared = absl::UnknownError("not prepared");
  if (s.ok()) {
    prepared = Prepare(event, "event.");
    s = prepared.status();
  }
  // Usually no store round trip: categories the tenant already has are known.
  absl::StatusOr<std::vector<engine::CategoryId>> ids = std::vector<engine::CategoryId>();
  if (s.ok()) {
    ids = contexts_->InternCategories(caller->tenant_id, prepared->category_names);
    s = ids.status();
  }
  if (!s.ok()) {
    if (caller.ok() && !prepared.ok() && metrics_ != nullptr) metrics_->CountRejectedEvent();
    reactor->Finish(ToGrpcStatus(s));
    return reactor;
  }
  CustomerEvents events{prepared->customer_id, {prepared->mutation(*ids)}};
  // `result` lives until Finish; the continuation runs once.
  batcher_.Submit(caller->tenant_id, std::move(events),
                  [reactor, result, metrics = metrics_, prefix = std::move(prepared->field_prefix)](
                      absl::StatusOr<CustomerOutcome> outcome) {
                    if (!outcome.ok() || !outcome->commit.ok()) {
                      reactor->Finish(
                          ToGrpcStatus(outcome.ok() ? outcome->commit : outcome.status()));
                      return;
                    }
                    // A unary call that is refused fails as a whole, with the
                    // engine's reason.
                    const EventResult& event = outcome->events[0];
                    if (!event.status.ok()) {
                      if (metrics != nullptr) metrics->CountRejectedEvent();
                      reactor->Finish(ToGrpcStatus(ScopeFieldError(event.status, prefix)));
                      return;
                    }
                    if (metrics != nullptr) metrics->CountEvent(event.outcome);
                    result->set_outcome(ToProto(event.outcome));
                    MembershipToProto(outcome->after.membership, *outcome->after.category_names,
                                      result->mutable_membership());
                    reactor->Finish(grpc::Status::OK);
                  });
  return reactor;
}

grpc::ServerUnaryReactor* IngestServiceImpl::RegisterCustomer(
    grpc::CallbackServerContext* context, const v1::RegisterCustomerRequest* request,
    v1::RegisterCustomerResponse* response) {
  return ApplyOne(context, "RegisterCustomer", request->event(), request->has_event(),
                  response->mutable_result());
}

grpc::ServerUnaryReactor* IngestServiceImpl::PlaceOrder(grpc::CallbackServerContext* context,
                                                        const v1::PlaceOrderRequest* request,
                                                        v1::PlaceOrderResponse* response) {
  return ApplyOne(context, "PlaceOrder", request->event(), request->has_event(),
                  response->mutable_result());
}

grpc::ServerUnaryReactor* IngestServiceImpl::CancelOrder(grpc::CallbackServerContext* context,
                                                         const v1::CancelOrderRequest* request,
                                                         v1::CancelOrderResponse* response) {
  return ApplyOne(context, "CancelOrder", request->event(), request->has_event(),
                  response->mutable_result());
}

grpc::ServerUnaryReactor* IngestServiceImpl::RefundOrder(grpc::CallbackServerContext* context,
                                                         const v1::RefundOrderRequest* request,
                                                         v1::RefundOrderResponse* response) {
  return ApplyOne(context, "RefundOrder", request->event(), request->has_event(),
                  response->mutable_result());
}

grpc::ServerUnaryReactor* IngestServiceImpl::RecordEngagement(
    grpc::CallbackServerContext* context, const v1::RecordEngagementRequest* request,
    v1::RecordEngagementResponse* response) {
  return ApplyOne(context, "RecordEngagement", request->event(), request->has_event(),
                  response->mutable_result());
}

grpc::ServerUnaryReactor* IngestServiceImpl::UpdateCart(grpc::CallbackServerContext* context,
                                                        const v1::UpdateCartRequest* request,
                                                        v1::UpdateCartResponse* response) {
  return ApplyOne(context, "UpdateCart", request->event(), request->has_event(),
                  response->mutable_result());
}

grpc::ServerUnaryReactor* IngestServiceImpl::ConvertCart(grpc::CallbackServerContext* context,
                                                         const v1::ConvertCartRequest* request,
                                                         v1::ConvertCartResponse* response) {
  return ApplyOne(context, "ConvertCart", request->event(), request->has_event(),
                  response->mutable_result());
}

grpc::ServerUnaryReactor* IngestServiceImpl::RecordActivity(
    grpc::CallbackServerContext* context, const v1::RecordActivityRequest* request,
    v1::RecordActivityResponse* response) {
  return ApplyOne(context, "RecordActivity", request->event(), request->has_event(),
                  response->mutable_result());
}

absl::Status IngestServiceImpl::ApplyBatch(const std::string& tenant,
                                           const v1::BulkIngestRequest& request,
                                           v1::BulkIngestResponse* response) {
  if (request.events_size() > kMaxBulkEvents) {
    return absl::InvalidArgumentError(absl::StrCat("events: at most ", kMaxBulkEvents,
                                                   " per request, got ", request.events_size()));
  }
  const int n = request.events_size();
  std::vector<absl::Status> errors(n);
  std::vector<engine::EventOutcome> outcomes(n, engine::EventOutcome::kApplied);
  std::vector<absl::StatusOr<PreparedEvent>> prepared;
  prepared.reserve(n);
  std::vector<std::string> names;
  for (int i = 0; i < n; ++i) {
    prepared.push_back(PrepareEvent(request.events(i), absl::StrCat("events[", i, "].")));
    if (!prepared.back().ok()) {
      errors[i] = prepared.back().status();
      continue;
    }
    names.insert(names.end(), prepared.back()->category_names.begin(),
                 prepared.back()->category_names.end());
  }
  absl::StatusOr<std::vector<engine::CategoryId>> ids = contexts_->InternCategories(tenant, names);
  if (!ids.ok()) return ids.status();

  // Group by customer, keeping each customer's events in stream order.
  std::vector<CustomerEvents> customers;
  std::vector<std::vector<int>> event_index;  // per customer: batch indexes
  absl::flat_hash_map<std::string, size_t> slot;
  size_t next_id = 0;
  for (int i = 0; i < n; ++i) {
    if (!prepared[i].ok()) continue;
    const size_t count = prepared[i]->category_names.size();
    std::vector<engine::CategoryId> event_ids(ids->begin() + next_id,
                                              ids->begin() + next_id + count);
    next_id += count;
    auto [it, inserted] = slot.try_emplace(prepared[i]->customer_id, customers.size());
    if (inserted) {
      customers.push_back(CustomerEvents{prepared[i]->customer_id, {}});
      event_index.emplace_back();
    }
    customers[it->second].mutations.push_back(prepared[i]->mutation(event_ids));
    event_index[it->second].push_back(i);
  }
  absl::StatusOr<std::vector<CustomerOutcome>> applied = live_->Apply(tenant, std::move(customers));
  if (!applied.ok()) return applied.status();
  // A batch is acknowledged whole: a customer that could not be committed
  // fails it, and the client re-sends it (events are idempotent).
  for (const CustomerOutcome& c : *applied) {
    if (!c.commit.ok()) return c.commit;
  }
  for (size_t c = 0; c < applied->size(); ++c) {
    for (size_t e = 0; e < event_index[c].size(); ++e) {
      const int i = event_index[c][e];
      errors[i] = ScopeFieldError((*applied)[c].events[e].status, prepared[i]->field_prefix);
      outcomes[i] = (*applied)[c].events[e].outcome;
    }
  }

  for (int i = 0; i < n; ++i) {
    if (metrics_ != nullptr) {
      if (errors[i].ok()) {
        metrics_->CountEvent(outcomes[i]);
      } else {
        metrics_->CountRejectedEvent();
      }
    }
    if (!errors[i].ok()) {
      v1::BulkItemResult* item = response->add_results();
      item->set_index(i);
      item->set_outcome(v1::ITEM_OUTCOME_REJECTED);
      item->mutable_error()->set_code(static_cast<int>(errors[i].code()));
      item->mutable_error()->set_field(FieldOf(errors[i]));
      item->mutable_error()->set_message(std::string(errors[i].message()));
      response->set_rejected(response->rejected() + 1);
    } else if (outcomes[i] != engine::EventOutcome::kApplied) {
      v1::BulkItemResult* item = response->add_results();
      item->set_index(i);
      item->set_outcome(ToProto(outcomes[i]));
      if (outcomes[i] == engine::EventOutcome::kDuplicate) {
        response->set_duplicates(response->duplicates() + 1);
      } else {
        response->set_ignored(response->ignored() + 1);
      }
    } else {
      response->set_applied(response->applied() + 1);
    }
  }
  return absl::OkStatus();
}

grpc::Status IngestServiceImpl::BulkIngest(
    grpc::ServerContext* context,
    grpc::ServerReaderWriter<v1::BulkIngestResponse, v1::BulkIngestRequest>* stream) {
  absl::StatusOr<Caller> caller = authorizer_.Authorize(*context, "BulkIngest");
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  v1::BulkIngestRequest request;
  while (stream->Read(&request)) {
    v1::BulkIngestResponse response;
    if (absl::Status s = ApplyBatch(caller->tenant_id, request, &response); !s.ok()) {
      return ToGrpcStatus(s);
    }
    if (!stream->Write(response)) break;  // the client went away
  }
  return grpc::Status::OK;
}

}  // namespace segmentd

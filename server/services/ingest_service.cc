#include "server/services/ingest_service.h"

#include <google/protobuf/descriptor.h>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/method_handler.h>

#include <utility>

#include "server/callback_offload.h"
#include "server/field_error.h"
#include "server/grpc_status.h"
#include "server/services/bulk_batch.h"
#include "server/services/event_conversion.h"

namespace segmentd {
namespace {

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

// Why request `index` of a BulkIngest stream ends the stream: it and the
// requests after it are not applied.
absl::Status RequestRefused(int64_t index, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(
      "request ", index, " of this stream (counting from 0): ", why,
      "; neither it nor any later request was applied, the earlier ones were as answered"));
}

}  // namespace

IngestServiceImpl::IngestServiceImpl(Authenticator* authenticator, TenantContexts* contexts,
                                     LiveMembership* live, Metrics* metrics,
                                     int max_bulk_streams_per_tenant)
    : contexts_(contexts),
      live_(live),
      metrics_(metrics),
      authorizer_(authenticator, v1::IngestService::service_full_name()),
      bulk_streams_(max_bulk_streams_per_tenant),
      batcher_(live, ApplyBatcher::Options()) {
  // gRPC's method index is the method's place in the proto service.
  const int bulk_ingest = v1::BulkIngestRequest::descriptor()
                              ->file()
                              ->FindServiceByName("IngestService")
                              ->FindMethodByName("BulkIngest")
                              ->index();
  MarkMethodStreamed(bulk_ingest,
                     new grpc::internal::BidiStreamingHandler<IngestServiceImpl, grpc::ByteBuffer,
                                                              v1::BulkIngestResponse>(
                         &IngestServiceImpl::BulkIngestBytes, this));
}

template <typename Event>
grpc::ServerUnaryReactor* IngestServiceImpl::ApplyOne(grpc::CallbackServerContext* context,
                                                      absl::string_view method, const Event& event,
                                                      bool has_event, v1::IngestResult* result) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  // Answered on gRPC's callback thread only when that needs no store read
  // (the key cached, the categories known): a thread waiting on a hung Redis
  // there would hold up every callback method, the health check included.
  std::optional<absl::StatusOr<Caller>> cached = authorizer_.AuthorizeCached(*context, method);
  if (cached.has_value()) {
    std::optional<Prepared> prepared = PrepareCached(*cached, event, has_event);
    if (prepared.has_value()) {
      Submit(reactor, *std::move(prepared), result);
      return reactor;
    }
  }
  // `event` and `result` live until Finish, which the task calls once.
  RunOffCallbackThread(
      store_waits_, context, reactor,
      absl::UnavailableError("too many calls waiting for the store to verify their API key or "
                             "categories; retry later"),
      [this, context, reactor, method, &event, has_event, result] {
        Submit(reactor, PrepareReading(authorizer_.Authorize(*context, method), event, has_event),
               result);
      });
  return reactor;
}

template <typename Event>
std::optional<IngestServiceImpl::Prepared> IngestServiceImpl::PrepareCached(
    const absl::StatusOr<Caller>& caller, const Event& event, bool has_event) {
  Prepared out = Validate(caller, event, has_event);
  if (!out.status.ok() || out.event.category_names.empty()) return out;
  std::optional<std::vector<engine::CategoryId>> ids =
      contexts_->KnownCategoryIds(out.caller.tenant_id, out.event.category_names);
  if (!ids.has_value()) return std::nullopt;
  out.category_ids = *std::move(ids);
  return out;
}

template <typename Event>
IngestServiceImpl::Prepared IngestServiceImpl::PrepareReading(const absl::StatusOr<Caller>& caller,
                                                              const Event& event, bool has_event) {
  Prepared out = Validate(caller, event, has_event);
  if (!out.status.ok() || out.event.category_names.empty()) return out;
  // Usually no store round trip: categories the tenant already has are known.
  absl::StatusOr<std::vector<engine::CategoryId>> ids =
      contexts_->InternCategories(out.caller.tenant_id, out.event.category_names);
  out.status = ScopeFieldError(ids.status(), out.event.field_prefix);
  if (ids.ok()) out.category_ids = *std::move(ids);
  return out;
}

template <typename Event>
IngestServiceImpl::Prepared IngestServiceImpl::Validate(const absl::StatusOr<Caller>& caller,
                                                        const Event& event, bool has_event) {
  Prepared out;
  out.status = caller.status();
  if (!out.status.ok()) return out;
  out.caller = *caller;
  absl::StatusOr<PreparedEvent> prepared =
      has_event ? Prepare(event, "event.") : absl::InvalidArgumentError("event: is required");
  if (!prepared.ok()) {
    out.status = prepared.status();
    if (metrics_ != nullptr) metrics_->CountRejectedEvent();
    return out;
  }
  out.event = *std::move(prepared);
  return out;
}

void IngestServiceImpl::Submit(grpc::ServerUnaryReactor* reactor, Prepared prepared,
                               v1::IngestResult* result) {
  if (!prepared.status.ok()) {
    reactor->Finish(ToGrpcStatus(prepared.status));
    return;
  }
  CustomerEvents events{prepared.event.customer_id,
                        {prepared.event.mutation(prepared.category_ids)}};
  // `result` lives until Finish; the continuation runs once.
  batcher_.Submit(prepared.caller.tenant_id, std::move(events),
                  [reactor, result, metrics = metrics_,
                   prefix = std::move(prepared.event.field_prefix)](
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
                    result->set_outcome(ItemOutcomeProto(event.outcome));
                    MembershipToProto(outcome->after.membership, *outcome->after.category_names,
                                      result->mutable_membership());
                    reactor->Finish(grpc::Status::OK);
                  });
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

grpc::Status IngestServiceImpl::BulkIngestBytes(
    grpc::ServerContext* context,
    grpc::ServerReaderWriter<v1::BulkIngestResponse, grpc::ByteBuffer>* stream) {
  absl::StatusOr<Caller> caller = authorizer_.Authorize(*context, "BulkIngest");
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  // Each open stream holds a server thread: one tenant's must not take them
  // all (a reviewer held 255 idle streams with one write key, and every
  // other tenant's sync calls failed RESOURCE_EXHAUSTED).
  const TenantSlots::Slot slot = bulk_streams_.Take(caller->tenant_id);
  if (!slot.held()) {
    return ToGrpcStatus(absl::ResourceExhaustedError(absl::StrCat(
        "tenant ", caller->tenant_id, " already has ", bulk_streams_.per_tenant(),
        " BulkIngest streams open, the most allowed (--max_bulk_streams_per_tenant): send more "
        "batches on an open stream instead")));
  }
  // An import can keep its stream open for many minutes: a key revoked
  // meanwhile must not go on writing.
  StreamReauthorizer still_authorized(authorizer_, *context, "BulkIngest", absl::Seconds(1));
  grpc::ByteBuffer bytes;
  for (int64_t index = 0; stream->Read(&bytes); ++index) {
    if (absl::Status s = still_authorized.Check(); !s.ok()) return ToGrpcStatus(s);
    v1::BulkIngestRequest request;
    if (!grpc::SerializationTraits<v1::BulkIngestRequest>::Deserialize(&bytes, &request).ok()) {
      return ToGrpcStatus(
          RequestRefused(index, "not a BulkIngestRequest (e.g. a string field that is not UTF-8)"));
    }
    v1::BulkIngestResponse response;
    if (absl::Status s =
            ApplyBulkBatch(contexts_, live_, metrics_, caller->tenant_id, request, &response);
        !s.ok()) {
      // A request refused whole (too many events) ends the stream like an
      // undecodable one: say which, and that nothing from it on was applied.
      if (s.code() == absl::StatusCode::kInvalidArgument) s = RequestRefused(index, s.message());
      return ToGrpcStatus(s);
    }
    if (!stream->Write(response)) break;  // the client went away
  }
  return grpc::Status::OK;
}

}  // namespace segmentd

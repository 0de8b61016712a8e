#ifndef SEGMENTD_SERVER_SERVICES_INGEST_SERVICE_H_
#define SEGMENTD_SERVER_SERVICES_INGEST_SERVICE_H_

#include <optional>
#include <vector>

#include "segmentd/v1/ingest.grpc.pb.h"
#include "server/auth/call_authorizer.h"
#include "server/bounded_executor.h"
#include "server/live/apply_batcher.h"
#include "server/live/live_membership.h"
#include "server/live/tenant_context.h"
#include "server/metrics/metrics.h"
#include "server/services/event_conversion.h"
#include "server/tenant_slots.h"

namespace segmentd {

// The unary event methods are callback methods: they hold no thread while
// their event waits to be committed (ApplyBatcher, group commit).
using IngestServiceBase = v1::IngestService::WithCallbackMethod_RegisterCustomer<
    v1::IngestService::WithCallbackMethod_PlaceOrder<
        v1::IngestService::WithCallbackMethod_CancelOrder<
            v1::IngestService::WithCallbackMethod_RefundOrder<
                v1::IngestService::WithCallbackMethod_RecordEngagement<
                    v1::IngestService::WithCallbackMethod_UpdateCart<
                        v1::IngestService::WithCallbackMethod_ConvertCart<
                            v1::IngestService::WithCallbackMethod_RecordActivity<
                                v1::IngestService::Service>>>>>>>>;

// segmentd.v1.IngestService: events in, membership out. Each accepted event is
// committed (facts, membership, schedule, change stream) before it is
// acknowledged; concurrent single events are committed together. Thread-safe.
class IngestServiceImpl final : public IngestServiceBase {
 public:
  // Every pointer must outlive the service.
  // `metrics` (may be null) counts every event's outcome.
  // `max_bulk_streams_per_tenant`: BulkIngest streams one tenant may have
  // open at once (each holds a server thread while it lasts).
  IngestServiceImpl(Authenticator* authenticator, TenantContexts* contexts, LiveMembership* live,
                    Metrics* metrics = nullptr, int max_bulk_streams_per_tenant = 8);

  grpc::ServerUnaryReactor* RegisterCustomer(grpc::CallbackServerContext* context,
                                             const v1::RegisterCustomerRequest* request,
                                             v1::RegisterCustomerResponse* response) override;
  grpc::ServerUnaryReactor* PlaceOrder(grpc::CallbackServerContext* context,
                                       const v1::PlaceOrderRequest* request,
                                       v1::PlaceOrderResponse* response) override;
  grpc::ServerUnaryReactor* CancelOrder(grpc::CallbackServerContext* context,
                                        const v1::CancelOrderRequest* request,
                                        v1::CancelOrderResponse* response) override;
  grpc::ServerUnaryReactor* RefundOrder(grpc::CallbackServerContext* context,
                                        const v1::RefundOrderRequest* request,
                                        v1::RefundOrderResponse* response) override;
  grpc::ServerUnaryReactor* RecordEngagement(grpc::CallbackServerContext* context,
                                             const v1::RecordEngagementRequest* request,
                                             v1::RecordEngagementResponse* response) override;
  grpc::ServerUnaryReactor* UpdateCart(grpc::CallbackServerContext* context,
                                       const v1::UpdateCartRequest* request,
                                       v1::UpdateCartResponse* response) override;
  grpc::ServerUnaryReactor* ConvertCart(grpc::CallbackServerContext* context,
                                        const v1::ConvertCartRequest* request,
                                        v1::ConvertCartResponse* response) override;
  grpc::ServerUnaryReactor* RecordActivity(grpc::CallbackServerContext* context,
                                           const v1::RecordActivityRequest* request,
                                           v1::RecordActivityResponse* response) override;
  // BulkIngest reads its requests as bytes and parses each itself (the
  // constructor installs this handler): gRPC's own parse failure ends a sync
  // stream's Read() exactly as the client's half-close does, so the call
  // would end OK with an undecodable batch, and every batch after it,
  // silently dropped (a reviewer's finding, 2026-12-06). Such a batch fails
  // the stream INVALID_ARGUMENT instead.
  grpc::Status BulkIngestBytes(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<v1::BulkIngestResponse, grpc::ByteBuffer>* stream);

 private:
  // One unary event, authorized and validated, ready for the batcher.
  struct Prepared {
    absl::Status status;  // not OK: the call's answer
    Caller caller;
    PreparedEvent event;
    std::vector<engine::CategoryId> category_ids;
  };

  // Authorizes and validates one event, then commits it through the batcher;
  // fills `result` and finishes the call. Whatever needs a store read first
  // runs on `store_waits_`, never on gRPC's callback thread.
  template <typename Event>
  grpc::ServerUnaryReactor* ApplyOne(grpc::CallbackServerContext* context, absl::string_view method,
                                     const Event& event, bool has_event, v1::IngestResult* result);
  // Prepared from what is cached; nullopt when that needs a store read.
  template <typename Event>
  std::optional<Prepared> PrepareCached(const absl::StatusOr<Caller>& caller, const Event& event,
                                        bool has_event);
  // Prepared, interning the event's new categories (may read the store).
  template <typename Event>
  Prepared PrepareReading(const absl::StatusOr<Caller>& caller, const Event& event, bool has_event);
  // The caller's status, then the event's validation.
  template <typename Event>
  Prepared Validate(const absl::StatusOr<Caller>& caller, const Event& event, bool has_event);
  // Hands a prepared event to the batcher, or finishes with its error.
  void Submit(grpc::ServerUnaryReactor* reactor, Prepared prepared, v1::IngestResult* result);

  TenantContexts* const contexts_;
  LiveMembership* const live_;
  Metrics* const metrics_;  // may be null
  const CallAuthorizer authorizer_;
  TenantSlots bulk_streams_;
  ApplyBatcher batcher_;
  // Calls whose API key or categories need a store read (2 s at most each,
  // the store's command timeout); past 256 waiting, UNAVAILABLE at once.
  // Last: its destructor runs the calls still queued, which use the batcher.
  BoundedExecutor store_waits_{/*threads=*/2, /*max_queued=*/256};
};

}  // namespace segmentd

#endif  // SEGMENTD_SERVER_SERVICES_INGEST_SERVICE_H_

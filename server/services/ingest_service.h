#ifndef SEGMENTD_SERVER_SERVICES_INGEST_SERVICE_H_
#define SEGMENTD_SERVER_SERVICES_INGEST_SERVICE_H_

#include "segmentd/v1/ingest.grpc.pb.h"
#include "server/auth/call_authorizer.h"
#include "server/live/apply_batcher.h"
#include "server/live/live_membership.h"
#include "server/live/tenant_context.h"
#include "server/metrics/metrics.h"

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
  IngestServiceImpl(Authenticator* authenticator, TenantContexts* contexts, LiveMembership* live,
                    Metrics* metrics = nullptr);

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
  grpc::Status BulkIngest(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<v1::BulkIngestResponse, v1::BulkIngestRequest>* stream) override;

 private:
  // Authorizes and validates one event, then commits it through the batcher;
  // fills `result` and finishes the call.
  template <typename Event>
  grpc::ServerUnaryReactor* ApplyOne(grpc::CallbackServerContext* context, absl::string_view method,
                                     const Event& event, bool has_event, v1::IngestResult* result);

  TenantContexts* const contexts_;
  LiveMembership* const live_;
  Metrics* const metrics_;  // may be null
  const CallAuthorizer authorizer_;
  // Last: its destructor answers calls still queued.
  ApplyBatcher batcher_;
};

}  // namespace segmentd

#endif  // SEGMENTD_SERVER_SERVICES_INGEST_SERVICE_H_

#ifndef SEGMENTD_SERVER_SERVICES_INGEST_SERVICE_H_
#define SEGMENTD_SERVER_SERVICES_INGEST_SERVICE_H_

#include "segmentd/v1/ingest.grpc.pb.h"
#include "server/auth/call_authorizer.h"
#include "server/live/live_membership.h"
#include "server/live/tenant_context.h"

namespace segmentd {

// Most events in one BulkIngest request message.
inline constexpr int kMaxBulkEvents = 1000;

// segmentd.v1.IngestService: events in, membership out. Each accepted event is
// committed (facts, membership, schedule, change stream) before it is
// acknowledged. Thread-safe.
class IngestServiceImpl final : public v1::IngestService::Service {
 public:
  // Every pointer must outlive the service.
  IngestServiceImpl(Authenticator* authenticator, TenantContexts* contexts, LiveMembership* live);

  grpc::Status RegisterCustomer(grpc::ServerContext* context,
                                const v1::RegisterCustomerRequest* request,
                                v1::RegisterCustomerResponse* response) override;
  grpc::Status PlaceOrder(grpc::ServerContext* context, const v1::PlaceOrderRequest* request,
                          v1::PlaceOrderResponse* response) override;
  grpc::Status CancelOrder(grpc::ServerContext* context, const v1::CancelOrderRequest* request,
                           v1::CancelOrderResponse* response) override;
  grpc::Status RefundOrder(grpc::ServerContext* context, const v1::RefundOrderRequest* request,
                           v1::RefundOrderResponse* response) override;
  grpc::Status RecordEngagement(grpc::ServerContext* context,
                                const v1::RecordEngagementRequest* request,
                                v1::RecordEngagementResponse* response) override;
  grpc::Status UpdateCart(grpc::ServerContext* context, const v1::UpdateCartRequest* request,
                          v1::UpdateCartResponse* response) override;
  grpc::Status ConvertCart(grpc::ServerContext* context, const v1::ConvertCartRequest* request,
                           v1::ConvertCartResponse* response) override;
  grpc::Status RecordActivity(grpc::ServerContext* context,
                              const v1::RecordActivityRequest* request,
                              v1::RecordActivityResponse* response) override;
  grpc::Status BulkIngest(
      grpc::ServerContext* context,
      grpc::ServerReaderWriter<v1::BulkIngestResponse, v1::BulkIngestRequest>* stream) override;

 private:
  // Authorizes, applies one prepared event and fills `result`.
  template <typename Event>
  grpc::Status ApplyOne(const grpc::ServerContext& context, absl::string_view method,
                        const Event& event, bool has_event, v1::IngestResult* result);

  // Applies one bulk batch for `tenant` and fills `response`.
  absl::Status ApplyBatch(const std::string& tenant, const v1::BulkIngestRequest& request,
                          v1::BulkIngestResponse* response);

  TenantContexts* const contexts_;
  LiveMembership* const live_;
  const CallAuthorizer authorizer_;
};

}  // namespace segmentd

#endif  // SEGMENTD_SERVER_SERVICES_INGEST_SERVICE_H_

#ifndef SEGMENTD_SERVER_SERVICES_INSIGHTS_SERVICE_H_
#define SEGMENTD_SERVER_SERVICES_INSIGHTS_SERVICE_H_

#include "segmentd/v1/insights.grpc.pb.h"
#include "server/auth/call_authorizer.h"
#include "server/live/tenant_context.h"
#include "store/customer_store.h"

namespace segmentd {

// segmentd.v1.InsightsService: per-segment KPIs over a period and flows between
// primary segments, from one pass over the tenant's customers and their
// membership histories (docs/insights.md: definitions, cost). Voucher
// redemptions need voucher targeting and answer UNIMPLEMENTED until it lands.
// Thread-safe.
class InsightsServiceImpl final : public v1::InsightsService::Service {
 public:
  // Every pointer must outlive the service.
  InsightsServiceImpl(Authenticator* authenticator, store::CustomerStore* store,
                      TenantContexts* contexts);

  grpc::Status GetSegmentKpis(grpc::ServerContext* context,
                              const v1::GetSegmentKpisRequest* request,
                              v1::GetSegmentKpisResponse* response) override;
  grpc::Status GetSegmentFlows(grpc::ServerContext* context,
                               const v1::GetSegmentFlowsRequest* request,
                               v1::GetSegmentFlowsResponse* response) override;

 private:
  store::CustomerStore* const store_;
  TenantContexts* const contexts_;
  const CallAuthorizer authorizer_;
};

}  // namespace segmentd

#endif  // SEGMENTD_SERVER_SERVICES_INSIGHTS_SERVICE_H_

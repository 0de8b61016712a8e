#ifndef SEGMENTD_SERVER_SERVICES_INSIGHTS_SERVICE_H_
#define SEGMENTD_SERVER_SERVICES_INSIGHTS_SERVICE_H_

#include <functional>

#include "segmentd/v1/insights.grpc.pb.h"
#include "server/auth/call_authorizer.h"
#include "server/insights/redemption_store.h"
#include "server/live/tenant_context.h"
#include "server/targeting/arm_cache.h"
#include "server/targeting/membership_index.h"
#include "server/targeting/targets_at.h"
#include "server/targeting/voucher_store.h"
#include "store/customer_store.h"

namespace segmentd {

// segmentd.v1.InsightsService: per-segment KPIs over a period and flows between
// primary segments, from one pass over the tenant's customers and their
// membership histories; voucher redemptions and conversion per A/B arm
// (docs/insights.md: definitions, cost). Thread-safe.
class InsightsServiceImpl final : public v1::InsightsService::Service {
 public:
  // Every pointer must outlive the service.
  InsightsServiceImpl(Authenticator* authenticator, store::CustomerStore* store,
                      TenantContexts* contexts, targeting::VoucherStore* vouchers,
                      targeting::MembershipIndex* index, targeting::ArmCache* arm_cache,
                      RedemptionStore* redemptions, targeting::SegmentsAt segments_at,
                      std::function<absl::Time()> now);

  grpc::Status GetSegmentKpis(grpc::ServerContext* context,
                              const v1::GetSegmentKpisRequest* request,
                              v1::GetSegmentKpisResponse* response) override;
  grpc::Status GetSegmentFlows(grpc::ServerContext* context,
                               const v1::GetSegmentFlowsRequest* request,
                               v1::GetSegmentFlowsResponse* response) override;
  grpc::Status RecordRedemption(grpc::ServerContext* context,
                                const v1::RecordRedemptionRequest* request,
                                v1::RecordRedemptionResponse* response) override;
  grpc::Status GetVoucherStats(grpc::ServerContext* context,
                               const v1::GetVoucherStatsRequest* request,
                               v1::GetVoucherStatsResponse* response) override;

 private:
  store::CustomerStore* const store_;
  TenantContexts* const contexts_;
  targeting::VoucherStore* const vouchers_;
  targeting::MembershipIndex* const index_;
  targeting::ArmCache* const arm_cache_;
  RedemptionStore* const redemptions_;
  // GetVoucherStats at an explicit as_of (targets_at.h).
  const targeting::SegmentsAt segments_at_;
  const std::function<absl::Time()> now_;
  const CallAuthorizer authorizer_;
};

}  // namespace segmentd

#endif  // SEGMENTD_SERVER_SERVICES_INSIGHTS_SERVICE_H_

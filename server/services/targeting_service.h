#ifndef SEGMENTD_SERVER_SERVICES_TARGETING_SERVICE_H_
#define SEGMENTD_SERVER_SERVICES_TARGETING_SERVICE_H_

#include <functional>

#include "segmentd/v1/targeting.grpc.pb.h"
#include "server/auth/call_authorizer.h"
#include "server/targeting/freshness_gate.h"
#include "server/targeting/membership_index.h"
#include "server/targeting/voucher_store.h"

namespace segmentd {

// Most ids in one CheckEligibilityBatch call.
inline constexpr int kMaxEligibilityIds = 1000;

// segmentd.v1.TargetingService: voucher targets (expressions over segments
// with optional A/B arms) registered in Redis, resolved over the in-process
// MembershipIndex. Every answer reflects every membership change committed
// before the call began (the index's fresh read), and fails closed
// (UNAVAILABLE) when membership cannot be known. CheckEligibility, the
// checkout hot path, is a callback method: while it waits for that freshness
// (FreshnessGate) it holds no thread. Thread-safe.
class TargetingServiceImpl final
    : public v1::TargetingService::WithCallbackMethod_CheckEligibility<
          v1::TargetingService::Service> {
 public:
  // The pointers must outlive the service.
  TargetingServiceImpl(Authenticator* authenticator, targeting::VoucherStore* vouchers,
                       targeting::MembershipIndex* index, std::function<absl::Time()> now);

  grpc::Status PutVoucherTarget(grpc::ServerContext* context,
                                const v1::PutVoucherTargetRequest* request,
                                v1::PutVoucherTargetResponse* response) override;
  grpc::Status GetVoucherTarget(grpc::ServerContext* context,
                                const v1::GetVoucherTargetRequest* request,
                                v1::GetVoucherTargetResponse* response) override;
  grpc::Status ListVoucherTargets(grpc::ServerContext* context,
                                  const v1::ListVoucherTargetsRequest* request,
                                  v1::ListVoucherTargetsResponse* response) override;
  grpc::Status DeleteVoucherTarget(grpc::ServerContext* context,
                                   const v1::DeleteVoucherTargetRequest* request,
                                   v1::DeleteVoucherTargetResponse* response) override;
  grpc::Status CountTargets(grpc::ServerContext* context, const v1::CountTargetsRequest* request,
                            v1::CountTargetsResponse* response) override;
  grpc::Status StreamTargets(grpc::ServerContext* context,
                             const v1::StreamTargetsRequest* request,
                             grpc::ServerWriter<v1::StreamTargetsResponse>* writer) override;
  grpc::ServerUnaryReactor* CheckEligibility(grpc::CallbackServerContext* context,
                                             const v1::CheckEligibilityRequest* request,
                                             v1::CheckEligibilityResponse* response) override;
  grpc::Status CheckEligibilityBatch(grpc::ServerContext* context,
                                     const v1::CheckEligibilityBatchRequest* request,
                                     v1::CheckEligibilityBatchResponse* response) override;
  grpc::Status ListEligibleVouchers(grpc::ServerContext* context,
                                    const v1::ListEligibleVouchersRequest* request,
                                    v1::ListEligibleVouchersResponse* response) override;

 private:
  targeting::VoucherStore* const vouchers_;
  targeting::MembershipIndex* const index_;
  const CallAuthorizer authorizer_;
  const std::function<absl::Time()> now_;
  // Last: its destructor answers calls still waiting, using the members above.
  targeting::FreshnessGate gate_;
};

}  // namespace segmentd

#endif  // SEGMENTD_SERVER_SERVICES_TARGETING_SERVICE_H_

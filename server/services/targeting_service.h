#ifndef SEGMENTD_SERVER_SERVICES_TARGETING_SERVICE_H_
#define SEGMENTD_SERVER_SERVICES_TARGETING_SERVICE_H_

#include <functional>
#include <optional>
#include <string>

#include "segmentd/v1/targeting.grpc.pb.h"
#include "server/auth/call_authorizer.h"
#include "server/bounded_executor.h"
#include "server/targeting/arm_cache.h"
#include "server/targeting/disabled_segments.h"
#include "server/targeting/freshness_gate.h"
#include "server/targeting/membership_index.h"
#include "server/targeting/prepared_targets.h"
#include "server/targeting/targets_at.h"
#include "server/targeting/voucher_store.h"
#include "server/tenant_slots.h"

namespace segmentd {

// Most ids in one CheckEligibilityBatch call.
inline constexpr int kMaxEligibilityIds = 1000;

// segmentd.v1.TargetingService: voucher targets (expressions over segments
// with optional A/B arms) registered in Redis, resolved over the in-process
// MembershipIndex. Answers reflect every membership change committed before
// the call began (the index's fresh read) and fail closed (UNAVAILABLE) when
// membership cannot be known. CheckEligibility, the checkout hot path, is a
// callback method: by default (CONSISTENCY_MINIMIZE_LATENCY) it answers at
// once from the index when that is known current within `max_staleness`, and
// otherwise, like CONSISTENCY_FULLY_CONSISTENT, waits for that freshness
// (FreshnessGate) without holding a thread. A request with `as_of` is
// answered from the customers' stored facts classified at that instant
// (`segments_at`, targets_at.h) instead of the index, which holds current
// membership only. Thread-safe.
class TargetingServiceImpl final
    : public v1::TargetingService::WithCallbackMethod_CheckEligibility<
          v1::TargetingService::Service> {
 public:
  // The pointers must outlive the service. `max_staleness`: how old the
  // membership behind a CONSISTENCY_MINIMIZE_LATENCY check may be; zero makes
  // every check fully consistent. `max_streams_per_tenant`: StreamTargets
  // calls one tenant may have open at once (each holds a server thread while
  // it lasts, however slowly its client reads).
  TargetingServiceImpl(Authenticator* authenticator, targeting::VoucherStore* vouchers,
                       targeting::MembershipIndex* index, targeting::ArmCache* arm_cache,
                       targeting::SegmentsAt segments_at, targeting::ConfigOf config_of,
                       std::function<absl::Time()> now, absl::Duration max_staleness,
                       int max_streams_per_tenant = 8);

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
  // Runs a callback on a view of the index; returns the instant the view is
  // fresh as of, nullopt when the index declined (not known fresh), or an
  // error.
  using ViewReader = std::function<absl::StatusOr<std::optional<absl::Time>>(
      const std::function<void(const targeting::MembershipIndex::View&)>&)>;

  // Answers `request` into `out` with registered targets as of
  // `voucher_version`, over the view `read` gives. Returns false, answering
  // nothing, when `read` declined or (without `may_read`: no store read on
  // this thread) the target is not prepared at that version yet.
  absl::StatusOr<bool> AnswerCheck(const std::string& tenant,
                                   const v1::CheckEligibilityRequest& request,
                                   const std::string& voucher_version, bool may_read,
                                   ViewReader read, v1::Eligibility* out);

  // CheckEligibility once its caller is known (on gRPC's callback thread, or
  // on key_reads_ after the key was read); finishes the call.
  void CheckEligibilityAs(const absl::StatusOr<Caller>& caller,
                          grpc::CallbackServerContext* context, grpc::ServerUnaryReactor* reactor,
                          const v1::CheckEligibilityRequest* request,
                          v1::CheckEligibilityResponse* response);

  // CheckEligibility with `as_of` (runs on as_of_checks_: it waits for
  // store reads).
  absl::Status CheckEligibilityAt(const std::string& tenant,
                                  const v1::CheckEligibilityRequest& request, absl::Time as_of,
                                  v1::Eligibility* out);

  targeting::VoucherStore* const vouchers_;
  targeting::MembershipIndex* const index_;
  // Per-arm counts of split vouchers; shared with InsightsService.
  targeting::ArmCache* const arm_cache_;
  const targeting::SegmentsAt segments_at_;
  const targeting::ConfigOf config_of_;
  const CallAuthorizer authorizer_;
  const std::function<absl::Time()> now_;
  const absl::Duration max_staleness_;
  TenantSlots streams_;
  // Registered targets ready for CheckEligibility.
  targeting::PreparedTargets prepared_;
  // Its destructor answers calls still waiting, using the members above.
  targeting::FreshnessGate gate_;
  // Each tenant's CheckEligibility calls with `as_of` waiting or running: at
  // most a quarter of as_of_checks_' queue, so that one tenant's burst
  // leaves room for the others' (a reviewer's 300 at once failed another
  // tenant's checks RESOURCE_EXHAUSTED). Outlives as_of_checks_, whose
  // queued tasks hold slots.
  TenantSlots as_of_check_slots_{/*per_tenant=*/16};
  // Last: CheckEligibility calls with `as_of`, which read the store, off
  // gRPC's callback threads (the default checks' threads never block). Its
  // destructor answers the calls still queued.
  BoundedExecutor as_of_checks_{/*threads=*/2, /*max_queued=*/64};
  // Checks whose API key must be read from the store first (2 s at most
  // each, the store's command timeout); past 256 waiting, UNAVAILABLE at
  // once. Destroyed first: its queued calls may hand over to as_of_checks_.
  BoundedExecutor key_reads_{/*threads=*/2, /*max_queued=*/256};
};

}  // namespace segmentd

#endif  // SEGMENTD_SERVER_SERVICES_TARGETING_SERVICE_H_

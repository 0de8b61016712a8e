#include "server/services/insights_service.h"

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/segment.h"
#include "server/field_error.h"
#include "server/grpc_status.h"
#include "server/insights/segment_kpis.h"
#include "server/insights/tenant_scan.h"
#include "server/proto_time.h"
#include "server/services/event_conversion.h"
#include "server/targeting/arms.h"
#include "server/targeting/target_resolution.h"

namespace segmentd {
namespace {

std::string PrimaryName(const FlowAccumulator::Primary& p) {
  return p ? std::string(engine::SegmentName(*p)) : std::string();
}

// Membership is recorded as it happens, so an instant ahead of the clock has
// none yet: reading the last recorded one would report customers as still
// where they were (NEW_CUSTOMER years after their first order). A minute of
// client clock skew is let through (ending "now" by a clock slightly ahead).
absl::Status NotAhead(absl::Time t, absl::Time now, absl::string_view field) {
  if (t <= now + absl::Minutes(1)) return absl::OkStatus();
  return FieldError(field,
                    absl::StrCat("must not be more than a minute ahead of the server's clock (",
                                 absl::FormatTime(now), "), got ", absl::FormatTime(t),
                                 ": membership ahead of it is not known yet (end a period in "
                                 "progress at now)"));
}

}  // namespace

InsightsServiceImpl::InsightsServiceImpl(
    Authenticator* authenticator, store::CustomerStore* store, TenantContexts* contexts,
    targeting::VoucherStore* vouchers, targeting::MembershipIndex* index,
    targeting::ArmCache* arm_cache, RedemptionStore* redemptions, targeting::SegmentsAt segments_at,
    std::function<absl::Time()> now)
    : store_(store),
      contexts_(contexts),
      vouchers_(vouchers),
      index_(index),
      arm_cache_(arm_cache),
      redemptions_(redemptions),
      segments_at_(std::move(segments_at)),
      now_(std::move(now)),
      authorizer_(authenticator, v1::InsightsService::service_full_name()) {}

grpc::Status InsightsServiceImpl::GetSegmentKpis(grpc::ServerContext* context,
                                                 const v1::GetSegmentKpisRequest* request,
                                                 v1::GetSegmentKpisResponse* response) {
  absl::StatusOr<Caller> caller = authorizer_.Authorize(*context, "GetSegmentKpis");
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  absl::StatusOr<absl::Time> start =
      RequiredProtoTime(request->period().has_start(), request->period().start(), "period.start");
  if (!start.ok()) return ToGrpcStatus(start.status());
  absl::StatusOr<absl::Time> end =
      RequiredProtoTime(request->period().has_end(), request->period().end(), "period.end");
  if (!end.ok()) return ToGrpcStatus(end.status());
  if (*end <= *start) return ToGrpcStatus(FieldError("period.end", "must be after period.start"));
  if (absl::Status s = NotAhead(*end, now_(), "period.end"); !s.ok()) return ToGrpcStatus(s);
  std::vector<engine::Segment> segments;
  for (int i = 0; i < request->segments_size(); ++i) {
    std::optional<engine::Segment> s = engine::SegmentFromName(request->segments(i));
    if (!s) {
      return ToGrpcStatus(
          FieldError(absl::StrCat("segments[", i, "]"),
                     absl::StrCat(Excerpt(request->segments(i)),
                                  " is not a fixed segment (KPIs cover the 22 fixed segments)")));
    }
    // Named twice: answered twice, each row the same (an API reviewer's
    // finding), which a caller summing rows would count double.
    if (std::find(segments.begin(), segments.end(), *s) != segments.end()) {
      return ToGrpcStatus(FieldError(absl::StrCat("segments[", i, "]"),
                                     absl::StrCat(Excerpt(request->segments(i)), " named twice")));
    }
    segments.push_back(*s);
  }
  if (segments.empty()) {
    for (int i = 0; i < engine::kNumSegments; ++i) {
      segments.push_back(static_cast<engine::Segment>(i));
    }
  }
  KpiAccumulator kpis(*start, *end);
  absl::Status scanned =
      ForEachCustomer(store_, contexts_, caller->tenant_id, {*start, *end - absl::Milliseconds(1)},
                      [&kpis](const engine::Profile& profile, const CustomerTimeline& timeline) {
                        kpis.Add(profile.view(), timeline);
                      });
  if (!scanned.ok()) return ToGrpcStatus(scanned);
  for (engine::Segment segment : segments) {
    const SegmentTotals& t = kpis.totals()[static_cast<int>(segment)];
    v1::SegmentKpis* out = response->add_segments();
    out->set_segment(std::string(engine::SegmentName(segment)));
    out->set_size_at_start(t.size_at_start);
    out->set_size_at_end(t.size_at_end);
    out->set_entered(t.entered);
    out->set_left(t.left);
    out->set_orders(t.orders);
    out->set_net_revenue(t.net_revenue);
    out->set_average_order_value(
        t.orders > 0 ? static_cast<double>(t.net_revenue) / static_cast<double>(t.orders) : 0.0);
    out->set_mean_lifetime_value(t.size_at_end > 0 ? static_cast<double>(t.lifetime_value_sum) /
                                                         static_cast<double>(t.size_at_end)
                                                   : 0.0);
    out->set_conversion_rate(t.size_at_start > 0 ? static_cast<double>(t.converted) /
                                                       static_cast<double>(t.size_at_start)
                                                 : 0.0);
  }
  return grpc::Status::OK;
}

grpc::Status InsightsServiceImpl::GetSegmentFlows(grpc::ServerContext* context,
                                                  const v1::GetSegmentFlowsRequest* request,
                                                  v1::GetSegmentFlowsResponse* response) {
  absl::StatusOr<Caller> caller = authorizer_.Authorize(*context, "GetSegmentFlows");
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  absl::StatusOr<absl::Time> from = RequiredProtoTime(request->has_from(), request->from(), "from");
  if (!from.ok()) return ToGrpcStatus(from.status());
  absl::StatusOr<absl::Time> to = RequiredProtoTime(request->has_to(), request->to(), "to");
  if (!to.ok()) return ToGrpcStatus(to.status());
  if (*to < *from) return ToGrpcStatus(FieldError("to", "must not be before from"));
  if (absl::Status s = NotAhead(*to, now_(), "to"); !s.ok()) return ToGrpcStatus(s);
  FlowAccumulator flows(*from, *to);
  absl::Status scanned = ForEachCustomer(
      store_, contexts_, caller->tenant_id, {*from, *to},
      [&flows](const engine::Profile&, const CustomerTimeline& timeline) { flows.Add(timeline); });
  if (!scanned.ok()) return ToGrpcStatus(scanned);
  for (const auto& [cell, customers] : flows.cells()) {
    v1::FlowCell* out = response->add_cells();
    out->set_from_segment(PrimaryName(cell.first));
    out->set_to_segment(PrimaryName(cell.second));
    out->set_customers(customers);
  }
  for (int i = 0; i < engine::kNumSegments; ++i) {
    v1::SegmentMovement* out = response->add_movements();
    out->set_segment(std::string(engine::SegmentName(static_cast<engine::Segment>(i))));
    out->set_entered(flows.movements()[i].first);
    out->set_left(flows.movements()[i].second);
  }
  return grpc::Status::OK;
}

grpc::Status InsightsServiceImpl::RecordRedemption(grpc::ServerContext* context,
                                                   const v1::RecordRedemptionRequest* request,
                                                   v1::RecordRedemptionResponse* response) {
  absl::StatusOr<Caller> caller = authorizer_.Authorize(*context, "RecordRedemption");
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  const std::string& tenant = caller->tenant_id;
  if (absl::Status s = ValidateCustomerId(request->customer_id(), "customer_id"); !s.ok()) {
    return ToGrpcStatus(s);
  }
  if (absl::Status s = targeting::ValidateVoucherId(request->voucher_id(), "voucher_id");
      !s.ok()) {
    return ToGrpcStatus(s);
  }
  if (request->order_id().empty() || request->order_id().size() > kMaxEventIdBytes) {
    return ToGrpcStatus(
        FieldError("order_id", absl::StrCat("must be 1-", kMaxEventIdBytes, " bytes")));
  }
  absl::StatusOr<absl::Time> at =
      ProtoTimeOr(request->has_redeemed_at(), request->redeemed_at(), "redeemed_at", now_());
  if (!at.ok()) return ToGrpcStatus(at.status());
  // The bounds of any event's time: a redemption is one (an order's).
  if (absl::Status s = ValidateEventTime(*at, "redeemed_at"); !s.ok()) return ToGrpcStatus(s);
  v1::TargetRef ref;
  ref.set_voucher_id(request->voucher_id());
  absl::StatusOr<targeting::Target> target = targeting::Resolve(*vouchers_, tenant, ref, "");
  if (!target.ok()) return ToGrpcStatus(target.status());
  std::string arm;
  if (!target->arms.empty()) {
    arm = targeting::ArmAssigner(tenant, target->voucher_id, target->arms)
              .Arm(request->customer_id());
  }
  absl::StatusOr<bool> recorded = redemptions_->Record(
      tenant, request->voucher_id(), request->order_id(), request->customer_id(), arm, *at);
  if (!recorded.ok()) return ToGrpcStatus(recorded.status());
  response->set_outcome(*recorded ? v1::ITEM_OUTCOME_APPLIED : v1::ITEM_OUTCOME_DUPLICATE);
  return grpc::Status::OK;
}

grpc::Status InsightsServiceImpl::GetVoucherStats(grpc::ServerContext* context,
                                                  const v1::GetVoucherStatsRequest* request,
                                                  v1::GetVoucherStatsResponse* response) {
  absl::StatusOr<Caller> caller = authorizer_.Authorize(*context, "GetVoucherStats");
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  const std::string& tenant = caller->tenant_id;
  absl::StatusOr<absl::Time> at =
      ProtoTimeOr(request->has_as_of(), request->as_of(), "as_of", now_());
  if (!at.ok()) return ToGrpcStatus(at.status());
  v1::TargetRef ref;
  ref.set_voucher_id(request->voucher_id());
  absl::StatusOr<targeting::Target> target = targeting::Resolve(*vouchers_, tenant, ref, "");
  if (!target.ok()) return ToGrpcStatus(target.status());
  absl::StatusOr<targeting::TargetCounts> targeted = targeting::CountTargetsNowOrAt(
      *index_, *arm_cache_, segments_at_, tenant, *target,
      request->has_as_of() ? std::optional<absl::Time>(*at) : std::nullopt,
      [context] { return context->IsCancelled(); });
  if (!targeted.ok()) return ToGrpcStatus(targeted.status());
  absl::StatusOr<std::map<std::string, int64_t>> redeemed =
      request->has_as_of() ? redemptions_->CountsUntil(tenant, request->voucher_id(), *at)
                           : redemptions_->Counts(tenant, request->voucher_id(), *at);
  if (!redeemed.ok()) return ToGrpcStatus(redeemed.status());
  auto rate = [](int64_t redemptions, int64_t customers) {
    return customers > 0 ? static_cast<double>(redemptions) / static_cast<double>(customers)
                         : 0.0;
  };
  int64_t total = 0;
  for (const auto& [arm, n] : *redeemed) total += n;
  response->set_voucher_id(request->voucher_id());
  response->set_targeted(targeted->customers);
  response->set_redemptions(total);
  response->set_conversion_rate(rate(total, targeted->customers));
  for (const auto& [arm, customers] : targeted->arms) {
    v1::ArmStats* out = response->add_arms();
    out->set_arm(arm);
    out->set_targeted(customers);
    auto it = redeemed->find(arm);
    out->set_redemptions(it == redeemed->end() ? 0 : it->second);
    out->set_conversion_rate(rate(out->redemptions(), customers));
  }
  *response->mutable_evaluated_at() = ToProtoTime(*at);
  return grpc::Status::OK;
}

}  // namespace segmentd

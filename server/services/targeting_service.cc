#include "server/services/targeting_service.h"

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "server/callback_offload.h"
#include "server/field_error.h"
#include "server/grpc_status.h"
#include "server/proto_time.h"
#include "server/services/event_conversion.h"
#include "server/targeting/arms.h"
#include "server/targeting/expression.h"
#include "server/targeting/target_resolution.h"

namespace segmentd {
namespace {

using targeting::ArmAssigner;
using targeting::Bitmap;
using targeting::MembershipIndex;
using targeting::Resolve;
using targeting::Target;
using targeting::Walk;

constexpr uint32_t kDefaultPageSize = 100;
constexpr uint32_t kMaxPageSize = 1000;
constexpr uint32_t kDefaultChunk = 1000;
constexpr uint32_t kMaxChunk = 10000;

// Evaluates `target` for one customer in `view` into `out`; returns whether
// the customer is eligible.
bool Check(const MembershipIndex::View& view, const Target& target,
           const std::vector<std::string>& mentioned, const std::string& customer_id,
           v1::Eligibility* out) {
  out->set_customer_id(customer_id);
  const std::optional<uint32_t> ordinal = view.OrdinalOf(customer_id);
  out->set_found(ordinal.has_value());
  if (!ordinal.has_value()) return false;  // Not a customer: eligible for nothing.
  for (const std::string& segment : mentioned) {
    if (view.Contains(segment, *ordinal)) out->add_matched_segments(segment);
  }
  const bool eligible = targeting::Evaluate(
      target.expression, [&](const std::string& s) { return view.Contains(s, *ordinal); });
  out->set_eligible(eligible);
  return eligible;
}

// Fills `out` for a customer whose segments at an explicit instant are
// `segments` (nullopt: not a customer); returns whether they are eligible.
bool CheckAt(const Target& target, const std::optional<std::vector<std::string>>& segments,
             const std::string& customer_id, v1::Eligibility* out) {
  out->set_customer_id(customer_id);
  out->set_found(segments.has_value());
  std::vector<std::string> matched;
  const bool eligible = targeting::EvaluateAt(target.expression, segments, &matched);
  for (std::string& m : matched) out->add_matched_segments(std::move(m));
  out->set_eligible(eligible);
  return eligible;
}

// Writes StreamTargets' responses of `chunk` customers each, whatever sizes
// the walk hands them over in.
class ChunkWriter {
 public:
  ChunkWriter(grpc::ServerWriter<v1::StreamTargetsResponse>* writer, uint32_t chunk,
              const ArmAssigner& arms)
      : writer_(writer), chunk_(chunk), arms_(arms) {}

  // Adds customers; returns false once a write failed.
  bool Add(const std::vector<uint32_t>& ordinals, const std::vector<std::string>& ids) {
    for (size_t i = 0; i < ids.size(); ++i) {
      v1::TargetedCustomer* c = pending_.add_customers();
      c->set_customer_id(ids[i]);
      if (arms_.has_arms()) c->set_arm(arms_.Arm(ids[i]));
      last_ordinal_ = ordinals[i];
      if (static_cast<uint32_t>(pending_.customers_size()) == chunk_ && !Flush()) return false;
    }
    return true;
  }

  // Writes what is pending; returns false when the write failed.
  bool Flush() {
    if (pending_.customers_size() == 0) return true;
    pending_.set_cursor(absl::StrCat(last_ordinal_));
    const bool ok = writer_->Write(pending_);
    pending_.Clear();
    return ok;
  }

 private:
  grpc::ServerWriter<v1::StreamTargetsResponse>* const writer_;
  const uint32_t chunk_;
  const ArmAssigner& arms_;
  v1::StreamTargetsResponse pending_;
  uint32_t last_ordinal_ = 0;
};

}  // namespace

TargetingServiceImpl::TargetingServiceImpl(
    Authenticator* authenticator, targeting::VoucherStore* vouchers,
    targeting::MembershipIndex* index, targeting::ArmCache* arm_cache,
    targeting::SegmentsAt segments_at, targeting::ConfigOf config_of,
    std::function<absl::Time()> now, absl::Duration max_staleness, int max_streams_per_tenant)
    : vouchers_(vouchers),
      index_(index),
      arm_cache_(arm_cache),
      segments_at_(std::move(segments_at)),
      config_of_(std::move(config_of)),
      authorizer_(authenticator, v1::TargetingService::service_full_name()),
      now_(std::move(now)),
      max_staleness_(max_staleness),
      streams_(max_streams_per_tenant),
      gate_(index, vouchers, targeting::FreshnessGate::kDefaultMaxQueued,
            /*keep_fresh_every=*/max_staleness / 3) {}

grpc::Status TargetingServiceImpl::PutVoucherTarget(grpc::ServerContext* context,
                                                    const v1::PutVoucherTargetRequest* request,
                                                    v1::PutVoucherTargetResponse* response) {
  absl::StatusOr<Caller> caller = authorizer_.Authorize(*context, "PutVoucherTarget");
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  const v1::VoucherTarget& in = request->target();
  if (absl::Status s = targeting::ValidateVoucherTarget(in, "target"); !s.ok()) {
    return ToGrpcStatus(s);
  }
  v1::VoucherTarget target = in;
  // Fields this build does not know (a newer client's, or padding) are not
  // stored: nothing bounds their size, and every listing would carry them.
  target.DiscardUnknownFields();
  *target.mutable_updated_at() = ToProtoTime(now_());
  if (absl::Status put = vouchers_->Put(caller->tenant_id, target); !put.ok()) {
    return ToGrpcStatus(put);
  }
  // Advisory: a config that cannot be read now (the put itself succeeded)
  // gives no warnings rather than failing a stored target.
  if (absl::StatusOr<engine::SegmentConfig> config = config_of_(caller->tenant_id); config.ok()) {
    for (std::string& warning : targeting::DisabledSegmentWarnings(target.expression(), *config)) {
      response->add_warnings(std::move(warning));
    }
  }
  *response->mutable_target() = std::move(target);
  return grpc::Status::OK;
}

grpc::Status TargetingServiceImpl::GetVoucherTarget(grpc::ServerContext* context,
                                                    const v1::GetVoucherTargetRequest* request,
                                                    v1::GetVoucherTargetResponse* response) {
  absl::StatusOr<Caller> caller = authorizer_.Authorize(*context, "GetVoucherTarget");
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  absl::StatusOr<v1::VoucherTarget> target =
      vouchers_->Get(caller->tenant_id, request->voucher_id());
  if (!target.ok()) return ToGrpcStatus(target.status());
  *response->mutable_target() = *std::move(target);
  return grpc::Status::OK;
}

grpc::Status TargetingServiceImpl::ListVoucherTargets(grpc::ServerContext* context,
                                                      const v1::ListVoucherTargetsRequest* request,
                                                      v1::ListVoucherTargetsResponse* response) {
  absl::StatusOr<Caller> caller = authorizer_.Authorize(*context, "ListVoucherTargets");
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  uint32_t page_size = request->page_size() == 0 ? kDefaultPageSize : request->page_size();
  if (page_size > kMaxPageSize) {
    return ToGrpcStatus(FieldError("page_size", absl::StrCat("at most ", kMaxPageSize)));
  }
  absl::StatusOr<targeting::VoucherPage> page =
      vouchers_->List(caller->tenant_id, static_cast<int>(page_size), request->page_token());
  if (!page.ok()) return ToGrpcStatus(page.status());
  for (v1::VoucherTarget& t : page->targets) *response->add_targets() = std::move(t);
  response->set_next_page_token(page->next_page_token);
  return grpc::Status::OK;
}

grpc::Status TargetingServiceImpl::DeleteVoucherTarget(grpc::ServerContext* context,
                                                       const v1::DeleteVoucherTargetRequest* request,
                                                       v1::DeleteVoucherTargetResponse*) {
  absl::StatusOr<Caller> caller = authorizer_.Authorize(*context, "DeleteVoucherTarget");
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  return ToGrpcStatus(vouchers_->Delete(caller->tenant_id, request->voucher_id()));
}

grpc::Status TargetingServiceImpl::CountTargets(grpc::ServerContext* context,
                                                const v1::CountTargetsRequest* request,
                                                v1::CountTargetsResponse* response) {
  absl::StatusOr<Caller> caller = authorizer_.Authorize(*context, "CountTargets");
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  const std::string& tenant = caller->tenant_id;
  absl::StatusOr<absl::Time> at =
      ProtoTimeOr(request->has_as_of(), request->as_of(), "as_of", now_());
  if (!at.ok()) return ToGrpcStatus(at.status());
  absl::StatusOr<Target> target = Resolve(*vouchers_, tenant, request->target(), "target");
  if (!target.ok()) return ToGrpcStatus(target.status());
  absl::StatusOr<targeting::TargetCounts> counts = targeting::CountTargetsNowOrAt(
      *index_, *arm_cache_, segments_at_, tenant, *target,
      request->has_as_of() ? std::optional<absl::Time>(*at) : std::nullopt,
      [context] { return context->IsCancelled(); });
  if (!counts.ok()) return ToGrpcStatus(counts.status());
  response->set_customers(counts->customers);
  for (const auto& [arm, customers] : counts->arms) {
    v1::ArmCount* c = response->add_arms();
    c->set_arm(arm);
    c->set_customers(customers);
  }
  *response->mutable_evaluated_at() = ToProtoTime(*at);
  return grpc::Status::OK;
}

grpc::Status TargetingServiceImpl::StreamTargets(
    grpc::ServerContext* context, const v1::StreamTargetsRequest* request,
    grpc::ServerWriter<v1::StreamTargetsResponse>* writer) {
  absl::StatusOr<Caller> caller = authorizer_.Authorize(*context, "StreamTargets");
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  const std::string& tenant = caller->tenant_id;
  // A call whose client stops reading blocks in Write() for as long as the
  // client stays, holding its thread: one tenant must not take them all (a
  // reviewer held 260 such calls with a read key, and every other tenant's
  // sync calls failed RESOURCE_EXHAUSTED).
  const TenantSlots::Slot slot = streams_.Take(tenant);
  if (!slot.held()) {
    return ToGrpcStatus(absl::ResourceExhaustedError(absl::StrCat(
        "tenant ", tenant, " already has ", streams_.per_tenant(),
        " StreamTargets calls open, the most allowed (--max_target_streams_per_tenant)")));
  }
  absl::StatusOr<absl::Time> as_of =
      ProtoTimeOr(request->has_as_of(), request->as_of(), "as_of", absl::Time());
  if (!as_of.ok()) return ToGrpcStatus(as_of.status());
  absl::StatusOr<Target> target = Resolve(*vouchers_, tenant, request->target(), "target");
  if (!target.ok()) return ToGrpcStatus(target.status());
  uint32_t after = 0;
  // Exactly the decimal digits StreamTargets writes (SimpleAtoi alone would
  // also take " 5" and "+5").
  const std::string& cursor = request->cursor();
  if (!cursor.empty() && (!std::all_of(cursor.begin(), cursor.end(), absl::ascii_isdigit) ||
                          !absl::SimpleAtoi(cursor, &after))) {
    return ToGrpcStatus(FieldError("cursor", "not a cursor StreamTargets returned"));
  }
  const uint32_t chunk = request->chunk_size() == 0 ? kDefaultChunk : request->chunk_size();
  if (chunk > kMaxChunk) {
    return ToGrpcStatus(FieldError("chunk_size", absl::StrCat("at most ", kMaxChunk)));
  }
  const ArmAssigner arms(tenant, target->voucher_id, target->arms);
  ChunkWriter out(writer, chunk, arms);
  auto emit = [&](const std::vector<uint32_t>& ordinals, const std::vector<std::string>& ids) {
    return out.Add(ordinals, ids) && !context->IsCancelled();
  };
  // The cursor is the ordinal of the last customer sent. Ordinals are never
  // reused and a fresh read knows every customer committed, so one past the
  // tenant's last ordinal was never sent (as a Watch position ahead of the
  // newest change: OUT_OF_RANGE), while a sent one whose remaining audience
  // is empty now ends OK with no customers.
  uint32_t customers = 0;
  Bitmap members;
  absl::Status s = index_->Read(tenant, /*fresh=*/true, [&](const MembershipIndex::View& view) {
    customers = view.customers();
    if (!request->has_as_of()) members = view.Evaluate(target->expression);
  });
  if (!s.ok()) return ToGrpcStatus(s);
  if (after > customers) {
    return ToGrpcStatus(absl::OutOfRangeError(absl::StrCat(
        "cursor: ", after, " is beyond this tenant's ", customers,
        " customers: not a cursor StreamTargets returned, or the store went back since; "
        "stream again from the start")));
  }
  if (request->has_as_of()) {
    s = targeting::WalkTargetsAt(*index_, segments_at_, tenant, target->expression, *as_of, after,
                                 emit);
  } else {
    s = Walk(*index_, tenant, members, after, chunk, emit);
  }
  if (!s.ok()) return ToGrpcStatus(s);
  out.Flush();
  if (context->IsCancelled()) return grpc::Status(grpc::StatusCode::CANCELLED, "cancelled");
  return grpc::Status::OK;
}

absl::StatusOr<bool> TargetingServiceImpl::AnswerCheck(const std::string& tenant,
                                                      const v1::CheckEligibilityRequest& request,
                                                      const std::string& voucher_version,
                                                      bool may_read, ViewReader read,
                                                      v1::Eligibility* out) {
  absl::StatusOr<std::shared_ptr<const targeting::PreparedTarget>> prepared =
      prepared_.Get(*vouchers_, tenant, request.target(), "target", voucher_version, may_read);
  if (!prepared.ok()) return prepared.status();
  if (*prepared == nullptr) return false;  // Not prepared yet, and no read allowed here.
  const targeting::PreparedTarget& target = **prepared;
  const absl::Time at = now_();
  bool eligible = false;
  absl::StatusOr<std::optional<absl::Time>> as_of =
      read([&](const MembershipIndex::View& view) {
        eligible = Check(view, target.target, target.mentioned, request.customer_id(), out);
      });
  if (!as_of.ok()) return as_of.status();
  if (!as_of->has_value()) return false;
  if (eligible && target.arms.has_arms()) out->set_arm(target.arms.Arm(request.customer_id()));
  *out->mutable_evaluated_at() = ToProtoTime(at);
  *out->mutable_membership_as_of() = ToProtoTime(**as_of);
  return true;
}

grpc::ServerUnaryReactor* TargetingServiceImpl::CheckEligibility(
    grpc::CallbackServerContext* context, const v1::CheckEligibilityRequest* request,
    v1::CheckEligibilityResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  // The key from the cache, on this thread; when it needs a store read, on
  // key_reads_: a callback thread waiting on a hung Redis would hold up every
  // callback method, the health check and the default checks included.
  std::optional<absl::StatusOr<Caller>> cached =
      authorizer_.AuthorizeCached(*context, "CheckEligibility");
  if (cached.has_value()) {
    CheckEligibilityAs(*cached, context, reactor, request, response);
    return reactor;
  }
  // `request` and `response` live until Finish, which the task calls once.
  RunOffCallbackThread(key_reads_, context, reactor,
                       absl::UnavailableError("too many CheckEligibility calls waiting for the "
                                              "store to verify their API key; retry later"),
                       [this, context, reactor, request, response] {
                         CheckEligibilityAs(authorizer_.Authorize(*context, "CheckEligibility"),
                                            context, reactor, request, response);
                       });
  return reactor;
}

void TargetingServiceImpl::CheckEligibilityAs(const absl::StatusOr<Caller>& caller,
                                              grpc::CallbackServerContext* context,
                                              grpc::ServerUnaryReactor* reactor,
                                              const v1::CheckEligibilityRequest* request,
                                              v1::CheckEligibilityResponse* response) {
  absl::Status valid = caller.status();
  if (valid.ok()) valid = ValidateCustomerId(request->customer_id(), "customer_id");
  if (valid.ok() && !v1::Consistency_IsValid(request->consistency())) {
    valid = FieldError("consistency", absl::StrCat("unknown value ", request->consistency()));
  }
  if (!valid.ok()) {
    reactor->Finish(ToGrpcStatus(valid));
    return;
  }
  const std::string& tenant = caller->tenant_id;
  if (request->has_as_of()) {
    absl::StatusOr<absl::Time> as_of =
        ProtoTimeOr(/*present=*/true, request->as_of(), "as_of", absl::Time());
    if (!as_of.ok()) {
      reactor->Finish(ToGrpcStatus(as_of.status()));
      return;
    }
    auto slot = std::make_shared<TenantSlots::Slot>(as_of_check_slots_.Take(tenant));
    if (!slot->held()) {
      reactor->Finish(ToGrpcStatus(absl::ResourceExhaustedError(absl::StrCat(
          "tenant ", tenant, " already has ", as_of_check_slots_.per_tenant(),
          " CheckEligibility calls with as_of waiting or running, the most one tenant may have; "
          "retry later"))));
      return;
    }
    // `request` and `response` live until Finish, which the task calls once;
    // the slot until the task is run or dropped.
    RunOffCallbackThread(
        as_of_checks_, context, reactor,
        absl::ResourceExhaustedError(
            "too many CheckEligibility calls with as_of waiting for the store; retry later"),
        [this, reactor, request, response, tenant, at = *as_of, slot] {
          reactor->Finish(ToGrpcStatus(
              CheckEligibilityAt(tenant, *request, at, response->mutable_eligibility())));
        });
    return;
  }
  if (request->consistency() != v1::CONSISTENCY_FULLY_CONSISTENT &&
      max_staleness_ > absl::ZeroDuration()) {
    // Bounded staleness: answered here, on gRPC's thread, with no store read
    // and no hand-off, when both the index and the registered targets are
    // known to be fresh within max_staleness_ and the target is prepared at that
    // version; otherwise the fully consistent path (whose worker may read).
    std::optional<std::string> version = std::string();  // Unused by inline expressions.
    if (request->target().has_voucher_id()) {
      version = vouchers_->VersionKnownWithin(tenant, max_staleness_);
    }
    if (version.has_value()) {
      absl::StatusOr<bool> answered = AnswerCheck(
          tenant, *request, *version, /*may_read=*/false,
          [&](const std::function<void(const MembershipIndex::View&)>& fn)
              -> absl::StatusOr<std::optional<absl::Time>> {
            return index_->ReadIfFreshWithin(tenant, max_staleness_, fn);
          },
          response->mutable_eligibility());
      if (!answered.ok() || *answered) {
        reactor->Finish(ToGrpcStatus(answered.status()));
        return;
      }
    }
  }
  // `request` and `response` live until Finish; the continuation runs once.
  gate_.WhenFresh(tenant, [this, reactor, request, response,
                           tenant](absl::StatusOr<targeting::FreshnessGate::Fresh> fresh) {
    if (!fresh.ok()) {
      reactor->Finish(ToGrpcStatus(fresh.status()));
      return;
    }
    // The gate has made the index fresh enough; never wait here (this runs on
    // the gate's worker, ahead of other checks): unhealthy fails at once.
    absl::StatusOr<bool> answered = AnswerCheck(
        tenant, *request, fresh->voucher_version, /*may_read=*/true,
        [&](const std::function<void(const MembershipIndex::View&)>& fn)
            -> absl::StatusOr<std::optional<absl::Time>> {
          if (absl::Status s = index_->ReadNow(tenant, fn); !s.ok()) return s;
          return fresh->as_of;
        },
        response->mutable_eligibility());
    if (answered.ok() && !*answered) {  // Cannot happen: this path may read and waits for nothing.
      answered = absl::InternalError("eligibility check answered nothing");
    }
    reactor->Finish(ToGrpcStatus(answered.status()));
  });
}

absl::Status TargetingServiceImpl::CheckEligibilityAt(const std::string& tenant,
                                                      const v1::CheckEligibilityRequest& request,
                                                      absl::Time as_of, v1::Eligibility* out) {
  absl::StatusOr<Target> target = Resolve(*vouchers_, tenant, request.target(), "target");
  if (!target.ok()) return target.status();
  // Facts read after this instant: every event acknowledged before it counts.
  const absl::Time read_at = now_();
  absl::StatusOr<std::vector<std::optional<std::vector<std::string>>>> segments =
      segments_at_(tenant, {request.customer_id()}, as_of);
  if (!segments.ok()) return segments.status();
  if (CheckAt(*target, (*segments)[0], request.customer_id(), out) && !target->arms.empty()) {
    out->set_arm(ArmAssigner(tenant, target->voucher_id, target->arms).Arm(request.customer_id()));
  }
  *out->mutable_evaluated_at() = ToProtoTime(as_of);
  *out->mutable_membership_as_of() = ToProtoTime(read_at);
  return absl::OkStatus();
}

grpc::Status TargetingServiceImpl::CheckEligibilityBatch(
    grpc::ServerContext* context, const v1::CheckEligibilityBatchRequest* request,
    v1::CheckEligibilityBatchResponse* response) {
  absl::StatusOr<Caller> caller = authorizer_.Authorize(*context, "CheckEligibilityBatch");
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  const std::string& tenant = caller->tenant_id;
  if (request->customer_ids_size() > kMaxEligibilityIds) {
    return ToGrpcStatus(FieldError("customer_ids", absl::StrCat("at most ", kMaxEligibilityIds,
                                                               ", got ",
                                                               request->customer_ids_size())));
  }
  for (int i = 0; i < request->customer_ids_size(); ++i) {
    if (absl::Status s =
            ValidateCustomerId(request->customer_ids(i), absl::StrCat("customer_ids[", i, "]"));
        !s.ok()) {
      return ToGrpcStatus(s);
    }
  }
  absl::StatusOr<absl::Time> at =
      ProtoTimeOr(request->has_as_of(), request->as_of(), "as_of", now_());
  if (!at.ok()) return ToGrpcStatus(at.status());
  absl::StatusOr<Target> target = Resolve(*vouchers_, tenant, request->target(), "target");
  if (!target.ok()) return ToGrpcStatus(target.status());
  std::vector<bool> eligible(request->customer_ids_size());
  if (request->has_as_of()) {
    const std::vector<std::string> ids(request->customer_ids().begin(),
                                       request->customer_ids().end());
    absl::StatusOr<std::vector<std::optional<std::vector<std::string>>>> segments =
        segments_at_(tenant, ids, *at);
    if (!segments.ok()) return ToGrpcStatus(segments.status());
    for (size_t i = 0; i < ids.size(); ++i) {
      eligible[i] = CheckAt(*target, (*segments)[i], ids[i], response->add_results());
    }
  } else {
    const std::vector<std::string> mentioned = targeting::MentionedSegments(target->expression);
    absl::Status s = index_->Read(tenant, /*fresh=*/true, [&](const MembershipIndex::View& view) {
      for (int i = 0; i < request->customer_ids_size(); ++i) {
        eligible[i] =
            Check(view, *target, mentioned, request->customer_ids(i), response->add_results());
      }
    });
    if (!s.ok()) return ToGrpcStatus(s);
  }
  const ArmAssigner arms(tenant, target->voucher_id, target->arms);
  const google::protobuf::Timestamp ts = ToProtoTime(*at);
  for (int i = 0; i < response->results_size(); ++i) {
    v1::Eligibility* out = response->mutable_results(i);
    if (eligible[i] && arms.has_arms()) out->set_arm(arms.Arm(out->customer_id()));
    *out->mutable_evaluated_at() = ts;
  }
  return grpc::Status::OK;
}

grpc::Status TargetingServiceImpl::ListEligibleVouchers(
    grpc::ServerContext* context, const v1::ListEligibleVouchersRequest* request,
    v1::ListEligibleVouchersResponse* response) {
  absl::StatusOr<Caller> caller = authorizer_.Authorize(*context, "ListEligibleVouchers");
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  const std::string& tenant = caller->tenant_id;
  if (absl::Status s = ValidateCustomerId(request->customer_id(), "customer_id"); !s.ok()) {
    return ToGrpcStatus(s);
  }
  absl::StatusOr<absl::Time> at =
      ProtoTimeOr(request->has_as_of(), request->as_of(), "as_of", now_());
  if (!at.ok()) return ToGrpcStatus(at.status());
  absl::StatusOr<std::shared_ptr<const std::vector<v1::VoucherTarget>>> all =
      vouchers_->All(tenant);
  if (!all.ok()) return ToGrpcStatus(all.status());
  std::vector<const v1::VoucherTarget*> eligible;
  if ((*all)->empty()) {
    // Nothing is eligible at any instant: no customer is read or classified
    // (so none whose history there is kept only in summary fails it).
  } else if (request->has_as_of()) {
    absl::StatusOr<std::vector<std::optional<std::vector<std::string>>>> segments =
        segments_at_(tenant, {request->customer_id()}, *at);
    if (!segments.ok()) return ToGrpcStatus(segments.status());
    for (const v1::VoucherTarget& t : **all) {
      if (targeting::EvaluateAt(t.expression(), (*segments)[0], nullptr)) eligible.push_back(&t);
    }
  } else {
    absl::Status s = index_->Read(tenant, /*fresh=*/true, [&](const MembershipIndex::View& view) {
      const std::optional<uint32_t> ordinal = view.OrdinalOf(request->customer_id());
      if (!ordinal.has_value()) return;
      for (const v1::VoucherTarget& t : **all) {
        if (targeting::Evaluate(t.expression(), [&](const std::string& seg) {
              return view.Contains(seg, *ordinal);
            })) {
          eligible.push_back(&t);
        }
      }
    });
    if (!s.ok()) return ToGrpcStatus(s);
  }
  for (const v1::VoucherTarget* t : eligible) {
    v1::EligibleVoucher* v = response->add_vouchers();
    v->set_voucher_id(t->voucher_id());
    if (t->arms_size() > 0) {
      v->set_arm(ArmAssigner(tenant, t->voucher_id(), t->arms()).Arm(request->customer_id()));
    }
  }
  *response->mutable_evaluated_at() = ToProtoTime(*at);
  return grpc::Status::OK;
}

}  // namespace segmentd

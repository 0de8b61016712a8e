#include "server/services/classification_service.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "server/grpc_status.h"
#include "server/proto_time.h"
#include "server/services/event_conversion.h"

namespace segmentd {
namespace {


void Fill(const std::string& customer_id, const CustomerClassification& in,
          v1::CustomerClassification* out) {
  out->set_customer_id(customer_id);
  out->set_found(in.found);
  if (!in.found) return;
  MembershipToProto(MembershipOf(in.classification), *in.category_names,
                    out->mutable_membership());
  // By segment name, as `segments` is: category reasons would otherwise
  // follow the order the tenant first saw each category in.
  std::vector<const engine::SegmentExplanation*> members;
  for (const engine::SegmentExplanation& reason : in.reasons) {
    if (reason.member) members.push_back(&reason);
  }
  std::sort(members.begin(), members.end(),
            [](const auto* a, const auto* b) { return a->segment < b->segment; });
  for (const engine::SegmentExplanation* reason : members) {
    v1::SegmentReason* r = out->add_reasons();
    r->set_segment(reason->segment);
    r->set_reason(reason->reason);
  }
}

}  // namespace

ClassificationServiceImpl::ClassificationServiceImpl(Authenticator* authenticator,
                                                     LiveMembership* live,
                                                     std::function<absl::Time()> now)
    : live_(live),
      authorizer_(authenticator, v1::ClassificationService::service_full_name()),
      now_(std::move(now)) {}

grpc::Status ClassificationServiceImpl::ClassifyCustomer(grpc::ServerContext* context,
                                                         const v1::ClassifyCustomerRequest* request,
                                                         v1::ClassifyCustomerResponse* response) {
  absl::StatusOr<Caller> caller = authorizer_.Authorize(*context, "ClassifyCustomer");
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  if (absl::Status s = ValidateCustomerId(request->customer_id(), "customer_id"); !s.ok()) {
    return ToGrpcStatus(s);
  }
  absl::StatusOr<absl::Time> as_of = ProtoTimeOr(request->has_as_of(), request->as_of(), "as_of", now_());
  if (!as_of.ok()) return ToGrpcStatus(as_of.status());
  absl::StatusOr<std::vector<CustomerClassification>> result = live_->Classify(
      caller->tenant_id, {request->customer_id()}, *as_of, request->include_reasons(),
      /*historical=*/request->has_as_of());
  if (!result.ok()) return ToGrpcStatus(result.status());
  Fill(request->customer_id(), (*result)[0], response->mutable_classification());
  *response->mutable_as_of() = ToProtoTime(*as_of);
  return grpc::Status::OK;
}

grpc::Status ClassificationServiceImpl::ClassifyCustomers(
    grpc::ServerContext* context, const v1::ClassifyCustomersRequest* request,
    v1::ClassifyCustomersResponse* response) {
  absl::StatusOr<Caller> caller = authorizer_.Authorize(*context, "ClassifyCustomers");
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  if (request->customer_ids_size() > kMaxClassifyIds) {
    return ToGrpcStatus(absl::InvalidArgumentError(
        absl::StrCat("customer_ids: at most ", kMaxClassifyIds, ", got ",
                     request->customer_ids_size())));
  }
  std::vector<std::string> ids;
  for (int i = 0; i < request->customer_ids_size(); ++i) {
    if (absl::Status s =
            ValidateCustomerId(request->customer_ids(i), absl::StrCat("customer_ids[", i, "]"));
        !s.ok()) {
      return ToGrpcStatus(s);
    }
    ids.push_back(request->customer_ids(i));
  }
  absl::StatusOr<absl::Time> as_of = ProtoTimeOr(request->has_as_of(), request->as_of(), "as_of", now_());
  if (!as_of.ok()) return ToGrpcStatus(as_of.status());
  absl::StatusOr<std::vector<CustomerClassification>> result =
      live_->Classify(caller->tenant_id, ids, *as_of, request->include_reasons(),
                      /*historical=*/request->has_as_of());
  if (!result.ok()) return ToGrpcStatus(result.status());
  for (size_t i = 0; i < ids.size(); ++i) {
    Fill(ids[i], (*result)[i], response->add_classifications());
  }
  *response->mutable_as_of() = ToProtoTime(*as_of);
  return grpc::Status::OK;
}

}  // namespace segmentd

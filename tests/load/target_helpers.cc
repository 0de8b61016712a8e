#include "tests/load/target_helpers.h"

#include <cstdio>

#include "absl/strings/str_cat.h"

namespace segmentd::load {
namespace {

v1::TargetExpression List(std::vector<v1::TargetExpression> children,
                          v1::ExpressionList* (v1::TargetExpression::*list)()) {
  v1::TargetExpression out;
  v1::ExpressionList* l = (out.*list)();
  for (v1::TargetExpression& child : children) *l->add_children() = std::move(child);
  return out;
}

}  // namespace

v1::TargetExpression Leaf(const std::string& segment) {
  v1::TargetExpression out;
  out.set_segment(segment);
  return out;
}

v1::TargetExpression AllOf(std::vector<v1::TargetExpression> children) {
  return List(std::move(children), &v1::TargetExpression::mutable_all_of);
}

v1::TargetExpression AnyOf(std::vector<v1::TargetExpression> children) {
  return List(std::move(children), &v1::TargetExpression::mutable_any_of);
}

v1::TargetExpression NoneOf(std::vector<v1::TargetExpression> children) {
  return List(std::move(children), &v1::TargetExpression::mutable_none_of);
}

v1::TargetExpression HotPathExpression() {
  return AnyOf({Leaf("LOYAL_CUSTOMER"), Leaf("VIP"), Leaf("REPEAT_CUSTOMER")});
}

std::string ExpressionText(const v1::TargetExpression& expression) {
  const v1::ExpressionList* list = nullptr;
  std::string name;
  switch (expression.node_case()) {
    case v1::TargetExpression::kSegment: return expression.segment();
    case v1::TargetExpression::kAllOf: list = &expression.all_of(); name = "all_of"; break;
    case v1::TargetExpression::kAnyOf: list = &expression.any_of(); name = "any_of"; break;
    case v1::TargetExpression::kNoneOf: list = &expression.none_of(); name = "none_of"; break;
    default: return "?";
  }
  std::string out = name + "(";
  for (int i = 0; i < list->children_size(); ++i) {
    absl::StrAppend(&out, i > 0 ? ", " : "", ExpressionText(list->children(i)));
  }
  return out + ")";
}

absl::Status PutVoucher(v1::TargetingService::Stub& stub, const LoadOptions& options,
                        const std::string& voucher_id, const v1::TargetExpression& expression,
                        const std::vector<std::pair<std::string, uint32_t>>& arms) {
  v1::PutVoucherTargetRequest request;
  request.mutable_target()->set_voucher_id(voucher_id);
  *request.mutable_target()->mutable_expression() = expression;
  for (const auto& [name, weight] : arms) {
    v1::Arm* arm = request.mutable_target()->add_arms();
    arm->set_name(name);
    arm->set_weight(weight);
  }
  v1::PutVoucherTargetResponse response;
  grpc::ClientContext context;
  PrepareContext(&context, options.key, absl::Seconds(30));
  return FromGrpc(stub.PutVoucherTarget(&context, request, &response));
}

absl::StatusOr<int64_t> Count(v1::TargetingService::Stub& stub, const LoadOptions& options,
                              const v1::TargetRef& target, double* ms,
                              std::optional<absl::Time> as_of) {
  v1::CountTargetsRequest request;
  *request.mutable_target() = target;
  if (as_of.has_value()) request.mutable_as_of()->set_seconds(absl::ToUnixSeconds(*as_of));
  v1::CountTargetsResponse response;
  grpc::ClientContext context;
  // An explicit as_of classifies every customer: seconds per million.
  PrepareContext(&context, options.key, as_of.has_value() ? absl::Minutes(5) : absl::Seconds(30));
  const absl::Time start = absl::Now();
  const grpc::Status status = stub.CountTargets(&context, request, &response);
  if (ms != nullptr) *ms = absl::ToDoubleMilliseconds(absl::Now() - start);
  if (!status.ok()) return FromGrpc(status);
  return response.customers();
}

absl::StatusOr<double> WaitForIndex(v1::TargetingService::Stub& stub, const LoadOptions& options,
                                    absl::Duration timeout) {
  const absl::Time start = absl::Now();
  v1::TargetRef target;
  *target.mutable_expression() = Leaf("LOYAL_CUSTOMER");
  absl::Status last;
  while (absl::Now() - start < timeout) {
    last = Count(stub, options, target).status();
    if (last.ok()) return absl::ToDoubleSeconds(absl::Now() - start);
    if (!absl::IsUnavailable(last)) return last;
    absl::SleepFor(absl::Milliseconds(200));
  }
  return absl::DeadlineExceededError(
      absl::StrCat("membership index not loaded after ", absl::FormatDuration(timeout), ": ",
                   last.message()));
}

}  // namespace segmentd::load

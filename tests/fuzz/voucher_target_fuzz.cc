// Fuzz target: a voucher target as PutVoucherTarget receives it
// (segmentd.v1.PutVoucherTargetRequest), through the validation at the edge
// (ValidateVoucherTarget: voucher id, expression, arms), the stored form read
// back (DecodeStoredTarget), then evaluated.
//
// Checks: a rejected target is INVALID_ARGUMENT naming a field below
// "target.", and its bytes, had they been stored, read back as DATA_LOSS; an
// accepted one reads back as itself; the input's own bytes read as a stored
// target give DATA_LOSS or a target the validation accepts. For an accepted
// target, every mentioned segment is a valid name,
// and for every combination of them a customer could be in, both evaluators
// agree with a plain reference evaluator written here from the API's
// definition (all_of: every child, any_of: at least one, none_of: no child),
// and `matched` lists exactly the mentioned segments the customer is in;
// every customer gets one of the arms.
#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "segmentd/v1/targeting.pb.h"
#include "server/targeting/arms.h"
#include "server/targeting/expression.h"
#include "server/targeting/voucher_store.h"
#include "tests/fuzz/fuzz_target.h"

namespace segmentd::fuzz {
namespace {

// Combinations of the first this many mentioned segments are tried.
constexpr int kMaxCombinedSegments = 8;

bool Reference(const v1::TargetExpression& e, const std::vector<std::string>& in) {
  auto children = [&](const v1::ExpressionList& list, bool want, bool all) {
    for (const v1::TargetExpression& child : list.children()) {
      if (Reference(child, in) != want) return !all;
    }
    return all;
  };
  switch (e.node_case()) {
    case v1::TargetExpression::kSegment:
      return std::find(in.begin(), in.end(), e.segment()) != in.end();
    case v1::TargetExpression::kAllOf:
      return children(e.all_of(), true, true);
    case v1::TargetExpression::kAnyOf:
      return !children(e.any_of(), false, true);
    case v1::TargetExpression::kNoneOf:
      return children(e.none_of(), false, true);
    default:
      Fail(__FILE__, __LINE__, "a valid expression has an empty node");
  }
}

v1::TargetExpression Leaf(const std::string& segment) {
  v1::TargetExpression e;
  e.set_segment(segment);
  return e;
}

}  // namespace

std::vector<std::string> Seeds() {
  std::vector<std::string> seeds;
  v1::PutVoucherTargetRequest request;
  v1::VoucherTarget* target = request.mutable_target();
  target->set_voucher_id("WINBACK10");
  *target->mutable_expression() = Leaf("LOST_LOYALTY");
  seeds.push_back(request.SerializeAsString());

  v1::TargetExpression* all = target->mutable_expression();
  all->Clear();
  *all->mutable_all_of()->add_children() = Leaf("VIP");
  v1::TargetExpression* any = all->mutable_all_of()->add_children();
  *any->mutable_any_of()->add_children() = Leaf("category:shoes");
  *any->mutable_any_of()->add_children() = Leaf("BIG_SPENDER");
  v1::TargetExpression* none = all->mutable_all_of()->add_children();
  *none->mutable_none_of()->add_children() = Leaf("LAPSED");
  seeds.push_back(request.SerializeAsString());

  v1::Arm* offer = target->add_arms();
  offer->set_name("offer");
  offer->set_weight(90);
  v1::Arm* holdout = target->add_arms();
  holdout->set_name("holdout");
  holdout->set_weight(10);
  seeds.push_back(request.SerializeAsString());
  return seeds;
}

}  // namespace segmentd::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace segmentd;
  v1::PutVoucherTargetRequest request;
  if (!request.ParseFromArray(data, static_cast<int>(size))) return 0;
  const v1::VoucherTarget& target = request.target();
  // The input's bytes as a stored target (damaged or written by something
  // else): read back only when it is a valid target of that id, else DATA_LOSS.
  const absl::string_view raw(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<v1::VoucherTarget> stored = targeting::DecodeStoredTarget(raw, "v");
  FUZZ_CHECK(stored.ok() || absl::IsDataLoss(stored.status()), stored.status().ToString());
  FUZZ_CHECK(!stored.ok() || targeting::ValidateVoucherTarget(*stored, "target").ok(),
             "a stored target read back that would not have been stored");

  const absl::Status s = targeting::ValidateVoucherTarget(target, "target");
  stored = targeting::DecodeStoredTarget(target.SerializeAsString(), target.voucher_id());
  if (!s.ok()) {
    FUZZ_CHECK(absl::IsInvalidArgument(s) && absl::StartsWith(s.message(), "target."),
               s.ToString());
    FUZZ_CHECK(absl::IsDataLoss(stored.status()), stored.status().ToString());
    return 0;
  }
  // What PutVoucherTarget stores reads back as itself.
  FUZZ_CHECK(stored.ok(), stored.status().ToString());
  FUZZ_CHECK(stored->SerializeAsString() == target.SerializeAsString(), "stored target differs");

  const std::vector<std::string> mentioned = targeting::MentionedSegments(target.expression());
  for (const std::string& name : mentioned) {
    FUZZ_CHECK(targeting::ValidateSegmentName(name, "segment").ok(), name);
    FUZZ_CHECK(std::count(mentioned.begin(), mentioned.end(), name) == 1, name);
  }
  const int combined = std::min<int>(mentioned.size(), fuzz::kMaxCombinedSegments);
  for (uint32_t mask = 0; mask < (1u << combined); ++mask) {
    std::vector<std::string> in;
    for (int i = 0; i < combined; ++i) {
      if (mask & (1u << i)) in.push_back(mentioned[i]);
    }
    // A segment the expression does not mention changes nothing.
    in.push_back("category:~unmentioned~");
    const bool want = fuzz::Reference(target.expression(), in);
    std::vector<std::string> matched;
    const bool got = targeting::EvaluateOnSegments(target.expression(), in, &matched);
    const bool by_lookup = targeting::Evaluate(target.expression(), [&](const std::string& name) {
      return std::find(in.begin(), in.end(), name) != in.end();
    });
    const std::string where =
        absl::StrCat(target.expression().ShortDebugString(), " in {", absl::StrJoin(in, ","), "}");
    FUZZ_CHECK(got == want && by_lookup == want, where);
    std::vector<std::string> expected;
    for (const std::string& name : mentioned) {
      if (std::find(in.begin(), in.end(), name) != in.end()) expected.push_back(name);
    }
    FUZZ_CHECK(matched == expected,
               absl::StrCat(where, ": matched {", absl::StrJoin(matched, ","), "}"));
  }

  targeting::ArmAssigner arms("tenant", target.voucher_id(), target.arms());
  FUZZ_CHECK(arms.has_arms() == !target.arms().empty(), target.ShortDebugString());
  for (const char* customer : {"c1", "c2", "", "\xff\x00"}) {
    const int arm = arms.ArmIndex(customer);
    if (!arms.has_arms()) {
      FUZZ_CHECK(arm == 0 && arms.Arm(customer).empty(), target.ShortDebugString());
      continue;
    }
    FUZZ_CHECK(
        arm >= 0 && arm < target.arms_size() && arms.Arm(customer) == target.arms(arm).name(),
        target.ShortDebugString());
  }
  return 0;
}

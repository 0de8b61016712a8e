#include "server/targeting/target_resolution.h"

#include "absl/strings/str_cat.h"
#include "server/field_error.h"
#include "server/targeting/expression.h"

namespace segmentd::targeting {

absl::StatusOr<Target> Resolve(VoucherStore& vouchers, absl::string_view tenant,
                               const v1::TargetRef& ref, absl::string_view field,
                               const std::string* voucher_version) {
  Target target;
  switch (ref.ref_case()) {
    case v1::TargetRef::kVoucherId: {
      const std::string id_field =
          field.empty() ? std::string("voucher_id") : absl::StrCat(field, ".voucher_id");
      if (absl::Status s = ValidateVoucherId(ref.voucher_id(), id_field); !s.ok()) {
        return s;
      }
      absl::StatusOr<v1::VoucherTarget> stored =
          voucher_version != nullptr ? vouchers.GetAt(tenant, ref.voucher_id(), *voucher_version)
                                     : vouchers.Get(tenant, ref.voucher_id());
      if (!stored.ok()) {
        if (absl::IsNotFound(stored.status())) {
          return absl::NotFoundError(absl::StrCat(id_field, ": no target registered under \"",
                                                  ref.voucher_id(), "\""));
        }
        return stored.status();
      }
      target.expression = stored->expression();
      target.voucher_id = ref.voucher_id();
      target.arms = stored->arms();
      return target;
    }
    case v1::TargetRef::kExpression: {
      const std::string expr_field =
          field.empty() ? std::string("expression") : absl::StrCat(field, ".expression");
      if (absl::Status s = ValidateExpression(ref.expression(), expr_field); !s.ok()) {
        return s;
      }
      target.expression = ref.expression();
      return target;
    }
    default:
      return FieldError(field, "set voucher_id or expression");
  }
}

absl::StatusOr<TargetCounts> CountTargets(MembershipIndex& index, ArmCache& arm_cache,
                                          absl::string_view tenant, const Target& target,
                                          const std::function<bool()>& cancelled) {
  Bitmap members;
  uint64_t generation = 0;
  absl::Status s = index.Read(tenant, /*fresh=*/true, [&](const MembershipIndex::View& view) {
    members = view.Evaluate(target.expression);
    generation = view.generation();
  });
  if (!s.ok()) return s;
  TargetCounts out;
  out.customers = static_cast<int64_t>(members.Cardinality());
  if (target.arms.empty()) return out;
  absl::StatusOr<std::vector<int64_t>> counts = arm_cache.Count(
      index, tenant, target.voucher_id, target.arms, members, generation, cancelled);
  if (!counts.ok()) return counts.status();
  for (int i = 0; i < target.arms.size(); ++i) {
    out.arms.emplace_back(target.arms[i].name(), (*counts)[i]);
  }
  return out;
}

}  // namespace segmentd::targeting

#include "server/targeting/target_resolution.h"

#include "absl/strings/str_cat.h"
#include "server/field_error.h"
#include "server/targeting/arms.h"
#include "server/targeting/expression.h"

namespace segmentd::targeting {

absl::StatusOr<Target> Resolve(VoucherStore& vouchers, absl::string_view tenant,
                               const v1::TargetRef& ref, absl::string_view field,
                               const std::string* voucher_version) {
  Target target;
  switch (ref.ref_case()) {
    case v1::TargetRef::kVoucherId: {
      const std::string id_field = absl::StrCat(field, ".voucher_id");
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
      const std::string expr_field = absl::StrCat(field, ".expression");
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

absl::Status Walk(MembershipIndex& index, absl::string_view tenant, const Bitmap& members,
                  uint32_t after, size_t batch,
                  const std::function<bool(const std::vector<uint32_t>&,
                                           const std::vector<std::string>&)>& fn) {
  while (true) {
    std::vector<uint32_t> ordinals = members.After(after, batch);
    if (ordinals.empty()) return absl::OkStatus();
    std::vector<std::string> ids;
    ids.reserve(ordinals.size());
    absl::Status s = index.Read(tenant, /*fresh=*/false, [&](const MembershipIndex::View& view) {
      for (uint32_t ordinal : ordinals) ids.emplace_back(view.IdOf(ordinal));
    });
    if (!s.ok()) return s;
    if (!fn(ordinals, ids)) return absl::OkStatus();
    after = ordinals.back();
  }
}

absl::StatusOr<TargetCounts> CountTargets(MembershipIndex& index, absl::string_view tenant,
                                          const Target& target,
                                          const std::function<bool()>& cancelled) {
  Bitmap members;
  absl::Status s = index.Read(tenant, /*fresh=*/true, [&](const MembershipIndex::View& view) {
    members = view.Evaluate(target.expression);
  });
  if (!s.ok()) return s;
  TargetCounts out;
  out.customers = static_cast<int64_t>(members.Cardinality());
  if (target.arms.empty()) return out;
  const ArmAssigner arms(tenant, target.voucher_id, target.arms);
  std::vector<int64_t> counts(arms.names().size());
  s = Walk(index, tenant, members, 0, kWalkBatch,
           [&](const std::vector<uint32_t>&, const std::vector<std::string>& ids) {
             for (const std::string& id : ids) ++counts[arms.ArmIndex(id)];
             return !cancelled();
           });
  if (!s.ok()) return s;
  for (size_t i = 0; i < counts.size(); ++i) out.arms.emplace_back(arms.names()[i], counts[i]);
  return out;
}

}  // namespace segmentd::targeting

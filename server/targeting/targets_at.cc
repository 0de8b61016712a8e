#include "server/targeting/targets_at.h"

#include <roaring/roaring.h>

#include "server/targeting/arms.h"
#include "server/targeting/expression.h"

namespace segmentd::targeting {

bool EvaluateAt(const v1::TargetExpression& expression,
                const std::optional<std::vector<std::string>>& segments,
                std::vector<std::string>* matched) {
  if (!segments.has_value()) {
    if (matched != nullptr) matched->clear();
    return false;
  }
  return EvaluateOnSegments(expression, *segments, matched);
}

absl::Status WalkTargetsAt(
    MembershipIndex& index, const SegmentsAt& segments_at, const std::string& tenant,
    const v1::TargetExpression& expression, absl::Time as_of, uint32_t after,
    const std::function<bool(const std::vector<uint32_t>&, const std::vector<std::string>&)>& fn) {
  uint32_t customers = 0;
  absl::Status s = index.Read(tenant, /*fresh=*/true, [&](const MembershipIndex::View& view) {
    customers = view.customers();
  });
  if (!s.ok()) return s;
  if (after >= customers) return absl::OkStatus();
  // Ordinals are dense from 1 (store/customer_store.h).
  const Bitmap everyone(roaring_bitmap_from_range(uint64_t{after} + 1, uint64_t{customers} + 1, 1));
  absl::Status failed;
  s = Walk(index, tenant, everyone, after, kClassifyPage,
           [&](const std::vector<uint32_t>& ordinals, const std::vector<std::string>& ids) {
             absl::StatusOr<std::vector<std::optional<std::vector<std::string>>>> segments =
                 segments_at(tenant, ids, as_of);
             if (!segments.ok()) {
               failed = segments.status();
               return false;
             }
             std::vector<uint32_t> matched_ordinals;
             std::vector<std::string> matched_ids;
             for (size_t i = 0; i < ids.size(); ++i) {
               if (EvaluateAt(expression, (*segments)[i], nullptr)) {
                 matched_ordinals.push_back(ordinals[i]);
                 matched_ids.push_back(ids[i]);
               }
             }
             return fn(matched_ordinals, matched_ids);
           });
  if (!s.ok()) return s;
  return failed;
}

absl::StatusOr<TargetCounts> CountTargetsAt(MembershipIndex& index, const SegmentsAt& segments_at,
                                            const std::string& tenant, const Target& target,
                                            absl::Time as_of,
                                            const std::function<bool()>& cancelled) {
  const ArmAssigner arms(tenant, target.voucher_id, target.arms);
  TargetCounts out;
  std::vector<int64_t> per_arm(arms.names().size());
  bool stopped = false;
  absl::Status s =
      WalkTargetsAt(index, segments_at, tenant, target.expression, as_of, /*after=*/0,
                    [&](const std::vector<uint32_t>&, const std::vector<std::string>& ids) {
                      out.customers += static_cast<int64_t>(ids.size());
                      if (arms.has_arms()) {
                        for (const std::string& id : ids) ++per_arm[arms.ArmIndex(id)];
                      }
                      stopped = cancelled();
                      return !stopped;
                    });
  if (!s.ok()) return s;
  if (stopped) return absl::CancelledError("cancelled");
  for (size_t i = 0; i < per_arm.size(); ++i) out.arms.emplace_back(arms.names()[i], per_arm[i]);
  return out;
}

absl::StatusOr<TargetCounts> CountTargetsNowOrAt(MembershipIndex& index, ArmCache& arm_cache,
                                                 const SegmentsAt& segments_at,
                                                 const std::string& tenant, const Target& target,
                                                 std::optional<absl::Time> as_of,
                                                 const std::function<bool()>& cancelled) {
  if (!as_of.has_value()) return CountTargets(index, arm_cache, tenant, target, cancelled);
  return CountTargetsAt(index, segments_at, tenant, target, *as_of, cancelled);
}

}  // namespace segmentd::targeting

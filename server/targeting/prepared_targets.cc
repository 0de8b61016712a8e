#include "server/targeting/prepared_targets.h"

#include <utility>

#include "server/targeting/expression.h"

namespace segmentd::targeting {

PreparedTarget::PreparedTarget(absl::string_view tenant, Target resolved)
    : target(std::move(resolved)),
      mentioned(MentionedSegments(target.expression)),
      arms(tenant, target.voucher_id, target.arms) {}

absl::StatusOr<std::shared_ptr<const PreparedTarget>> PreparedTargets::Get(
    VoucherStore& vouchers, absl::string_view tenant, const v1::TargetRef& ref,
    absl::string_view field, const std::string& voucher_version, bool may_read) {
  const bool registered = ref.ref_case() == v1::TargetRef::kVoucherId;
  if (registered) {
    absl::ReaderMutexLock lock(&mu_);
    if (auto t = cache_.find(tenant); t != cache_.end()) {
      if (auto v = t->second.find(ref.voucher_id());
          v != t->second.end() && v->second.version == voucher_version) {
        return v->second.prepared;
      }
    }
  }
  if (registered && !may_read) return nullptr;
  absl::StatusOr<Target> resolved = Resolve(vouchers, tenant, ref, field, &voucher_version);
  if (!resolved.ok()) return resolved.status();
  auto prepared = std::make_shared<const PreparedTarget>(tenant, *std::move(resolved));
  if (registered) {
    absl::MutexLock lock(&mu_);
    if (entries_ >= kMaxEntries) {
      cache_.clear();
      entries_ = 0;
    }
    auto [it, inserted] = cache_[tenant].try_emplace(ref.voucher_id());
    if (inserted) ++entries_;
    // Any other version replaces the entry (versions can go back: see
    // VoucherStore::CacheAt).
    it->second = Entry{voucher_version, prepared};
  }
  return prepared;
}

}  // namespace segmentd::targeting

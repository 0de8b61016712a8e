#include "server/targeting/arm_cache.h"

#include <roaring/roaring.h>

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "server/targeting/arms.h"

namespace segmentd::targeting {

struct ArmCache::Entry {
  Entry(absl::string_view tenant, absl::string_view voucher_id,
        const google::protobuf::RepeatedPtrField<v1::Arm>& arm_list, uint64_t index_generation)
      : generation(index_generation),
        assigner(tenant, voucher_id, arm_list),
        arms(arm_list.size()) {}

  const uint64_t generation;
  const ArmAssigner assigner;
  absl::Mutex mu;
  // Every ordinal assigned so far, and those of each arm (in arm order).
  Bitmap seen ABSL_GUARDED_BY(mu);
  std::vector<Bitmap> arms ABSL_GUARDED_BY(mu);
};

ArmCache::ArmCache(size_t max_entries) : max_entries_(max_entries == 0 ? 1 : max_entries) {}

size_t ArmCache::size() const {
  absl::MutexLock lock(&mu_);
  return entries_.size();
}

std::shared_ptr<ArmCache::Entry> ArmCache::Get(
    absl::string_view tenant, absl::string_view voucher_id,
    const google::protobuf::RepeatedPtrField<v1::Arm>& arms, uint64_t generation) {
  // Every part length-prefixed, so no two keys collide; the arms list (names,
  // weights, order) is part of the key, since changing it moves customers.
  std::string key = absl::StrCat(tenant.size(), ":", tenant, voucher_id.size(), ":", voucher_id);
  for (const v1::Arm& arm : arms) {
    absl::StrAppend(&key, arm.name().size(), ":", arm.name(), arm.weight(), ";");
  }
  absl::MutexLock lock(&mu_);
  auto it = entries_.find(key);
  if (it != entries_.end()) {
    const uint64_t cached = it->second.entry->generation;
    if (generation < cached) {
      // Evaluated before the index was rebuilt: answer it without touching
      // the newer entry (callers of both generations would otherwise keep
      // replacing each other's).
      return std::make_shared<Entry>(tenant, voucher_id, arms, generation);
    }
    order_.splice(order_.begin(), order_, it->second.position);
    if (generation == cached) return it->second.entry;
    // The index was rebuilt: its ordinals are not trusted to name the same
    // customers as before.
    it->second.entry = std::make_shared<Entry>(tenant, voucher_id, arms, generation);
    return it->second.entry;
  }
  order_.push_front(key);
  auto entry = std::make_shared<Entry>(tenant, voucher_id, arms, generation);
  entries_.emplace(std::move(key), Slot{entry, order_.begin()});
  while (entries_.size() > max_entries_) {
    entries_.erase(order_.back());
    order_.pop_back();
  }
  return entry;
}

absl::StatusOr<std::vector<int64_t>> ArmCache::Count(
    MembershipIndex& index, absl::string_view tenant, absl::string_view voucher_id,
    const google::protobuf::RepeatedPtrField<v1::Arm>& arms, const Bitmap& members,
    uint64_t generation, const std::function<bool()>& cancelled) {
  std::shared_ptr<Entry> entry = Get(tenant, voucher_id, arms, generation);
  // One caller per voucher fills it; the others wait and find it filled.
  absl::MutexLock lock(&entry->mu);
  Bitmap unseen(roaring_bitmap_andnot(members.get(), entry->seen.get()));
  if (unseen.Cardinality() > 0) {
    std::vector<std::vector<uint32_t>> by_arm(entry->arms.size());
    absl::Status s =
        Walk(index, tenant, unseen, 0, kWalkBatch,
             [&](const std::vector<uint32_t>& ordinals, const std::vector<std::string>& ids) {
               for (auto& a : by_arm) a.clear();
               for (size_t i = 0; i < ids.size(); ++i) {
                 by_arm[entry->assigner.ArmIndex(ids[i])].push_back(ordinals[i]);
               }
               hashed_.fetch_add(static_cast<int64_t>(ids.size()), std::memory_order_relaxed);
               // Only whole batches are remembered, each assigned from its ids.
               for (size_t a = 0; a < by_arm.size(); ++a) {
                 roaring_bitmap_add_many(entry->arms[a].get(), by_arm[a].size(), by_arm[a].data());
               }
               roaring_bitmap_add_many(entry->seen.get(), ordinals.size(), ordinals.data());
               return !cancelled();
             });
    if (!s.ok()) return s;
    if (cancelled()) return absl::CancelledError("cancelled");
  }
  std::vector<int64_t> counts;
  counts.reserve(entry->arms.size());
  for (const Bitmap& arm : entry->arms) {
    counts.push_back(
        static_cast<int64_t>(roaring_bitmap_and_cardinality(members.get(), arm.get())));
  }
  return counts;
}

}  // namespace segmentd::targeting

#ifndef SEGMENTD_SERVER_TARGETING_ARM_CACHE_H_
#define SEGMENTD_SERVER_TARGETING_ARM_CACHE_H_

// ArmCache: the A/B arm of each customer of a split voucher, kept as one
// bitmap of ordinals per arm, so that counting a split target hashes each
// customer once per process rather than once per call. (An arm costs a
// SHA-256, ~0.1-0.2 us; a count of 200k targeted customers spent ~50 ms
// hashing them, against ~1 ms for the set algebra: docs/benchmarks.md,
// eleventh pass.)
//
// An arm is a pure function of (tenant, voucher id, customer id, arms list),
// and an ordinal names one customer within a generation of the tenant's
// membership index, so an entry holds until the index is rebuilt, the
// voucher's arms change, or it is evicted: at most `max_entries` vouchers
// are kept, the least recently used going first. An entry costs ~1-2 bits
// per customer it has seen (roaring bitmaps): ~0.3 MB for a voucher
// targeting 200k of 1M customers.
//
// Thread-safe.

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "google/protobuf/repeated_field.h"
#include "segmentd/v1/targeting.pb.h"
#include "server/targeting/membership_index.h"

namespace segmentd::targeting {

class ArmCache {
 public:
  // Default: 64 vouchers.
  explicit ArmCache(size_t max_entries = 64);

  ArmCache(const ArmCache&) = delete;
  ArmCache& operator=(const ArmCache&) = delete;

  // Returns, per arm of voucher `voucher_id` split by `arms` (valid, not
  // empty; in arm order), how many of `members` it holds. `members` was
  // evaluated on a view of `tenant`'s index of `generation`. Customers not
  // assigned yet are hashed (their ids read from the index with Walk,
  // `cancelled` polled between batches) and remembered. The index's error,
  // if any, or CANCELLED.
  absl::StatusOr<std::vector<int64_t>> Count(
      MembershipIndex& index, absl::string_view tenant, absl::string_view voucher_id,
      const google::protobuf::RepeatedPtrField<v1::Arm>& arms, const Bitmap& members,
      uint64_t generation, const std::function<bool()>& cancelled);

  // Returns how many vouchers are cached (for tests).
  size_t size() const;
  // Returns how many customer ids were hashed into arms so far (for tests:
  // what a count did not find cached).
  int64_t hashed() const { return hashed_.load(std::memory_order_relaxed); }

 private:
  struct Entry;

  // Returns the entry of (tenant, voucher, arms) at `generation`: the cached
  // one, replaced when absent or built on an older generation (the index was
  // rebuilt); for a caller of an older generation than the cached entry's (a
  // count that began before the rebuild), a new entry that is not kept.
  // Marks the kept entry most recently used and evicts the least recently
  // used past max_entries_.
  std::shared_ptr<Entry> Get(absl::string_view tenant, absl::string_view voucher_id,
                             const google::protobuf::RepeatedPtrField<v1::Arm>& arms,
                             uint64_t generation);

  const size_t max_entries_;
  std::atomic<int64_t> hashed_{0};
  mutable absl::Mutex mu_;
  // Most recently used first.
  std::list<std::string> order_ ABSL_GUARDED_BY(mu_);
  struct Slot {
    std::shared_ptr<Entry> entry;
    std::list<std::string>::iterator position;
  };
  absl::flat_hash_map<std::string, Slot> entries_ ABSL_GUARDED_BY(mu_);
};

}  // namespace segmentd::targeting

#endif  // SEGMENTD_SERVER_TARGETING_ARM_CACHE_H_

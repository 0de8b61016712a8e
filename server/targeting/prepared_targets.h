#ifndef SEGMENTD_SERVER_TARGETING_PREPARED_TARGETS_H_
#define SEGMENTD_SERVER_TARGETING_PREPARED_TARGETS_H_

// PreparedTargets: resolved targets made ready for per-customer checks (the
// segments the expression mentions, the arm assigner), built once per
// registered voucher and voucher version instead of on every checkout call.
// Resolving a voucher id copies the stored target and rebuilding the rest
// costs some twenty allocations: a tenth of a default CheckEligibility's CPU.

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "segmentd/v1/targeting.pb.h"
#include "server/targeting/arms.h"
#include "server/targeting/target_resolution.h"
#include "server/targeting/voucher_store.h"

namespace segmentd::targeting {

// Immutable once built; shared between concurrent checks.
struct PreparedTarget {
  PreparedTarget(absl::string_view tenant, Target resolved);

  const Target target;
  // MentionedSegments(target.expression).
  const std::vector<std::string> mentioned;
  const ArmAssigner arms;
};

// Thread-safe.
class PreparedTargets {
 public:
  // Most cached (tenant, voucher) entries; past it the cache starts over.
  static constexpr size_t kMaxEntries = 100'000;

  // Returns `ref` (named `field`) of `tenant` prepared: for a voucher id, as
  // of `voucher_version` (cached per voucher while that version holds), for
  // an inline expression, validated and built for this call. Errors as
  // Resolve(). Without `may_read`, a registered target not prepared at that
  // version yet is nullptr instead of a store read (for callers on a thread
  // that must not block on Redis, e.g. gRPC's callback threads).
  absl::StatusOr<std::shared_ptr<const PreparedTarget>> Get(VoucherStore& vouchers,
                                                           absl::string_view tenant,
                                                           const v1::TargetRef& ref,
                                                           absl::string_view field,
                                                           const std::string& voucher_version,
                                                           bool may_read = true)
      ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct Entry {
    std::string version;
    std::shared_ptr<const PreparedTarget> prepared;
  };

  absl::Mutex mu_;
  // tenant -> voucher id -> entry (two maps: lookups by string_view, no key
  // built per call).
  absl::flat_hash_map<std::string, absl::flat_hash_map<std::string, Entry>> cache_
      ABSL_GUARDED_BY(mu_);
  size_t entries_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace segmentd::targeting

#endif  // SEGMENTD_SERVER_TARGETING_PREPARED_TARGETS_H_

#ifndef SEGMENTD_SERVER_LIVE_CONFIG_PREVIEW_H_
#define SEGMENTD_SERVER_LIVE_CONFIG_PREVIEW_H_

#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "engine/config.h"
#include "server/live/live_membership.h"
#include "server/live/tenant_context.h"
#include "store/customer_store.h"

namespace segmentd {

// Sizes of one segment under the current and a proposed config.
struct SegmentDelta {
  int64_t current = 0;
  int64_t proposed = 0;
  int64_t entering = 0;
  int64_t leaving = 0;

  friend bool operator==(const SegmentDelta& a, const SegmentDelta& b) {
    return a.current == b.current && a.proposed == b.proposed && a.entering == b.entering &&
           a.leaving == b.leaving;
  }
};

// How membership in each segment would move under `proposed` (with
// statistics computed for it) against the stored config, at `as_of`, per
// segment name: every fixed segment, and every category segment someone is a
// member of under either config. Writes nothing. Thread-safe.
//
// `at_now`: `as_of` is the current instant (the caller named none). Then,
// when every stored customer is classified under the stored config (no
// re-classification pending), only the customers the change can move are
// read, as an update reads them (LiveMembership::ScanCandidates), and the
// current sizes are the stored segments' (SCARD): exact but for transitions
// falling due within the scheduler's lag. A change that moves nobody (the
// stored config itself: `segctl segments`) reads no customer. Otherwise (or
// when a candidate is in a category this replica's snapshot cannot name yet)
// every customer is classified under both configs, each with its statistics
// computed at `as_of`; a customer whose history before `as_of` is kept only
// as lifetime totals then fails the call OUT_OF_RANGE naming `as_of` (as
// ClassifyCustomers does), never an approximate count. Either way the customers' profiles
// (only) are read in pages of 500 and classified on three threads while the
// next page is read. `reclassification_pending` (if given) is set when, at
// now, the stored config's re-classification was unfinished in the read
// that chose how to count.
absl::StatusOr<std::map<std::string, SegmentDelta>> PreviewConfig(
    store::CustomerStore* store, TenantContexts* contexts, LiveMembership* live,
    const std::string& tenant, const engine::SegmentConfig& proposed, absl::Time as_of, bool at_now,
    bool* reclassification_pending = nullptr);

}  // namespace segmentd

#endif  // SEGMENTD_SERVER_LIVE_CONFIG_PREVIEW_H_

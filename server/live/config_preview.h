#ifndef SEGMENTD_SERVER_LIVE_CONFIG_PREVIEW_H_
#define SEGMENTD_SERVER_LIVE_CONFIG_PREVIEW_H_

#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "engine/config.h"
#include "server/live/tenant_context.h"
#include "store/customer_store.h"

namespace segmentd {

// Sizes of one segment under the current and a proposed config.
struct SegmentDelta {
  int64_t current = 0;
  int64_t proposed = 0;
  int64_t entering = 0;
  int64_t leaving = 0;
};

// Classifies every customer of `tenant` at `as_of` under the stored config and
// under `proposed` (with statistics computed for it), and returns per segment
// name how membership would move. Writes nothing. Cost: one pass over all
// customers (their profiles only), classified on three threads while the next
// pages are read. Thread-safe.
absl::StatusOr<std::map<std::string, SegmentDelta>> PreviewConfig(
    store::CustomerStore* store, TenantContexts* contexts, const std::string& tenant,
    const engine::SegmentConfig& proposed, absl::Time as_of);

}  // namespace segmentd

#endif  // SEGMENTD_SERVER_LIVE_CONFIG_PREVIEW_H_

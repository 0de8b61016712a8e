#ifndef SEGMENTD_SERVER_INSIGHTS_TENANT_SCAN_H_
#define SEGMENTD_SERVER_INSIGHTS_TENANT_SCAN_H_

#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "engine/profile.h"
#include "server/insights/customer_timeline.h"
#include "server/live/tenant_context.h"
#include "store/customer_store.h"

namespace segmentd {

// Calls `visit` once for every customer of `tenant`, with its facts and its
// membership timeline. Reads the store in pages (ScanCustomers + one pipelined
// read per page), so no single Redis command is large and other clients are
// served in between; costs one pass over the tenant. Stops at the first error.
// Membership reconstructed before a customer's first record takes the
// statistics at each of `instants` (ascending: the instants the caller asks
// the membership at) from there on (StatisticsSteps), as ClassifyCustomers
// at that `as_of` does.
absl::Status ForEachCustomer(
    store::CustomerStore* store, TenantContexts* contexts, const std::string& tenant,
    absl::Span<const absl::Time> instants,
    const std::function<void(const engine::Profile&, const CustomerTimeline&)>& visit);

}  // namespace segmentd

#endif  // SEGMENTD_SERVER_INSIGHTS_TENANT_SCAN_H_

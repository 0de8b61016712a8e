#ifndef SEGMENTD_SERVER_SERVICES_BULK_BATCH_H_
#define SEGMENTD_SERVER_SERVICES_BULK_BATCH_H_

// One BulkIngest request message, applied: each event validated, the valid
// ones grouped by customer (in stream order) and committed through
// LiveMembership, and the response filled with a result per event that was
// not simply applied. IngestService's BulkIngest streams these; the live fuzz
// target (tests/fuzz) calls it directly.

#include <string>

#include "absl/status/status.h"
#include "segmentd/v1/ingest.pb.h"
#include "server/live/live_membership.h"
#include "server/live/tenant_context.h"
#include "server/metrics/metrics.h"

namespace segmentd {

// Most events in one BulkIngest request message.
inline constexpr int kMaxBulkEvents = 1000;

// Applies `request` for `tenant`. Fails (nothing of it acknowledged) when the
// request is too large, the category dictionary cannot be read or a customer
// cannot be committed: the client re-sends the batch (events are
// idempotent). `metrics` (may be null) counts every event's outcome.
absl::Status ApplyBulkBatch(TenantContexts* contexts, LiveMembership* live, Metrics* metrics,
                            const std::string& tenant, const v1::BulkIngestRequest& request,
                            v1::BulkIngestResponse* response);

}  // namespace segmentd

#endif  // SEGMENTD_SERVER_SERVICES_BULK_BATCH_H_

// Transitions mode: how long after a customer's membership falls due by time
// alone (no event) the change is visible to a Watch client - DESIGN.md's
// "time-driven transitions visible within 1 s".
#ifndef SEGMENTD_TESTS_LOAD_TRANSITIONS_MODE_H_
#define SEGMENTD_TESTS_LOAD_TRANSITIONS_MODE_H_

#include "absl/status/status.h"
#include "tests/load/load_client.h"

namespace segmentd::load {

// Watches NEW_DOWNLOAD, then registers `options.transitions` new customers
// (no orders) whose registration is new_download.max_days old at instants
// spread evenly over `options.duration`, starting 5 s + 1 ms per customer
// later (after the registrations, even when --duration=0 makes them all fall
// due at once): each leaves
// NEW_DOWNLOAD exactly then, with no further event. Records, per customer,
// the Watch delivery time minus that instant; prints the quantiles and one
// JSON line. Customers not seen 15 s after the last instant count as missing.
absl::Status RunTransitions(const LoadOptions& options);

}  // namespace segmentd::load

#endif  // SEGMENTD_TESTS_LOAD_TRANSITIONS_MODE_H_

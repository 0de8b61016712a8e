// Targets mode (issue 5): CountTargets of 3-segment expressions and
// StreamTargets of ~200k ids over the loaded tenant.
#ifndef SEGMENTD_TESTS_LOAD_TARGETS_MODE_H_
#define SEGMENTD_TESTS_LOAD_TARGETS_MODE_H_

#include "absl/status/status.h"
#include "tests/load/load_client.h"

namespace segmentd::load {

// Waits for the membership index, counts every fixed segment, then times
// options.repetitions sequential CountTargets of three 3-segment expressions
// over the three largest segments (client wall time per call, loopback), and
// StreamTargets of the 3-segment expression (over the 8 largest segments)
// whose count is nearest 200,000: inline with 1000 and 10000 ids per message,
// and as a registered voucher with arms. Checks that each stream returns
// exactly the counted number of distinct ids. One JSON line per timed case.
absl::Status RunTargets(const LoadOptions& options);

}  // namespace segmentd::load

#endif  // SEGMENTD_TESTS_LOAD_TARGETS_MODE_H_

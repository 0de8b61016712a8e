#ifndef SEGMENTD_SERVER_LIVE_TEST_ORDERS_H_
#define SEGMENTD_SERVER_LIVE_TEST_ORDERS_H_

#include <cstdint>
#include <string>

#include "absl/time/time.h"
#include "server/live/live_membership.h"

namespace segmentd {

// Returns the event "order `id` was placed at `at` for `amount`" (no
// categories), as live membership tests feed it to LiveMembership::Apply.
ProfileMutation Order(std::string id, absl::Time at, int64_t amount);

}  // namespace segmentd

#endif  // SEGMENTD_SERVER_LIVE_TEST_ORDERS_H_

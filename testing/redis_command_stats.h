#ifndef SEGMENTD_TESTING_REDIS_COMMAND_STATS_H_
#define SEGMENTD_TESTING_REDIS_COMMAND_STATS_H_

// Tests that assert how many commands reached Redis (a cache hit costs none,
// a shared read serves many callers) read the counts from INFO commandstats.

#include <cstdint>

#include "absl/strings/string_view.h"
#include "store/redis/redis_client.h"

namespace segmentd::testing {

// Returns how many times Redis has run `command` (lower case, e.g. "hget" or
// "script|load"), failed calls included; -1 when INFO cannot be read.
int64_t CommandCalls(store::redis::RedisClient& client, absl::string_view command);

}  // namespace segmentd::testing

#endif  // SEGMENTD_TESTING_REDIS_COMMAND_STATS_H_

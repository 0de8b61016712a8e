#ifndef SEGMENTD_SERVER_LIVE_TEST_CONFIG_UPDATE_H_
#define SEGMENTD_SERVER_LIVE_TEST_CONFIG_UPDATE_H_

// What ConfigService::Store does around LiveMembership, for tests that drive
// the live path without the service (LiveTestFixture, redis_live_fuzz).

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "engine/config.h"
#include "server/live/live_membership.h"
#include "server/live/tenant_context.h"
#include "store/customer_store.h"

namespace segmentd {

// Stores `config` over the tenant's current one (stamped `now`), reloads
// `contexts`, and re-classifies every stored customer: from the replaced
// snapshot (`by_profile`, as an update does) or fully. Returns how many
// customers moved, and sets `*deferred` (if given) to the rechecks it left.
// Does not mark the config applied (CustomerStore::ConfigApplied).
absl::StatusOr<int64_t> ApplyConfigUpdate(store::CustomerStore& store, TenantContexts& contexts,
                                          LiveMembership& live, const std::string& tenant,
                                          const engine::SegmentConfig& config, bool by_profile,
                                          absl::Time now, int64_t* deferred = nullptr);

}  // namespace segmentd

#endif  // SEGMENTD_SERVER_LIVE_TEST_CONFIG_UPDATE_H_

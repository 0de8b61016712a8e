#include "server/live/test_config_update.h"

#include <memory>

#include "server/config_convert.h"

namespace segmentd {

absl::StatusOr<int64_t> ApplyConfigUpdate(store::CustomerStore& store, TenantContexts& contexts,
                                          LiveMembership& live, const std::string& tenant,
                                          const engine::SegmentConfig& config, bool by_profile,
                                          absl::Time now, int64_t* deferred) {
  absl::StatusOr<std::shared_ptr<const TenantSnapshot>> previous = contexts.GetCurrent(tenant);
  if (!previous.ok()) return previous.status();
  absl::StatusOr<int64_t> version = store.WriteConfig(
      tenant, (*previous)->config_version, ConfigToProto(config).SerializeAsString(), now);
  if (!version.ok()) return version.status();
  absl::StatusOr<std::shared_ptr<const TenantSnapshot>> reloaded = contexts.Reload(tenant);
  if (!reloaded.ok()) return reloaded.status();
  return live.ReevaluateAll(tenant, store::ChangeCause::kConfig,
                            by_profile ? *std::move(previous) : nullptr, deferred);
}

}  // namespace segmentd

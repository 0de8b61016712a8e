#ifndef SEGMENTD_SERVER_SERVICES_CONFIG_SERVICE_H_
#define SEGMENTD_SERVER_SERVICES_CONFIG_SERVICE_H_

#include <functional>
#include <optional>

#include "absl/functional/function_ref.h"
#include "segmentd/v1/config.grpc.pb.h"
#include "server/auth/call_authorizer.h"
#include "server/live/live_membership.h"
#include "server/live/tenant_context.h"
#include "server/metrics/metrics.h"
#include "store/customer_store.h"

namespace segmentd {

// segmentd.v1.ConfigService. An update (or preset) is stored, then every
// customer is re-classified before the call returns, so the new membership is
// complete when the caller sees success. Thread-safe.
class ConfigServiceImpl final : public v1::ConfigService::Service {
 public:
  // Every pointer must outlive the service.
  ConfigServiceImpl(Authenticator* authenticator, store::CustomerStore* store,
                    TenantContexts* contexts, LiveMembership* live,
                    std::function<absl::Time()> now, Metrics* metrics = nullptr);

  grpc::Status GetConfig(grpc::ServerContext* context, const v1::GetConfigRequest* request,
                         v1::GetConfigResponse* response) override;
  grpc::Status UpdateConfig(grpc::ServerContext* context, const v1::UpdateConfigRequest* request,
                            v1::UpdateConfigResponse* response) override;
  grpc::Status ListPresets(grpc::ServerContext* context, const v1::ListPresetsRequest* request,
                           v1::ListPresetsResponse* response) override;
  grpc::Status ApplyPreset(grpc::ServerContext* context, const v1::ApplyPresetRequest* request,
                           v1::ApplyPresetResponse* response) override;
  grpc::Status PreviewConfig(grpc::ServerContext* context,
                             const v1::PreviewConfigRequest* request,
                             v1::PreviewConfigResponse* response) override;

 private:
  // Stores `config` (if the version matches), re-classifies every customer,
  // and fills the stored form and the number of customers moved.
  // `raced`: it failed ABORTED because another update was stored between
  // its read and its write (nothing of this one stored).
  absl::Status Store(const std::string& tenant, const engine::SegmentConfig& config,
                     std::optional<int64_t> expected_version, v1::VersionedConfig* stored,
                     int64_t* customers_changed, bool* raced);
  // One attempt of UpdateConfig: merge on the stored config, then Store.
  absl::Status UpdateConfigOnce(const Caller& caller, const v1::UpdateConfigRequest* request,
                                v1::UpdateConfigResponse* response, bool* raced);
  // Runs `attempt` (UpdateConfigOnce, Store) again while it lost a race to
  // another update (*raced), unless the caller named expected_version, up
  // to kConfigAttempts times; returns the last attempt's status.
  static absl::Status RetryingRaces(bool expected_version_given,
                                    absl::FunctionRef<absl::Status(bool* raced)> attempt);

  // Attempts of an update without expected_version that keeps losing races.
  static constexpr int kConfigAttempts = 8;
  // Fills `out` with the tenant's stored config (defaults, version 0, if none).
  absl::Status Read(const std::string& tenant, v1::VersionedConfig* out);
  // Fills `out` with `config` at `version` (stored at `updated_at`) and the
  // tenant's pending schedule updates.
  absl::Status Fill(const std::string& tenant, v1::SegmentConfig config, int64_t version,
                    std::optional<absl::Time> updated_at, v1::VersionedConfig* out);

  store::CustomerStore* const store_;
  TenantContexts* const contexts_;
  LiveMembership* const live_;
  const CallAuthorizer authorizer_;
  const std::function<absl::Time()> now_;
  Metrics* const metrics_;  // may be null
};

}  // namespace segmentd

#endif  // SEGMENTD_SERVER_SERVICES_CONFIG_SERVICE_H_

#include "server/services/config_service.h"

#include <google/protobuf/util/field_mask_util.h>
#include <google/protobuf/util/message_differencer.h>

#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "server/config_convert.h"
#include "server/field_error.h"
#include "server/grpc_status.h"
#include "server/live/config_preview.h"
#include "server/log.h"
#include "server/proto_time.h"
#include "server/steady_clock.h"

namespace segmentd {
namespace {

using google::protobuf::util::FieldMaskUtil;

struct PresetInfo {
  v1::Preset proto;
  engine::Preset engine;
  const char* description;
};

constexpr PresetInfo kPresets[] = {
    {v1::PRESET_FAST_FOOD, engine::Preset::kFastFood,
     "Fast food: Frequent Buyer 8 orders / 30 days; Big Spender AOV 150.00 / 180 days"},
    {v1::PRESET_FASHION, engine::Preset::kFashion,
     "Fashion: Frequent Buyer 4 orders / 90 days; Big Spender AOV 600.00 / 365 days"},
    {v1::PRESET_GROCERY, engine::Preset::kGrocery,
     "Grocery: Frequent Buyer 6 orders / 45 days; Low Spender AOV 100.00 / 180 days"},
    {v1::PRESET_ELECTRONICS, engine::Preset::kElectronics,
     "Electronics: Frequent Buyer 3 orders / 120 days; Big Spender AOV 1500.00 / 365 days"},
};

}  // namespace

ConfigServiceImpl::ConfigServiceImpl(Authenticator* authenticator, store::CustomerStore* store,
                                     TenantContexts* contexts, LiveMembership* live,
                                     std::function<absl::Time()> now, Metrics* metrics)
    : store_(store),
      contexts_(contexts),
      live_(live),
      authorizer_(authenticator, v1::ConfigService::service_full_name()),
      now_(std::move(now)),
      metrics_(metrics) {}

absl::Status ConfigServiceImpl::Read(const std::string& tenant, v1::VersionedConfig* out) {
  absl::StatusOr<std::optional<store::VersionedBlob>> blob = store_->ReadConfig(tenant);
  if (!blob.ok()) return blob.status();
  absl::StatusOr<std::pair<engine::SegmentConfig, int64_t>> config =
      ParseStoredConfig(*blob, tenant);
  if (!config.ok()) return config.status();
  absl::Status filled =
      Fill(tenant, ConfigToProto(config->first), config->second,
           blob->has_value() ? std::optional<absl::Time>((*blob)->updated_at) : std::nullopt, out);
  out->set_reclassification_pending(blob->has_value() && (*blob)->reclassification_pending);
  return filled;
}

absl::Status ConfigServiceImpl::Fill(const std::string& tenant, v1::SegmentConfig config,
                                     int64_t version, std::optional<absl::Time> updated_at,
                                     v1::VersionedConfig* out) {
  *out->mutable_config() = std::move(config);
  out->set_version(version);
  if (updated_at.has_value()) *out->mutable_updated_at() = ToProtoTime(*updated_at);
  absl::StatusOr<int64_t> pending = store_->RecheckCount(tenant);
  if (!pending.ok()) return pending.status();
  out->set_schedule_updates_pending(*pending);
  return absl::OkStatus();
}

absl::Status ConfigServiceImpl::Store(const std::string& tenant,
                                      const engine::SegmentConfig& config,
                                      std::optional<int64_t> expected_version,
                                      v1::VersionedConfig* stored, int64_t* customers_changed,
                                      bool* raced) {
  *raced = false;
  // One read: the version to compare-and-set on, whether it is still
  // pending re-classification, and (parsed) a check that it is intact.
  absl::StatusOr<std::optional<store::VersionedBlob>> blob = store_->ReadConfig(tenant);
  if (!blob.ok()) return blob.status();
  absl::StatusOr<std::pair<engine::SegmentConfig, int64_t>> current =
      ParseStoredConfig(*blob, tenant);
  if (!current.ok()) return current.status();
  if (expected_version.has_value() && *expected_version != current->second) {
    *raced = true;
    return absl::AbortedError(absl::StrCat("expected_version: config is at version ",
                                           current->second, ", not ", *expected_version));
  }
  const v1::SegmentConfig proto = ConfigToProto(config);
  // No change (a config-as-code tool applying the same config again, a
  // preset applied twice): the stored config answers, with its version
  // ("increases by one with every change") and nobody re-read. Not while
  // it is pending: storing it again re-classifies everyone, as any update
  // made meanwhile does.
  if (blob->has_value() && !(*blob)->reclassification_pending &&
      google::protobuf::util::MessageDifferencer::Equals(ConfigToProto(current->first), proto)) {
    *customers_changed = 0;
    return Fill(tenant, proto, current->second, (*blob)->updated_at, stored);
  }
  // The config being replaced, when every stored customer is classified under
  // it (not itself pending re-classification): then re-classifying reads only
  // the profiles and rewrites the customers the change moves
  // (LiveMembership::ReevaluateAll). Otherwise every customer in full.
  std::shared_ptr<const TenantSnapshot> previous;
  if (!blob->has_value() || !(*blob)->reclassification_pending) {
    absl::StatusOr<std::shared_ptr<const TenantSnapshot>> old =
        contexts_->GetAtVersion(tenant, current->second);
    if (!old.ok()) return old.status();
    if ((*old)->config_version == current->second) previous = *std::move(old);
  }
  // Whole milliseconds, as stored: the response says what GetConfig will.
  const absl::Time updated_at = absl::FromUnixMillis(absl::ToUnixMillis(now_()));
  // Until this call returns, this replica's mover leaves the claim below alone.
  const TenantContexts::ConfigApplication applying(contexts_, tenant);
  absl::StatusOr<int64_t> version =
      store_->WriteConfig(tenant, current->second, proto.SerializeAsString(), updated_at);
  if (!version.ok()) {
    *raced = absl::IsAborted(version.status());  // stored by another call since the read
    return version.status();
  }
  // This replica re-classifies: should it die midway, another replica's
  // StatisticsMover takes over once its liveness mark lapses (without the
  // claim, only after config_grace).
  // Marked alive first: a replica started moments ago may not be yet.
  if (absl::Status s = contexts_->MarkAlive(); !s.ok()) {
    LogError(absl::StrCat("marking this replica alive: ", s.message()));
  }
  absl::StatusOr<bool> claimed =
      store_->ClaimReclassification(tenant, *version, "", contexts_->replica_id());
  if (!claimed.ok()) {
    LogError(absl::StrCat("tenant ", tenant,
                          ": claiming the re-classification under config version ", *version, ": ",
                          claimed.status().message()));
  }
  // From here on this replica classifies with the new config; then every
  // customer is brought up to date before the caller hears success.
  absl::StatusOr<std::shared_ptr<const TenantSnapshot>> snapshot = contexts_->Reload(tenant);
  if (!snapshot.ok()) return snapshot.status();
  const absl::Duration start = SteadyNow();
  absl::StatusOr<int64_t> changed =
      live_->ReevaluateAll(tenant, store::ChangeCause::kConfig, std::move(previous));
  if (metrics_ != nullptr && changed.ok()) metrics_->ObserveConfigUpdate(SteadyNow() - start);
  if (!changed.ok()) {
    // The config is stored and new events already use it; the StatisticsMover
    // of some replica finishes the re-classification (docs/live.md).
    return absl::Status(
        changed.status().code(),
        absl::StrCat("config version ", *version,
                     " is stored and applies to new events, but re-classifying existing "
                     "customers stopped (it is finished in the background): ",
                     changed.status().message()));
  }
  if (absl::Status s = store_->ConfigApplied(tenant, *version); !s.ok()) {
    // Membership is complete; only the flag stays, and a background pass
    // re-classifies once more for nothing.
    LogError(absl::StrCat("tenant ", tenant, ": config version ", *version,
                          " applied, but recording it failed: ", s.message()));
  }
  *customers_changed = *changed;
  // What this call stored, not a later read: another update may have been
  // stored since, and its caller hears of its own.
  return Fill(tenant, proto, *version, updated_at, stored);
}

grpc::Status ConfigServiceImpl::GetConfig(grpc::ServerContext* context,
                                          const v1::GetConfigRequest* /*request*/,
                                          v1::GetConfigResponse* response) {
  absl::StatusOr<Caller> caller = authorizer_.Authorize(*context, "GetConfig");
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  return ToGrpcStatus(Read(caller->tenant_id, response->mutable_config()));
}

grpc::Status ConfigServiceImpl::UpdateConfig(grpc::ServerContext* context,
                                             const v1::UpdateConfigRequest* request,
                                             v1::UpdateConfigResponse* response) {
  absl::StatusOr<Caller> caller = authorizer_.Authorize(*context, "UpdateConfig");
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  return ToGrpcStatus(RetryingRaces(request->has_expected_version(), [&](bool* raced) {
    response->Clear();
    return UpdateConfigOnce(*caller, request, response, raced);
  }));
}

absl::Status ConfigServiceImpl::RetryingRaces(
    bool expected_version_given, absl::FunctionRef<absl::Status(bool* raced)> attempt) {
  // Without expected_version the caller asked for "this change on top of
  // whatever is stored": a concurrent update that lands between the read and
  // the write is no conflict of theirs, so the change is made again on top
  // of it (a few times at most) rather than failed ABORTED.
  for (int n = 1;; ++n) {
    bool raced = false;
    absl::Status status = attempt(&raced);
    if (!raced || expected_version_given || n == kConfigAttempts) return status;
  }
}

absl::Status ConfigServiceImpl::UpdateConfigOnce(const Caller& caller,
                                                 const v1::UpdateConfigRequest* request,
                                                 v1::UpdateConfigResponse* response, bool* raced) {
  v1::SegmentConfig proposed = request->config();
  std::optional<int64_t> merged_on;
  // Every path that names no field, then (below) every bad value of the
  // fields the valid ones name: the whole request is refused, every error
  // named.
  std::vector<std::string> bad_paths;
  if (request->has_update_mask() && request->update_mask().paths_size() > 0) {
    google::protobuf::FieldMask valid;
    for (int i = 0; i < request->update_mask().paths_size(); ++i) {
      const std::string& path = request->update_mask().paths(i);
      google::protobuf::FieldMask one;
      one.add_paths(path);
      // "" passes IsValidFieldMask and would merge nothing: an OK that
      // changed nothing the caller meant to change (a reviewer's finding).
      if (!path.empty() && FieldMaskUtil::IsValidFieldMask<v1::SegmentConfig>(one)) {
        valid.add_paths(path);
      } else {
        bad_paths.push_back(absl::StrCat("update_mask.paths[", i, "]: ", Excerpt(path),
                                         " is not a field of SegmentConfig"));
      }
    }
    absl::StatusOr<std::pair<engine::SegmentConfig, int64_t>> current =
        LoadConfig(store_, caller.tenant_id);
    if (!current.ok()) return current.status();
    v1::SegmentConfig merged = ConfigToProto(current->first);
    FieldMaskUtil::MergeOptions options;
    options.set_replace_message_fields(true);
    options.set_replace_repeated_fields(true);
    FieldMaskUtil::MergeMessageTo(request->config(), valid, options, &merged);
    proposed = std::move(merged);
    // The merge is based on this version: store it only on top of this version,
    // so a concurrent update is never silently overwritten.
    merged_on = current->second;
  }
  absl::StatusOr<engine::SegmentConfig> config = ConfigFromProto(proposed, "config.");
  if (!bad_paths.empty()) {
    if (!config.ok()) bad_paths.emplace_back(config.status().message());
    return absl::InvalidArgumentError(JoinErrors(bad_paths));
  }
  if (!config.ok()) return config.status();
  int64_t changed = 0;
  std::optional<int64_t> expected = merged_on;
  if (request->has_expected_version()) expected = request->expected_version();
  absl::Status stored =
      Store(caller.tenant_id, *config, expected, response->mutable_config(), &changed, raced);
  if (!stored.ok()) return stored;
  response->set_customers_changed(changed);
  return absl::OkStatus();
}

grpc::Status ConfigServiceImpl::ListPresets(grpc::ServerContext* context,
                                            const v1::ListPresetsRequest* /*request*/,
                                            v1::ListPresetsResponse* response) {
  absl::StatusOr<Caller> caller = authorizer_.Authorize(*context, "ListPresets");
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  for (const PresetInfo& preset : kPresets) {
    v1::PresetDescription* out = response->add_presets();
    out->set_preset(preset.proto);
    out->set_description(preset.description);
    *out->mutable_config() = ConfigToProto(engine::PresetConfig(preset.engine));
  }
  return grpc::Status::OK;
}

grpc::Status ConfigServiceImpl::ApplyPreset(grpc::ServerContext* context,
                                            const v1::ApplyPresetRequest* request,
                                            v1::ApplyPresetResponse* response) {
  absl::StatusOr<Caller> caller = authorizer_.Authorize(*context, "ApplyPreset");
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  const PresetInfo* preset = nullptr;
  for (const PresetInfo& p : kPresets) {
    if (p.proto == request->preset()) preset = &p;
  }
  if (preset == nullptr) {
    return ToGrpcStatus(absl::InvalidArgumentError(
        "preset: must be PRESET_FAST_FOOD, PRESET_FASHION, PRESET_GROCERY or PRESET_ELECTRONICS"));
  }
  int64_t changed = 0;
  std::optional<int64_t> expected;
  if (request->has_expected_version()) expected = request->expected_version();
  absl::Status stored = RetryingRaces(expected.has_value(), [&](bool* raced) {
    return Store(caller->tenant_id, engine::PresetConfig(preset->engine), expected,
                 response->mutable_config(), &changed, raced);
  });
  if (!stored.ok()) return ToGrpcStatus(stored);
  response->set_customers_changed(changed);
  return grpc::Status::OK;
}

grpc::Status ConfigServiceImpl::PreviewConfig(grpc::ServerContext* context,
                                              const v1::PreviewConfigRequest* request,
                                              v1::PreviewConfigResponse* response) {
  absl::StatusOr<Caller> caller = authorizer_.Authorize(*context, "PreviewConfig");
  if (!caller.ok()) return ToGrpcStatus(caller.status());
  absl::StatusOr<engine::SegmentConfig> config = ConfigFromProto(request->config(), "config.");
  if (!config.ok()) return ToGrpcStatus(config.status());
  absl::StatusOr<absl::Time> as_of =
      ProtoTimeOr(request->has_as_of(), request->as_of(), "as_of", now_());
  if (!as_of.ok()) return ToGrpcStatus(as_of.status());
  bool pending = false;
  absl::StatusOr<std::map<std::string, SegmentDelta>> deltas =
      segmentd::PreviewConfig(store_, contexts_, live_, caller->tenant_id, *config, *as_of,
                              /*at_now=*/!request->has_as_of(), &pending);
  if (!deltas.ok()) return ToGrpcStatus(deltas.status());
  for (const auto& [segment, delta] : *deltas) {
    v1::SegmentPreview* out = response->add_segments();
    out->set_segment(segment);
    out->set_current_size(delta.current);
    out->set_proposed_size(delta.proposed);
    out->set_entering(delta.entering);
    out->set_leaving(delta.leaving);
  }
  *response->mutable_as_of() = ToProtoTime(*as_of);
  response->set_reclassification_pending(pending);
  return grpc::Status::OK;
}

}  // namespace segmentd

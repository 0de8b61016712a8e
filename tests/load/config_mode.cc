#include "tests/load/config_mode.h"

#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "segmentd/v1/config.grpc.pb.h"

namespace segmentd::load {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;

// The uint32 rule parameter at `path` ("<block>.<field>", as in an update
// mask) of `config`: the message holding it and its field.
struct Parameter {
  Message* block = nullptr;
  const FieldDescriptor* field = nullptr;
};

absl::StatusOr<Parameter> Find(v1::SegmentConfig* config, const std::string& path) {
  const std::vector<std::string> parts = absl::StrSplit(path, '.');
  const FieldDescriptor* block =
      parts.size() == 2 ? config->GetDescriptor()->FindFieldByName(parts[0]) : nullptr;
  if (block == nullptr || block->type() != FieldDescriptor::TYPE_MESSAGE) {
    return absl::InvalidArgumentError(
        absl::StrCat("config_changes: \"", path, "\" is not <rule block>.<field>"));
  }
  Parameter p;
  p.block = config->GetReflection()->MutableMessage(config, block);
  p.field = p.block->GetDescriptor()->FindFieldByName(parts[1]);
  if (p.field == nullptr || p.field->type() != FieldDescriptor::TYPE_UINT32) {
    return absl::InvalidArgumentError(
        absl::StrCat("config_changes: \"", path, "\" is not a whole-number rule parameter"));
  }
  return p;
}

// The tenant's stored config (GetConfig).
absl::StatusOr<v1::VersionedConfig> ReadConfig(v1::ConfigService::Stub& stub,
                                               const LoadOptions& options) {
  v1::GetConfigResponse current;
  grpc::ClientContext context;
  PrepareContext(&context, options.key, absl::Seconds(30));
  const grpc::Status status = stub.GetConfig(&context, v1::GetConfigRequest(), &current);
  if (!status.ok()) return FromGrpc(status);
  return current.config();
}

// Polls GetConfig until no next change is left to the background
// (schedule_updates_pending 0), so that one change's background work is
// timed with it and does not load the next change.
absl::Status WaitForSchedule(v1::ConfigService::Stub& stub, const LoadOptions& options) {
  const absl::Time give_up = absl::Now() + absl::Minutes(10);
  while (true) {
    absl::StatusOr<v1::VersionedConfig> current = ReadConfig(stub, options);
    if (!current.ok()) return current.status();
    if (current->schedule_updates_pending() == 0) return absl::OkStatus();
    if (absl::Now() > give_up) {
      return absl::DeadlineExceededError(
          absl::StrCat("schedule updates still pending after 10 minutes: ",
                       current->schedule_updates_pending()));
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
}

// The JSON result line of a timed config call or preview `change`: the
// fields every one has; the caller adds its own.
JsonLine ConfigResult(const LoadOptions& options, const std::string& change, double seconds) {
  JsonLine line;
  line.Add("mode", "config")
      .Add("customers", options.customers)
      .Add("change", change)
      .Add("seconds", seconds);
  return line;
}

// Prints `line` with the load averages before the call and now.
void PrintConfigResult(JsonLine& line, const std::string& load_before) {
  line.Add("loadavg_before", load_before).Add("loadavg_after", LoadAverage());
  std::printf("%s\n", line.Line().c_str());
  std::fflush(stdout);
}

// What a timed config call answered.
struct ConfigCallReply {
  grpc::Status status;
  v1::VersionedConfig config;
  int64_t customers_changed = 0;
};

// The reply of a config call that answered `response` (UpdateConfigResponse
// or ApplyPresetResponse) with `status`.
template <typename Response>
ConfigCallReply ReplyOf(const grpc::Status& status, const Response& response) {
  return ConfigCallReply{status, response.config(), response.customers_changed()};
}

// Calls UpdateConfig with `request`.
ConfigCallReply Update(v1::ConfigService::Stub& stub, grpc::ClientContext* context,
                       const v1::UpdateConfigRequest& request) {
  v1::UpdateConfigResponse response;
  const grpc::Status status = stub.UpdateConfig(context, request, &response);
  return ReplyOf(status, response);
}

// Runs `call` (one UpdateConfig or ApplyPreset, given its context) and reports
// its time as `change`; with `wait_for_schedule`, then waits until no next
// change is left to the background and reports that time too.
absl::Status TimeConfigCall(v1::ConfigService::Stub& stub, const LoadOptions& options,
                            const std::string& change, bool wait_for_schedule,
                            const std::function<ConfigCallReply(grpc::ClientContext*)>& call) {
  grpc::ClientContext context;
  // Generous: the point is to measure how long it takes, not to cut it off.
  PrepareContext(&context, options.key, absl::Minutes(10));
  const std::string load_before = LoadAverage();
  const absl::Time start = absl::Now();
  const ConfigCallReply reply = call(&context);
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  if (!reply.status.ok()) return FromGrpc(reply.status);
  const int64_t deferred = reply.config.schedule_updates_pending();
  if (wait_for_schedule) {
    if (absl::Status s = WaitForSchedule(stub, options); !s.ok()) return s;
  }
  // -1: not waited for.
  const double settled = wait_for_schedule ? absl::ToDoubleSeconds(absl::Now() - start) : -1;
  const std::string settled_text =
      wait_for_schedule ? absl::StrFormat("all recomputed %.3f s after the call began", settled)
                        : std::string("not waited for");
  std::printf(
      "config: %s: %.3f s, %lld customers changed, version %lld; %lld next changes left to "
      "the background, %s\n",
      change.c_str(), seconds, static_cast<long long>(reply.customers_changed),
      static_cast<long long>(reply.config.version()), static_cast<long long>(deferred),
      settled_text.c_str());
  JsonLine line = ConfigResult(options, change, seconds);
  line.Add("customers_changed", reply.customers_changed)
      .Add("schedule_deferred", deferred)
      .Add("schedule_settled_seconds", settled);
  PrintConfigResult(line, load_before);
  return absl::OkStatus();
}

// Applies preset `name` (e.g. FAST_FOOD), then stores the config it replaced
// again (one full UpdateConfig), timing both.
absl::Status ApplyPresetAndBack(v1::ConfigService::Stub& stub, const LoadOptions& options,
                                const std::string& name) {
  v1::Preset preset;
  if (!v1::Preset_Parse(absl::StrCat("PRESET_", name), &preset) ||
      preset == v1::PRESET_UNSPECIFIED) {
    return absl::InvalidArgumentError(
        absl::StrCat("config_changes: \"preset:", name, "\" names no preset"));
  }
  absl::StatusOr<v1::VersionedConfig> replaced = ReadConfig(stub, options);
  if (!replaced.ok()) return replaced.status();
  absl::Status applied = TimeConfigCall(
      stub, options, absl::StrCat("preset ", name), true, [&](grpc::ClientContext* ctx) {
        v1::ApplyPresetRequest request;
        request.set_preset(preset);
        v1::ApplyPresetResponse response;
        const grpc::Status status = stub.ApplyPreset(ctx, request, &response);
        return ReplyOf(status, response);
      });
  if (!applied.ok()) return applied;
  return TimeConfigCall(
      stub, options, absl::StrCat("preset ", name, " -> back"), true,
      [&](grpc::ClientContext* ctx) {
        v1::UpdateConfigRequest request;
        *request.mutable_config() = replaced->config();
        return Update(stub, ctx, request);
      });
}

// Calls PreviewConfig with `request` and reports its time as preview `name`.
absl::Status TimePreview(v1::ConfigService::Stub& stub, const LoadOptions& options,
                         const std::string& name, const v1::PreviewConfigRequest& request) {
  v1::PreviewConfigResponse response;
  grpc::ClientContext context;
  PrepareContext(&context, options.key, absl::Minutes(10));
  const std::string load_before = LoadAverage();
  const absl::Time start = absl::Now();
  const grpc::Status status = stub.PreviewConfig(&context, request, &response);
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  if (!status.ok()) return FromGrpc(status);
  int64_t entering = 0, leaving = 0;
  for (const v1::SegmentPreview& segment : response.segments()) {
    entering += segment.entering();
    leaving += segment.leaving();
  }
  std::printf("config: preview %s: %.3f s, %lld memberships entering, %lld leaving\n", name.c_str(),
              seconds, static_cast<long long>(entering), static_cast<long long>(leaving));
  JsonLine line = ConfigResult(options, absl::StrCat("preview ", name), seconds);
  line.Add("entering", entering).Add("leaving", leaving);
  PrintConfigResult(line, load_before);
  return absl::OkStatus();
}

// Previews preset `name` (PreviewConfig of its config, from ListPresets), or
// with `name` "STORED" the stored config itself (the segment sizes `segctl
// segments` prints), timing the call; nothing is stored.
absl::Status PreviewPreset(v1::ConfigService::Stub& stub, const LoadOptions& options,
                           const std::string& name) {
  v1::PreviewConfigRequest request;
  if (name == "STORED") {
    absl::StatusOr<v1::VersionedConfig> stored = ReadConfig(stub, options);
    if (!stored.ok()) return stored.status();
    *request.mutable_config() = stored->config();
    return TimePreview(stub, options, name, request);
  }
  v1::ListPresetsResponse presets;
  {
    grpc::ClientContext context;
    PrepareContext(&context, options.key, absl::Seconds(30));
    const grpc::Status status = stub.ListPresets(&context, v1::ListPresetsRequest(), &presets);
    if (!status.ok()) return FromGrpc(status);
  }
  const v1::PresetDescription* preset = nullptr;
  for (const v1::PresetDescription& p : presets.presets()) {
    if (v1::Preset_Name(p.preset()) == absl::StrCat("PRESET_", name)) preset = &p;
  }
  if (preset == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("config_changes: \"preview:", name, "\" names no preset"));
  }
  *request.mutable_config() = preset->config();
  return TimePreview(stub, options, name, request);
}

}  // namespace

absl::Status ApplyConfigStep(v1::ConfigService::Stub& stub, const LoadOptions& options,
                             const ConfigStep& step, bool wait_for_schedule) {
  v1::UpdateConfigRequest request;
  absl::StatusOr<Parameter> p = Find(request.mutable_config(), step.path);
  if (!p.ok()) return p.status();
  p->block->GetReflection()->SetUInt32(p->block, p->field, step.to);
  request.mutable_update_mask()->add_paths(step.path);
  return TimeConfigCall(stub, options, absl::StrCat(step.path, " ", step.from, " -> ", step.to),
                        wait_for_schedule,
                        [&](grpc::ClientContext* ctx) { return Update(stub, ctx, request); });
}

absl::StatusOr<ConfigStep> NextConfigStep(v1::ConfigService::Stub& stub,
                                          const LoadOptions& options, const std::string& path) {
  absl::StatusOr<v1::VersionedConfig> current = ReadConfig(stub, options);
  if (!current.ok()) return current.status();
  v1::SegmentConfig config = current->config();
  absl::StatusOr<Parameter> p = Find(&config, path);
  if (!p.ok()) return p.status();
  ConfigStep step;
  step.path = path;
  step.from = p->block->GetReflection()->GetUInt32(*p->block, p->field);
  step.to = step.from >= 10 ? step.from - 1 : step.from + 1;
  return step;
}

absl::Status RunConfig(const LoadOptions& options) {
  std::unique_ptr<v1::ConfigService::Stub> stub =
      v1::ConfigService::NewStub(NewChannel(options.target));
  for (const std::string& path : options.config_changes) {
    if (absl::StartsWith(path, "preview:")) {
      if (absl::Status s = PreviewPreset(*stub, options, path.substr(8)); !s.ok()) return s;
      continue;
    }
    if (absl::StartsWith(path, "preset:")) {
      if (absl::Status s = ApplyPresetAndBack(*stub, options, path.substr(7)); !s.ok()) return s;
      continue;
    }
    absl::StatusOr<ConfigStep> step = NextConfigStep(*stub, options, path);
    if (!step.ok()) return step.status();
    // One step, then back: both directions of a change, and the tenant ends
    // as it began.
    if (absl::Status s = ApplyConfigStep(*stub, options, *step, true); !s.ok()) return s;
    const ConfigStep back = {path, step->to, step->from};
    if (absl::Status s = ApplyConfigStep(*stub, options, back, true); !s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace segmentd::load

#include "tests/load/config_mode.h"

#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
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

// Polls GetConfig until no next change is left to the background
// (schedule_updates_pending 0), so that one change's background work is
// timed with it and does not load the next change.
absl::Status WaitForSchedule(v1::ConfigService::Stub& stub, const LoadOptions& options) {
  const absl::Time give_up = absl::Now() + absl::Minutes(10);
  while (true) {
    v1::GetConfigResponse current;
    grpc::ClientContext context;
    PrepareContext(&context, options.key, absl::Seconds(30));
    const grpc::Status status = stub.GetConfig(&context, v1::GetConfigRequest(), &current);
    if (!status.ok()) return FromGrpc(status);
    if (current.config().schedule_updates_pending() == 0) return absl::OkStatus();
    if (absl::Now() > give_up) {
      return absl::DeadlineExceededError(absl::StrCat(
          "schedule updates still pending after 10 minutes: ",
          current.config().schedule_updates_pending()));
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
}

// Sets `path` to `value` through UpdateConfig (update mask of that path)
// and reports the call's wall time, then how long until the next changes
// it left to the background were all recomputed.
absl::Status Update(v1::ConfigService::Stub& stub, const LoadOptions& options,
                    const std::string& path, uint32_t from, uint32_t value) {
  v1::UpdateConfigRequest request;
  absl::StatusOr<Parameter> p = Find(request.mutable_config(), path);
  if (!p.ok()) return p.status();
  p->block->GetReflection()->SetUInt32(p->block, p->field, value);
  request.mutable_update_mask()->add_paths(path);
  v1::UpdateConfigResponse response;
  grpc::ClientContext context;
  // Generous: the point is to measure how long it takes, not to cut it off.
  PrepareContext(&context, options.key, absl::Minutes(10));
  const std::string load_before = LoadAverage();
  const absl::Time start = absl::Now();
  const grpc::Status status = stub.UpdateConfig(&context, request, &response);
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  if (!status.ok()) return FromGrpc(status);
  const int64_t deferred = response.config().schedule_updates_pending();
  if (absl::Status s = WaitForSchedule(stub, options); !s.ok()) return s;
  const double settled = absl::ToDoubleSeconds(absl::Now() - start);
  const std::string change = absl::StrCat(path, " ", from, " -> ", value);
  std::printf(
      "config: %s: %.3f s, %lld customers changed, version %lld; %lld next changes left to "
      "the background, all recomputed %.3f s after the call began\n",
      change.c_str(), seconds, static_cast<long long>(response.customers_changed()),
      static_cast<long long>(response.config().version()), static_cast<long long>(deferred),
      settled);
  std::printf("%s\n", JsonLine()
                          .Add("mode", "config")
                          .Add("customers", options.customers)
                          .Add("change", change)
                          .Add("seconds", seconds)
                          .Add("customers_changed", static_cast<int64_t>(response.customers_changed()))
                          .Add("schedule_deferred", deferred)
                          .Add("schedule_settled_seconds", settled)
                          .Add("loadavg_before", load_before)
                          .Add("loadavg_after", LoadAverage())
                          .Line()
                          .c_str());
  std::fflush(stdout);
  return absl::OkStatus();
}

}  // namespace

absl::Status RunConfig(const LoadOptions& options) {
  std::unique_ptr<v1::ConfigService::Stub> stub =
      v1::ConfigService::NewStub(NewChannel(options.target));
  for (const std::string& path : options.config_changes) {
    v1::GetConfigResponse current;
    grpc::ClientContext context;
    PrepareContext(&context, options.key, absl::Seconds(30));
    const grpc::Status status = stub->GetConfig(&context, v1::GetConfigRequest(), &current);
    if (!status.ok()) return FromGrpc(status);
    v1::SegmentConfig config = current.config().config();
    absl::StatusOr<Parameter> p = Find(&config, path);
    if (!p.ok()) return p.status();
    // One step up (down from large values), then back: both directions of
    // a change, and the tenant ends as it began.
    const uint32_t before = p->block->GetReflection()->GetUInt32(*p->block, p->field);
    const uint32_t changed = before >= 10 ? before - 1 : before + 1;
    if (absl::Status s = Update(*stub, options, path, before, changed); !s.ok()) return s;
    if (absl::Status s = Update(*stub, options, path, changed, before); !s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace segmentd::load

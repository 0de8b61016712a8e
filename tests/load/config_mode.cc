#include "tests/load/config_mode.h"

#include <cstdio>

#include "segmentd/v1/config.grpc.pb.h"

namespace segmentd::load {
namespace {

// Sets frequent_buyer.min_orders to `value`; returns the call's wall time.
absl::Status Update(v1::ConfigService::Stub& stub, const LoadOptions& options, uint32_t from,
                    uint32_t value) {
  v1::UpdateConfigRequest request;
  request.mutable_config()->mutable_frequent_buyer()->set_min_orders(value);
  request.mutable_update_mask()->add_paths("frequent_buyer.min_orders");
  v1::UpdateConfigResponse response;
  grpc::ClientContext context;
  // Generous: the point is to measure how long it takes, not to cut it off.
  PrepareContext(&context, options.key, absl::Minutes(10));
  const std::string load_before = LoadAverage();
  const absl::Time start = absl::Now();
  const grpc::Status status = stub.UpdateConfig(&context, request, &response);
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  if (!status.ok()) return FromGrpc(status);
  std::printf("config: frequent_buyer.min_orders %u -> %u: %.3f s, %lld customers changed, "
              "version %lld\n",
              from, value, seconds, static_cast<long long>(response.customers_changed()),
              static_cast<long long>(response.config().version()));
  std::printf("%s\n", JsonLine()
                          .Add("mode", "config")
                          .Add("customers", options.customers)
                          .Add("change", "frequent_buyer.min_orders " + std::to_string(from) +
                                             " -> " + std::to_string(value))
                          .Add("seconds", seconds)
                          .Add("customers_changed", static_cast<int64_t>(response.customers_changed()))
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
  v1::GetConfigResponse current;
  {
    grpc::ClientContext context;
    PrepareContext(&context, options.key, absl::Seconds(30));
    const grpc::Status status = stub->GetConfig(&context, v1::GetConfigRequest(), &current);
    if (!status.ok()) return FromGrpc(status);
  }
  const uint32_t before = current.config().config().frequent_buyer().min_orders();
  const uint32_t changed = before >= 10 ? before - 1 : before + 1;
  if (absl::Status s = Update(*stub, options, before, changed); !s.ok()) return s;
  return Update(*stub, options, changed, before);
}

}  // namespace segmentd::load

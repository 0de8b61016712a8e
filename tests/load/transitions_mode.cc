#include "tests/load/transitions_mode.h"

#include <atomic>
#include <cstdio>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "segmentd/v1/config.grpc.pb.h"
#include "segmentd/v1/ingest.grpc.pb.h"
#include "segmentd/v1/watch.grpc.pb.h"
#include "tests/load/config_mode.h"

namespace segmentd::load {

absl::Status RunTransitions(const LoadOptions& options) {
  const int n = options.transitions;
  if (n < 1) return absl::InvalidArgumentError("--transitions: must be >= 1");
  std::shared_ptr<grpc::Channel> channel = NewChannel(options.target);
  v1::GetConfigResponse config;
  {
    grpc::ClientContext context;
    PrepareContext(&context, options.key, absl::Seconds(30));
    const grpc::Status status =
        v1::ConfigService::NewStub(channel)->GetConfig(&context, v1::GetConfigRequest(), &config);
    if (!status.ok()) return FromGrpc(status);
  }
  const v1::NewDownloadConfig& nd = config.config().config().new_download();
  if (nd.has_enabled() && !nd.enabled()) {
    return absl::FailedPreconditionError("new_download is disabled in the tenant's config");
  }
  const absl::Duration max_days = absl::Hours(24) * static_cast<int>(nd.max_days());

  const std::string prefix = absl::StrCat("tr", absl::ToUnixMillis(absl::Now()), "-");
  absl::Mutex mu;
  std::vector<absl::Time> due(n), seen(n, absl::InfinitePast());  // guarded by mu
  int entered = 0, left = 0;                                        // guarded by mu

  // The Watch first: it starts with the next change, and each registration's
  // ENTERED change shows it is live before the first instant falls due.
  // The first instant falls due once every customer is registered (one
  // RegisterCustomer at a time: ~2,500/s on the dev VM), so that all of them
  // fall due when --duration says, even all at once (--duration=0).
  const absl::Duration lead = absl::Seconds(5) + absl::Milliseconds(n);
  grpc::ClientContext watch_context;
  PrepareContext(&watch_context, options.key, lead + options.duration + absl::Seconds(60));
  v1::WatchRequest watch_request;
  watch_request.add_segments("NEW_DOWNLOAD");
  std::unique_ptr<grpc::ClientReader<v1::WatchResponse>> reader =
      v1::WatchService::NewStub(channel)->Watch(&watch_context, watch_request);
  std::thread watcher([&] {
    v1::WatchResponse response;
    while (reader->Read(&response)) {
      const absl::Time now = absl::Now();
      absl::MutexLock lock(&mu);
      for (const v1::MembershipChange& c : response.changes()) {
        int i = 0;
        if (!absl::StartsWith(c.customer_id(), prefix) ||
            !absl::SimpleAtoi(absl::string_view(c.customer_id()).substr(prefix.size()), &i) ||
            i < 0 || i >= n) {
          continue;
        }
        if (c.kind() == v1::CHANGE_KIND_ENTERED) ++entered;
        if (c.kind() == v1::CHANGE_KIND_LEFT && c.cause() == v1::CHANGE_CAUSE_TIME &&
            seen[i] == absl::InfinitePast()) {
          seen[i] = now;
          ++left;
        }
      }
      if (left == n) break;
    }
  });
  absl::SleepFor(absl::Milliseconds(500));

  // Optionally a config change whose next changes are still being
  // recomputed in the background while these fall due.
  std::unique_ptr<v1::ConfigService::Stub> config_stub = v1::ConfigService::NewStub(channel);
  std::optional<ConfigStep> step;
  if (!options.transitions_config_change.empty()) {
    absl::StatusOr<ConfigStep> next =
        NextConfigStep(*config_stub, options, options.transitions_config_change);
    absl::Status s = next.ok() ? ApplyConfigStep(*config_stub, options, *next, false)
                               : next.status();
    if (!s.ok()) {
      watch_context.TryCancel();
      watcher.join();
      return s;
    }
    step = *next;
  }

  const absl::Time base = absl::Now() + lead;
  std::unique_ptr<v1::IngestService::Stub> ingest = v1::IngestService::NewStub(channel);
  for (int i = 0; i < n; ++i) {
    // Millisecond instants: what the server stores and schedules.
    const absl::Time at =
        absl::FromUnixMillis(absl::ToUnixMillis(base + options.duration * i / n));
    {
      absl::MutexLock lock(&mu);
      due[i] = at;
    }
    v1::RegisterCustomerRequest request;
    request.mutable_event()->set_customer_id(absl::StrCat(prefix, i));
    *request.mutable_event()->mutable_registered_at() = ToTimestamp(at - max_days);
    v1::RegisterCustomerResponse response;
    grpc::ClientContext context;
    PrepareContext(&context, options.key, absl::Seconds(30));
    const grpc::Status status = ingest->RegisterCustomer(&context, request, &response);
    if (!status.ok()) {
      watch_context.TryCancel();
      watcher.join();
      return FromGrpc(status);
    }
  }
  const absl::Time registered = absl::Now();
  {
    absl::MutexLock lock(&mu);
    auto all_left = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) { return left == n; };
    mu.AwaitWithDeadline(absl::Condition(&all_left),
                         base + options.duration + absl::Seconds(15));
  }
  watch_context.TryCancel();
  watcher.join();
  if (step.has_value()) {
    const ConfigStep back = {step->path, step->to, step->from};
    if (absl::Status s = ApplyConfigStep(*config_stub, options, back, true); !s.ok()) return s;
  }

  absl::MutexLock lock(&mu);
  LatencyRecorder lag;
  int early = 0;
  for (int i = 0; i < n; ++i) {
    if (seen[i] == absl::InfinitePast()) continue;
    if (seen[i] < due[i]) ++early;  // would be a bug: a change before it fell due
    lag.Add(seen[i] - due[i]);
  }
  const int64_t missing = n - left;
  std::printf(
      "transitions: %d customers due over %s (registered in %.1f s, %d ENTERED seen): "
      "%lld seen, %lld missing, %d early; lag p50 %.1f ms, p99 %.1f ms, max %.1f ms\n",
      n, absl::FormatDuration(options.duration).c_str(),
      absl::ToDoubleSeconds(registered - (base - lead)), entered, static_cast<long long>(left),
      static_cast<long long>(missing), early, lag.QuantileMs(0.5), lag.QuantileMs(0.99),
      lag.MaxMs());
  std::printf("%s\n", JsonLine()
                          .Add("mode", "transitions")
                          .Add("customers", static_cast<int64_t>(n))
                          .Add("spread_s", absl::ToDoubleSeconds(options.duration))
                          .Add("seen", static_cast<int64_t>(left))
                          .Add("missing", missing)
                          .Add("early", static_cast<int64_t>(early))
                          .Add("p50_ms", lag.QuantileMs(0.5))
                          .Add("p90_ms", lag.QuantileMs(0.9))
                          .Add("p99_ms", lag.QuantileMs(0.99))
                          .Add("max_ms", lag.MaxMs())
                          .Add("loadavg", LoadAverage())
                          .Line()
                          .c_str());
  std::fflush(stdout);
  if (missing > 0) {
    return absl::DeadlineExceededError(
        absl::StrCat(missing, " transitions not seen 15 s after the last fell due"));
  }
  return absl::OkStatus();
}

}  // namespace segmentd::load

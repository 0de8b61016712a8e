#include "tests/load/insights_mode.h"

#include <atomic>
#include <cstdio>
#include <functional>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "segmentd/v1/ingest.pb.h"
#include "segmentd/v1/insights.grpc.pb.h"
#include "segmentd/v1/targeting.grpc.pb.h"
#include "tests/load/target_helpers.h"
#include "tests/load/unary_driver.h"

namespace segmentd::load {
namespace {

constexpr char kVoucher[] = "bench-insights";

// One heavy read: returns OK and fills *summary, or the error.
using HeavyCall = std::function<absl::Status(std::string* summary)>;

struct Heavy {
  std::string name;
  HeavyCall call;
};

void PrintHot(const LoadOptions& options, const std::string& phase, DriveResults& r,
              double heavy_seconds) {
  static const char* const kKinds[] = {"CheckEligibility", "PlaceOrder"};
  for (int k = 0; k < 2; ++k) {
    KindResults& x = r.kinds[k];
    std::printf("insights: %-30s %-16s %6lld ok %lld errors%s%s; p50 %.3f ms, p90 %.3f ms, "
                "p99 %.3f ms, max %.3f ms\n",
                phase.c_str(), kKinds[k], static_cast<long long>(x.ok),
                static_cast<long long>(x.Errors()), x.first_error.empty() ? "" : " first: ",
                x.first_error.c_str(), x.latency.QuantileMs(0.5), x.latency.QuantileMs(0.9),
                x.latency.QuantileMs(0.99), x.latency.MaxMs());
    std::printf("%s\n", JsonLine()
                            .Add("mode", "insights")
                            .Add("phase", phase)
                            .Add("call", kKinds[k])
                            .Add("customers", options.customers)
                            .Add("rate", options.hot_rate / 2)
                            .Add("seconds", r.seconds)
                            .Add("heavy_seconds", heavy_seconds)
                            .Add("ok", x.ok)
                            .Add("errors", x.Errors())
                            .Add("error_codes", x.ErrorText())
                            .Add("saturated", static_cast<int64_t>(r.saturated))
                            .Add("p50_ms", x.latency.QuantileMs(0.5))
                            .Add("p90_ms", x.latency.QuantileMs(0.9))
                            .Add("p99_ms", x.latency.QuantileMs(0.99))
                            .Add("max_ms", x.latency.MaxMs())
                            .Add("segmentd_cores", r.segmentd_cores)
                            .Add("redis_cores", r.redis_cores)
                            .Add("loadavg", LoadAverage())
                            .Line()
                            .c_str());
  }
  std::printf("insights: %-30s CPU: %s\n", phase.c_str(), r.cpu.c_str());
  std::fflush(stdout);
}

}  // namespace

absl::Status RunInsights(const LoadOptions& options) {
  if (options.customers <= 0) return absl::InvalidArgumentError("--customers must be > 0");
  if (options.hot_rate < 2) return absl::InvalidArgumentError("--hot_rate must be >= 2");
  std::unique_ptr<v1::TargetingService::Stub> targeting =
      v1::TargetingService::NewStub(NewChannel(options.target));
  std::unique_ptr<v1::InsightsService::Stub> insights =
      v1::InsightsService::NewStub(NewChannel(options.target, 1));
  absl::StatusOr<double> loaded = WaitForIndex(*targeting, options, absl::Minutes(5));
  if (!loaded.ok()) return loaded.status();
  if (absl::Status s = PutVoucher(
          *targeting, options, kVoucher, HotPathExpression(), {{"offer", 90}, {"holdout", 10}});
      !s.ok()) {
    return s;
  }

  const absl::Time now = absl::Now();
  const absl::Time month_ago = now - absl::Hours(24 * 30);
  const std::vector<Heavy> heavies = {
      {"GetSegmentKpis",
       [&](std::string* summary) {
         v1::GetSegmentKpisRequest request;
         *request.mutable_period()->mutable_start() = ToTimestamp(month_ago);
         *request.mutable_period()->mutable_end() = ToTimestamp(now);
         v1::GetSegmentKpisResponse response;
         grpc::ClientContext context;
         PrepareContext(&context, options.key, absl::Minutes(10));
         const grpc::Status status = insights->GetSegmentKpis(&context, request, &response);
         if (!status.ok()) return FromGrpc(status);
         int64_t members = 0, orders = 0;
         for (const v1::SegmentKpis& k : response.segments()) {
           members += k.size_at_end();
           orders += k.orders();
         }
         *summary = absl::StrCat(response.segments_size(), " segments, ", members,
                                 " memberships at end, ", orders, " orders in the period");
         return absl::OkStatus();
       }},
      {"GetSegmentFlows",
       [&](std::string* summary) {
         v1::GetSegmentFlowsRequest request;
         *request.mutable_from() = ToTimestamp(month_ago);
         *request.mutable_to() = ToTimestamp(now);
         v1::GetSegmentFlowsResponse response;
         grpc::ClientContext context;
         PrepareContext(&context, options.key, absl::Minutes(10));
         const grpc::Status status = insights->GetSegmentFlows(&context, request, &response);
         if (!status.ok()) return FromGrpc(status);
         int64_t customers = 0;
         for (const v1::FlowCell& c : response.cells()) customers += c.customers();
         *summary = absl::StrCat(response.cells_size(), " cells over ", customers, " customers, ",
                                 response.movements_size(), " movements");
         return absl::OkStatus();
       }},
  };

  // Hot path: CheckEligibility (even calls) and PlaceOrder (odd calls) of
  // spread-out loaded customers.
  std::atomic<int64_t> phase_id{0};
  const auto hot = [&](int64_t i) {
    const int64_t customer = static_cast<int64_t>((static_cast<uint64_t>(i) * 2654435761u + 17) %
                                                  static_cast<uint64_t>(options.customers));
    if (i % 2 == 0) {
      v1::CheckEligibilityRequest request;
      request.mutable_target()->set_voucher_id(kVoucher);
      request.set_customer_id(absl::StrCat("cust-", customer));
      return UnaryRequest{0, Serialize(request)};
    }
    v1::PlaceOrderRequest request;
    v1::OrderPlaced* order = request.mutable_event();
    order->set_customer_id(absl::StrCat("cust-", customer));
    order->set_order_id(absl::StrCat("ins-", options.seed, "-", absl::ToUnixSeconds(now), "-",
                                     phase_id.load(), "-", i));
    *order->mutable_placed_at() = ToTimestamp(absl::Now());
    order->set_amount(1000 + (i * 37) % 15000);
    order->add_categories(CategoryName(static_cast<engine::CategoryId>(i % 20)));
    return UnaryRequest{1, Serialize(request)};
  };
  DriveSpec spec;
  spec.methods = {kCheckEligibilityMethod, kPlaceOrderMethod};
  spec.warmup = options.warmup;
  spec.connections = options.threads;
  spec.rate = options.hot_rate;
  spec.max_in_flight = options.max_in_flight;

  for (const Heavy& heavy : heavies) {
    // Alone.
    std::string summary;
    const CpuMeter meter(options);
    const absl::Time start = absl::Now();
    const absl::Status alone_status = heavy.call(&summary);
    const double alone = absl::ToDoubleSeconds(absl::Now() - start);
    if (!alone_status.ok()) {
      std::printf("insights: %s alone FAILED after %.3f s: %s; skipped\n", heavy.name.c_str(),
                  alone, alone_status.ToString().c_str());
      continue;
    }
    std::printf("insights: %s alone: %.3f s (%s); %s\n", heavy.name.c_str(), alone,
                summary.c_str(), meter.Text().c_str());
    std::printf("%s\n", JsonLine()
                            .Add("mode", "insights")
                            .Add("phase", heavy.name + " alone")
                            .Add("customers", options.customers)
                            .Add("seconds", alone)
                            .Add("summary", summary)
                            .Add("segmentd_cores", meter.SegmentdCores())
                            .Add("redis_cores", meter.RedisCores())
                            .Add("loadavg", LoadAverage())
                            .Line()
                            .c_str());
    std::fflush(stdout);

    // Hot path without it.
    ++phase_id;
    spec.duration = options.duration;
    spec.stop = nullptr;
    DriveResults base = RunOpenLoop(options, spec, hot);
    PrintHot(options, "hot path without " + heavy.name, base, 0);

    // Hot path while it runs: the heavy call starts when the warm-up ends;
    // the measured part ends when it answers (at most 10 minutes).
    ++phase_id;
    std::atomic<bool> done{false};
    absl::Status heavy_status;
    double under_load = 0;
    std::thread runner([&] {
      absl::SleepFor(options.warmup);
      const absl::Time t0 = absl::Now();
      std::string ignored;
      heavy_status = heavy.call(&ignored);
      under_load = absl::ToDoubleSeconds(absl::Now() - t0);
      done = true;
    });
    spec.duration = absl::Minutes(10);
    spec.stop = &done;
    DriveResults during = RunOpenLoop(options, spec, hot);
    runner.join();
    // A failure under load is a result, not a reason to stop: report it.
    std::printf("insights: %s under the hot-path load: %.3f s, %s\n", heavy.name.c_str(),
                under_load, heavy_status.ok() ? "OK" : heavy_status.ToString().c_str());
    std::printf("%s\n", JsonLine()
                            .Add("mode", "insights")
                            .Add("phase", heavy.name + " under hot-path load")
                            .Add("customers", options.customers)
                            .Add("seconds", under_load)
                            .Add("status", heavy_status.ToString())
                            .Add("hot_rate", options.hot_rate)
                            .Line()
                            .c_str());
    PrintHot(options, "hot path during " + heavy.name, during, under_load);
  }
  return absl::OkStatus();
}

}  // namespace segmentd::load

#include "tests/load/eligibility_mode.h"

#include <algorithm>
#include <cstdio>
#include <random>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "segmentd/v1/targeting.grpc.pb.h"
#include "tests/load/target_helpers.h"
#include "tests/load/unary_driver.h"

namespace segmentd::load {
namespace {

constexpr char kVoucher[] = "bench-eligibility";
constexpr int kDistinctRequests = 8192;

void PrintPhase(const LoadOptions& options, const std::string& phase, const std::string& method,
                int round, DriveResults& r, double rate) {
  KindResults& k = r.kinds[0];
  const double qps = r.seconds > 0 ? k.ok / r.seconds : 0;
  std::printf("eligibility: %-28s %8.0f calls/s ok, %lld errors%s%s; p50 %.3f ms, p90 %.3f ms, "
              "p99 %.3f ms, max %.3f ms; %s\n",
              phase.c_str(), qps, static_cast<long long>(k.Errors()),
              k.first_error.empty() ? "" : " first: ", k.first_error.c_str(),
              k.latency.QuantileMs(0.5), k.latency.QuantileMs(0.9), k.latency.QuantileMs(0.99),
              k.latency.MaxMs(), r.cpu.c_str());
  std::printf("%s\n", JsonLine()
                          .Add("mode", "eligibility")
                          .Add("phase", phase)
                          .Add("method", method)
                          .Add("round", static_cast<int64_t>(round))
                          .Add("customers", options.customers)
                          .Add("callers", static_cast<int64_t>(options.callers))
                          .Add("target_rate", rate)
                          .Add("seconds", r.seconds)
                          .Add("ok", k.ok)
                          .Add("qps", qps)
                          .Add("errors", k.Errors())
                          .Add("error_codes", k.ErrorText())
                          .Add("saturated", static_cast<int64_t>(r.saturated))
                          .Add("p50_ms", k.latency.QuantileMs(0.5))
                          .Add("p90_ms", k.latency.QuantileMs(0.9))
                          .Add("p99_ms", k.latency.QuantileMs(0.99))
                          .Add("p999_ms", k.latency.QuantileMs(0.999))
                          .Add("max_ms", k.latency.MaxMs())
                          .Add("segmentd_cores", r.segmentd_cores)
                          .Add("redis_cores", r.redis_cores)
                          .Add("loadavg", LoadAverage())
                          .Line()
                          .c_str());
  std::fflush(stdout);
}

}  // namespace

absl::Status RunEligibility(const LoadOptions& options) {
  if (options.customers <= 0) return absl::InvalidArgumentError("--customers must be > 0");
  std::unique_ptr<v1::TargetingService::Stub> stub =
      v1::TargetingService::NewStub(NewChannel(options.target));
  absl::StatusOr<double> loaded = WaitForIndex(*stub, options, absl::Minutes(5));
  if (!loaded.ok()) return loaded.status();
  std::printf("eligibility: first answered query after %.3f s (index load, if not loaded yet)\n",
              *loaded);
  const v1::TargetExpression expression = HotPathExpression();
  if (absl::Status s = PutVoucher(*stub, options, kVoucher, expression,
                                  {{"offer", 90}, {"holdout", 10}});
      !s.ok()) {
    return s;
  }

  // Requests for random loaded customers, serialized once.
  std::mt19937_64 rng(options.seed * 7919 + 5);
  std::uniform_int_distribution<int64_t> customer(0, options.customers - 1);
  // Default consistency (CONSISTENCY_MINIMIZE_LATENCY) and fully consistent.
  std::vector<grpc::ByteBuffer> checks, consistent_checks;
  int eligible = 0, sampled = 0;
  for (int i = 0; i < kDistinctRequests; ++i) {
    v1::CheckEligibilityRequest request;
    request.mutable_target()->set_voucher_id(kVoucher);
    request.set_customer_id(absl::StrCat("cust-", customer(rng)));
    if (i < 200) {  // How many of the checked customers are eligible.
      v1::CheckEligibilityResponse response;
      grpc::ClientContext context;
      PrepareContext(&context, options.key, absl::Seconds(10));
      const grpc::Status status = stub->CheckEligibility(&context, request, &response);
      if (!status.ok()) return FromGrpc(status);
      ++sampled;
      eligible += response.eligibility().eligible();
    }
    checks.push_back(Serialize(request));
    request.set_consistency(v1::CONSISTENCY_FULLY_CONSISTENT);
    consistent_checks.push_back(Serialize(request));
  }
  std::printf("eligibility: voucher %s = %s, arms offer 90 / holdout 10; %d of %d sampled "
              "customers eligible\n",
              kVoucher, ExpressionText(expression).c_str(), eligible, sampled);
  const grpc::ByteBuffer health = HealthCheckRequestBody();

  // Short phases, three times as many rounds as asked for: each round's ratio
  // compares phases measured seconds apart, so the drift of this shared
  // machine's capacity (health alone was seen anywhere from 24k to 51k
  // calls/s between runs) cancels out of it.
  const int rounds = options.rounds * 3;
  DriveSpec closed;
  closed.warmup = options.warmup;
  closed.duration = std::max(absl::Seconds(1), options.duration / 3);
  closed.connections = options.threads;
  closed.callers = options.callers;
  std::printf("eligibility: closed loop, %d callers on %d connections, %s + %s warm-up per "
              "phase, %d rounds\n",
              closed.callers, closed.connections, absl::FormatDuration(closed.duration).c_str(),
              absl::FormatDuration(closed.warmup).c_str(), rounds);
  std::vector<double> health_qps, check_qps, consistent_qps, round_ratios;
  for (int round = 1; round <= rounds; ++round) {
    closed.methods = {kHealthCheckMethod};
    DriveResults h = RunClosedLoop(options, closed, [&](int64_t) { return UnaryRequest{0, health}; });
    PrintPhase(options, absl::StrCat("round ", round, " health"), kHealthCheckMethod, round, h, 0);
    closed.methods = {kCheckEligibilityMethod};
    DriveResults c = RunClosedLoop(options, closed, [&](int64_t i) {
      return UnaryRequest{0, checks[i % checks.size()]};
    });
    PrintPhase(options, absl::StrCat("round ", round, " eligibility"), kCheckEligibilityMethod,
               round, c, 0);
    DriveResults f = RunClosedLoop(options, closed, [&](int64_t i) {
      return UnaryRequest{0, consistent_checks[i % consistent_checks.size()]};
    });
    PrintPhase(options, absl::StrCat("round ", round, " fully consistent"),
               kCheckEligibilityMethod, round, f, 0);
    const double hq = h.kinds[0].ok / h.seconds, cq = c.kinds[0].ok / c.seconds,
                 fq = f.kinds[0].ok / f.seconds;
    health_qps.push_back(hq);
    check_qps.push_back(cq);
    consistent_qps.push_back(fq);
    if (hq > 0) round_ratios.push_back(cq / hq);
    std::printf("eligibility: round %d: eligibility / health = %.3f (target >= 0.8); fully "
                "consistent / health = %.3f\n",
                round, hq > 0 ? cq / hq : 0, hq > 0 ? fq / hq : 0);
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0 : v[v.size() / 2];
  };
  const double peak = median(check_qps);
  const double ratio = median(health_qps) > 0 ? peak / median(health_qps) : 0;
  std::printf("eligibility: median health %.0f/s, median eligibility %.0f/s, ratio of medians "
              "%.3f; median of the %zu rounds' ratios %.3f (target >= 0.8); fully consistent "
              "%.0f/s\n",
              median(health_qps), peak, ratio, round_ratios.size(), median(round_ratios),
              median(consistent_qps));
  std::printf("%s\n", JsonLine()
                          .Add("mode", "eligibility")
                          .Add("phase", "summary")
                          .Add("customers", options.customers)
                          .Add("callers", static_cast<int64_t>(options.callers))
                          .Add("median_health_qps", median(health_qps))
                          .Add("median_eligibility_qps", peak)
                          .Add("ratio", ratio)
                          .Add("median_round_ratio", median(round_ratios))
                          .Add("median_fully_consistent_qps", median(consistent_qps))
                          .Line()
                          .c_str());

  // Open loop at half of the peak, alternating with health checks at the
  // same rate (the floor this machine and load generator put under any unary
  // call's tail), two half-length phases each, so that neither kind always
  // runs right after the closed loops.
  DriveSpec open;
  open.warmup = options.warmup;
  open.duration = std::max(absl::Seconds(1), options.duration / 2);
  open.connections = options.threads;
  open.rate = peak / 2;
  open.max_in_flight = options.max_in_flight;
  if (open.rate < 1) return absl::InternalError("no eligibility throughput measured");
  for (int pass = 1; pass <= 2; ++pass) {
    for (bool check : {pass == 1, pass != 1}) {
      // Lets what the previous phase left queued drain first (one run saw
      // the first open-loop phase saturate during its warm-up).
      absl::SleepFor(absl::Seconds(2));
      open.methods = {check ? kCheckEligibilityMethod : kHealthCheckMethod};
      DriveResults r = RunOpenLoop(options, open, [&](int64_t i) {
        return UnaryRequest{0, check ? checks[i % checks.size()] : health};
      });
      PrintPhase(options,
                 absl::StrCat(check ? "open loop at half of peak" : "health at the same rate",
                              " (", pass, ")"),
                 check ? kCheckEligibilityMethod : kHealthCheckMethod, pass, r, open.rate);
      if (check) {
        std::printf("eligibility: at %.0f/s (half of %.0f): p99 %.3f ms (target <= 2 ms)%s\n",
                    open.rate, peak, r.kinds[0].latency.QuantileMs(0.99),
                    r.saturated ? " SATURATED" : "");
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace segmentd::load

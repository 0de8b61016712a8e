#include "tests/load/targets_mode.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "engine/segment.h"
#include "segmentd/v1/targeting.grpc.pb.h"
#include "tests/load/target_helpers.h"

namespace segmentd::load {
namespace {

constexpr int64_t kStreamGoal = 200'000;
constexpr char kStreamVoucher[] = "bench-stream";

v1::TargetRef Inline(const v1::TargetExpression& expression) {
  v1::TargetRef ref;
  *ref.mutable_expression() = expression;
  return ref;
}

struct Summary {
  double median = 0, p90 = 0, max = 0, min = 0;
};

Summary Summarize(std::vector<double> ms) {
  Summary s;
  if (ms.empty()) return s;
  std::sort(ms.begin(), ms.end());
  s.min = ms.front();
  s.median = ms.size() % 2 ? ms[ms.size() / 2] : (ms[ms.size() / 2 - 1] + ms[ms.size() / 2]) / 2;
  s.p90 = ms[std::min(ms.size() - 1, static_cast<size_t>(0.9 * ms.size()))];
  s.max = ms.back();
  return s;
}

std::string Join(const std::vector<double>& ms) {
  std::string out;
  for (double v : ms) absl::StrAppend(&out, out.empty() ? "" : " ", absl::StrFormat("%.2f", v));
  return out;
}

struct StreamRun {
  double ms = 0;
  double first_ms = 0;  // to the first message
  int64_t ids = 0;
  int64_t distinct = 0;
  int64_t messages = 0;
  std::map<std::string, int64_t> arms;
};

absl::StatusOr<StreamRun> Stream(v1::TargetingService::Stub& stub, const LoadOptions& options,
                                 const v1::TargetRef& target, uint32_t chunk, bool check) {
  v1::StreamTargetsRequest request;
  *request.mutable_target() = target;
  request.set_chunk_size(chunk);
  grpc::ClientContext context;
  PrepareContext(&context, options.key, absl::Seconds(60));
  StreamRun run;
  std::unordered_set<std::string> seen;
  const absl::Time start = absl::Now();
  std::unique_ptr<grpc::ClientReader<v1::StreamTargetsResponse>> reader =
      stub.StreamTargets(&context, request);
  v1::StreamTargetsResponse response;
  while (reader->Read(&response)) {
    if (run.messages++ == 0) run.first_ms = absl::ToDoubleMilliseconds(absl::Now() - start);
    run.ids += response.customers_size();
    if (check) {
      for (const v1::TargetedCustomer& c : response.customers()) {
        seen.insert(c.customer_id());
        ++run.arms[c.arm()];
      }
    }
  }
  const grpc::Status status = reader->Finish();
  run.ms = absl::ToDoubleMilliseconds(absl::Now() - start);
  if (!status.ok()) return FromGrpc(status);
  run.distinct = check ? static_cast<int64_t>(seen.size()) : run.ids;
  return run;
}

}  // namespace

absl::Status RunTargets(const LoadOptions& options) {
  std::unique_ptr<v1::TargetingService::Stub> stub =
      v1::TargetingService::NewStub(NewChannel(options.target));
  absl::StatusOr<double> loaded = WaitForIndex(*stub, options, absl::Minutes(5));
  if (!loaded.ok()) return loaded.status();
  std::printf("targets: first answered query after %.3f s (index load, if not loaded yet)\n",
              *loaded);

  // Segment sizes.
  std::vector<std::pair<int64_t, std::string>> sizes;
  for (int s = 0; s < engine::kNumSegments; ++s) {
    const std::string name(engine::SegmentName(static_cast<engine::Segment>(s)));
    absl::StatusOr<int64_t> n = Count(*stub, options, Inline(Leaf(name)));
    if (!n.ok()) return n.status();
    sizes.emplace_back(*n, name);
  }
  std::sort(sizes.rbegin(), sizes.rend());
  std::string size_text;
  for (const auto& [n, name] : sizes) absl::StrAppend(&size_text, " ", name, "=", n);
  std::printf("targets: segment sizes:%s\n", size_text.c_str());
  std::fflush(stdout);

  // Count: three shapes over the three largest segments.
  const std::string a = sizes[0].second, b = sizes[1].second, c = sizes[2].second;
  const std::vector<v1::TargetExpression> counted = {
      AnyOf({Leaf(a), Leaf(b), Leaf(c)}),
      AllOf({Leaf(a), Leaf(b), Leaf(c)}),
      AllOf({Leaf(a), AnyOf({Leaf(b), Leaf(c)})}),
      AllOf({Leaf(a), Leaf(b), NoneOf({Leaf(c)})}),
  };
  for (const v1::TargetExpression& e : counted) {
    std::vector<double> ms;
    int64_t result = 0;
    const CpuMeter meter(options);
    for (int r = 0; r < std::max(1, options.repetitions); ++r) {
      double t = 0;
      absl::StatusOr<int64_t> n = Count(*stub, options, Inline(e), &t);
      if (!n.ok()) return n.status();
      result = *n;
      ms.push_back(t);
    }
    const Summary s = Summarize(ms);
    std::printf("targets: count %s = %lld: %zu calls, median %.3f ms, p90 %.3f ms, max %.3f ms, "
                "min %.3f ms (target <= 10 ms); %s\n",
                ExpressionText(e).c_str(), static_cast<long long>(result), ms.size(), s.median,
                s.p90, s.max, s.min, meter.Text().c_str());
    std::printf("%s\n", JsonLine()
                            .Add("mode", "targets")
                            .Add("case", "count")
                            .Add("customers", options.customers)
                            .Add("expression", ExpressionText(e))
                            .Add("result", result)
                            .Add("calls", static_cast<int64_t>(ms.size()))
                            .Add("median_ms", s.median)
                            .Add("p90_ms", s.p90)
                            .Add("max_ms", s.max)
                            .Add("min_ms", s.min)
                            .Add("all_ms", Join(ms))
                            .Add("loadavg", LoadAverage())
                            .Line()
                            .c_str());
    std::fflush(stdout);
  }

  // Stream: the 3-segment expression nearest 200k ids among three shapes
  // over triples of the 8 largest segments.
  const int top = std::min<int>(8, static_cast<int>(sizes.size()));
  v1::TargetExpression best;
  int64_t best_n = -1;
  int candidates = 0;
  for (int i = 0; i < top; ++i) {
    for (int j = 0; j < top; ++j) {
      for (int k = j + 1; k < top; ++k) {
        if (i == j || i == k) continue;
        const std::string x = sizes[i].second, y = sizes[j].second, z = sizes[k].second;
        std::vector<v1::TargetExpression> shapes = {AllOf({Leaf(x), AnyOf({Leaf(y), Leaf(z)})}),
                                                    AllOf({Leaf(x), NoneOf({Leaf(y), Leaf(z)})})};
        if (i < j) shapes.push_back(AnyOf({Leaf(x), Leaf(y), Leaf(z)}));
        if (i < j) shapes.push_back(AllOf({Leaf(x), Leaf(y), Leaf(z)}));
        for (v1::TargetExpression& e : shapes) {
          absl::StatusOr<int64_t> n = Count(*stub, options, Inline(e));
          if (!n.ok()) return n.status();
          ++candidates;
          if (best_n < 0 || std::llabs(*n - kStreamGoal) < std::llabs(best_n - kStreamGoal)) {
            best_n = *n;
            best = e;
          }
        }
      }
    }
  }
  std::printf("targets: stream expression %s = %lld ids (nearest to %lld of %d candidates)\n",
              ExpressionText(best).c_str(), static_cast<long long>(best_n),
              static_cast<long long>(kStreamGoal), candidates);
  if (absl::Status s = PutVoucher(*stub, options, kStreamVoucher, best,
                                  {{"offer", 90}, {"holdout", 10}});
      !s.ok()) {
    return s;
  }
  v1::TargetRef voucher;
  voucher.set_voucher_id(kStreamVoucher);
  struct Case {
    std::string name;
    v1::TargetRef ref;
    uint32_t chunk;
  };
  const std::vector<Case> cases = {{"stream inline chunk 1000", Inline(best), 1000},
                                   {"stream inline chunk 10000", Inline(best), 10000},
                                   {"stream voucher+arms chunk 1000", voucher, 1000}};
  const int reps = std::max(1, options.repetitions / 4);
  for (const Case& sc : cases) {
    std::vector<double> ms, first;
    StreamRun checked;
    const CpuMeter meter(options);
    for (int r = 0; r < reps; ++r) {
      // The first repetition also checks the ids (count, distinct, arms); that
      // costs the client, so its time is reported apart, not in the summary.
      absl::StatusOr<StreamRun> run = Stream(*stub, options, sc.ref, sc.chunk, r == 0);
      if (!run.ok()) return run.status();
      if (r == 0) {
        checked = *run;
        continue;
      }
      ms.push_back(run->ms);
      first.push_back(run->first_ms);
    }
    const std::string cpu = meter.Text();
    const Summary s = Summarize(ms);
    std::string arms;
    for (const auto& [arm, n] : checked.arms) absl::StrAppend(&arms, arms.empty() ? "" : " ", arm.empty() ? "(none)" : arm, "=", n);
    const bool exact = checked.ids == best_n && checked.distinct == best_n;
    std::printf("targets: %s: %lld ids (%lld distinct, %lld messages; arms %s)%s; %zu timed "
                "calls: median %.1f ms, max %.1f ms, min %.1f ms, first message median %.1f ms "
                "(target <= 300 ms); checking call %.1f ms; %s\n",
                sc.name.c_str(), static_cast<long long>(checked.ids),
                static_cast<long long>(checked.distinct), static_cast<long long>(checked.messages),
                arms.c_str(), exact ? "" : " MISMATCH with the count", ms.size(), s.median,
                s.max, s.min, Summarize(first).median, checked.ms, cpu.c_str());
    std::printf("%s\n", JsonLine()
                            .Add("mode", "targets")
                            .Add("case", sc.name)
                            .Add("customers", options.customers)
                            .Add("expression", ExpressionText(best))
                            .Add("ids", checked.ids)
                            .Add("distinct", checked.distinct)
                            .Add("count", best_n)
                            .Add("exact", static_cast<int64_t>(exact))
                            .Add("arms", arms)
                            .Add("calls", static_cast<int64_t>(ms.size()))
                            .Add("median_ms", s.median)
                            .Add("max_ms", s.max)
                            .Add("min_ms", s.min)
                            .Add("first_message_median_ms", Summarize(first).median)
                            .Add("all_ms", Join(ms))
                            .Add("loadavg", LoadAverage())
                            .Line()
                            .c_str());
    std::fflush(stdout);
  }

  // Count of the registered voucher: with arms, the server hashes every id.
  std::vector<double> ms;
  for (int r = 0; r < reps; ++r) {
    double t = 0;
    absl::StatusOr<int64_t> n = Count(*stub, options, voucher, &t);
    if (!n.ok()) return n.status();
    ms.push_back(t);
  }
  const Summary s = Summarize(ms);
  std::printf("targets: count of voucher %s (with arms, %lld ids): median %.1f ms, max %.1f ms\n",
              kStreamVoucher, static_cast<long long>(best_n), s.median, s.max);
  std::printf("%s\n", JsonLine()
                          .Add("mode", "targets")
                          .Add("case", "count voucher+arms")
                          .Add("customers", options.customers)
                          .Add("expression", ExpressionText(best))
                          .Add("result", best_n)
                          .Add("median_ms", s.median)
                          .Add("max_ms", s.max)
                          .Add("all_ms", Join(ms))
                          .Line()
                          .c_str());
  std::fflush(stdout);

  // The same voucher at an explicit as_of: every customer read from Redis
  // and classified there (docs/targeting.md). At now it should give the
  // index's count (unless a transition falls due in between); a week ahead,
  // what time alone does to the audience.
  for (const int days : {0, 7}) {
    const absl::Time as_of = absl::Now() + absl::Hours(24 * days);
    const CpuMeter meter(options);
    double t = 0;
    absl::StatusOr<int64_t> n = Count(*stub, options, voucher, &t, as_of);
    if (!n.ok()) return n.status();
    std::printf(
        "targets: count of voucher %s at as_of now + %d days: %lld ids (index now: %lld) "
        "in %.1f ms; %s\n",
        kStreamVoucher, days, static_cast<long long>(*n), static_cast<long long>(best_n), t,
        meter.Text().c_str());
    std::printf("%s\n", JsonLine()
                            .Add("mode", "targets")
                            .Add("case", absl::StrCat("count voucher+arms as_of now+", days, "d"))
                            .Add("customers", options.customers)
                            .Add("result", *n)
                            .Add("index_result", best_n)
                            .Add("ms", t)
                            .Line()
                            .c_str());
    std::fflush(stdout);
  }
  return absl::OkStatus();
}

}  // namespace segmentd::load

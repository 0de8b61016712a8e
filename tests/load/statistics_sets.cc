#include "tests/load/statistics_sets.h"

#include <cstdio>
#include <limits>
#include <map>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "segmentd/v1/targeting.grpc.pb.h"
#include "tests/load/target_helpers.h"

namespace segmentd::load {
namespace {

// Segment name -> member count.
using Counts = std::map<std::string, int64_t>;

// What the engine's rules make of the cut-offs (engine/classify.cc: VIP is
// lifetime orders >= its threshold; a buyer's tier is HIGH from the high
// cut-off, MEDIUM from the medium one, LOW below).
Counts Expected(const engine::SegmentConfig& config, const engine::PopulationStats& stats,
                const BuyerMeasures& buyers) {
  constexpr int64_t kNone = std::numeric_limits<int64_t>::max();
  const int64_t vip = engine::VipThreshold(stats, config).value_or(kNone);
  const int64_t high = stats.high_value_cutoff.value_or(kNone);
  const int64_t medium = stats.medium_value_cutoff.value_or(kNone);
  Counts c = {{"VIP", 0}, {"HIGH_VALUE", 0}, {"MEDIUM_VALUE", 0}, {"LOW_VALUE", 0}};
  for (size_t i = 0; i < buyers.orders.size(); ++i) {
    if (config.vip.enabled && buyers.orders[i] >= vip) ++c["VIP"];
    if (!config.value_tiers.enabled) continue;
    const int64_t r = buyers.revenue[i];
    ++c[r >= high ? "HIGH_VALUE" : r >= medium ? "MEDIUM_VALUE" : "LOW_VALUE"];
  }
  return c;
}

absl::StatusOr<Counts> Stored(v1::TargetingService::Stub& stub, const LoadOptions& options,
                              const Counts& segments) {
  Counts out;
  for (const auto& [segment, unused] : segments) {
    v1::TargetRef target;
    *target.mutable_expression() = Leaf(segment);
    absl::StatusOr<int64_t> count = Count(stub, options, target);
    if (!count.ok()) return count.status();
    out[segment] = *count;
  }
  return out;
}

std::string Text(const Counts& counts) {
  return absl::StrJoin(counts, " ", absl::PairFormatter("="));
}

}  // namespace

absl::Status CheckStatisticsSegments(const LoadOptions& options,
                                     const engine::SegmentConfig& config,
                                     const engine::PopulationStats& stats,
                                     const BuyerMeasures& buyers, absl::Duration timeout) {
  const Counts want = Expected(config, stats, buyers);
  std::unique_ptr<v1::TargetingService::Stub> stub =
      v1::TargetingService::NewStub(NewChannel(options.target));
  const absl::Time start = absl::Now();
  absl::StatusOr<double> loaded = WaitForIndex(*stub, options, timeout);
  if (!loaded.ok()) return loaded.status();
  absl::StatusOr<Counts> got = Stored(*stub, options, want);
  while (got.ok() && *got != want && absl::Now() - start < timeout) {
    absl::SleepFor(absl::Milliseconds(500));
    got = Stored(*stub, options, want);
  }
  if (!got.ok()) return got.status();
  const bool equal = *got == want;
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  std::printf("verify: statistics segments, %zu buyers: engine %s; stored %s (%s after %.1f s, "
              "index loaded in %.1f s)\n",
              buyers.orders.size(), Text(want).c_str(), Text(*got).c_str(),
              equal ? "equal" : "DIFFERENT", seconds, *loaded);
  std::printf("%s\n", JsonLine()
                          .Add("mode", "verify_statistics_segments")
                          .Add("customers", options.customers)
                          .Add("engine", Text(want))
                          .Add("stored", Text(*got))
                          .Add("equal", static_cast<int64_t>(equal))
                          .Add("seconds", seconds)
                          .Line()
                          .c_str());
  std::fflush(stdout);
  if (!equal) {
    return absl::DataLossError("stored VIP / value-tier sets differ from the cut-offs");
  }
  return absl::OkStatus();
}

}  // namespace segmentd::load

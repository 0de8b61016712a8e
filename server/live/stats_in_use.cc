#include "server/live/stats_in_use.h"

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/random/random.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"

namespace segmentd {
namespace {

// "-" for absent, so the text keeps one token per value.
std::string Optional(const std::optional<int64_t>& v) {
  return v.has_value() ? absl::StrCat(*v) : "-";
}

bool ParseOptional(absl::string_view text, std::optional<int64_t>* out) {
  if (text == "-") {
    out->reset();
    return true;
  }
  int64_t v = 0;
  if (!absl::SimpleAtoi(text, &v)) return false;
  *out = v;
  return true;
}

}  // namespace

std::string NewReplicaId() {
  absl::BitGen gen;
  return absl::StrFormat("%016x", absl::Uniform<uint64_t>(gen));
}

constexpr absl::string_view kFormat = "1";

std::string StatsInUseField(absl::string_view replica, const engine::PopulationStats& stats) {
  std::string out = absl::StrCat(
      replica, "/", kFormat, "/", stats.buyers, " ", Optional(stats.vip_order_cutoff), " ",
      Optional(stats.high_value_cutoff), " ", Optional(stats.medium_value_cutoff));
  for (const engine::WindowTotals& w : stats.windows) {
    absl::StrAppend(&out, " ", w.lookback_days, ":", w.orders, ":", w.net_revenue);
  }
  return out;
}

std::string StatsInUseValue(absl::Time at) { return absl::StrCat(absl::ToUnixMillis(at)); }

StatsInUseEntry ParseStatsInUse(absl::string_view field) {
  StatsInUseEntry entry;
  const std::vector<absl::string_view> parts = absl::StrSplit(field, absl::MaxSplits('/', 2));
  entry.replica = std::string(parts[0]);
  if (parts.size() != 3 || parts[1] != kFormat) return entry;
  const std::vector<absl::string_view> values = absl::StrSplit(parts[2], ' ');
  engine::PopulationStats stats;
  if (values.size() < 4 || !absl::SimpleAtoi(values[0], &stats.buyers) ||
      !ParseOptional(values[1], &stats.vip_order_cutoff) ||
      !ParseOptional(values[2], &stats.high_value_cutoff) ||
      !ParseOptional(values[3], &stats.medium_value_cutoff)) {
    return entry;
  }
  for (size_t i = 4; i < values.size(); ++i) {
    const std::vector<absl::string_view> w = absl::StrSplit(values[i], ':');
    engine::WindowTotals window;
    if (w.size() != 3 || !absl::SimpleAtoi(w[0], &window.lookback_days) ||
        !absl::SimpleAtoi(w[1], &window.orders) || !absl::SimpleAtoi(w[2], &window.net_revenue)) {
      return entry;
    }
    stats.windows.push_back(window);
  }
  entry.stats = std::move(stats);
  return entry;
}

}  // namespace segmentd

#include "server/live/stats_in_use.h"

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/random/random.h"
#include "absl/status/status.h"
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

// "<buyers> <vip> <high> <medium>[ <lookback>:<orders>:<revenue>]..."
std::string StatsInUseField(absl::string_view replica, const engine::PopulationStats& stats) {
  std::string out =
      absl::StrCat(replica, "/", stats.buyers, " ", Optional(stats.vip_order_cutoff), " ",
                   Optional(stats.high_value_cutoff), " ", Optional(stats.medium_value_cutoff));
  for (const engine::WindowTotals& w : stats.windows) {
    absl::StrAppend(&out, " ", w.lookback_days, ":", w.orders, ":", w.net_revenue);
  }
  return out;
}

std::string StatsInUseValue(absl::Time at) { return absl::StrCat(absl::ToUnixMillis(at)); }

absl::StatusOr<StatsInUseEntry> ParseStatsInUse(absl::string_view field, absl::string_view value) {
  auto bad = [&] {
    return absl::DataLossError(
        absl::StrCat("statistics in use: unreadable entry \"", field, "\" = \"", value, "\""));
  };
  StatsInUseEntry entry;
  const size_t slash = field.find('/');
  if (slash == absl::string_view::npos || slash == 0) return bad();
  entry.replica = std::string(field.substr(0, slash));
  const std::vector<absl::string_view> parts = absl::StrSplit(field.substr(slash + 1), ' ');
  if (parts.size() < 4 || !absl::SimpleAtoi(parts[0], &entry.stats.buyers) ||
      !ParseOptional(parts[1], &entry.stats.vip_order_cutoff) ||
      !ParseOptional(parts[2], &entry.stats.high_value_cutoff) ||
      !ParseOptional(parts[3], &entry.stats.medium_value_cutoff)) {
    return bad();
  }
  for (size_t i = 4; i < parts.size(); ++i) {
    const std::vector<absl::string_view> w = absl::StrSplit(parts[i], ':');
    engine::WindowTotals window;
    if (w.size() != 3 || !absl::SimpleAtoi(w[0], &window.lookback_days) ||
        !absl::SimpleAtoi(w[1], &window.orders) || !absl::SimpleAtoi(w[2], &window.net_revenue)) {
      return bad();
    }
    entry.stats.windows.push_back(window);
  }
  int64_t ms = 0;
  if (!absl::SimpleAtoi(value, &ms)) return bad();
  entry.refreshed = absl::FromUnixMillis(ms);
  return entry;
}

}  // namespace segmentd

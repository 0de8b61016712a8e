#include "server/live/stats_in_use.h"

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/random/random.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "server/live/customer_measures.h"

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

StatsInUse StatsInUseOf(const engine::SegmentConfig& config, const engine::PopulationStats& stats) {
  StatsInUse used;
  used.stats = stats;
  for (int k = 0; k < store::kNumAovIndexes; ++k) {
    const SpenderRuleFields rule = SpenderRuleOf(config, static_cast<store::AovIndex>(k));
    SpenderThreshold& t = used.spenders[k];
    t.enabled = rule.enabled;
    t.lookback_days = rule.lookback_days;
    if (rule.threshold_store_aov_multiple.has_value()) {
      // As the classifier computes it.
      t.amount = stats.RelativeThreshold(rule.lookback_days, *rule.threshold_store_aov_multiple);
    } else if (rule.threshold_amount.has_value()) {
      t.amount = static_cast<double>(*rule.threshold_amount);
    }
  }
  return used;
}

std::string StatsInUseField(absl::string_view replica, const StatsInUse& used) {
  const engine::PopulationStats& stats = used.stats;
  std::string out = absl::StrCat(
      replica, "/", kFormat, "/", stats.buyers, " ", Optional(stats.vip_order_cutoff), " ",
      Optional(stats.high_value_cutoff), " ", Optional(stats.medium_value_cutoff));
  for (const engine::WindowTotals& w : stats.windows) {
    absl::StrAppend(&out, " ", w.lookback_days, ":", w.orders, ":", w.net_revenue);
  }
  for (const SpenderThreshold& t : used.spenders) {
    absl::StrAppend(&out, " s", t.enabled ? 1 : 0, ":", t.lookback_days, ":",
                    t.amount.has_value() ? absl::StrFormat("%.17g", *t.amount) : "-");
  }
  return out;
}

std::string StatsInUseValue(absl::Time at) { return absl::StrCat(absl::ToUnixMillis(at)); }

namespace {

bool ParseSpender(absl::string_view token, SpenderThreshold* t) {
  const std::vector<absl::string_view> p = absl::StrSplit(token.substr(1), ':');
  if (p.size() != 3 || (p[0] != "0" && p[0] != "1") || !absl::SimpleAtoi(p[1], &t->lookback_days)) {
    return false;
  }
  t->enabled = p[0] == "1";
  if (p[2] == "-") return true;
  double amount = 0;
  if (!absl::SimpleAtod(p[2], &amount)) return false;
  t->amount = amount;
  return true;
}

}  // namespace

StatsInUseEntry ParseStatsInUse(absl::string_view field) {
  StatsInUseEntry entry;
  const std::vector<absl::string_view> parts = absl::StrSplit(field, absl::MaxSplits('/', 2));
  entry.replica = std::string(parts[0]);
  if (parts.size() != 3 || parts[1] != kFormat) return entry;
  const std::vector<absl::string_view> values = absl::StrSplit(parts[2], ' ');
  StatsInUse used;
  engine::PopulationStats& stats = used.stats;
  if (values.size() < 4 + store::kNumAovIndexes || !absl::SimpleAtoi(values[0], &stats.buyers) ||
      !ParseOptional(values[1], &stats.vip_order_cutoff) ||
      !ParseOptional(values[2], &stats.high_value_cutoff) ||
      !ParseOptional(values[3], &stats.medium_value_cutoff)) {
    return entry;
  }
  const size_t first_spender = values.size() - store::kNumAovIndexes;
  for (size_t i = 4; i < first_spender; ++i) {
    const std::vector<absl::string_view> w = absl::StrSplit(values[i], ':');
    engine::WindowTotals window;
    if (w.size() != 3 || !absl::SimpleAtoi(w[0], &window.lookback_days) ||
        !absl::SimpleAtoi(w[1], &window.orders) || !absl::SimpleAtoi(w[2], &window.net_revenue)) {
      return entry;
    }
    stats.windows.push_back(window);
  }
  for (int k = 0; k < store::kNumAovIndexes; ++k) {
    const absl::string_view token = values[first_spender + k];
    if (token.empty() || token[0] != 's' || !ParseSpender(token, &used.spenders[k])) return entry;
  }
  entry.used = std::move(used);
  return entry;
}

}  // namespace segmentd

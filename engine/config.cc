#include "engine/config.h"

#include <algorithm>
#include <array>
#include <cmath>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "engine/utf8.h"

namespace segmentd::engine {
namespace {

constexpr int64_t kMaxThresholdAmount = 1'000'000'000'000;  // 10^12 minor units
constexpr size_t kMaxDisplayNameBytes = 64;

// Collects violations with their block prefix.
class Checker {
 public:
  explicit Checker(std::vector<FieldViolation>* out) : out_(out) {}

  void Add(absl::string_view block, absl::string_view field,
           std::string description) {
    out_->push_back({absl::StrCat(block, ".", field), std::move(description)});
  }

  void IntRange(absl::string_view block, absl::string_view field, int64_t value,
                int64_t lo, int64_t hi) {
    if (value < lo || value > hi) {
      Add(block, field,
          absl::StrCat("must be in [", lo, ", ", hi, "], got ", value));
    }
  }

  void DoubleRange(absl::string_view block, absl::string_view field,
                   double value, double lo, double hi) {
    if (!(value >= lo && value <= hi)) {  // also rejects NaN
      // Exactly: one just outside the range must not print as its end ("got
      // 100" for 100.0000004).
      Add(block, field,
          absl::StrCat("must be in [", lo, ", ", hi, "], got ", ShortestExact(value)));
    }
  }

  void DisplayName(absl::string_view block, const std::string& name) {
    if (name.size() > kMaxDisplayNameBytes) {
      Add(block, "display_name",
          absl::StrCat("must be at most ", kMaxDisplayNameBytes,
                       " bytes, got ", name.size()));
    } else if (!IsValidUtf8(name)) {
      Add(block, "display_name", "must be valid UTF-8");
    }
  }

  template <typename Spender>
  void Threshold(absl::string_view block, const Spender& s, double lo_multiple,
                 double hi_multiple) {
    const bool has_amount = s.threshold_amount.has_value();
    const bool has_multiple = s.threshold_store_aov_multiple.has_value();
    if (has_amount == has_multiple) {
      Add(block, "threshold_amount",
          "exactly one of threshold_amount and threshold_store_aov_multiple "
          "must be set");
      return;
    }
    if (has_amount) {
      IntRange(block, "threshold_amount", *s.threshold_amount, 1,
               kMaxThresholdAmount);
    } else {
      DoubleRange(block, "threshold_store_aov_multiple",
                  *s.threshold_store_aov_multiple, lo_multiple, hi_multiple);
    }
  }

 private:
  std::vector<FieldViolation>* out_;
};

}  // namespace

std::vector<FieldViolation> FindViolations(const SegmentConfig& c) {
  std::vector<FieldViolation> out;
  Checker k(&out);

  k.DisplayName("frequent_buyer", c.frequent_buyer.display_name);
  k.IntRange("frequent_buyer", "min_orders", c.frequent_buyer.min_orders, 1, 1000);
  k.IntRange("frequent_buyer", "window_days", c.frequent_buyer.window_days, 1, 3650);

  k.DisplayName("new_download", c.new_download.display_name);
  k.IntRange("new_download", "max_days", c.new_download.max_days, 1, 365);

  k.DisplayName("window_shopper", c.window_shopper.display_name);
  k.IntRange("window_shopper", "min_days", c.window_shopper.min_days, 1, 3650);

  k.DisplayName("new_customer", c.new_customer.display_name);
  k.IntRange("new_customer", "window_days", c.new_customer.window_days, 1, 365);

  k.DisplayName("returning_customer", c.returning_customer.display_name);
  k.IntRange("returning_customer", "min_orders", c.returning_customer.min_orders, 2, 1000);
  k.IntRange("returning_customer", "window_days", c.returning_customer.window_days, 1, 3650);

  k.DisplayName("loyal_customer", c.loyal_customer.display_name);
  k.IntRange("loyal_customer", "min_orders", c.loyal_customer.min_orders, 2, 1000);
  k.IntRange("loyal_customer", "active_days", c.loyal_customer.active_days, 1, 3650);

  k.DisplayName("lost_loyalty", c.lost_loyalty.display_name);
  k.IntRange("lost_loyalty", "min_orders", c.lost_loyalty.min_orders, 2, 1000);
  k.IntRange("lost_loyalty", "inactive_days", c.lost_loyalty.inactive_days, 1, 3650);

  k.DisplayName("one_time_wonder", c.one_time_wonder.display_name);
  k.IntRange("one_time_wonder", "inactive_days", c.one_time_wonder.inactive_days, 1, 3650);

  k.DisplayName("big_spender", c.big_spender.display_name);
  k.IntRange("big_spender", "lookback_days", c.big_spender.lookback_days, 1, 3650);
  k.Threshold("big_spender", c.big_spender, 1.0, 100.0);

  k.DisplayName("low_spender", c.low_spender.display_name);
  k.IntRange("low_spender", "lookback_days", c.low_spender.lookback_days, 1, 3650);
  k.Threshold("low_spender", c.low_spender, 0.01, 1.0);

  k.DisplayName("lost_customer", c.lost_customer.display_name);
  k.IntRange("lost_customer", "min_orders", c.lost_customer.min_orders, 1, 1000);
  k.IntRange("lost_customer", "max_orders", c.lost_customer.max_orders, 1, 1000);
  if (c.lost_customer.max_orders < c.lost_customer.min_orders) {
    k.Add("lost_customer", "max_orders",
          absl::StrCat("must be >= lost_customer.min_orders (",
                       c.lost_customer.min_orders, "), got ",
                       c.lost_customer.max_orders));
  }
  k.IntRange("lost_customer", "inactive_days", c.lost_customer.inactive_days, 1, 3650);

  k.DisplayName("first_time_buyer", c.first_time_buyer.display_name);

  k.DisplayName("repeat_customer", c.repeat_customer.display_name);
  k.IntRange("repeat_customer", "min_orders", c.repeat_customer.min_orders, 2, 1000);
  k.IntRange("repeat_customer", "max_orders", c.repeat_customer.max_orders, 2, 1000);
  if (c.repeat_customer.max_orders < c.repeat_customer.min_orders) {
    k.Add("repeat_customer", "max_orders",
          absl::StrCat("must be >= repeat_customer.min_orders (",
                       c.repeat_customer.min_orders, "), got ",
                       c.repeat_customer.max_orders));
  }

  k.DisplayName("vip", c.vip.display_name);
  k.IntRange("vip", "top_percent", c.vip.top_percent, 1, 50);
  k.IntRange("vip", "min_orders", c.vip.min_orders, 1, 1000);

  k.DisplayName("lapsed", c.lapsed.display_name);
  k.IntRange("lapsed", "inactive_days", c.lapsed.inactive_days, 1, 3650);

  const ValueTiersConfig& v = c.value_tiers;
  k.DisplayName("value_tiers", v.display_name);
  k.IntRange("value_tiers", "high_percent", v.high_percent, 0, 100);
  k.IntRange("value_tiers", "medium_percent", v.medium_percent, 0, 100);
  k.IntRange("value_tiers", "low_percent", v.low_percent, 0, 100);
  const int64_t tier_sum = int64_t{v.high_percent} + v.medium_percent + v.low_percent;
  if (tier_sum != 100) {
    k.Add("value_tiers", "low_percent",
          absl::StrCat("high_percent + medium_percent + low_percent must be "
                       "100, got ",
                       tier_sum));
  }

  k.DisplayName("category_affinity", c.category_affinity.display_name);
  k.IntRange("category_affinity", "min_orders", c.category_affinity.min_orders, 1, 1000);
  k.IntRange("category_affinity", "lookback_days", c.category_affinity.lookback_days, 1, 3650);

  const EngagementConfig& e = c.engagement;
  k.DisplayName("engagement", e.display_name);
  k.IntRange("engagement", "window_days", e.window_days, 1, 3650);
  k.IntRange("engagement", "min_messages", e.min_messages, 1, 1000);
  k.DoubleRange("engagement", "high_open_rate", e.high_open_rate, 0.0, 1.0);
  k.DoubleRange("engagement", "high_action_rate", e.high_action_rate, 0.0, 1.0);
  k.DoubleRange("engagement", "moderate_open_rate", e.moderate_open_rate, 0.0, 1.0);
  if (e.moderate_open_rate > e.high_open_rate) {
    k.Add("engagement", "moderate_open_rate",
          absl::StrCat("must be <= engagement.high_open_rate (",
                       e.high_open_rate, "), got ", e.moderate_open_rate));
  }

  const AbandonedCartConfig& a = c.abandoned_cart;
  k.DisplayName("abandoned_cart", a.display_name);
  k.IntRange("abandoned_cart", "abandon_after_minutes", a.abandon_after_minutes, 1, 10080);
  k.IntRange("abandoned_cart", "window_days", a.window_days, 1, 365);
  if (int64_t{a.abandon_after_minutes} >= int64_t{a.window_days} * 24 * 60) {
    k.Add("abandoned_cart", "abandon_after_minutes",
          absl::StrCat("must be shorter than abandoned_cart.window_days (",
                       a.window_days, " days), got ", a.abandon_after_minutes));
  }

  // Primary priority: known names, no duplicates (so at most one per
  // segment: a longer list is refused as a whole, not one error per entry).
  if (c.primary_priority.size() > static_cast<size_t>(kNumSegments)) {
    out.push_back({"primary_priority",
                   absl::StrCat("at most ", kNumSegments, " names (each segment once), got ",
                                c.primary_priority.size())});
    return out;
  }
  std::array<bool, kNumSegments> seen{};
  for (size_t i = 0; i < c.primary_priority.size(); ++i) {
    const std::string& name = c.primary_priority[i];
    const std::optional<Segment> s = SegmentFromName(name);
    if (!s.has_value()) {
      out.push_back({absl::StrCat("primary_priority[", i, "]"),
                     absl::StrCat("unknown segment name \"",
                                  name.size() > 64 ? name.substr(0, 64) : name, "\"")});
      continue;
    }
    if (seen[static_cast<int>(*s)]) {
      out.push_back(
          {absl::StrCat("primary_priority[", i, "]"), absl::StrCat("duplicate segment ", name)});
    }
    seen[static_cast<int>(*s)] = true;
  }
  return out;
}

absl::Status ValidateConfig(const SegmentConfig& config) {
  const std::vector<FieldViolation> violations = FindViolations(config);
  if (violations.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrJoin(
      violations, "; ", [](std::string* out, const FieldViolation& v) {
        absl::StrAppend(out, v.field, ": ", v.description);
      }));
}

const std::vector<Segment>& DefaultPrimaryPriority() {
  static const std::vector<Segment>* const kDefault = new std::vector<Segment>{
      Segment::kVip,              Segment::kLoyalCustomer,
      Segment::kFrequentBuyer,    Segment::kBigSpender,
      Segment::kReturningCustomer, Segment::kNewCustomer,
      Segment::kLostLoyalty,      Segment::kLostCustomer,
      Segment::kOneTimeWonder,    Segment::kLapsed,
      Segment::kAbandonedCart,    Segment::kHighValue,
      Segment::kRepeatCustomer,   Segment::kFirstTimeBuyer,
      Segment::kMediumValue,      Segment::kLowSpender,
      Segment::kLowValue,         Segment::kNewDownload,
      Segment::kWindowShopper,    Segment::kHighlyEngaged,
      Segment::kModeratelyEngaged, Segment::kDisengaged,
  };
  return *kDefault;
}

std::string ShortestExact(double d) {
  for (int digits = 6; digits < 17; ++digits) {
    const std::string text = absl::StrFormat("%.*g", digits, d);
    double back = 0;
    if (absl::SimpleAtod(text, &back) && back == d) return text;
  }
  return absl::StrFormat("%.17g", d);
}

bool SegmentEnabled(const SegmentConfig& k, Segment segment) {
  switch (segment) {
    case Segment::kFrequentBuyer:
      return k.frequent_buyer.enabled;
    case Segment::kNewDownload:
      return k.new_download.enabled;
    case Segment::kWindowShopper:
      return k.window_shopper.enabled;
    case Segment::kNewCustomer:
      return k.new_customer.enabled;
    case Segment::kReturningCustomer:
      return k.returning_customer.enabled;
    case Segment::kLoyalCustomer:
      return k.loyal_customer.enabled;
    case Segment::kLostLoyalty:
      return k.lost_loyalty.enabled;
    case Segment::kOneTimeWonder:
      return k.one_time_wonder.enabled;
    case Segment::kBigSpender:
      return k.big_spender.enabled;
    case Segment::kLowSpender:
      return k.low_spender.enabled;
    case Segment::kLostCustomer:
      return k.lost_customer.enabled;
    case Segment::kFirstTimeBuyer:
      return k.first_time_buyer.enabled;
    case Segment::kRepeatCustomer:
      return k.repeat_customer.enabled;
    case Segment::kVip:
      return k.vip.enabled;
    case Segment::kLapsed:
      return k.lapsed.enabled;
    case Segment::kHighValue:
    case Segment::kMediumValue:
    case Segment::kLowValue:
      return k.value_tiers.enabled;
    case Segment::kHighlyEngaged:
    case Segment::kModeratelyEngaged:
    case Segment::kDisengaged:
      return k.engagement.enabled;
    case Segment::kAbandonedCart:
      return k.abandoned_cart.enabled;
  }
  return false;
}

absl::StatusOr<std::vector<Segment>> ResolvePrimaryPriority(
    const SegmentConfig& config) {
  std::vector<Segment> out;
  out.reserve(kNumSegments);
  std::array<bool, kNumSegments> seen{};
  for (const std::string& name : config.primary_priority) {
    const std::optional<Segment> s = SegmentFromName(name);
    if (!s.has_value() || seen[static_cast<int>(*s)]) {
      return absl::InvalidArgumentError(
          absl::StrCat("primary_priority: bad entry \"", name, "\""));
    }
    seen[static_cast<int>(*s)] = true;
    out.push_back(*s);
  }
  for (Segment s : DefaultPrimaryPriority()) {
    if (!seen[static_cast<int>(s)]) out.push_back(s);
  }
  return out;
}

int32_t LongestWindowDays(const SegmentConfig& c) {
  return std::max({
      c.frequent_buyer.window_days, c.new_customer.window_days,
      c.returning_customer.window_days, c.loyal_customer.active_days,
      c.lost_loyalty.inactive_days, c.one_time_wonder.inactive_days,
      c.big_spender.lookback_days, c.low_spender.lookback_days,
      c.lost_customer.inactive_days, c.lapsed.inactive_days,
      c.category_affinity.lookback_days, c.engagement.window_days,
      c.abandoned_cart.window_days,
  });
}

absl::string_view PresetName(Preset preset) {
  switch (preset) {
    case Preset::kFastFood:
      return "FAST_FOOD";
    case Preset::kFashion:
      return "FASHION";
    case Preset::kGrocery:
      return "GROCERY";
    case Preset::kElectronics:
      return "ELECTRONICS";
  }
  return "UNKNOWN_PRESET";
}

std::optional<Preset> PresetFromName(absl::string_view name) {
  for (Preset p : {Preset::kFastFood, Preset::kFashion, Preset::kGrocery,
                   Preset::kElectronics}) {
    if (PresetName(p) == name) return p;
  }
  return std::nullopt;
}

SegmentConfig PresetConfig(Preset preset) {
  SegmentConfig c;
  switch (preset) {
    case Preset::kFastFood:
      c.frequent_buyer.min_orders = 8;
      c.frequent_buyer.window_days = 30;
      c.big_spender.lookback_days = 180;
      c.big_spender.threshold_amount = 15000;  // 150.00
      c.big_spender.threshold_store_aov_multiple.reset();
      break;
    case Preset::kFashion:
      c.frequent_buyer.min_orders = 4;
      c.frequent_buyer.window_days = 90;
      c.big_spender.lookback_days = 365;
      c.big_spender.threshold_amount = 60000;  // 600.00
      c.big_spender.threshold_store_aov_multiple.reset();
      break;
    case Preset::kGrocery:
      c.frequent_buyer.min_orders = 6;
      c.frequent_buyer.window_days = 45;
      c.low_spender.lookback_days = 180;
      c.low_spender.threshold_amount = 10000;  // 100.00
      c.low_spender.threshold_store_aov_multiple.reset();
      break;
    case Preset::kElectronics:
      c.frequent_buyer.min_orders = 3;
      c.frequent_buyer.window_days = 120;
      c.big_spender.lookback_days = 365;
      c.big_spender.threshold_amount = 150000;  // 1500.00
      c.big_spender.threshold_store_aov_multiple.reset();
      break;
  }
  return c;
}

}  // namespace segmentd::engine

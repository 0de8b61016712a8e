#ifndef SEGMENTD_ENGINE_CONFIG_H_
#define SEGMENTD_ENGINE_CONFIG_H_

// A tenant's segment configuration: every segment's parameters, defaults and
// allowed ranges, validation, the four presets, and the primary-segment
// priority.
//
// Field names mirror the proto: the validation paths below ("vip.top_percent")
// are the proto field paths. Ranges are listed next to each field as
// [min, max]; SPEC.md gives most of them, docs/engine.md records the ones the
// engine chose.
//
// All types are plain values; safe to share read-only between threads.

#include <cstdint>
#include <optional>
#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "engine/segment.h"

namespace segmentd::engine {

// --- The eleven configurable segments (SPEC section 4) ---------------------

struct FrequentBuyerConfig {  // orders within window >= min_orders
  bool enabled = true;
  std::string display_name;  // 0-64 bytes of UTF-8 (all blocks)
  int32_t min_orders = 5;    // [1, 1000]
  int32_t window_days = 30;  // [1, 3650]
};

struct NewDownloadConfig {  // zero orders, registered within max_days
  bool enabled = true;
  std::string display_name;
  int32_t max_days = 14;  // [1, 365]
};

struct WindowShopperConfig {  // zero orders, registered >= min_days ago
  bool enabled = true;
  std::string display_name;
  int32_t min_days = 30;  // [1, 3650]
};

struct NewCustomerConfig {  // first order within window
  bool enabled = true;
  std::string display_name;
  int32_t window_days = 30;  // [1, 365]
};

struct ReturningCustomerConfig {  // orders within window >= min_orders
  bool enabled = true;
  std::string display_name;
  int32_t min_orders = 2;    // [2, 1000]
  int32_t window_days = 60;  // [1, 3650]
};

struct LoyalCustomerConfig {  // lifetime >= min_orders, order within active_days
  bool enabled = true;
  std::string display_name;
  int32_t min_orders = 5;    // [2, 1000]
  int32_t active_days = 90;  // [1, 3650]
};

struct LostLoyaltyConfig {  // lifetime >= min_orders, none for inactive_days
  bool enabled = true;
  std::string display_name;
  int32_t min_orders = 5;      // [2, 1000]
  int32_t inactive_days = 90;  // [1, 3650]
};

struct OneTimeWonderConfig {  // exactly 1 order, none for inactive_days
  bool enabled = true;
  std::string display_name;
  int32_t inactive_days = 60;  // [1, 3650]
};

// Spender threshold: exactly one of the two must be set.
//   threshold_amount: absolute AOV in minor units, [1, 10^12].
//   threshold_store_aov_multiple: multiple of the store AOV over the same
//     lookback; big spender [1.0, 100], low spender [0.01, 1.0].
struct BigSpenderConfig {  // AOV over lookback >= threshold
  bool enabled = true;
  std::string display_name;
  int32_t lookback_days = 365;  // [1, 3650]
  std::optional<int64_t> threshold_amount;
  std::optional<double> threshold_store_aov_multiple = 2.0;
};

struct LowSpenderConfig {  // AOV over lookback <= threshold
  bool enabled = true;
  std::string display_name;
  int32_t lookback_days = 180;  // [1, 3650]
  std::optional<int64_t> threshold_amount;
  std::optional<double> threshold_store_aov_multiple = 0.6;
};

struct LostCustomerConfig {  // lifetime in [min, max], none for inactive_days
  bool enabled = true;
  std::string display_name;
  int32_t min_orders = 2;      // [1, 1000]
  int32_t max_orders = 4;      // [1, 1000], >= min_orders
  int32_t inactive_days = 90;  // [1, 3650]
};

// --- Retargeting models (SPEC section 5) ------------------------------------

struct FirstTimeBuyerConfig {  // exactly 1 lifetime order
  bool enabled = true;
  std::string display_name;
};

struct RepeatCustomerConfig {  // lifetime orders in [min_orders, max_orders]
  bool enabled = true;
  std::string display_name;
  int32_t min_orders = 2;  // [2, 1000]
  int32_t max_orders = 4;  // [2, 1000], >= min_orders
};

struct VipConfig {  // top top_percent of buyers by lifetime orders
  bool enabled = true;
  std::string display_name;
  int32_t top_percent = 10;  // [1, 50]
  int32_t min_orders = 2;    // [1, 1000]
};

struct LapsedConfig {  // >= 1 order and none for inactive_days
  bool enabled = true;
  std::string display_name;
  int32_t inactive_days = 60;  // [1, 3650]
};

// HIGH_VALUE / MEDIUM_VALUE / LOW_VALUE over lifetime net revenue of buyers.
// Each percent in [0, 100]; the three must sum to 100.
struct ValueTiersConfig {
  bool enabled = true;
  std::string display_name;
  int32_t high_percent = 20;
  int32_t medium_percent = 50;
  int32_t low_percent = 30;
};

// category:<name>: >= min_orders orders containing the category in lookback.
struct CategoryAffinityConfig {
  bool enabled = true;
  std::string display_name;
  int32_t min_orders = 2;       // [1, 1000]
  int32_t lookback_days = 365;  // [1, 3650]
};

// HIGHLY_ENGAGED / MODERATELY_ENGAGED / DISENGAGED over messages sent within
// window_days, for customers sent at least min_messages.
struct EngagementConfig {
  bool enabled = true;
  std::string display_name;
  int32_t window_days = 90;          // [1, 3650]
  int32_t min_messages = 3;          // [1, 1000]
  double high_open_rate = 0.5;       // [0, 1]
  double high_action_rate = 0.2;     // [0, 1]
  double moderate_open_rate = 0.2;   // [0, 1], <= high_open_rate
};

struct AbandonedCartConfig {
  bool enabled = true;
  std::string display_name;
  int32_t abandon_after_minutes = 60;  // [1, 10080], < window_days in minutes
  int32_t window_days = 7;             // [1, 365]
};

// The whole configuration of one tenant. A default-constructed SegmentConfig
// is the documented default config and is valid.
struct SegmentConfig {
  FrequentBuyerConfig frequent_buyer;
  NewDownloadConfig new_download;
  WindowShopperConfig window_shopper;
  NewCustomerConfig new_customer;
  ReturningCustomerConfig returning_customer;
  LoyalCustomerConfig loyal_customer;
  LostLoyaltyConfig lost_loyalty;
  OneTimeWonderConfig one_time_wonder;
  BigSpenderConfig big_spender;
  LowSpenderConfig low_spender;
  LostCustomerConfig lost_customer;
  FirstTimeBuyerConfig first_time_buyer;
  RepeatCustomerConfig repeat_customer;
  VipConfig vip;
  LapsedConfig lapsed;
  ValueTiersConfig value_tiers;
  CategoryAffinityConfig category_affinity;
  EngagementConfig engagement;
  AbandonedCartConfig abandoned_cart;

  // Primary-segment priority, highest first, by canonical segment name. May
  // list a subset (no duplicates, no "category:" names); unlisted segments
  // follow in DefaultPrimaryPriority() order. Empty means the default.
  std::vector<std::string> primary_priority;
};

// One offending field of a config: `field` is the proto field path, e.g.
// "vip.top_percent"; `description` says what is wrong.
struct FieldViolation {
  std::string field;
  std::string description;

  friend bool operator==(const FieldViolation& a, const FieldViolation& b) {
    return a.field == b.field && a.description == b.description;
  }
};

// Returns every violation in `config` (empty when valid), in field order.
std::vector<FieldViolation> FindViolations(const SegmentConfig& config);

// Returns OK, or InvalidArgument whose message lists every violation as
// "<field>: <description>" joined by "; ". A config is accepted or rejected
// whole.
absl::Status ValidateConfig(const SegmentConfig& config);

// The shortest decimal that reads back as exactly `d` ("0.6", not
// "0.59999999999999998"): how a config's decimal is printed, so that the
// text means the same value when read again (segctl's `config get` and
// `config set`), and a value just outside a range does not print as its end.
std::string ShortestExact(double d);

// Whether `config` enables the rule of fixed segment `segment` (a disabled
// segment has no members; the value tiers and the engagement levels share
// one switch each).
bool SegmentEnabled(const SegmentConfig& config, Segment segment);

// The default priority for the primary segment, highest first (a permutation
// of all 22 segments; see docs/engine.md for the reasoning).
const std::vector<Segment>& DefaultPrimaryPriority();

// Returns the effective priority (all 22 segments, highest first) for a
// config whose primary_priority is valid.
absl::StatusOr<std::vector<Segment>> ResolvePrimaryPriority(
    const SegmentConfig& config);

// Returns the longest day window any rule of `config` looks back over. Orders
// older than this (relative to the evaluation instant) can be folded into
// lifetime totals without changing any result.
int32_t LongestWindowDays(const SegmentConfig& config);

// The merchant-guide presets (SPEC section 4). Each is a full config: the
// listed parameters are set, everything else keeps its default.
enum class Preset { kFastFood, kFashion, kGrocery, kElectronics };

// Returns "FAST_FOOD", "FASHION", "GROCERY" or "ELECTRONICS".
absl::string_view PresetName(Preset preset);
std::optional<Preset> PresetFromName(absl::string_view name);

// Returns the full config of `preset`.
SegmentConfig PresetConfig(Preset preset);

}  // namespace segmentd::engine

#endif  // SEGMENTD_ENGINE_CONFIG_H_

#include "server/live/config_change_scope.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <google/protobuf/util/message_differencer.h>

#include <algorithm>
#include <initializer_list>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "segmentd/v1/config.pb.h"
#include "server/config_convert.h"
#include "server/live/customer_measures.h"

namespace segmentd {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;

// Whether two blocks of the config differ in anything but display names
// and the fields named in `also_ignored`.
bool RulesDiffer(const Message& a, const Message& b,
                 std::initializer_list<absl::string_view> also_ignored = {}) {
  std::unique_ptr<Message> x(a.New()), y(b.New());
  x->CopyFrom(a);
  y->CopyFrom(b);
  for (Message* m : {x.get(), y.get()}) {
    for (int i = 0; i < m->GetDescriptor()->field_count(); ++i) {
      const FieldDescriptor* f = m->GetDescriptor()->field(i);
      if (f->name() == "display_name" ||
          std::find(also_ignored.begin(), also_ignored.end(), f->name()) != also_ignored.end()) {
        m->GetReflection()->ClearField(m, f);
      }
    }
  }
  return !google::protobuf::util::MessageDifferencer::Equals(*x, *y);
}

// Lifetime order counts at which "count >= min" (or "count <= max") holds
// under one bound and not the other: [min, max) of the two minimums,
// (min, max] of the two maximums.
void AddMovedCount(int64_t old_min, int64_t new_min, std::vector<engine::MeasureRange>* out) {
  if (old_min != new_min) out->push_back({std::min(old_min, new_min), std::max(old_min, new_min)});
}
void AddMovedCeiling(int64_t old_max, int64_t new_max, std::vector<engine::MeasureRange>* out) {
  if (old_max != new_max) {
    out->push_back({std::min(old_max, new_max) + 1, std::max(old_max, new_max) + 1});
  }
}

// "At least `min_orders` valid orders within `window_days` days, now": what
// every customer a windowed count rule's change can move satisfies.
struct WindowedCount {
  int64_t min_orders;
  int64_t window_days;
};

// Whether every customer satisfying `need` is a stored member of `segment`
// under `config` (the one the stored sets reflect).
bool AlwaysMemberOf(engine::Segment segment, const engine::SegmentConfig& config,
                    const WindowedCount& need) {
  switch (segment) {
    case engine::Segment::kFrequentBuyer:
      return config.frequent_buyer.enabled && config.frequent_buyer.window_days >= need.window_days &&
             config.frequent_buyer.min_orders <= need.min_orders;
    case engine::Segment::kReturningCustomer:
      return config.returning_customer.enabled &&
             config.returning_customer.window_days >= need.window_days &&
             config.returning_customer.min_orders <= need.min_orders;
    case engine::Segment::kLoyalCustomer:
      // Lifetime >= count >= min_orders; the newest of those orders is
      // within window_days <= active_days.
      return config.loyal_customer.enabled && config.loyal_customer.min_orders <= need.min_orders &&
             config.loyal_customer.active_days >= need.window_days;
    default:
      return false;
  }
}

// How recent an order every customer the change of block `name` (from
// `x` to `y`) can move has: some valid order within that many days now, for
// under both configs a customer without one is a member of the block's
// rules or not alike, with no next change from them and the same AOV index
// entries (a changed spender rule's none). nullopt when the change can move
// customers without.
// Rules over orders within a window ("within D days": placed after t - D)
// hold no customer without such an order, the inactivity rules ("none for
// D days") hold every such customer alike when only D changed, enabled under
// both; the spender rules' AOV index entries and staleness reach back over
// their index lookbacks too.
// Sets `*index_into_use` when the change brings a spender rule's AOV index
// into use (see below).
std::optional<int64_t> RecentOrderDays(absl::string_view name, const engine::SegmentConfig& x,
                                       const engine::SegmentConfig& y, bool* index_into_use) {
  auto longer = [](int64_t a, int64_t b) { return std::max(a, b); };
  if (name == "frequent_buyer") {
    return longer(x.frequent_buyer.window_days, y.frequent_buyer.window_days);
  }
  if (name == "returning_customer") {
    return longer(x.returning_customer.window_days, y.returning_customer.window_days);
  }
  if (name == "new_customer") return longer(x.new_customer.window_days, y.new_customer.window_days);
  if (name == "loyal_customer") {
    return longer(x.loyal_customer.active_days, y.loyal_customer.active_days);
  }
  if (name == "category_affinity") {
    return longer(x.category_affinity.lookback_days, y.category_affinity.lookback_days);
  }
  if (name == "lapsed" && x.lapsed.enabled && y.lapsed.enabled) {
    return longer(x.lapsed.inactive_days, y.lapsed.inactive_days);
  }
  if (name == "one_time_wonder" && x.one_time_wonder.enabled && y.one_time_wonder.enabled) {
    return longer(x.one_time_wonder.inactive_days, y.one_time_wonder.inactive_days);
  }
  if (name == "lost_loyalty" && x.lost_loyalty.enabled && y.lost_loyalty.enabled &&
      x.lost_loyalty.min_orders == y.lost_loyalty.min_orders) {
    return longer(x.lost_loyalty.inactive_days, y.lost_loyalty.inactive_days);
  }
  if (name == "lost_customer" && x.lost_customer.enabled && y.lost_customer.enabled &&
      x.lost_customer.min_orders == y.lost_customer.min_orders &&
      x.lost_customer.max_orders == y.lost_customer.max_orders) {
    return longer(x.lost_customer.inactive_days, y.lost_customer.inactive_days);
  }
  for (store::AovIndex index : {store::AovIndex::kBigSpender, store::AovIndex::kLowSpender}) {
    if (name != (index == store::AovIndex::kBigSpender ? "big_spender" : "low_spender")) continue;
    // An index coming into use must be exact at once. One not in use is
    // kept by every write at its lookback, as one in use is, but for the
    // entries an earlier update left to the rechecks (of customers of any
    // recency) and, in a tenant stored before 817d147, the entries of
    // customers not written since (missing: such a customer has an order
    // within the index's lookback, hence within the days returned, and the
    // covering index read holds it). So the days bound it only while the
    // tenant has no rechecks pending, which the caller checks.
    if (!AovIndexInUse(x, index) && AovIndexInUse(y, index)) *index_into_use = true;
    const SpenderRuleFields a = SpenderRuleOf(x, index), b = SpenderRuleOf(y, index);
    return std::max({int64_t{a.lookback_days}, int64_t{b.lookback_days},
                     int64_t{AovIndexLookback(x, index)}, int64_t{AovIndexLookback(y, index)}});
  }
  return std::nullopt;
}

}  // namespace

ConfigChangeScope ScopeOfConfigChange(const engine::SegmentConfig& before,
                                      const engine::SegmentConfig& after) {
  ConfigChangeScope everyone;
  const v1::SegmentConfig a = ConfigToProto(before);
  const v1::SegmentConfig b = ConfigToProto(after);
  // A shorter NEW_DOWNLOAD (enabled under both) alone: every customer it can
  // move is a stored member of NEW_DOWNLOAD now (a registered non-buyer
  // within the old max_days; the others are members under neither, and the
  // next change of a customer registering later is its entry either way).
  if (before.new_download.enabled && after.new_download.enabled &&
      after.new_download.max_days < before.new_download.max_days) {
    engine::SegmentConfig same = after;  // `after` but NEW_DOWNLOAD as before
    same.new_download = before.new_download;
    if (ScopeOfConfigChange(before, same).kind == ConfigChangeScope::Kind::kNobody) {
      everyone.member_supersets = {engine::Segment::kNewDownload};
      return everyone;
    }
  }
  // Any other change of NEW_DOWNLOAD and WINDOW_SHOPPER alone: members of
  // either are registered non-buyers, and so are the customers whose next
  // change they schedule (a buyer's is its orders' business).
  const bool new_download_differs = RulesDiffer(a.new_download(), b.new_download());
  const bool window_shopper_differs = RulesDiffer(a.window_shopper(), b.window_shopper());
  if (new_download_differs || window_shopper_differs) {
    engine::SegmentConfig same = after;  // `after` but both rules as before
    same.new_download = before.new_download;
    same.window_shopper = before.window_shopper;
    if (ScopeOfConfigChange(before, same).kind == ConfigChangeScope::Kind::kNobody) {
      everyone.registration_index_superset = true;
      int32_t days = 0;
      if (new_download_differs) {
        days = std::max({days, before.new_download.max_days, after.new_download.max_days});
      }
      if (window_shopper_differs) {
        days = std::max({days, before.window_shopper.min_days, after.window_shopper.min_days});
      }
      if (!window_shopper_differs ||
          before.window_shopper.enabled == after.window_shopper.enabled) {
        everyone.registered_within_days = days;
      }
      return everyone;
    }
  }
  const absl::StatusOr<std::vector<engine::Segment>> priority_before =
      engine::ResolvePrimaryPriority(before);
  const absl::StatusOr<std::vector<engine::Segment>> priority_after =
      engine::ResolvePrimaryPriority(after);
  if (!priority_before.ok() || !priority_after.ok() || *priority_before != *priority_after) {
    return everyone;
  }
  // The fewest lifetime orders a member of each order rule needs, under
  // either config (a rule's own min_orders, else 1: any buyer).
  auto fewest = [](int64_t a, int64_t b) { return std::max<int64_t>(1, std::min(a, b)); };
  const absl::flat_hash_map<std::string, int64_t> order_rules = {
      {"frequent_buyer", fewest(before.frequent_buyer.min_orders, after.frequent_buyer.min_orders)},
      {"returning_customer",
       fewest(before.returning_customer.min_orders, after.returning_customer.min_orders)},
      {"loyal_customer", fewest(before.loyal_customer.min_orders, after.loyal_customer.min_orders)},
      {"lost_loyalty", fewest(before.lost_loyalty.min_orders, after.lost_loyalty.min_orders)},
      {"lost_customer", fewest(before.lost_customer.min_orders, after.lost_customer.min_orders)},
      {"repeat_customer",
       fewest(before.repeat_customer.min_orders, after.repeat_customer.min_orders)},
      {"vip", fewest(before.vip.min_orders, after.vip.min_orders)},
      {"category_affinity",
       fewest(before.category_affinity.min_orders, after.category_affinity.min_orders)},
      {"one_time_wonder", 1},
      {"first_time_buyer", 1},
      {"new_customer", 1},
      {"lapsed", 1},
      {"big_spender", 1},
      {"low_spender", 1},
      {"value_tiers", 1},
  };
  // The most lifetime orders a member of each order rule bounded so can
  // have, under either config; a customer with more is a member under
  // neither and gets no next change from it.
  const absl::flat_hash_map<std::string, int64_t> most_orders = {
      {"one_time_wonder", 1},
      {"first_time_buyer", 1},
      {"lost_customer", std::max(before.lost_customer.max_orders, after.lost_customer.max_orders)},
      {"repeat_customer",
       std::max(before.repeat_customer.max_orders, after.repeat_customer.max_orders)},
  };
  // The windowed counts of the changed blocks; nullopt once a changed block
  // is not a windowed count rule.
  std::optional<std::vector<WindowedCount>> windowed = std::vector<WindowedCount>();
  auto windowed_count = [](const auto& x, const auto& y) {
    return WindowedCount{std::max<int64_t>(1, std::min(x.min_orders, y.min_orders)),
                         std::max(x.window_days, y.window_days)};
  };
  // How recent an order every customer the changed blocks can move has
  // (RecentOrderDays); nullopt once a changed block has no such bound.
  std::optional<int64_t> recent_days = 0;
  bool index_into_use = false;  // RecentOrderDays
  // Whether every changed block so far is a percentile rule enabled under
  // both configs, or a lifetime-order rule whose count bounds alone changed.
  bool cutoffs_only = true;
  ConfigChangeScope scope;
  scope.kind = ConfigChangeScope::Kind::kNobody;
  scope.min_lifetime_orders = std::numeric_limits<int64_t>::max();
  scope.max_lifetime_orders = 0;
  const google::protobuf::Descriptor* d = v1::SegmentConfig::descriptor();
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    if (f->name() == "primary_priority") continue;  // compared resolved, above
    if (f->type() != FieldDescriptor::TYPE_MESSAGE || f->is_repeated()) return everyone;
    if (!RulesDiffer(a.GetReflection()->GetMessage(a, f), b.GetReflection()->GetMessage(b, f))) {
      continue;
    }
    auto rule = order_rules.find(f->name());
    if (rule == order_rules.end()) return everyone;
    scope.kind = ConfigChangeScope::Kind::kBuyers;
    scope.min_lifetime_orders = std::min(scope.min_lifetime_orders, rule->second);
    auto most = most_orders.find(f->name());
    scope.max_lifetime_orders =
        std::max(scope.max_lifetime_orders,
                 most == most_orders.end() ? std::numeric_limits<int64_t>::max() : most->second);
    const Message& block_a = a.GetReflection()->GetMessage(a, f);
    const Message& block_b = b.GetReflection()->GetMessage(b, f);
    if (f->name() == "vip") {
      cutoffs_only &= before.vip.enabled && after.vip.enabled;
    } else if (f->name() == "value_tiers") {
      cutoffs_only &= before.value_tiers.enabled && after.value_tiers.enabled;
    } else if (f->name() == "loyal_customer" || f->name() == "lost_loyalty" ||
               f->name() == "lost_customer" || f->name() == "repeat_customer") {
      // Rules over the lifetime order count: bounded when nothing but the
      // count bounds changed (enabled included).
      cutoffs_only &= !RulesDiffer(block_a, block_b, {"min_orders", "max_orders"});
      if (f->name() == "loyal_customer") {
        AddMovedCount(before.loyal_customer.min_orders, after.loyal_customer.min_orders,
                      &scope.lifetime_order_ranges);
      } else if (f->name() == "lost_loyalty") {
        AddMovedCount(before.lost_loyalty.min_orders, after.lost_loyalty.min_orders,
                      &scope.lifetime_order_ranges);
      } else if (f->name() == "lost_customer") {
        AddMovedCount(before.lost_customer.min_orders, after.lost_customer.min_orders,
                      &scope.lifetime_order_ranges);
        AddMovedCeiling(before.lost_customer.max_orders, after.lost_customer.max_orders,
                        &scope.lifetime_order_ranges);
      } else {
        AddMovedCount(before.repeat_customer.min_orders, after.repeat_customer.min_orders,
                      &scope.lifetime_order_ranges);
        AddMovedCeiling(before.repeat_customer.max_orders, after.repeat_customer.max_orders,
                        &scope.lifetime_order_ranges);
      }
    } else {
      cutoffs_only = false;
    }
    if (recent_days.has_value()) {
      const std::optional<int64_t> days =
          RecentOrderDays(f->name(), before, after, &index_into_use);
      recent_days =
          days.has_value() ? std::make_optional(std::max(*recent_days, *days)) : std::nullopt;
    }
    if (!windowed.has_value()) continue;
    if (f->name() == "frequent_buyer") {
      windowed->push_back(windowed_count(before.frequent_buyer, after.frequent_buyer));
    } else if (f->name() == "returning_customer") {
      windowed->push_back(windowed_count(before.returning_customer, after.returning_customer));
    } else {
      windowed.reset();
    }
  }
  if (scope.kind != ConfigChangeScope::Kind::kBuyers) {
    scope.min_lifetime_orders = 1;
    scope.max_lifetime_orders = std::numeric_limits<int64_t>::max();
  }
  scope.cutoffs_only = scope.kind == ConfigChangeScope::Kind::kBuyers && cutoffs_only;
  if (!scope.cutoffs_only) scope.lifetime_order_ranges.clear();
  if (scope.kind == ConfigChangeScope::Kind::kBuyers && windowed.has_value()) {
    for (engine::Segment s : {engine::Segment::kFrequentBuyer, engine::Segment::kReturningCustomer,
                              engine::Segment::kLoyalCustomer}) {
      if (std::all_of(windowed->begin(), windowed->end(),
                      [&](const WindowedCount& need) { return AlwaysMemberOf(s, before, need); })) {
        scope.member_supersets.push_back(s);
      }
    }
  }
  // Every customer the change can move has an order within recent_days, and
  // with it an entry in each index in use under `before` whose lookback is
  // at least that long.
  if (scope.kind == ConfigChangeScope::Kind::kBuyers && recent_days.has_value()) {
    for (store::AovIndex index : {store::AovIndex::kBigSpender, store::AovIndex::kLowSpender}) {
      if (AovIndexLookback(before, index) < *recent_days) continue;
      (AovIndexInUse(before, index) ? scope.aov_index_supersets : scope.unused_aov_index_supersets)
          .push_back(index);
    }
    scope.aov_index_supersets_need_no_rechecks =
        index_into_use && !scope.aov_index_supersets.empty();
  }
  return scope;
}

}  // namespace segmentd

// Classifier::Explain: human-readable reasons per segment. Not on the hot
// path; recomputes what it reports with plain loops.

#include <algorithm>
#include <cstdlib>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "engine/classify.h"

namespace segmentd::engine {
namespace {

// "1 order", "2 orders": a count with its noun in agreement.
std::string Count(int64_t n, absl::string_view noun) {
  return absl::StrCat(n, " ", noun, n == 1 ? "" : "s");
}

std::string Days(Millis ms) {
  // Days elapsed, floored as rules count them: whole days, with a tenth under
  // ten days where it matters: "3.5 days", "412 days", "1 day". Never
  // rounded up: 3.95 days is "3.9 days", not the "4.0" a rule of 4 days
  // would not yet count.
  if (ms % kMillisPerDay == 0 || ms >= 10 * kMillisPerDay) {
    return Count(ms / kMillisPerDay, "day");
  }
  const int64_t tenths = std::abs(ms) * 10 / kMillisPerDay;
  return absl::StrCat(ms < 0 ? "-" : "", tenths / 10, ".", tenths % 10, " days");
}

// A span under a day in the unit its rules use (minutes, e.g. "at least 60
// minutes" of an abandoned cart), floored like Days: "59 minutes" is never
// shown for 60; a day or more as Days.
std::string Elapsed(Millis ms) {
  constexpr Millis kMinute = 60'000, kHour = 60 * kMinute;
  if (ms < 0 || ms >= kMillisPerDay) return Days(ms);
  if (ms < kMinute) return Count(ms / 1000, "second");
  if (ms < kHour) return Count(ms / kMinute, "minute");
  const std::string hours = Count(ms / kHour, "hour");
  return ms % kHour < kMinute ? hours
                              : absl::StrCat(hours, " ", Count(ms % kHour / kMinute, "minute"));
}

// A rate floored to three decimals, so that a rate below a cut-off never
// shows as the cut-off itself (8 of 41 is 0.195, not 0.20).
std::string Rate(int64_t part, int64_t whole) {
  const int64_t thousandths = part * 1000 / whole;
  return absl::StrFormat("%d.%03d", thousandths / 1000, thousandths % 1000);
}

std::string Money(int64_t minor) {
  return absl::StrFormat("%d.%02d", minor / 100, (minor < 0 ? -minor : minor) % 100);
}

}  // namespace

std::vector<SegmentExplanation> Classifier::Explain(
    const ProfileView& view, absl::Time as_of,
    const std::function<std::string(CategoryId)>& category_name) const {
  const Millis t = ToMillis(as_of);
  OrdersAsOf orders;  // as they were at as_of (corrections after it undone)
  UnfoldedOrders unfolded;  // folded orders a window reaches, as Evaluate counts them
  const ProfileView p = unfolded.View(orders.View(view, t), t - counted_ms_);
  Classification c;
  Evaluate(p, t, &c, nullptr);
  const SegmentConfig& k = config_;
  const LifetimeTotals life = ComputeLifetime(p, t);

  auto count_since = [&](Millis window, int64_t* revenue) {
    int64_t n = 0, rev = 0;
    if (p.folded.AllWithin(t - window, t)) {  // as Evaluate counts them
      n = p.folded.orders;
      rev = p.folded.net_revenue;
    }
    for (const OrderFacts& o : p.orders) {
      if (o.placed_ms > t) break;
      if (!o.cancelled && o.placed_ms > t - window) {
        ++n;
        rev += o.net_amount;
      }
    }
    if (revenue) *revenue = rev;
    return n;
  };
  const std::string since_last =
      life.orders == 0 ? "no orders"
                       : absl::StrCat("last order ", Elapsed(t - life.last_order_ms), " ago");

  std::vector<SegmentExplanation> out;
  auto add = [&](Segment s, std::string reason) {
    if (!enabled_[static_cast<int>(s)]) return;
    out.push_back({std::string(SegmentName(s)), c.segments.Contains(s),
                   std::move(reason)});
  };

  add(Segment::kFrequentBuyer,
      absl::StrCat(Count(count_since(fb_ms_, nullptr), "order"), " in the last ",
                   Count(k.frequent_buyer.window_days, "day"), " (>= ", k.frequent_buyer.min_orders,
                   ")"));
  const std::string reg = p.registered_ms == kNeverMillis || p.registered_ms > t
                              ? "not registered"
                              : absl::StrCat("registered ", Elapsed(t - p.registered_ms), " ago");
  add(Segment::kNewDownload, absl::StrCat(Count(life.orders, "order"), "; ", reg, " (within ",
                                          Count(k.new_download.max_days, "day"), ", no orders)"));
  add(Segment::kWindowShopper,
      absl::StrCat(Count(life.orders, "order"), "; ", reg, " (at least ",
                   Count(k.window_shopper.min_days, "day"), ", no orders)"));
  add(Segment::kNewCustomer,
      life.orders == 0
          ? std::string("no orders")
          : absl::StrCat("first order ", Elapsed(t - life.first_order_ms), " ago (within ",
                         Count(k.new_customer.window_days, "day"), ")"));
  add(Segment::kReturningCustomer,
      absl::StrCat(Count(count_since(ret_ms_, nullptr), "order"), " in the last ",
                   Count(k.returning_customer.window_days, "day"),
                   " (>= ", k.returning_customer.min_orders, ")"));
  add(Segment::kLoyalCustomer,
      absl::StrCat(Count(life.orders, "lifetime order"), " (>= ", k.loyal_customer.min_orders,
                   "); ", since_last, " (within ", Count(k.loyal_customer.active_days, "day"),
                   ")"));
  add(Segment::kLostLoyalty,
      absl::StrCat(Count(life.orders, "lifetime order"), " (>= ", k.lost_loyalty.min_orders, "); ",
                   since_last, " (at least ", Count(k.lost_loyalty.inactive_days, "day"), ")"));
  add(Segment::kOneTimeWonder,
      absl::StrCat(Count(life.orders, "lifetime order"), " (exactly 1); ", since_last,
                   " (at least ", Count(k.one_time_wonder.inactive_days, "day"), ")"));
  auto spender = [&](Segment s, Millis window, int32_t days, bool absolute, bool defined,
                     int64_t amount, double threshold, std::optional<double> multiple,
                     const char* op) {
    int64_t rev = 0;
    const int64_t n = count_since(window, &rev);
    // A relative threshold names its multiple and the store AOV it scales:
    // "<= 24.20 = 0.6x the store AOV 40.33".
    std::string thr = absolute
                          ? Money(amount)
                          : (defined ? absl::StrFormat("%.2f = %gx the store AOV %.2f",
                                                       threshold / 100.0, multiple.value_or(0),
                                                       threshold / multiple.value_or(1) / 100.0)
                                     : std::string("undefined (no store orders, or all worth 0)"));
    if (n == 0) {
      add(s, absl::StrCat("no orders in the last ", Count(days, "day")));
    } else {
      add(s, absl::StrFormat("AOV %.2f over %s in the last %s (%s %s)",
                             static_cast<double>(rev) / n / 100.0, Count(n, "order"),
                             Count(days, "day"), op, thr));
    }
  };
  spender(Segment::kBigSpender, big_ms_, k.big_spender.lookback_days, big_absolute_, big_defined_,
          big_amount_, big_threshold_, k.big_spender.threshold_store_aov_multiple, ">=");
  spender(Segment::kLowSpender, low_ms_, k.low_spender.lookback_days, low_absolute_, low_defined_,
          low_amount_, low_threshold_, k.low_spender.threshold_store_aov_multiple, "<=");
  add(Segment::kLostCustomer,
      absl::StrCat(Count(life.orders, "lifetime order"), " (in [", k.lost_customer.min_orders, ", ",
                   k.lost_customer.max_orders, "]); ", since_last, " (at least ",
                   Count(k.lost_customer.inactive_days, "day"), ")"));
  add(Segment::kFirstTimeBuyer, absl::StrCat(Count(life.orders, "lifetime order"), " (exactly 1)"));
  add(Segment::kRepeatCustomer,
      absl::StrCat(Count(life.orders, "lifetime order"), " (in [", k.repeat_customer.min_orders,
                   ", ", k.repeat_customer.max_orders, "])"));
  add(Segment::kVip,
      vip_threshold_ == std::numeric_limits<int64_t>::max()
          ? std::string("no buyers in the population")
          : absl::StrCat(Count(life.orders, "lifetime order"), " (>= ", vip_threshold_, ": top ",
                         k.vip.top_percent, "% of buyers, at least ", k.vip.min_orders, ")"));
  const std::string rev = absl::StrCat("lifetime net revenue ",
                                       Money(life.net_revenue));
  auto cut = [&](int64_t v) {
    return v == std::numeric_limits<int64_t>::max() ? std::string("none")
                                                    : Money(v);
  };
  add(Segment::kHighValue,
      absl::StrCat(rev, " (top ", k.value_tiers.high_percent,
                   "% cut-off: ", cut(high_cutoff_), ")"));
  add(Segment::kMediumValue,
      absl::StrCat(rev, " (top ",
                   k.value_tiers.high_percent + k.value_tiers.medium_percent,
                   "% cut-off: ", cut(medium_cutoff_), ")"));
  // Below the medium tier's cut-off (the top high + medium percent).
  // With no cut-off, no buyer is counted in the statistics yet (the first
  // order's own write classifies with the statistics from before it; the
  // statistics mover moves the customer moments later).
  add(Segment::kLowValue,
      life.orders == 0 ? std::string("no orders")
      : stats_.buyers == 0
          ? absl::StrCat(rev, " (no buyer counted in the population statistics yet)")
          : absl::StrCat(rev, " (bottom ", k.value_tiers.low_percent, "%: below the top ",
                         k.value_tiers.high_percent + k.value_tiers.medium_percent, "% cut-off ",
                         cut(medium_cutoff_), ")"));
  add(Segment::kLapsed,
      absl::StrCat(since_last, " (at least ", Count(k.lapsed.inactive_days, "day"), ")"));
  {
    int64_t sent = 0, opened = 0, acted = 0;
    for (const MessageFacts& m : p.messages) {
      if (m.sent_ms > t - eng_ms_ && m.sent_ms <= t) {
        ++sent;
        opened += m.opened_ms <= t;
        acted += m.acted_ms <= t;
      }
    }
    const std::string e = sent < eng_min_
                              ? absl::StrCat(Count(sent, "message"), " sent in the last ",
                                             Count(k.engagement.window_days, "day"),
                                             " (fewer than ", k.engagement.min_messages, ")")
                              : absl::StrFormat(
                                    "%s in the last %s: %d opened (open rate %s), %d acted on "
                                    "(action rate %s)",
                                    Count(sent, "message"), Count(k.engagement.window_days, "day"),
                                    opened, Rate(opened, sent), acted, Rate(acted, sent));
    add(Segment::kHighlyEngaged,
        absl::StrFormat("%s (open >= %.2f and action >= %.2f)", e,
                        k.engagement.high_open_rate,
                        k.engagement.high_action_rate));
    add(Segment::kModeratelyEngaged,
        absl::StrFormat("%s (open >= %.2f, not highly engaged)", e,
                        k.engagement.moderate_open_rate));
    add(Segment::kDisengaged, absl::StrFormat("%s (open < %.2f)", e,
                                              k.engagement.moderate_open_rate));
  }
  add(Segment::kAbandonedCart,
      !p.has_cart || p.cart.updated_ms > t
          ? std::string("no cart")
          : absl::StrCat(
                "cart updated ", Elapsed(t - p.cart.updated_ms), " ago (between ",
                Count(k.abandoned_cart.abandon_after_minutes, "minute"), " and ",
                Count(k.abandoned_cart.window_days, "day"), "), value ", Money(p.cart.value),
                p.cart.Converted() && p.cart.converted_ms <= t ? ", converted" : "",
                life.orders > 0 && life.last_order_ms > p.cart.updated_ms ? ", ordered since"
                                                                          : ""));

  // Category memberships.
  std::map<CategoryId, int64_t> counts;
  for (const OrderFacts& o : p.orders) {
    if (o.placed_ms > t) break;
    if (o.cancelled || o.placed_ms <= t - cat_ms_) continue;
    for (uint16_t j = 0; j < o.categories_count; ++j) {
      ++counts[p.order_categories[o.categories_begin + j]];
    }
  }
  for (CategoryId id : c.categories) {
    const std::string name =
        category_name ? category_name(id) : absl::StrCat(id);
    out.push_back({CategorySegmentName(name), true,
                   absl::StrCat(Count(counts[id], "order"), " with ", name, " in the last ",
                                Count(k.category_affinity.lookback_days, "day"),
                                " (>= ", k.category_affinity.min_orders, ")")});
  }
  return out;
}

}  // namespace segmentd::engine

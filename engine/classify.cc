#include "engine/classify.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "absl/base/attributes.h"
#include "absl/base/optimization.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace segmentd::engine {
namespace {

constexpr int64_t kNoThreshold = std::numeric_limits<int64_t>::max();

enum EngagementLevel { kNone = 0, kHigh = 1, kModerate = 2, kDis = 3 };

inline Millis MinMs(Millis a, Millis b) { return a < b ? a : b; }

// Returns the placement of the k-th (0-based) valid order placed after
// `start`, scanning orders[0, end).
Millis KthValidAfter(absl::Span<const OrderFacts> orders, size_t end,
                     Millis start, int64_t k) {
  for (size_t i = 0; i < end; ++i) {
    const OrderFacts& o = orders[i];
    if (o.cancelled || o.placed_ms <= start) continue;
    if (k == 0) return o.placed_ms;
    --k;
  }
  return kNeverMillis;  // unreachable when k < count in window
}

// Returns the least count k in [0, n] whose rate k / n (as EngagementState
// computes it, in doubles) is >= rate, or n + 1 if none is. The rate is
// monotone in k, so every count from the result on reaches it too.
uint8_t LeastCountReaching(int n, double rate) {
  auto reaches = [&](int k) { return static_cast<double>(k) / n >= rate; };
  int k = std::clamp(static_cast<int>(std::ceil(rate * n)), 0, n + 1);
  while (k <= n && !reaches(k)) ++k;
  while (k > 0 && reaches(k - 1)) --k;
  return static_cast<uint8_t>(k);
}

// Category affinity's working space: orders per category id in the lookback
// (all zero between calls, grown to the largest id seen) and the ids counted
// (one slot more). One per thread, not per Classification, so that results
// stay small to copy and keep, whatever a tenant's number of categories.
struct CategoryCounts {
  std::vector<uint32_t> counts;
  std::vector<CategoryId> counted;
};

CategoryCounts& ThisThreadsCategoryCounts() {
  thread_local CategoryCounts counts;
  return counts;
}

}  // namespace

absl::StatusOr<Classifier> Classifier::Create(const SegmentConfig& config,
                                              const PopulationStats& stats) {
  if (absl::Status s = ValidateConfig(config); !s.ok()) return s;
  absl::StatusOr<std::vector<Segment>> priority =
      ResolvePrimaryPriority(config);
  if (!priority.ok()) return priority.status();

  Classifier c;
  c.config_ = config;
  c.stats_ = stats;
  const SegmentConfig& k = config;
  for (int s = 0; s < kNumSegments; ++s) {
    c.enabled_[s] = SegmentEnabled(k, static_cast<Segment>(s));
  }
  c.category_enabled_ = k.category_affinity.enabled;

  c.fb_ms_ = DaysToMillis(k.frequent_buyer.window_days);
  c.fb_min_ = k.frequent_buyer.min_orders;
  c.nd_ms_ = DaysToMillis(k.new_download.max_days);
  c.ws_ms_ = DaysToMillis(k.window_shopper.min_days);
  c.nc_ms_ = DaysToMillis(k.new_customer.window_days);
  c.ret_ms_ = DaysToMillis(k.returning_customer.window_days);
  c.ret_min_ = k.returning_customer.min_orders;
  c.loyal_ms_ = DaysToMillis(k.loyal_customer.active_days);
  c.loyal_min_ = k.loyal_customer.min_orders;
  c.ll_ms_ = DaysToMillis(k.lost_loyalty.inactive_days);
  c.ll_min_ = k.lost_loyalty.min_orders;
  c.otw_ms_ = DaysToMillis(k.one_time_wonder.inactive_days);
  c.big_ms_ = DaysToMillis(k.big_spender.lookback_days);
  c.low_ms_ = DaysToMillis(k.low_spender.lookback_days);
  c.lc_ms_ = DaysToMillis(k.lost_customer.inactive_days);
  c.lc_min_ = k.lost_customer.min_orders;
  c.lc_max_ = k.lost_customer.max_orders;
  c.rep_min_ = k.repeat_customer.min_orders;
  c.rep_max_ = k.repeat_customer.max_orders;
  c.lapsed_ms_ = DaysToMillis(k.lapsed.inactive_days);
  c.cat_ms_ = DaysToMillis(k.category_affinity.lookback_days);
  c.cat_min_ = k.category_affinity.min_orders;
  c.counted_ms_ = std::max(
      {c.fb_ms_, c.ret_ms_, c.big_ms_, c.low_ms_, c.category_enabled_ ? c.cat_ms_ : Millis{0}});
  c.eng_ms_ = DaysToMillis(k.engagement.window_days);
  c.eng_min_ = k.engagement.min_messages;
  c.high_open_ = k.engagement.high_open_rate;
  c.high_action_ = k.engagement.high_action_rate;
  c.moderate_open_ = k.engagement.moderate_open_rate;
  c.cart_after_ms_ = int64_t{k.abandoned_cart.abandon_after_minutes} *
                     kMillisPerMinute;
  c.cart_window_ms_ = DaysToMillis(k.abandoned_cart.window_days);

  const std::optional<int64_t> vip = VipThreshold(stats, config);
  c.vip_threshold_ = vip.value_or(kNoThreshold);
  c.high_cutoff_ = stats.high_value_cutoff.value_or(kNoThreshold);
  c.medium_cutoff_ = stats.medium_value_cutoff.value_or(kNoThreshold);

  auto spender = [&](int32_t lookback, const std::optional<int64_t>& amount,
                     const std::optional<double>& multiple, bool* absolute, bool* defined,
                     int64_t* amount_out, double* threshold, Relative* exact) {
    if (amount.has_value()) {
      *absolute = true;
      *defined = true;
      *amount_out = *amount;
      return;
    }
    *absolute = false;
    const std::optional<double> relative = stats.RelativeThreshold(lookback, *multiple);
    *defined = relative.has_value();
    *threshold = relative.value_or(0.0);
    if (const WindowTotals* w = stats.FindWindow(lookback); *defined && w != nullptr) {
      // RelativeThreshold is the same threshold in doubles (the fast test).
      *exact = Relative{PopulationStats::MultipleMillionths(*multiple), w->net_revenue, w->orders,
                        *threshold};
    }
  };
  spender(k.big_spender.lookback_days, k.big_spender.threshold_amount,
          k.big_spender.threshold_store_aov_multiple, &c.big_absolute_, &c.big_defined_,
          &c.big_amount_, &c.big_threshold_, &c.big_relative_);
  spender(k.low_spender.lookback_days, k.low_spender.threshold_amount,
          k.low_spender.threshold_store_aov_multiple, &c.low_absolute_, &c.low_defined_,
          &c.low_amount_, &c.low_threshold_, &c.low_relative_);

  for (int sent = 1; sent <= kRateTableMessages; ++sent) {
    RateMinimums& m = c.rate_minimums_[sent];
    m.high_open = LeastCountReaching(sent, c.high_open_);
    m.high_action = LeastCountReaching(sent, c.high_action_);
    m.moderate_open = LeastCountReaching(sent, c.moderate_open_);
  }
  for (int i = 0; i < kNumSegments; ++i) {
    c.priority_[i] = (*priority)[i];
    c.rank_[static_cast<int>(c.priority_[i])] = static_cast<uint8_t>(i);
  }
  return c;
}

// The sign of revenue / orders - multiple x store AOV (orders > 0), exactly:
// revenue x store_orders x 10^6 against millionths x store_revenue x orders
// in 128 bits. In doubles, 1.1 x 15.00 is 16.500000000000002 and a customer
// AOV of exactly 16.50 missed an inclusive threshold (a reviewer's finding).
// A configured multiple counts to millionths.
int Classifier::CompareToRelative(int64_t revenue, int64_t orders, const Relative& t) {
  // Decided in doubles unless within a billionth of the threshold (their
  // error is ~1e-15): the exact form costs more, and this runs for every
  // buyer in a full evaluation.
  const double aov = static_cast<double>(revenue) / static_cast<double>(orders);
  if (aov > t.approximate * (1 + 1e-9)) return 1;
  if (aov < t.approximate * (1 - 1e-9)) return -1;
  // Each product of two int64 fits in 128 bits; the second factors are
  // bounded so that the full products do too.
  constexpr __int128 kBound = static_cast<__int128>(1) << 100;
  const __int128 customer = static_cast<__int128>(revenue) * t.store_orders;
  const __int128 store = static_cast<__int128>(t.multiple_millionths) * t.store_revenue;
  if (customer < kBound && customer > -kBound && store < kBound && store > -kBound &&
      orders < (int64_t{1} << 26)) {
    const __int128 lhs = customer * 1'000'000;
    const __int128 rhs = store * orders;
    return lhs < rhs ? -1 : (lhs > rhs ? 1 : 0);
  }
  // Beyond that (no real store comes near): in long doubles.
  const long double exact_aov = static_cast<long double>(revenue) / orders;
  const long double threshold =
      static_cast<long double>(t.multiple_millionths) / 1e6L * t.store_revenue / t.store_orders;
  return exact_aov < threshold ? -1 : (exact_aov > threshold ? 1 : 0);
}

bool Classifier::BigOk(int64_t revenue, int64_t orders) const {
  if (orders <= 0 || !big_defined_) return false;
  if (big_absolute_) {
    return static_cast<__int128>(revenue) >=
           static_cast<__int128>(big_amount_) * orders;
  }
  return CompareToRelative(revenue, orders, big_relative_) >= 0;
}

bool Classifier::LowOk(int64_t revenue, int64_t orders) const {
  if (orders <= 0 || !low_defined_) return false;
  if (low_absolute_) {
    return static_cast<__int128>(revenue) <=
           static_cast<__int128>(low_amount_) * orders;
  }
  return CompareToRelative(revenue, orders, low_relative_) <= 0;
}

inline int Classifier::EngagementState(int64_t sent, int64_t opened, int64_t acted) const {
  if (sent < eng_min_ || sent == 0) return kNone;
  if (sent <= kRateTableMessages) {
    const RateMinimums& m = rate_minimums_[sent];
    if (opened >= m.high_open && acted >= m.high_action) return kHigh;
    if (opened >= m.moderate_open) return kModerate;
    return kDis;
  }
  const double open_rate = static_cast<double>(opened) / sent;
  const double action_rate = static_cast<double>(acted) / sent;
  if (open_rate >= high_open_ && action_rate >= high_action_) return kHigh;
  if (open_rate >= moderate_open_) return kModerate;
  return kDis;
}

// Out of line, so that the common path's code stays as it was.
ABSL_ATTRIBUTE_NOINLINE bool Classifier::EvaluateUnfolded(const ProfileView& p, Millis t,
                                                          Classification* out, Millis* next,
                                                          bool* future_open) const {
  if (p.folded_orders.empty()) return false;
  thread_local UnfoldedOrders unfolded;
  const ProfileView u = unfolded.View(p, t - counted_ms_);
  if (u.folded.orders != 0) return false;  // placements unknown: the totals count
  Evaluate(u, t, out, next, future_open);
  return true;
}

void Classifier::Evaluate(const ProfileView& p, Millis t, Classification* out, Millis* next,
                          bool* future_open) const {
  // A window reaching folded orders (lengthened since they were folded)
  // counts them one by one when their placements are kept. Rare: folding
  // keeps every order the current config's windows can reach.
  if (ABSL_PREDICT_FALSE(p.folded.orders > 0 && p.folded.last_order_ms > t - counted_ms_) &&
      EvaluateUnfolded(p, t, out, next, future_open)) {
    return;
  }
  SegmentSet seg;
  bool saw_future_open = false;
  out->categories.clear();
  out->cart_categories.clear();
  Millis nx = kNeverMillis;

  // --- One pass over the orders placed at or before t. ---------------------
  const Millis fb_start = t - fb_ms_, ret_start = t - ret_ms_;
  const Millis big_start = t - big_ms_, low_start = t - low_ms_;
  const Millis cat_start = t - cat_ms_;
  const bool want_cats = category_enabled_;
  const FoldedTotals& folded = p.folded;
  int64_t life_n = folded.orders, life_rev = folded.net_revenue;
  Millis first = life_n > 0 ? folded.first_order_ms : kNeverMillis;
  Millis last = life_n > 0 ? folded.last_order_ms : kNeverMillis;
  // Folded orders without placements (above) count in a window that holds
  // them all (a window lengthened after they were folded); the windows start
  // counting the live orders from there. Their categories are unknown:
  // affinity counts none of them.
  const bool fb_folded = folded.AllWithin(fb_start, t);
  const bool ret_folded = folded.AllWithin(ret_start, t);
  const bool big_folded = folded.AllWithin(big_start, t);
  const bool low_folded = folded.AllWithin(low_start, t);
  int64_t fb_n = fb_folded ? folded.orders : 0, ret_n = ret_folded ? folded.orders : 0;
  int64_t big_n = 0, big_rev = 0, low_n = 0, low_rev = 0;
  if (big_folded) {
    big_n = folded.orders;
    big_rev = folded.net_revenue;
  }
  if (low_folded) {
    low_n = folded.orders;
    low_rev = folded.net_revenue;
  }
  // Orders [cat_begin, end) are inside the category-affinity lookback.
  size_t cat_begin = 0;
  size_t end = 0;
  const size_t n_orders = p.orders.size();
  for (; end < n_orders; ++end) {
    const OrderFacts& o = p.orders[end];
    const Millis at = o.placed_ms;
    if (at > t) break;
    if (o.cancelled) continue;
    ++life_n;
    life_rev += o.net_amount;
    if (first == kNeverMillis) first = at;
    last = at;
    fb_n += at > fb_start;
    ret_n += at > ret_start;
    if (at > big_start) {
      ++big_n;
      big_rev += o.net_amount;
    }
    if (at > low_start) {
      ++low_n;
      low_rev += o.net_amount;
    }
    cat_begin = at > cat_start ? cat_begin : end + 1;
  }
  const bool buyer = life_n > 0;
  auto on = [&](Segment s) { return enabled_[static_cast<int>(s)]; };

  // 1. FREQUENT_BUYER / 5. RETURNING_CUSTOMER: orders in window >= min.
  // When the window's start reaches the first counted folded order, the
  // count drops to the live orders (every one of them later than the folded
  // ones, so none has left by then): the exit is then, or, if the live
  // orders alone reach the minimum, when enough of them have left.
  auto count_exit = [&](int64_t n, int64_t min, bool with_folded, Millis start, Millis window) {
    const int64_t live = with_folded ? n - folded.orders : n;
    if (live < min) return folded.first_order_ms + window;  // with_folded only
    return KthValidAfter(p.orders, end, start, live - min) + window;
  };
  if (on(Segment::kFrequentBuyer) && fb_n >= fb_min_) {
    seg.Insert(Segment::kFrequentBuyer);
    if (next) nx = MinMs(nx, count_exit(fb_n, fb_min_, fb_folded, fb_start, fb_ms_));
  }
  if (on(Segment::kReturningCustomer) && ret_n >= ret_min_) {
    seg.Insert(Segment::kReturningCustomer);
    if (next) nx = MinMs(nx, count_exit(ret_n, ret_min_, ret_folded, ret_start, ret_ms_));
  }
  // 2. NEW_DOWNLOAD / 3. WINDOW_SHOPPER: no orders, registration age.
  const Millis reg = p.registered_ms;
  const bool registered = reg != kNeverMillis && reg <= t;
  if (!buyer && registered) {
    if (on(Segment::kNewDownload) && reg > t - nd_ms_) {
      seg.Insert(Segment::kNewDownload);
      if (next) nx = MinMs(nx, reg + nd_ms_);
    }
    if (on(Segment::kWindowShopper)) {
      if (reg <= t - ws_ms_) {
        seg.Insert(Segment::kWindowShopper);
      } else if (next) {
        nx = MinMs(nx, reg + ws_ms_);
      }
    }
  }
  if (buyer) {
    // 4. NEW_CUSTOMER: first order within window.
    if (on(Segment::kNewCustomer) && first > t - nc_ms_) {
      seg.Insert(Segment::kNewCustomer);
      if (next) nx = MinMs(nx, first + nc_ms_);
    }
    // 6. LOYAL_CUSTOMER: lifetime >= min and an order within active days.
    if (on(Segment::kLoyalCustomer) && life_n >= loyal_min_ &&
        last > t - loyal_ms_) {
      seg.Insert(Segment::kLoyalCustomer);
      if (next) nx = MinMs(nx, last + loyal_ms_);
    }
    // Inactivity rules: "no order for D days" = last <= t - D.
    auto inactive = [&](Segment s, bool count_ok, Millis d) {
      if (!on(s) || !count_ok) return;
      if (last <= t - d) {
        seg.Insert(s);
      } else if (next) {
        nx = MinMs(nx, last + d);
      }
    };
    inactive(Segment::kLostLoyalty, life_n >= ll_min_, ll_ms_);
    inactive(Segment::kOneTimeWonder, life_n == 1, otw_ms_);
    inactive(Segment::kLostCustomer, life_n >= lc_min_ && life_n <= lc_max_,
             lc_ms_);
    inactive(Segment::kLapsed, true, lapsed_ms_);

    if (on(Segment::kFirstTimeBuyer) && life_n == 1) {
      seg.Insert(Segment::kFirstTimeBuyer);
    }
    if (on(Segment::kRepeatCustomer) && life_n >= rep_min_ &&
        life_n <= rep_max_) {
      seg.Insert(Segment::kRepeatCustomer);
    }
    if (on(Segment::kVip) && life_n >= vip_threshold_) seg.Insert(Segment::kVip);
    if (on(Segment::kHighValue)) {
      if (life_rev >= high_cutoff_) {
        seg.Insert(Segment::kHighValue);
      } else if (life_rev >= medium_cutoff_) {
        seg.Insert(Segment::kMediumValue);
      } else {
        seg.Insert(Segment::kLowValue);
      }
    }
  }

  // 9. BIG_SPENDER / 10. LOW_SPENDER: AOV over the lookback.
  auto spender = [&](Segment s, bool ok, Millis start, Millis window, int64_t n, int64_t rev,
                     bool big, bool with_folded) {
    if (!on(s)) return;
    if (ok) seg.Insert(s);
    if (!next || n == 0) return;
    if (with_folded) {
      // They leave first, all at once for this rule (above): the verdict on
      // the live orders alone holds from then.
      n -= folded.orders;
      rev -= folded.net_revenue;
      const bool live_ok = big ? BigOk(rev, n) : LowOk(rev, n);
      if (live_ok != ok) {
        nx = MinMs(nx, folded.first_order_ms + window);
        return;
      }
      if (n == 0) return;
    }
    // Orders leave the lookback in placement order; find the first exit
    // after which the verdict differs.
    size_t i = 0;
    while (i < end) {
      const OrderFacts& o = p.orders[i];
      if (o.cancelled || o.placed_ms <= start) {
        ++i;
        continue;
      }
      const Millis at = o.placed_ms;
      while (i < end && p.orders[i].placed_ms == at) {
        if (!p.orders[i].cancelled) {
          --n;
          rev -= p.orders[i].net_amount;
        }
        ++i;
      }
      const bool now_ok = big ? BigOk(rev, n) : LowOk(rev, n);
      if (now_ok != ok) {
        nx = MinMs(nx, at + window);
        return;
      }
      if (n == 0) return;
    }
  };
  spender(Segment::kBigSpender, BigOk(big_rev, big_n), big_start, big_ms_, big_n, big_rev, true,
          big_folded);
  spender(Segment::kLowSpender, LowOk(low_rev, low_n), low_start, low_ms_, low_n, low_rev, false,
          low_folded);

  // Category affinity: per category, orders containing it in the lookback.
  // Counted newest first: a category's exit from membership is when its
  // min-th newest order leaves the lookback, i.e. at the order where its
  // count reaches the minimum in this scan (a category appears at most once
  // per order).
  if (want_cats && cat_begin < end) {
    CategoryCounts& scratch = ThisThreadsCategoryCounts();
    std::vector<uint32_t>& counts = scratch.counts;
    std::vector<CategoryId>& counted = scratch.counted;
    const uint32_t min_orders = static_cast<uint32_t>(cat_min_);
    Millis exit = kNeverMillis;
    // Appends are branch-free: `counted` has a slot per category id and
    // one more, written to and not counted when the category was seen.
    size_t n_counted = 0;
    for (size_t i = end; i-- > cat_begin;) {
      const OrderFacts& o = p.orders[i];
      if (o.cancelled) continue;
      const CategoryId* c = p.order_categories.data() + o.categories_begin;
      for (uint16_t j = 0; j < o.categories_count; ++j) {
        if (c[j] >= counts.size()) {
          counts.resize(size_t{c[j]} + 1, 0);
          counted.resize(counts.size() + 1);
        }
        const uint32_t n = ++counts[c[j]];
        counted[n_counted] = c[j];
        n_counted += n == 1;
        exit = n == min_orders ? o.placed_ms : exit;
      }
    }
    for (size_t i = 0; i < n_counted; ++i) {
      const CategoryId c = counted[i];
      if (counts[c] >= min_orders) out->categories.push_back(c);
      counts[c] = 0;
    }
    std::sort(out->categories.begin(), out->categories.end());
    if (next && exit != kNeverMillis) nx = MinMs(nx, exit + cat_ms_);
  }

  // Engagement over messages sent in the window.
  if (on(Segment::kHighlyEngaged) && !p.messages.empty()) {
    const Millis start = t - eng_ms_;
    size_t lo = 0;
    while (lo < p.messages.size() && p.messages[lo].sent_ms <= start) ++lo;
    size_t hi = lo;
    int64_t sent = 0, opened = 0, acted = 0;
    bool future_open = false;
    for (; hi < p.messages.size() && p.messages[hi].sent_ms <= t; ++hi) {
      const MessageFacts& m = p.messages[hi];
      ++sent;
      opened += m.opened_ms <= t;
      acted += m.acted_ms <= t;
      future_open |= (m.opened_ms != kNeverMillis && m.opened_ms > t) ||
                     (m.acted_ms != kNeverMillis && m.acted_ms > t);
    }
    if (future_open) saw_future_open = true;
    const int state = EngagementState(sent, opened, acted);
    if (state == kHigh) seg.Insert(Segment::kHighlyEngaged);
    if (state == kModerate) seg.Insert(Segment::kModeratelyEngaged);
    if (state == kDis) seg.Insert(Segment::kDisengaged);
    // Opens and actions after t are left out, as every event after t is.
    if (next && state != kNone) {
      size_t i = lo;
      while (i < hi) {
        const Millis at = p.messages[i].sent_ms;
        while (i < hi && p.messages[i].sent_ms == at) {
          --sent;
          opened -= p.messages[i].opened_ms <= t;
          acted -= p.messages[i].acted_ms <= t;
          ++i;
        }
        if (EngagementState(sent, opened, acted) != state) {
          nx = MinMs(nx, at + eng_ms_);
          break;
        }
      }
    }
  }

  // ABANDONED_CART. An empty cart (no value, no categories: the shop's cart
  // after its last item was removed) is nothing to abandon.
  const bool cart_holds_something = p.cart.value > 0 || !p.cart_categories.empty();
  if (on(Segment::kAbandonedCart) && p.has_cart && cart_holds_something && p.cart.updated_ms <= t) {
    const Millis up = p.cart.updated_ms;
    const bool live =
        (!p.cart.Converted() || p.cart.converted_ms > t) && (last == kNeverMillis || last <= up);
    if (live) {
      if (up <= t - cart_after_ms_ && up > t - cart_window_ms_) {
        seg.Insert(Segment::kAbandonedCart);
        out->cart_categories.assign(p.cart_categories.begin(),
                                    p.cart_categories.end());
        if (next) nx = MinMs(nx, up + cart_window_ms_);
      } else if (next && t < up + cart_after_ms_) {
        nx = MinMs(nx, up + cart_after_ms_);
      }
    }
  }

  out->segments = seg;
  out->primary.reset();
  // The member with the best rank; a customer is in a few segments only.
  int best = kNumSegments;
  for (uint32_t bits = seg.bits(); bits != 0; bits &= bits - 1) {
    best = std::min(best, int{rank_[__builtin_ctz(bits)]});
  }
  if (best < kNumSegments) out->primary = priority_[best];
  if (next) *next = nx;
  if (future_open) *future_open = saw_future_open;
}

Millis Classifier::ScanNextChange(const ProfileView& p, Millis t, const Classification& now,
                                  Millis next_without_events, Millis until,
                                  const ProfileView* corrected) const {
  // Every instant after t at which an input becomes visible: until the first
  // of them, membership moves as it would with no event after the instant
  // evaluated last, which Evaluate's next change gives exactly. So the scan
  // jumps from one such instant to the next (linear in the profile per
  // event or change it passes), rather than evaluating at every instant a
  // window edge crosses an order (quadratic in the orders).
  std::vector<Millis> events;
  auto add = [&](Millis m) {
    if (m != kNeverMillis && m > t) events.push_back(m);
  };
  for (const OrderFacts& o : p.orders) {
    if (!o.cancelled) add(o.placed_ms);
  }
  if (p.folded.orders > 0) {
    add(p.folded.first_order_ms);
    add(p.folded.last_order_ms);
    for (const FoldedOrderFacts& o : p.folded_orders) {
      if (!o.cancelled && o.placed_ms != kNeverMillis) add(o.placed_ms);
    }
  }
  if (p.registered_ms != kNeverMillis) add(p.registered_ms);
  for (const MessageFacts& m : p.messages) {
    add(m.sent_ms);
    add(m.opened_ms);
    add(m.acted_ms);
  }
  if (p.has_cart) {
    add(p.cart.updated_ms);
    add(p.cart.converted_ms);
  }
  // A correction changes the orders at its instant; `p`'s orders, as of t,
  // include every order a later correction cancels.
  if (corrected != nullptr) {
    for (const OrderCorrection& c : corrected->corrections) add(c.at_ms);
  }
  std::sort(events.begin(), events.end());
  events.erase(std::unique(events.begin(), events.end()), events.end());
  Classification at;
  OrdersAsOf as_of;
  // Unfolded once here rather than by Evaluate at each instant: counting
  // folded orders by placement answers as Evaluate does at every instant,
  // whether or not a window reaches them then.
  UnfoldedOrders unfolded;
  const ProfileView q =
      corrected != nullptr ? p : unfolded.View(p, std::numeric_limits<Millis>::min());
  Millis cur = t, nx = next_without_events;
  auto event = events.begin();
  while (true) {
    event = std::upper_bound(event, events.end(), cur);
    const Millis c = event == events.end() ? nx : std::min(nx, *event);
    if (c == kNeverMillis || c >= until) return kNeverMillis;
    Evaluate(corrected != nullptr ? as_of.View(*corrected, c) : q, c, &at, &nx);
    if (!at.SameMembership(now)) return c;
    // Every next change Evaluate gives is later than its instant; a bug
    // breaking that must not loop forever.
    if (nx <= c) return c;
    cur = c;
  }
}

void Classifier::Classify(const ProfileView& view, absl::Time as_of, Classification* out) const {
  ClassifyBefore(view, ToMillis(as_of), kNeverMillis, out);
}

void Classifier::ClassifyUntil(const ProfileView& view, absl::Time as_of, absl::Time until,
                               Classification* out) const {
  // Rounded up: a change at a whole millisecond before a `until` between
  // two is before it (ToMillis rounds down).
  Millis u = ToMillis(until);
  if (u != kNeverMillis && FromMillis(u) < until) ++u;
  ClassifyBefore(view, ToMillis(as_of), u, out);
}

void Classifier::ClassifyMembership(const ProfileView& view, absl::Time as_of,
                                    Classification* out) const {
  const Millis t = ToMillis(as_of);
  OrdersAsOf orders;
  Evaluate(t < view.corrected_through_ms ? orders.View(view, t) : view, t, out, nullptr);
  out->next_change.reset();
}

void Classifier::ClassifyBefore(const ProfileView& view, Millis t, Millis until,
                                Classification* out) const {
  if (t < view.corrected_through_ms) {
    // A cancellation or refund after t: the orders as they were at t, and
    // the next change found by scanning, the corrections' instants included.
    OrdersAsOf orders;
    const ProfileView p = orders.View(view, t);
    Millis next = kNeverMillis;
    Evaluate(p, t, out, &next);
    next = ScanNextChange(p, t, *out, next, until, &view);
    out->next_change = next == kNeverMillis ? std::nullopt : std::optional(FromMillis(next));
    return;
  }
  const ProfileView& p = view;
  // Is any event later than t? Then membership can also change when it
  // becomes visible, and the exact scan is used.
  // (A folded order too: unfolded, Evaluate counts it from its placement.)
  bool future = (!p.orders.empty() && p.orders.back().placed_ms > t) ||
                (p.folded.orders > 0 && p.folded.last_order_ms > t) ||
                (p.registered_ms != kNeverMillis && p.registered_ms > t) ||
                (!p.messages.empty() && p.messages.back().sent_ms > t) ||
                (p.has_cart && (p.cart.updated_ms > t ||
                                (p.cart.converted_ms != kNeverMillis && p.cart.converted_ms > t)));
  // Opens and actions after t are detected by Evaluate itself (only those of
  // messages inside the engagement window can matter).
  Millis next = kNeverMillis;
  bool future_open = false;
  Evaluate(p, t, out, &next, &future_open);
  if (future || future_open) next = ScanNextChange(p, t, *out, next, until);
  if (next >= until) {
    out->next_change.reset();
  } else {
    out->next_change = FromMillis(next);
  }
}

Classification Classifier::Classify(const ProfileView& profile,
                                    absl::Time as_of) const {
  Classification out;
  Classify(profile, as_of, &out);
  return out;
}

namespace {

// What bounds exact answers: from `orders` on the folded orders are known
// as the rules read them, and from `engagement` on no window reaches a
// dropped message (std::numeric_limits<Millis>::min(): no bound).
struct ExactBounds {
  Millis orders = std::numeric_limits<Millis>::min();
  Millis engagement = std::numeric_limits<Millis>::min();
};

ExactBounds BoundsOf(const ProfileView& profile, const SegmentConfig& config) {
  ExactBounds out;
  Millis& earliest = out.orders;
  const FoldedTotals& folded = profile.folded;
  // Folded orders that keep what the rules read of them (their placements,
  // and their categories while affinity is on) count at every instant as if
  // never folded (UnfoldedOrders); the others only in a window holding them
  // all, or none. One without a placement, even cancelled, also leaves the
  // folded first and last placements as they were (RefreshFoldedSpan): they
  // may be a cancelled order's.
  const bool summarized = std::any_of(profile.folded_orders.begin(), profile.folded_orders.end(),
                                      [&](const FoldedOrderFacts& o) {
                                        return o.placed_ms == kNeverMillis ||
                                               (!o.cancelled && config.category_affinity.enabled &&
                                                !o.categories_known);
                                      }) ||
                          static_cast<int64_t>(profile.folded_orders.size()) < folded.orders;
  if (summarized && folded.orders > 0 && folded.last_order_ms != FoldedTotals::kNothingFolded) {
    earliest = folded.last_order_ms + DaysToMillis(LongestWindowDays(config));
  }
  if (config.engagement.enabled && profile.messages_dropped &&
      folded.through_ms != FoldedTotals::kNothingFolded) {
    out.engagement = folded.through_ms + DaysToMillis(config.engagement.window_days);
  }
  // A folded order's cancellation or refund is undone at an earlier instant
  // (OrdersAsOf) only when every folded order keeps its placement; else,
  // before it, the order's placement and amount are unknown.
  if (!profile.FoldedOrdersPlaced()) {
    for (const OrderCorrection& c : profile.corrections) {
      if (!profile.LiveOrder(c.order_fp).has_value()) earliest = std::max(earliest, c.at_ms);
    }
  }
  return out;
}

}  // namespace

absl::Time EarliestExactInstant(const ProfileView& profile, const SegmentConfig& config) {
  const ExactBounds bounds = BoundsOf(profile, config);
  const Millis earliest = std::max(bounds.orders, bounds.engagement);
  return earliest == std::numeric_limits<Millis>::min() ? absl::InfinitePast()
                                                         : FromMillis(earliest);
}

bool ExactAt(const ProfileView& profile, const SegmentConfig& config, absl::Time as_of) {
  const ExactBounds bounds = BoundsOf(profile, config);
  const Millis t = ToMillis(as_of);
  // Before the earliest dropped send, every dropped message is later than
  // `as_of`, so it is ignored there as SPEC ignores later events.
  return t >= bounds.orders && (t >= bounds.engagement || t < profile.messages_dropped_from_ms);
}

absl::Time KnownUntil(const ProfileView& profile, const SegmentConfig& config, absl::Time as_of) {
  const ExactBounds bounds = BoundsOf(profile, config);
  if (ToMillis(as_of) >= bounds.engagement) return absl::InfiniteFuture();
  return FromMillis(profile.messages_dropped_from_ms);
}

absl::StatusOr<Classification> Classify(const ProfileView& profile,
                                        const SegmentConfig& config,
                                        const PopulationStats& stats,
                                        absl::Time as_of) {
  absl::StatusOr<Classifier> c = Classifier::Create(config, stats);
  if (!c.ok()) return c.status();
  return c->Classify(profile, as_of);
}

}  // namespace segmentd::engine

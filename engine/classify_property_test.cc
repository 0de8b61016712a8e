// Property tests over generated populations: classification equals an
// independent, naive re-implementation of SPEC.md sections 3-5 over the raw
// events, at as_of and along the chain of reported next-change instants, and
// every reported next change is exact.

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/classify.h"
#include "engine/generator.h"
#include "engine/stats.h"

namespace segmentd::engine {
namespace {

constexpr absl::Duration kDay = absl::Hours(24);
constexpr absl::Duration kMs = absl::Milliseconds(1);

struct Membership {
  SegmentSet segments;
  std::vector<CategoryId> categories;
  std::vector<CategoryId> cart;
  bool operator==(const Membership& o) const {
    return segments == o.segments && categories == o.categories &&
           cart == o.cart;
  }
};

std::string Show(const Membership& m) {
  std::string s = m.segments.DebugString();
  for (CategoryId c : m.categories) absl::StrAppend(&s, " cat", c);
  for (CategoryId c : m.cart) absl::StrAppend(&s, " cart", c);
  return s;
}

// The rules, written plainly from the spec over raw events.
Membership Reference(const GeneratedCustomer& c, const SegmentConfig& k,
                     const PopulationStats& stats, absl::Time T) {
  Membership m;
  struct O {
    absl::Time at;
    int64_t net;
    const std::vector<CategoryId>* cats;
  };
  std::vector<O> orders;
  for (const GeneratedOrder& o : c.orders) {
    if (!o.cancelled && o.placed_at <= T) {
      orders.push_back({o.placed_at, o.amount - o.refunded, &o.categories});
    }
  }
  auto within = [&](absl::Time t, int days) {
    return T - kDay * days < t && t <= T;
  };
  auto count_within = [&](int days) {
    return static_cast<int64_t>(std::count_if(
        orders.begin(), orders.end(),
        [&](const O& o) { return within(o.at, days); }));
  };
  const int64_t n = orders.size();
  int64_t revenue = 0;
  for (const O& o : orders) revenue += o.net;
  const absl::Time first = n ? orders.front().at : absl::InfiniteFuture();
  const absl::Time last = n ? orders.back().at : absl::InfinitePast();
  auto no_order_for = [&](int days) { return n > 0 && last <= T - kDay * days; };
  const bool registered = c.registered_at <= T;
  auto set = [&](Segment s, bool enabled, bool v) {
    if (enabled && v) m.segments.Insert(s);
  };
  set(Segment::kFrequentBuyer, k.frequent_buyer.enabled,
      count_within(k.frequent_buyer.window_days) >= k.frequent_buyer.min_orders);
  set(Segment::kNewDownload, k.new_download.enabled,
      n == 0 && registered && within(c.registered_at, k.new_download.max_days));
  set(Segment::kWindowShopper, k.window_shopper.enabled,
      n == 0 && registered &&
          c.registered_at <= T - kDay * k.window_shopper.min_days);
  set(Segment::kNewCustomer, k.new_customer.enabled,
      n > 0 && within(first, k.new_customer.window_days));
  set(Segment::kReturningCustomer, k.returning_customer.enabled,
      count_within(k.returning_customer.window_days) >=
          k.returning_customer.min_orders);
  set(Segment::kLoyalCustomer, k.loyal_customer.enabled,
      n >= k.loyal_customer.min_orders &&
          within(last, k.loyal_customer.active_days));
  set(Segment::kLostLoyalty, k.lost_loyalty.enabled,
      n >= k.lost_loyalty.min_orders &&
          no_order_for(k.lost_loyalty.inactive_days));
  set(Segment::kOneTimeWonder, k.one_time_wonder.enabled,
      n == 1 && no_order_for(k.one_time_wonder.inactive_days));
  auto aov = [&](int days, int64_t* cnt) {
    int64_t r = 0;
    *cnt = 0;
    for (const O& o : orders) {
      if (within(o.at, days)) {
        r += o.net;
        ++*cnt;
      }
    }
    return *cnt ? static_cast<double>(r) / *cnt : 0.0;
  };
  {
    int64_t cnt;
    const double a = aov(k.big_spender.lookback_days, &cnt);
    const WindowTotals* w = stats.FindWindow(k.big_spender.lookback_days);
    bool ok = false;
    if (cnt > 0 && k.big_spender.threshold_amount) {
      ok = a >= static_cast<double>(*k.big_spender.threshold_amount);
    } else if (cnt > 0 && w && w->orders > 0) {
      ok = a >= *k.big_spender.threshold_store_aov_multiple *
                    (static_cast<double>(w->net_revenue) / w->orders);
    }
    set(Segment::kBigSpender, k.big_spender.enabled, ok);
  }
  {
    int64_t cnt;
    const double a = aov(k.low_spender.lookback_days, &cnt);
    const WindowTotals* w = stats.FindWindow(k.low_spender.lookback_days);
    bool ok = false;
    if (cnt > 0 && k.low_spender.threshold_amount) {
      ok = a <= static_cast<double>(*k.low_spender.threshold_amount);
    } else if (cnt > 0 && w && w->orders > 0) {
      ok = a <= *k.low_spender.threshold_store_aov_multiple *
                    (static_cast<double>(w->net_revenue) / w->orders);
    }
    set(Segment::kLowSpender, k.low_spender.enabled, ok);
  }
  set(Segment::kLostCustomer, k.lost_customer.enabled,
      n >= k.lost_customer.min_orders && n <= k.lost_customer.max_orders &&
          no_order_for(k.lost_customer.inactive_days));
  set(Segment::kFirstTimeBuyer, k.first_time_buyer.enabled, n == 1);
  set(Segment::kRepeatCustomer, k.repeat_customer.enabled,
      n >= k.repeat_customer.min_orders && n <= k.repeat_customer.max_orders);
  set(Segment::kVip, k.vip.enabled,
      n >= k.vip.min_orders && stats.vip_order_cutoff &&
          n >= *stats.vip_order_cutoff);
  set(Segment::kLapsed, k.lapsed.enabled, no_order_for(k.lapsed.inactive_days));
  if (n > 0) {
    const bool high = stats.high_value_cutoff && revenue >= *stats.high_value_cutoff;
    const bool mid = !high && stats.medium_value_cutoff &&
                     revenue >= *stats.medium_value_cutoff;
    set(Segment::kHighValue, k.value_tiers.enabled, high);
    set(Segment::kMediumValue, k.value_tiers.enabled, mid);
    set(Segment::kLowValue, k.value_tiers.enabled, !high && !mid);
  }
  if (k.category_affinity.enabled) {
    std::map<CategoryId, int> counts;
    for (const O& o : orders) {
      if (!within(o.at, k.category_affinity.lookback_days)) continue;
      for (CategoryId cat : *o.cats) ++counts[cat];
    }
    for (const auto& [cat, cnt] : counts) {
      if (cnt >= k.category_affinity.min_orders) m.categories.push_back(cat);
    }
  }
  {
    int sent = 0, opened = 0, acted = 0;
    for (const GeneratedMessage& g : c.messages) {
      if (!within(g.sent_at, k.engagement.window_days)) continue;
      ++sent;
      opened += (g.opened_at && *g.opened_at <= T) || (g.acted_at && *g.acted_at <= T);
      acted += g.acted_at && *g.acted_at <= T;
    }
    if (sent >= k.engagement.min_messages) {
      const double o = static_cast<double>(opened) / sent;
      const double a = static_cast<double>(acted) / sent;
      const bool high = o >= k.engagement.high_open_rate &&
                        a >= k.engagement.high_action_rate;
      set(Segment::kHighlyEngaged, k.engagement.enabled, high);
      set(Segment::kModeratelyEngaged, k.engagement.enabled,
          !high && o >= k.engagement.moderate_open_rate);
      set(Segment::kDisengaged, k.engagement.enabled,
          o < k.engagement.moderate_open_rate);
    }
  }
  if (k.abandoned_cart.enabled && c.cart && c.cart->updated_at <= T) {
    const GeneratedCart& cart = *c.cart;
    bool ordered_after = false;
    for (const O& o : orders) ordered_after |= o.at > cart.updated_at;
    const bool converted = cart.converted_at && *cart.converted_at <= T;
    if (!ordered_after && !converted &&
        cart.updated_at <= T - absl::Minutes(k.abandoned_cart.abandon_after_minutes) &&
        within(cart.updated_at, k.abandoned_cart.window_days)) {
      m.segments.Insert(Segment::kAbandonedCart);
      m.cart = cart.categories;
      std::sort(m.cart.begin(), m.cart.end());
      m.cart.erase(std::unique(m.cart.begin(), m.cart.end()), m.cart.end());
    }
  }
  return m;
}

Membership FromEngine(const Classification& c) {
  return {c.segments, c.categories, c.cart_categories};
}

std::vector<SegmentConfig> Configs() {
  std::vector<SegmentConfig> out;
  out.push_back(SegmentConfig{});
  out.push_back(PresetConfig(Preset::kGrocery));
  out.push_back(PresetConfig(Preset::kFastFood));
  SegmentConfig t;
  t.category_affinity.min_orders = 1;
  t.category_affinity.lookback_days = 40;
  t.engagement.min_messages = 1;
  t.engagement.window_days = 30;
  t.vip.top_percent = 37;
  t.value_tiers = {true, "", 15, 45, 40};
  t.lapsed.inactive_days = 15;
  t.abandoned_cart.abandon_after_minutes = 600;
  t.abandoned_cart.window_days = 2;
  t.new_customer.window_days = 3;
  out.push_back(t);
  return out;
}

// Checks engine vs reference from `start` along the next-change chain.
// `reused` is one output object shared by every call of the test, as a
// full re-evaluation shares it: it must answer as a fresh one does (and
// both share this thread's working space with every earlier call).
void CheckChain(const Classifier& k, const ProfileView& view, const GeneratedCustomer& c,
                absl::Time start, absl::Time until, Classification* reused, uint64_t* checks) {
  absl::Time t = start;
  for (int step = 0; step < 40 && t <= until; ++step) {
    const Classification got = k.Classify(view, t);
    k.Classify(view, t, reused);
    ASSERT_EQ(Show(FromEngine(*reused)), Show(FromEngine(got)))
        << c.customer_id << " at " << absl::FormatTime(t) << ", output reused";
    ASSERT_EQ(reused->next_change, got.next_change) << c.customer_id << ", output reused";
    const Membership ref = Reference(c, k.config(), k.stats(), t);
    ASSERT_EQ(Show(FromEngine(got)), Show(ref))
        << c.customer_id << " at " << absl::FormatTime(t);
    // Membership alone, and the next change looked for before an instant.
    Classification partial;
    k.ClassifyMembership(view, t, &partial);
    ASSERT_EQ(Show(FromEngine(partial)), Show(ref)) << c.customer_id << ", membership only";
    ASSERT_FALSE(partial.next_change.has_value());
    for (absl::Duration d : {kMs, kDay, kDay * 30}) {
      k.ClassifyUntil(view, t, t + d, &partial);
      ASSERT_EQ(Show(FromEngine(partial)), Show(ref)) << c.customer_id << ", until";
      const bool before = got.next_change.has_value() && *got.next_change < t + d;
      ASSERT_EQ(partial.next_change, before ? got.next_change : std::nullopt)
          << c.customer_id << " at " << absl::FormatTime(t) << " until +"
          << absl::FormatDuration(d);
    }
    if (got.next_change.has_value()) {
      // An instant between two milliseconds: the change before it counts.
      k.ClassifyUntil(view, t, *got.next_change + absl::Microseconds(500), &partial);
      ASSERT_EQ(partial.next_change, got.next_change) << c.customer_id << ", until mid-ms";
    }
    ++*checks;
    if (!got.next_change) {
      // Never changes again: spot-check far instants.
      for (absl::Duration d : {kDay, kDay * 400, kDay * 4000}) {
        ASSERT_EQ(Show(Reference(c, k.config(), k.stats(), t + d)), Show(ref))
            << c.customer_id << " reported no next change after "
            << absl::FormatTime(t);
      }
      return;
    }
    const absl::Time nc = *got.next_change;
    ASSERT_GT(nc, t);
    // Unchanged just before, and at a few instants in between.
    ASSERT_EQ(Show(Reference(c, k.config(), k.stats(), nc - kMs)), Show(ref))
        << c.customer_id << " next change " << absl::FormatTime(nc);
    for (double f : {0.25, 0.5, 0.75}) {
      ASSERT_EQ(Show(Reference(c, k.config(), k.stats(), t + (nc - t) * f)),
                Show(ref))
          << c.customer_id;
    }
    // Changed at it.
    ASSERT_NE(Show(Reference(c, k.config(), k.stats(), nc)), Show(ref))
        << c.customer_id << " next change " << absl::FormatTime(nc)
        << " is not a change";
    t = nc;
  }
}

TEST(ClassifyProperty, MatchesReferenceAndNextChangeIsExact) {
  GeneratorOptions opt;
  opt.seed = 2026;
  opt.num_categories = 6;  // more category memberships
  const int kCustomers = 400;
  std::vector<GeneratedCustomer> customers;
  std::vector<Profile> folded, full;
  for (int i = 0; i < kCustomers; ++i) {
    customers.push_back(GenerateCustomer(opt, i));
  }
  uint64_t checks = 0;
  Classification reused;
  for (const SegmentConfig& config : Configs()) {
    ASSERT_TRUE(ValidateConfig(config).ok());
    const absl::Time horizon =
        opt.now - kDay * LongestWindowDays(config);
    folded.clear();
    full.clear();
    std::vector<ProfileView> views;
    for (const GeneratedCustomer& c : customers) {
      folded.push_back(*BuildProfile(c, horizon));
      full.push_back(*BuildProfile(c));
    }
    for (const Profile& p : full) views.push_back(p.view());
    const PopulationStats stats = ComputeStats(views, config, opt.now);
    // Independent check of the percentile cut-offs.
    {
      std::vector<int64_t> counts, revenues;
      for (const GeneratedCustomer& c : customers) {
        int64_t n = 0, r = 0;
        for (const GeneratedOrder& o : c.orders) {
          if (!o.cancelled) {
            ++n;
            r += o.amount - o.refunded;
          }
        }
        if (n) {
          counts.push_back(n);
          revenues.push_back(r);
        }
      }
      std::sort(counts.rbegin(), counts.rend());
      std::sort(revenues.rbegin(), revenues.rend());
      const int64_t N = counts.size();
      ASSERT_EQ(stats.buyers, N);
      const int64_t vip_places = (config.vip.top_percent * N + 99) / 100;
      ASSERT_EQ(stats.vip_order_cutoff, counts[vip_places - 1]);
      const int64_t high_places = (config.value_tiers.high_percent * N + 99) / 100;
      ASSERT_EQ(stats.high_value_cutoff, revenues[high_places - 1]);
    }
    absl::StatusOr<Classifier> k = Classifier::Create(config, stats);
    ASSERT_TRUE(k.ok());
    for (int i = 0; i < kCustomers; ++i) {
      // Folded profiles from `now` on (the fold's exactness domain).
      CheckChain(*k, folded[i].view(), customers[i], opt.now, opt.now + kDay * 800, &reused,
                 &checks);
      // Unfolded profiles from 60 days in the past: events after as_of exist.
      CheckChain(*k, full[i].view(), customers[i], opt.now - kDay * 60, opt.now + kDay * 30,
                 &reused, &checks);
      if (HasFatalFailure()) return;
    }
  }
  EXPECT_GT(checks, 10000u);
}

TEST(Generator, IsDeterministicAndRealistic) {
  GeneratorOptions opt;
  const GeneratedCustomer a = GenerateCustomer(opt, 12345);
  const GeneratedCustomer b = GenerateCustomer(opt, 12345);
  ASSERT_EQ(a.orders.size(), b.orders.size());
  for (size_t i = 0; i < a.orders.size(); ++i) {
    EXPECT_EQ(a.orders[i].placed_at, b.orders[i].placed_at);
    EXPECT_EQ(a.orders[i].amount, b.orders[i].amount);
  }
  int64_t orders = 0, buyers = 0, carts = 0;
  const int kN = 20000;
  for (int i = 0; i < kN; ++i) {
    const GeneratedCustomer c = GenerateCustomer(opt, i);
    orders += c.orders.size();
    buyers += !c.orders.empty();
    carts += c.cart.has_value();
    for (const GeneratedOrder& o : c.orders) {
      ASSERT_LE(o.placed_at, opt.now);
      ASSERT_GE(o.placed_at, c.registered_at);
    }
  }
  const double per_customer = static_cast<double>(orders) / kN;
  EXPECT_GT(per_customer, 3.5);
  EXPECT_LT(per_customer, 6.5);
  EXPECT_NEAR(static_cast<double>(buyers) / kN, 0.7, 0.03);
  EXPECT_NEAR(static_cast<double>(carts) / kN, 0.25, 0.03);
}

}  // namespace
}  // namespace segmentd::engine

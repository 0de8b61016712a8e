#include "engine/generator.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"

namespace segmentd::engine {
namespace {

// SplitMix64 stream with a few hand-written distributions, so output is the
// same on every platform and standard library.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, 1).
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
  double Uniform(double lo, double hi) { return lo + (hi - lo) * Uniform(); }
  bool Bernoulli(double p) { return Uniform() < p; }
  double Exponential(double mean) { return -mean * std::log1p(-Uniform()); }
  double Normal() {  // Box-Muller
    const double u1 = 1.0 - Uniform();
    const double u2 = Uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }
  double LogNormal(double median, double sigma) {
    return median * std::exp(sigma * Normal());
  }
  // Zipf-like pick in [0, n): rank r with weight ~ 1/(r+1).
  int Zipf(int n) {
    const double x = std::exp(Uniform() * std::log(n + 1.0)) - 1.0;
    return std::min(n - 1, static_cast<int>(x));
  }

 private:
  uint64_t state_;
};

absl::Time AtMs(absl::Time t) {  // profiles store milliseconds
  return FromMillis(ToMillis(t));
}

}  // namespace

GeneratedCustomer GenerateCustomer(const GeneratorOptions& options,
                                   uint64_t index) {
  Rng rng(options.seed * 0xd1342543de82ef95ULL + index * 0x2545f4914f6cdd1dULL);
  rng.Next();
  GeneratedCustomer c;
  c.customer_id = absl::StrCat("cust-", index);
  const absl::Time now = options.now;
  const absl::Duration day = absl::Hours(24);
  c.registered_at =
      AtMs(now - day * rng.Uniform(0, std::max(1, options.history_days)));
  const int ncat = std::max(1, options.num_categories);

  if (!rng.Bernoulli(options.non_buyer_fraction)) {
    const int target = 1 + static_cast<int>(rng.Exponential(options.mean_extra_orders));
    const double gap_days = rng.Uniform(3, 90);
    const double median = rng.LogNormal(4000, 0.7);
    const int favourites[2] = {rng.Zipf(ncat), rng.Zipf(ncat)};
    absl::Time t = c.registered_at + day * rng.Exponential(10);
    for (int k = 0; k < target && t <= now; ++k) {
      GeneratedOrder o;
      o.order_id = absl::StrCat("c", index, "-o", k);
      o.placed_at = AtMs(t);
      o.amount = std::max<int64_t>(
          1, static_cast<int64_t>(median * rng.LogNormal(1, 0.35)));
      const int ncats = 1 + rng.Zipf(3);
      for (int j = 0; j < ncats; ++j) {
        o.categories.push_back(static_cast<CategoryId>(
            rng.Bernoulli(0.7) ? favourites[j % 2] : rng.Zipf(ncat)));
      }
      std::sort(o.categories.begin(), o.categories.end());
      o.categories.erase(std::unique(o.categories.begin(), o.categories.end()),
                         o.categories.end());
      const double fate = rng.Uniform();
      if (fate < 0.03) {
        o.cancelled = true;
      } else if (fate < 0.08 && o.amount > 1) {
        o.refunded = std::max<int64_t>(
            1, static_cast<int64_t>(o.amount * rng.Uniform(0.1, 0.9)));
        o.refunded = std::min(o.refunded, o.amount - 1);
      }
      c.orders.push_back(std::move(o));
      t += day * rng.Exponential(gap_days);
    }
  }

  if (rng.Bernoulli(0.6)) {
    const int n = static_cast<int>(rng.Uniform(0, 17));
    const double open_p = rng.Uniform(0, 0.8);
    const double act_p = open_p * rng.Uniform(0, 0.5);
    for (int k = 0; k < n; ++k) {
      GeneratedMessage m;
      m.message_id = absl::StrCat("c", index, "-m", k);
      m.sent_at = AtMs(now - day * rng.Uniform(0, 120));
      if (rng.Bernoulli(open_p)) {
        const absl::Time opened =
            AtMs(m.sent_at + absl::Hours(1) * rng.Exponential(6));
        if (opened <= now) m.opened_at = opened;
        if (m.opened_at && rng.Bernoulli(act_p / std::max(open_p, 1e-9))) {
          const absl::Time acted =
              AtMs(opened + absl::Minutes(1) * rng.Exponential(10));
          if (acted <= now) m.acted_at = acted;
        }
      }
      c.messages.push_back(std::move(m));
    }
    std::sort(c.messages.begin(), c.messages.end(),
              [](const GeneratedMessage& a, const GeneratedMessage& b) {
                return a.sent_at < b.sent_at;
              });
  }

  if (rng.Bernoulli(0.25)) {
    GeneratedCart cart;
    cart.updated_at = AtMs(std::max(c.registered_at, now - day * rng.Uniform(0, 10)));
    cart.value = static_cast<int64_t>(rng.LogNormal(6000, 0.6));
    const int n = 1 + rng.Zipf(3);
    for (int j = 0; j < n; ++j) {
      cart.categories.push_back(static_cast<CategoryId>(rng.Zipf(ncat)));
    }
    if (rng.Bernoulli(0.4)) {
      const absl::Time conv =
          AtMs(cart.updated_at + absl::Minutes(1) * rng.Uniform(1, 120));
      if (conv <= now) cart.converted_at = conv;
    }
    c.cart = std::move(cart);
  }
  if (rng.Bernoulli(0.7)) {
    c.last_activity =
        AtMs(std::max(c.registered_at, now - day * rng.Exponential(5)));
  }
  return c;
}

absl::StatusOr<Profile> BuildProfile(const GeneratedCustomer& c,
                                     std::optional<absl::Time> fold_horizon) {
  Profile p;
  if (absl::Status s = p.Register(c.registered_at).status(); !s.ok()) return s;
  for (const GeneratedOrder& o : c.orders) {
    OrderPlaced e;
    e.order_id = o.order_id;
    e.placed_at = o.placed_at;
    e.amount = o.amount;
    e.categories = o.categories;
    if (absl::Status s = p.PlaceOrder(e).status(); !s.ok()) return s;
    if (o.cancelled) {
      if (absl::Status s = p.CancelOrder(o.order_id).status(); !s.ok()) return s;
    }
    if (o.refunded > 0) {
      if (absl::Status s = p.RefundOrder(o.order_id, absl::StrCat(o.order_id, "/refund"), o.refunded).status();
          !s.ok()) {
        return s;
      }
    }
  }
  for (const GeneratedMessage& m : c.messages) {
    if (absl::Status s = p.MessageSent(m.message_id, m.sent_at).status();
        !s.ok()) {
      return s;
    }
    if (m.opened_at) {
      if (absl::Status s = p.MessageOpened(m.message_id, *m.opened_at).status();
          !s.ok()) {
        return s;
      }
    }
    if (m.acted_at) {
      if (absl::Status s = p.MessageActed(m.message_id, *m.acted_at).status();
          !s.ok()) {
        return s;
      }
    }
  }
  if (c.cart) {
    if (absl::Status s =
            p.UpdateCart(c.cart->updated_at, c.cart->value, c.cart->categories)
                .status();
        !s.ok()) {
      return s;
    }
    if (c.cart->converted_at) {
      if (absl::Status s = p.ConvertCart(*c.cart->converted_at).status();
          !s.ok()) {
        return s;
      }
    }
  }
  if (c.last_activity) {
    if (absl::Status s = p.RecordActivity(*c.last_activity).status(); !s.ok()) {
      return s;
    }
  }
  if (fold_horizon) p.Fold(*fold_horizon);
  return p;
}

}  // namespace segmentd::engine

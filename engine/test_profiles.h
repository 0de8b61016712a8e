#ifndef SEGMENTD_ENGINE_TEST_PROFILES_H_
#define SEGMENTD_ENGINE_TEST_PROFILES_H_

// Helpers the engine's rule tests share: instants by day, a config with every
// segment off (a test turns on the rules it is about), and orders added to a
// profile. Test-only.

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "engine/config.h"
#include "engine/profile.h"

namespace segmentd::engine::test_profiles {

inline const absl::Time kT0 = absl::FromUnixSeconds(1767225600);  // 2026-01-01

// kT0 plus `d` days (fractions allowed).
inline absl::Time Day(double d) { return kT0 + absl::Hours(24) * d; }

// The defaults with every segment disabled.
inline SegmentConfig AllDisabled() {
  SegmentConfig c;
  c.frequent_buyer.enabled = false;
  c.new_download.enabled = false;
  c.window_shopper.enabled = false;
  c.new_customer.enabled = false;
  c.returning_customer.enabled = false;
  c.loyal_customer.enabled = false;
  c.lost_loyalty.enabled = false;
  c.one_time_wonder.enabled = false;
  c.big_spender.enabled = false;
  c.low_spender.enabled = false;
  c.lost_customer.enabled = false;
  c.first_time_buyer.enabled = false;
  c.repeat_customer.enabled = false;
  c.vip.enabled = false;
  c.lapsed.enabled = false;
  c.value_tiers.enabled = false;
  c.category_affinity.enabled = false;
  c.engagement.enabled = false;
  c.abandoned_cart.enabled = false;
  return c;
}

// Places order `id` (which must be new) in `*p`.
inline void AddOrder(Profile* p, const std::string& id, absl::Time at, int64_t amount = 1000,
                     std::vector<CategoryId> cats = {}) {
  OrderPlaced o;
  o.order_id = id;
  o.placed_at = at;
  o.amount = amount;
  o.categories = std::move(cats);
  ASSERT_EQ(*p->PlaceOrder(o), EventOutcome::kApplied) << id;
}

}  // namespace segmentd::engine::test_profiles

#endif  // SEGMENTD_ENGINE_TEST_PROFILES_H_

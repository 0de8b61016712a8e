#ifndef SEGMENTD_ENGINE_TEST_PROFILES_H_
#define SEGMENTD_ENGINE_TEST_PROFILES_H_

// Helpers the engine's rule tests share: instants by day, a config with every
// segment off (a test turns on the rules it is about), orders added to a
// profile, and a profile's view as older builds folded it. Test-only.

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

// `p`'s view as builds before 2026-12-06 folded it: without the folded
// orders' categories, and (`placements` false) without their placements
// either. Not copyable (the view points into it).
struct FoldedByAnOlderBuild {
  explicit FoldedByAnOlderBuild(const Profile& p, bool placements)
      : folded(p.folded_orders()), view(p.view()) {
    for (FoldedOrderFacts& o : folded) {
      o.categories_known = false;
      o.categories_count = 0;
      if (!placements) o.placed_ms = kNeverMillis;
    }
    view.folded_orders = folded;
  }
  FoldedByAnOlderBuild(const FoldedByAnOlderBuild&) = delete;
  FoldedByAnOlderBuild& operator=(const FoldedByAnOlderBuild&) = delete;

  std::vector<FoldedOrderFacts> folded;
  ProfileView view;
};
struct WithoutPlacements : FoldedByAnOlderBuild {
  explicit WithoutPlacements(const Profile& p) : FoldedByAnOlderBuild(p, false) {}
};
struct WithoutCategories : FoldedByAnOlderBuild {
  explicit WithoutCategories(const Profile& p) : FoldedByAnOlderBuild(p, true) {}
};

}  // namespace segmentd::engine::test_profiles

#endif  // SEGMENTD_ENGINE_TEST_PROFILES_H_

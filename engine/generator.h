#ifndef SEGMENTD_ENGINE_GENERATOR_H_
#define SEGMENTD_ENGINE_GENERATOR_H_

// A deterministic generator of realistic customer populations, for tests,
// benchmarks and demos.
//
// Customer i of a population depends only on (options.seed, i), so any slice
// of a population of any size (a few customers to millions) can be produced
// independently and reproducibly, on any machine (the generator uses its own
// SplitMix64 stream and hand-written distributions, never std:: ones). Every
// event is at or before options.now.
//
// Shape with the defaults (about 5 orders per customer, as DESIGN.md's
// standard 1M customers / 5M orders / 20 categories): 30% never order; buyers
// order 1 + Exp(9) times (fewer if the history ends first) at customer-specific gaps of 3-90 days from a
// registration in the last 3 years; amounts log-normal around 40.00 per
// customer with per-order spread; 1-3 categories per order, Zipf-like over
// the catalogue with customer favourites; 3% of orders cancelled, 5%
// partially refunded; 60% of customers get 0-16 messages over the last 120
// days with customer-specific open/action rates; 25% have a cart updated in
// the last 10 days, 40% of those converted; 70% have recent activity.
//
// Thread-safety: pure functions; safe from any thread.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "engine/profile.h"
#include "engine/segment.h"

namespace segmentd::engine {

struct GeneratorOptions {
  uint64_t seed = 1;
  // Instant all histories end at (2026-11-25T00:00:00Z by default).
  absl::Time now = absl::FromUnixSeconds(1795564800);
  int32_t num_categories = 20;         // [1, 65535]
  int32_t history_days = 3 * 365;      // registration spread
  double non_buyer_fraction = 0.3;     // customers with no order
  double mean_extra_orders = 9.0;      // buyers: 1 + Exp(mean) orders
};

struct GeneratedOrder {
  std::string order_id;
  absl::Time placed_at;
  int64_t amount = 0;  // minor units, before refund
  std::vector<CategoryId> categories;
  bool cancelled = false;
  int64_t refunded = 0;  // 0 or a partial refund (< amount)
};

struct GeneratedMessage {
  std::string message_id;
  absl::Time sent_at;
  std::optional<absl::Time> opened_at;
  std::optional<absl::Time> acted_at;
};

struct GeneratedCart {
  absl::Time updated_at;
  int64_t value = 0;
  std::vector<CategoryId> categories;
  std::optional<absl::Time> converted_at;
};

// All facts of one generated customer, as raw events.
struct GeneratedCustomer {
  std::string customer_id;
  absl::Time registered_at;
  std::vector<GeneratedOrder> orders;  // ascending placed_at
  std::vector<GeneratedMessage> messages;
  std::optional<GeneratedCart> cart;
  std::optional<absl::Time> last_activity;
};

// Returns customer `index` of the population described by `options`.
GeneratedCustomer GenerateCustomer(const GeneratorOptions& options,
                                   uint64_t index);

// Applies every event of `customer` to a new Profile through the public
// mutation API (register, orders, cancels, refunds, messages, cart,
// activity), then folds at `fold_horizon` if given.
absl::StatusOr<Profile> BuildProfile(
    const GeneratedCustomer& customer,
    std::optional<absl::Time> fold_horizon = std::nullopt);

}  // namespace segmentd::engine

#endif  // SEGMENTD_ENGINE_GENERATOR_H_

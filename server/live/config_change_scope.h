#ifndef SEGMENTD_SERVER_LIVE_CONFIG_CHANGE_SCOPE_H_
#define SEGMENTD_SERVER_LIVE_CONFIG_CHANGE_SCOPE_H_

// Which customers a config change can re-classify, from the rules alone, so
// that UpdateConfig need not read every customer of a large tenant when only
// an order-count rule moved (docs/live.md, "Configs").
//
// Every rule whose block changed bounds the customers it can move:
// - order-count rules (FREQUENT_BUYER, RETURNING_CUSTOMER, LOYAL_CUSTOMER,
//   LOST_LOYALTY, LOST_CUSTOMER, REPEAT_CUSTOMER, VIP, category affinity)
//   need at least `min_orders` orders in some window, hence lifetime;
//   a customer below min(old, new) is no member under either config, and no
//   time alone can make it one (it takes an order, i.e. a write);
// - the other order rules (FIRST_TIME_BUYER, ONE_TIME_WONDER, NEW_CUSTOMER,
//   LAPSED, spenders, value tiers) and the statistics behind them concern
//   buyers only (>= 1 lifetime order): the AOV index entries too;
// - the rest (NEW_DOWNLOAD, WINDOW_SHOPPER, engagement, abandoned cart, the
//   primary priority, any block this file does not know) can move anyone.
// Display names move nobody. The bound of a change is the widest of its
// blocks'. A shorter NEW_DOWNLOAD max_days alone (enabled before and after)
// moves only NEW_DOWNLOAD's stored members; any other change of NEW_DOWNLOAD
// and WINDOW_SHOPPER alone, only registered customers without an order (the
// store's registration index).
//
// Most order rules concern recent orders only: a change of rules over orders
// within a window (FREQUENT_BUYER, RETURNING_CUSTOMER, NEW_CUSTOMER,
// LOYAL_CUSTOMER, category affinity, the spenders with their AOV index
// entries), or of an inactivity rule's days alone (LAPSED, ONE_TIME_WONDER,
// LOST_LOYALTY, LOST_CUSTOMER, enabled under both) moves only customers with
// a valid order within the longest of the days involved, old and new: a
// customer without one is a member of those rules or not alike under both
// configs ("none for D days" holds, "within D days" does not), with no next
// change from them. Each AOV index in use under the config before the change
// holds every customer with a valid order within its lookback, so one whose
// lookback covers those days holds every customer the change can move
// (when an index comes into use, whose entries must be exact at once, only
// while the tenant has no rechecks pending: aov_index_supersets_need_no_rechecks);
// so does an index not in use, under conditions (unused_aov_index_supersets).
//
// Windowed count rules (FREQUENT_BUYER, RETURNING_CUSTOMER: "orders within
// W days >= m") bound it tighter: a customer either config can move has at
// least min(m) valid orders within max(W) days now, so it is a stored member
// (under the config before the change) of every enabled segment that such
// customers always belong to: FREQUENT_BUYER or RETURNING_CUSTOMER with a
// window >= max(W) and min_orders <= min(m), LOYAL_CUSTOMER with
// min_orders <= min(m) and active_days >= max(W). Counts within a window only
// fall as time passes, so no time-driven exit can have removed such a
// customer (future-dated orders aside: docs/live.md).
//
// Percentile rules (VIP's top_percent and min_orders, the value tiers'
// percentages), enabled before and after, bound it tighter still: their
// members are the customers whose lifetime orders (VIP) or revenue (tiers)
// reach a cut-off, so only customers whose measure lies between a cut-off
// under the replaced config and under the new one can move (the cut-offs
// come from each config's statistics, so the caller computes the ranges).
// So do the count bounds of the rules over lifetime orders (LOYAL_CUSTOMER,
// LOST_LOYALTY, LOST_CUSTOMER, REPEAT_CUSTOMER: "lifetime orders >= min",
// "<= max"): when only those bounds changed, only customers whose lifetime
// order count lies between the old and the new bound can move.
// Pure; thread-safe.

#include <cstdint>
#include <limits>
#include <optional>
#include <vector>

#include "engine/config.h"
#include "engine/segment.h"
#include "engine/stats.h"
#include "store/customer_store.h"

namespace segmentd {

struct ConfigChangeScope {
  enum class Kind {
    kNobody,    // nothing that classification decides can change
    kBuyers,    // only customers with >= min_lifetime_orders lifetime orders
    kEveryone,
  };
  Kind kind = Kind::kEveryone;
  int64_t min_lifetime_orders = 1;  // kBuyers only
  // kBuyers only: the most lifetime orders a customer the change can move
  // has (inclusive) when every changed block bounds it (ONE_TIME_WONDER and
  // FIRST_TIME_BUYER: 1; LOST_CUSTOMER, REPEAT_CUSTOMER: their max_orders,
  // old or new); the largest int64 otherwise.
  int64_t max_lifetime_orders = std::numeric_limits<int64_t>::max();
  // Segments whose stored members (under the config before the change)
  // include every customer the change can move; reading the smallest of
  // them (or, for kBuyers, the lifetime-orders range, if smaller) is enough.
  // Empty when no segment is known to. kBuyers: windowed count rules;
  // kEveryone: a shorter NEW_DOWNLOAD alone (its own members).
  std::vector<engine::Segment> member_supersets;
  // AOV indexes (store::AovIndex) whose entries, as stored under the config
  // before the change, include every customer the change can move; read
  // like member_supersets, when smaller. An index in use (AovIndexInUse)
  // holds every customer with a valid order within its lookback. kBuyers
  // only: when every changed block moves only customers with an order
  // within some days (recent-order rules, above), every index in use whose
  // lookback covers the longest of them.
  std::vector<store::AovIndex> aov_index_supersets;
  // With aov_index_supersets: a spender rule's change brings its index into
  // use, and those indexes hold everyone the change can move only while the
  // tenant has no rechecks pending (entries an earlier update left to them
  // may be stale, of customers of any recency); with rechecks pending, read
  // as if there were none.
  bool aov_index_supersets_need_no_rechecks = false;
  // kBuyers only: the AOV indexes the config before the change did not use
  // whose lookback there (AovIndexLookback) covers the days of the changed
  // recent-order rules. Every write keeps such an index at that lookback as
  // it keeps one in use, so it too holds every customer the change can
  // move, but only while no rechecks are pending (an update may have left
  // its entries to them) and in a tenant whose writes kept both indexes
  // from its first customer on (CustomerStore::AovIndexesKeptFromStart);
  // the caller checks both. With them, an update bringing an index back
  // into use (the way back from a preset) reads that index, not every
  // buyer, when no index in use covers its days.
  std::vector<store::AovIndex> unused_aov_index_supersets;
  // kEveryone only: the changed blocks are NEW_DOWNLOAD and WINDOW_SHOPPER
  // alone (anything in them, enabled included): both rules concern
  // registered customers without a visible order only, who are the store's
  // registration index (CustomerWrite::registered_non_buyer_ms). Not set
  // when `member_supersets` bounds the change tighter.
  bool registration_index_superset = false;
  // With registration_index_superset: the customers registered within this
  // many days before now (or later) are enough; nullopt: the whole index.
  // NEW_DOWNLOAD's members and next changes concern registrations within
  // max_days, WINDOW_SHOPPER's next changes registrations within min_days
  // (one registered earlier is a member under both and stays one), so the
  // larger of the changed rules' days bounds it; switching WINDOW_SHOPPER on
  // or off moves every member, however early it registered.
  std::optional<int32_t> registered_within_days;
  // kBuyers only: every changed block is VIP or the value tiers, enabled
  // under both configs, or a lifetime-order rule whose count bounds alone
  // changed: the customers it can move are those between the old and new
  // VIP threshold (lifetime orders), between the old and new value-tier
  // cut-offs (lifetime revenue), and in `lifetime_order_ranges`.
  bool cutoffs_only = false;
  // With cutoffs_only: lifetime order counts whose membership a changed
  // count bound can move ([lo, hi), hi exclusive).
  std::vector<engine::MeasureRange> lifetime_order_ranges;
};

ConfigChangeScope ScopeOfConfigChange(const engine::SegmentConfig& before,
                                      const engine::SegmentConfig& after);

}  // namespace segmentd

#endif  // SEGMENTD_SERVER_LIVE_CONFIG_CHANGE_SCOPE_H_

#ifndef SEGMENTD_SERVER_LIVE_LIVE_MEMBERSHIP_H_
#define SEGMENTD_SERVER_LIVE_LIVE_MEMBERSHIP_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "absl/types/span.h"
#include "engine/profile.h"
#include "engine/stats.h"
#include "server/live/config_change_scope.h"
#include "server/live/membership_codec.h"
#include "server/live/tenant_context.h"
#include "server/metrics/metrics.h"
#include "store/customer_store.h"

namespace segmentd {

// One event, as a pure function of the profile it applies to (it may run more
// than once when a concurrent writer forces a retry).
using ProfileMutation =
    std::function<absl::StatusOr<engine::EventOutcome>(engine::Profile* profile)>;

// The events of one customer, applied in order. Order ids are unique per
// tenant (SPEC.md): an event that would place an order another customer of
// the tenant placed first is refused without being applied (ALREADY_EXISTS,
// worded "order_id: ..."). Which order an event placed is read from the
// profile (the fingerprints it gained), not from the caller.
struct CustomerEvents {
  std::string customer_id;
  std::vector<ProfileMutation> mutations;
};

// What happened to one event.
struct EventResult {
  // OK unless the event was rejected (then `outcome` is meaningless).
  absl::Status status;
  engine::EventOutcome outcome = engine::EventOutcome::kApplied;
};

// A customer's membership as now stored.
struct CustomerMembership {
  bool found = false;
  StoredMembership membership;
  std::shared_ptr<const std::vector<std::string>> category_names;
};

// The result of applying one customer's events.
struct CustomerOutcome {
  // OK when the customer's events were committed (or needed no write).
  // Otherwise why not (see Apply): then nothing of this customer was
  // acknowledged, and `events` and `after` are meaningless.
  absl::Status commit;
  std::vector<EventResult> events;  // one per mutation, in order
  CustomerMembership after;
};

// A customer classified at an instant (read-only).
struct CustomerClassification {
  bool found = false;
  // Found, and some fact of theirs is at or before the instant classified
  // at (engine::ProfileView::FirstKnownMs): at an earlier instant a stored
  // customer did not exist yet, and is in no segment.
  bool existed = false;
  engine::Classification classification;
  std::vector<engine::SegmentExplanation> reasons;
  std::shared_ptr<const std::vector<std::string>> category_names;
};

// Applies the engine to stored customers: events in, membership committed
// atomically with the facts, schedule and change stream (see CustomerStore),
// under optimistic concurrency so several segmentd processes can share one
// Redis. Thread-safe.
class LiveMembership {
 public:
  struct Options {
    // How often one customer's read-apply-write is retried after losing a race
    // with another writer before the call gives up with ABORTED.
    int max_attempts = 16;
    std::function<absl::Time()> now = [] { return absl::Now(); };
    // Threads ReevaluateAll() re-classifies pages on (store reads of one
    // page overlap decoding and classifying another). Default: 3.
    int reevaluate_threads = 3;
    // Customers a time-driven or statistics Reevaluate() reads and writes
    // per round trip. Redis runs one client's pipeline before the next
    // client's commands, and a write script costs ~180 us at 1M customers
    // on the benchmark VM: pipelines of 32 made events arriving behind a
    // statistics pass wait ~6 ms each (docs/benchmarks.md, sixth pass).
    // Config updates (cause CONFIG) keep whole pages: their call is what
    // the caller waits for. < 1: no limit. Default: 8.
    int background_pipeline = 8;
    // Threads a Reevaluate() with more than one such round trip (the
    // scheduler's due customers, the statistics mover's, drained rechecks)
    // works them on. One after another, Redis idled through each round trip
    // (a burst of 20,000 customers falling due at one instant took ~1 s at
    // ~0.15 Redis cores: docs/benchmarks.md, thirty-fourth pass); a few at
    // once overlap them, while each stays background_pipeline customers, so
    // an event waits behind at most this many of them. Each holds a Redis
    // connection of the client's pool while it runs (a scheduler pass and a
    // statistics pass at once: 6; a config update's reevaluate_threads on
    // top: 9, of segmentd's default pool of 16). ReevaluateAll, which
    // already works pages on reevaluate_threads, takes each page on its own
    // thread alone. Default: 3.
    int background_threads = 3;
    // A config update writes at once every customer whose membership or
    // entries of AOV indexes the new config uses it moves, and every
    // customer whose next change it moves to within this long from now. A
    // customer whose only moves are a next change farther out, or entries of
    // an index the new config does not use (its spender rule switched to an
    // absolute threshold or off, as every preset does), goes to the store's
    // rechecks instead (one hash field, not a write script), re-classified
    // by DrainRechecks in the background: a lookback change moves the next
    // change of most buyers and no one's membership, and the caller waits
    // for membership, not for the schedule. The background must finish
    // within this long (it takes seconds to minutes) for such a next change
    // to stay exact.
    // absl::InfiniteDuration(): never defer. Default: 10 minutes.
    absl::Duration config_schedule_horizon = absl::Minutes(10);
    // Where commits are counted and timed; null: nowhere.
    Metrics* metrics = nullptr;
  };

  // `store` and `contexts` must outlive this object.
  LiveMembership(store::CustomerStore* store, TenantContexts* contexts, Options options);

  // Applies each customer's events, re-classifies the customer now and commits.
  // Returns once the store has every change. Failures are per customer, in
  // CustomerOutcome::commit (the call itself succeeds): ABORTED for one still
  // losing races after `max_attempts`, DATA_LOSS for undecodable stored state,
  // UNAVAILABLE etc. when the store failed before that customer's commit was
  // confirmed (it may or may not be stored: never acknowledged). A customer
  // committed before a later failure keeps its success. Distinct customers should
  // be distinct entries (entries for one customer are applied one after another).
  absl::StatusOr<std::vector<CustomerOutcome>> Apply(const std::string& tenant,
                                                     std::vector<CustomerEvents> customers);

  // Re-classifies `customer_ids` now without new facts and commits those whose
  // membership or next change moved, stamping changes with `cause`. Returns the
  // number of customers whose membership changed. Causes other than CONFIG
  // go Options::background_pipeline customers per round trip. For customers
  // most of whom are written (due, moved by a config or statistics change):
  // each is read once, under the write's WATCH (CustomerStore::ReadAndWrite).
  absl::StatusOr<int64_t> Reevaluate(const std::string& tenant,
                                     const std::vector<std::string>& customer_ids,
                                     store::ChangeCause cause) {
    return Reevaluate(tenant, customer_ids, cause, /*most_written=*/true,
                      options_.background_threads);
  }

  // Reevaluate() over every customer of the tenant, page by page: one thread
  // scans the pages, `Options::reevaluate_threads` re-classify them (pages
  // are disjoint, so they never conflict with each other). Returns the
  // number of customers whose membership changed; the first error stops it.
  //
  // `previous`: the snapshot of the config just replaced, when every stored
  // customer is known to be classified under it (its config was not pending
  // re-classification itself). Then only each customer's profile and AOV
  // index entries are read, the profile classified now under `previous` and
  // under the current snapshot, and only the customers for whom the two
  // differ (membership, next change, AOV index entries; for an index
  // `previous` did not use, the stored entries against the new ones) are
  // re-evaluated from their whole state: a config change that moves few
  // customers reads a fraction of the bytes. Whatever else differs
  // in a skipped customer's stored state (a transition falling due, a
  // statistics move) differs under the old config too: the scheduler's and
  // the StatisticsMover's, as at any other time.
  //
  // With `previous`, customers whose only moves are a next change beyond
  // Options::config_schedule_horizon, or entries of AOV indexes the new
  // config does not use, are recorded as rechecks instead of written (their
  // membership is already current); `*deferred` (if given) receives how many.
  absl::StatusOr<int64_t> ReevaluateAll(const std::string& tenant, store::ChangeCause cause,
                                        std::shared_ptr<const TenantSnapshot> previous = nullptr,
                                        int64_t* deferred = nullptr);

  // The customers a config change from `previous`'s config to `current`'s
  // can move, as ReevaluateAll reads them (the rules' bounds, the smallest
  // segment or index holding them all, ...), or every customer when
  // `previous` is null: handed to `hand_over` in pages of at most 500, each
  // customer once. Hands nothing when the change moves nobody. `hand_over`
  // returning false stops the scan (CANCELLED). `previous` must be the
  // config every stored customer is classified under.
  absl::Status ScanCandidates(const std::string& tenant, const TenantSnapshot* previous,
                              const TenantSnapshot* current,
                              const std::function<bool(std::vector<std::string>)>& hand_over);

  // Re-classifies up to `limit` of the tenant's rechecks (under a config at
  // least as new as each entry's) and clears them. Returns how many it took
  // (fewer than `limit`: none are left, unless another replica added more).
  absl::StatusOr<int64_t> DrainRechecks(const std::string& tenant, int limit);

  // Classifies customers at `as_of` from their stored facts (nothing written).
  // `historical`: the caller named the instant. Then a customer whose
  // summarized history could reach into a rule window at `as_of`
  // (engine::ExactAt) fails the call OUT_OF_RANGE naming `as_of` and the
  // earliest exact instant, instead of an approximate answer; so does one
  // whose next change (`with_next_change`) could lie among messages kept
  // only in summary (engine::KnownUntil).
  // `with_next_change` false: next_change is left unset (membership alone
  // costs one evaluation; the next change may scan every later event).
  // An id named several times is read and classified once; ids are read
  // kClassifyChunk at a time, so a call holds that many profiles at most
  // (a customer may keep tens of thousands of orders: megabytes each).
  absl::StatusOr<std::vector<CustomerClassification>> Classify(
      const std::string& tenant, const std::vector<std::string>& customer_ids, absl::Time as_of,
      bool with_reasons, bool historical = false, bool with_next_change = true);

  // Distinct customers Classify reads and holds at once: a whole-tenant
  // walk's page (targeting at an as_of, 500) in one read, as before, and a
  // ClassifyCustomers of 1000 in two.
  static constexpr size_t kClassifyChunk = 500;

 private:
  // Classify of distinct `customer_ids` (at most kClassifyChunk) with
  // `classifier` under snapshot `ctx`; clears *all_named when a category it
  // names is not in ctx's dictionary yet (the caller classifies again with a
  // fresh snapshot).
  absl::StatusOr<std::vector<CustomerClassification>> ClassifyDistinct(
      const std::string& tenant, const TenantSnapshot& ctx, const engine::Classifier& classifier,
      const std::vector<std::string>& customer_ids, absl::Time as_of, bool with_reasons,
      bool historical, bool with_next_change, bool* all_named);

  // Measure ranges whose customers' VIP or value tier differs between two
  // snapshots (ConfigChangeScope::cutoffs_only); the caller adds the
  // scope's lifetime_order_ranges to `orders`.
  struct CutoffRanges {
    std::vector<engine::MeasureRange> orders;   // lifetime valid orders (VIP)
    std::vector<engine::MeasureRange> revenue;  // lifetime net revenue (tiers)
  };
  static CutoffRanges MovedCutoffs(const TenantSnapshot& previous,
                                   const TenantSnapshot& current);
  // A set of customers holding every one a config change can move: a
  // segment's stored members or an AOV index (at most one of the two).
  struct Superset {
    std::optional<std::string> segment;
    std::optional<store::AovIndex> aov_index;
  };
  // Of the member_supersets segments and aov_index_supersets indexes of
  // `scope`, the smallest, if smaller than the buyers whose lifetime orders
  // lie in `lifetime_orders` (nullopt: than the tenant's customers);
  // neither when none is.
  absl::StatusOr<Superset> SmallestSuperset(
      const std::string& tenant, const ConfigChangeScope& scope,
      const std::optional<engine::MeasureRange>& lifetime_orders);
  // Of `orders[w]` (orders write w places, or makes a cancellation or
  // refund wait for), those recorded against another customer than the
  // write's (whose stored ordinal is `ordinals[w]`; customer index
  // `written[w]`), added to `foreign` by customer index. Returns per write
  // whether it had one. One OrderOwners round trip, none when no write has
  // orders.
  absl::StatusOr<std::vector<bool>> AddForeignOrders(
      const std::string& tenant, const std::vector<absl::Span<const uint64_t>>& orders,
      const std::vector<size_t>& written, const std::vector<uint32_t>& ordinals,
      std::vector<absl::flat_hash_set<uint64_t>>& foreign);
  // Of the writes, those whose events made a cancellation or refund wait
  // (`awaiting[w]`: the orders) for an order recorded against another
  // customer: their orders are added to `foreign` (by customer index
  // `written[w]`), and they are taken out of `writes`, `written` and
  // `ordinals` and their customers added to `retry` (AddForeignOrders).
  absl::Status HoldForeignAwaited(const std::string& tenant,
                                  const std::vector<std::vector<uint64_t>>& awaiting,
                                  std::vector<uint32_t>& ordinals,
                                  std::vector<store::CustomerWrite>& writes,
                                  std::vector<size_t>& written,
                                  std::vector<absl::flat_hash_set<uint64_t>>& foreign,
                                  std::vector<size_t>& retry);
  // store_->WriteWithResults, counted (by each write's cause) and timed in
  // options_.metrics.
  absl::StatusOr<std::vector<store::WriteResult>> Commit(
      const std::string& tenant, const std::vector<store::CustomerWrite>& writes);
  // Counts a commit that began at `start` in options_.metrics: results[w]
  // of a write with cause causes[w].
  void CountCommit(absl::Duration start, const std::vector<store::ChangeCause>& causes,
                   const std::vector<store::WriteResult>& results);
  // Reevaluate(), reading each customer under its write's WATCH when
  // `most_written` (store_->ReadAndWrite), else first (ReadThenWrite: a
  // full re-evaluation, where few of the customers read are written), its
  // round trips' chunks on up to `threads` threads.
  absl::StatusOr<int64_t> Reevaluate(const std::string& tenant,
                                     const std::vector<std::string>& customer_ids,
                                     store::ChangeCause cause, bool most_written, int threads);
  // Reevaluate() of one round trip's customers (read, then write, retried
  // on conflicts).
  absl::StatusOr<int64_t> ReevaluateChunk(const std::string& tenant,
                                          const std::vector<std::string>& customer_ids,
                                          store::ChangeCause cause, bool most_written);
  // Of `customer_ids`, those whose stored state moving from `previous` to
  // `current` can change (see ReevaluateAll), read by profile and AOV index
  // entries alone: to be written now, or later (only their next change
  // moves, beyond the horizon, or entries of AOV indexes `current` does not
  // use).
  struct MovedCustomers {
    std::vector<std::string> now;
    std::vector<std::string> later;
  };
  absl::StatusOr<MovedCustomers> MovedByConfig(
      const std::string& tenant, const std::vector<std::string>& customer_ids,
      const TenantSnapshot& previous, const TenantSnapshot& current);
  // Writes MovedByConfig's `now` customers (with `cause`) and records its
  // `later` ones as rechecks, their number in `*deferred`. Returns how many
  // changed membership.
  absl::StatusOr<int64_t> ApplyConfigMoves(const std::string& tenant,
                                           const std::vector<std::string>& customer_ids,
                                           const TenantSnapshot& previous,
                                           const TenantSnapshot& current,
                                           store::ChangeCause cause, int64_t* deferred);

  // Builds the write for `profile` classified now under `snapshot`, moving
  // the tenant's order totals by `order_totals` (OrderTotalsDeltas).
  // `state` is what was read (its version and history carry on). Fails only
  // when the stored history cannot be decoded.
  absl::StatusOr<store::CustomerWrite> MakeWrite(const TenantSnapshot& snapshot,
                                                 const store::CustomerState& state,
                                                 std::vector<store::OrderTotalsDelta> order_totals,
                                                 const engine::Profile& profile,
                                                 const engine::Classification& classification,
                                                 store::ChangeCause cause, absl::Time now) const;

  store::CustomerStore* const store_;
  TenantContexts* const contexts_;
  const Options options_;
};

}  // namespace segmentd

#endif  // SEGMENTD_SERVER_LIVE_LIVE_MEMBERSHIP_H_

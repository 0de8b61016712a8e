#include "server/live/live_membership.h"

#include <algorithm>
#include <atomic>
#include <iterator>
#include <limits>
#include <optional>
#include <random>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "engine/profile_codec.h"
#include "engine/stats.h"
#include "engine/time_ms.h"
#include "server/live/config_change_scope.h"
#include "server/live/customer_measures.h"
#include "server/live/membership_history.h"
#include "server/live/page_workers.h"
#include "server/live/stored_profile.h"
#include "server/log.h"
#include "server/log_throttle.h"
#include "server/steady_clock.h"
#include "store/scan_pages.h"

namespace segmentd {
namespace {

// Returns true when the snapshot's dictionary names every category the
// classification mentions. A category interned by another replica after the
// snapshot was loaded is not named yet; writing it would store a wrong name.
bool NamesAll(const TenantSnapshot& snapshot, const engine::Classification& c) {
  const size_t known = snapshot.category_names->size();
  for (engine::CategoryId id : c.categories) {
    if (id >= known) return false;
  }
  for (engine::CategoryId id : c.cart_categories) {
    if (id >= known) return false;
  }
  return true;
}

// The stored membership as it is; corrupt bytes are DATA_LOSS, never reported
// as "in no segment".
absl::StatusOr<CustomerMembership> StoredOf(const store::CustomerState& state,
                                            const TenantSnapshot& snapshot) {
  CustomerMembership out;
  out.found = state.version > 0;
  out.category_names = snapshot.category_names;
  absl::StatusOr<StoredMembership> m = DecodeMembership(state.membership);
  if (!m.ok()) return m.status();
  out.membership = *std::move(m);
  return out;
}

// The orders (id fingerprints) `after` holds and `before` does not: what
// the events between them placed. The engine is what decides whether an
// event placed an order, so no caller can place one without it being claimed
// for the tenant. INTERNAL when an order of `before` is gone (no event
// removes one). Sorts only when the number of orders grew.
absl::StatusOr<std::vector<uint64_t>> PlacedOrders(const engine::Profile& before,
                                                   const engine::Profile& after) {
  auto count = [](const engine::Profile& p) {
    return p.order_ids().size() + p.folded_orders().size();
  };
  if (count(after) == count(before)) return std::vector<uint64_t>();
  const std::vector<uint64_t> was = OrderFingerprints(before);
  const std::vector<uint64_t> now = OrderFingerprints(after);
  std::vector<uint64_t> placed;
  std::set_difference(now.begin(), now.end(), was.begin(), was.end(), std::back_inserter(placed));
  if (now.size() < was.size() || placed.size() != now.size() - was.size()) {
    return absl::InternalError("an event removed an order of the customer");
  }
  return placed;
}

// The orders (id fingerprints) of the corrections waiting in `after` and not
// in `before`: what the events between them made wait. By correction, not
// by order: a second correction of an order another customer placed since
// the first began to wait is checked too (a code reviewer's finding).
std::vector<uint64_t> NewlyAwaited(const engine::Profile& before, const engine::Profile& after) {
  std::vector<uint64_t> out;
  for (const engine::AwaitedCorrection& c : after.awaited_corrections()) {
    const auto& was = before.awaited_corrections();
    const bool known = std::any_of(was.begin(), was.end(), [&](const engine::AwaitedCorrection& w) {
      return w.order_fp == c.order_fp && w.refund_fp == c.refund_fp;
    });
    if (!known && std::find(out.begin(), out.end(), c.order_fp) == out.end()) {
      out.push_back(c.order_fp);
    }
  }
  return out;
}

// Pauses before retry `attempt` (>= 1) after losing a race with another
// writer: random and growing (50 us doubling, at most 5 ms), so writers racing
// on one customer stop colliding in lock-step.
void BackOff(int attempt) {
  thread_local std::minstd_rand rng(std::random_device{}());
  const int64_t cap_us = std::min<int64_t>(int64_t{50} << std::min(attempt, 7), 5000);
  absl::SleepFor(absl::Microseconds(std::uniform_int_distribution<int64_t>(0, cap_us)(rng)));
}

// What a write stores that classification decides: the membership, the
// schedule entry and the AOV index entries.
struct Derived {
  StoredMembership membership;
  std::optional<absl::Time> next_change;
  std::optional<int64_t> aov_milli[store::kNumAovIndexes];

  friend bool operator==(const Derived& a, const Derived& b) {
    return a.membership == b.membership && a.next_change == b.next_change &&
           std::equal(std::begin(a.aov_milli), std::end(a.aov_milli), std::begin(b.aov_milli));
  }
};

// True when what a config update derived for a customer under the replaced
// config (`was`) and the new one (`will`) differs only in what may wait for
// the background (LiveMembership::DrainRechecks): when the customer is next
// woken (membership's next change and the schedule entry) if `will`'s is
// after `horizon` or never, and the entries of AOV indexes that `config` (the
// new one) does not use (AovIndexInUse). Such an index is read by nothing
// (the statistics mover reads an index only while its rule is relative to the
// store AOV) until an update brings it back into use, and that update
// compares the stored entries (MovedByConfig).
bool DeferrableDifference(Derived was, Derived will, const engine::SegmentConfig& config,
                          absl::Time horizon) {
  const bool schedule_far = !will.next_change || *will.next_change > horizon;
  for (Derived* d : {&was, &will}) {
    if (schedule_far) {
      d->membership.next_change.reset();
      d->next_change.reset();
    }
    for (int k = 0; k < store::kNumAovIndexes; ++k) {
      if (!AovIndexInUse(config, static_cast<store::AovIndex>(k))) d->aov_milli[k].reset();
    }
  }
  return was == will;
}

Derived Derive(const TenantSnapshot& snapshot, const engine::ProfileView& profile,
               const engine::Classification& classification, absl::Time now) {
  Derived d;
  d.membership = MembershipOf(classification);
  // The schedule wakes the customer when membership changes, and also when its
  // AOV index entries would go stale (an order leaving either spender rule's
  // lookback, whatever its threshold), so a later store-AOV move finds it at
  // its true AOV.
  d.next_change = classification.next_change;
  for (int k = 0; k < store::kNumAovIndexes; ++k) {
    const int32_t lookback = AovIndexLookback(snapshot.config, static_cast<store::AovIndex>(k));
    d.aov_milli[k] = AovMilli(profile, now, lookback);
    const std::optional<absl::Time> stale = NextAovChange(profile, now, lookback);
    if (stale && (!d.next_change || *stale < *d.next_change)) d.next_change = stale;
  }
  // And when a future-dated order becomes visible: lifetime orders and
  // revenue move then (the measure indexes behind the statistics and behind a
  // config update's candidate bound), even where membership does not.
  // OrderBecameVisibleSince relies on this bound.
  const engine::Millis t = absl::ToUnixMillis(now);
  for (auto o = std::upper_bound(profile.orders.begin(), profile.orders.end(), t,
                                 [](engine::Millis at, const engine::OrderFacts& order) {
                                   return at < order.placed_ms;
                                 });
       o != profile.orders.end(); ++o) {
    if (o->cancelled) continue;
    const absl::Time visible = absl::FromUnixMillis(o->placed_ms);
    if (!d.next_change || visible < *d.next_change) d.next_change = visible;
    break;
  }
  return d;
}

// Most edges one pass writes at their own instants for one customer (see
// ReevaluateChunk); later ones are folded into its write at now.
constexpr int kMaxEdgesPerPass = 32;

}  // namespace

LiveMembership::LiveMembership(store::CustomerStore* store, TenantContexts* contexts,
                               Options options)
    : store_(store), contexts_(contexts), options_(std::move(options)) {}

absl::StatusOr<store::CustomerWrite> LiveMembership::MakeWrite(
    const TenantSnapshot& snapshot, const store::CustomerState& state,
    std::vector<store::OrderTotalsDelta> order_totals, const engine::Profile& profile,
    const engine::Classification& classification, store::ChangeCause cause, absl::Time now) const {
  store::CustomerWrite write;
  write.customer_id = state.customer_id;
  write.expected_version = state.version;
  write.config_version = snapshot.config_version;
  write.profile = engine::EncodeProfile(profile);
  const Derived derived = Derive(snapshot, profile.view(), classification, now);
  const StoredMembership& membership = derived.membership;
  write.membership = EncodeMembership(membership);
  write.segments = SegmentNames(membership, *snapshot.category_names);
  write.next_change = derived.next_change;
  for (int k = 0; k < store::kNumAovIndexes; ++k) write.aov_milli[k] = derived.aov_milli[k];
  write.order_totals = std::move(order_totals);
  write.cause = cause;
  write.changed_at = now;
  // A time-driven change happened when it fell due, not when a pass got to it.
  // A statistics pass may reach a customer before the scheduler does; what it
  // then applies first is the change time made, so it is told as such.
  if (cause == store::ChangeCause::kTime || cause == store::ChangeCause::kStatistics) {
    absl::StatusOr<StoredMembership> was = DecodeMembership(state.membership);
    if (was.ok() && was->next_change && *was->next_change <= now) {
      write.cause = store::ChangeCause::kTime;
      write.changed_at = *was->next_change;
    }
  }
  absl::StatusOr<MembershipHistory> history = MembershipHistory::Decode(state.history);
  if (!history.ok()) return history.status();
  history->Record(write.changed_at, membership.segments, membership.primary);
  write.history = history->Encode();
  const engine::LifetimeTotals lifetime =
      engine::ComputeLifetime(profile.view(), absl::ToUnixMillis(now));
  write.lifetime_orders = lifetime.orders;
  write.lifetime_revenue = lifetime.net_revenue;
  write.registered_non_buyer_ms = RegisteredNonBuyerMs(profile.view(), lifetime.orders);
  return write;
}

absl::StatusOr<std::vector<CustomerOutcome>> LiveMembership::Apply(
    const std::string& tenant, std::vector<CustomerEvents> customers) {
  std::vector<CustomerOutcome> outcomes(customers.size());
  // Indexes of customers still to commit; shrinks as commits succeed.
  std::vector<size_t> pending(customers.size());
  for (size_t i = 0; i < pending.size(); ++i) pending[i] = i;
  // Failures are per customer (group commit puts unrelated callers in one
  // call): a customer that fails gets `commit` set and is not retried; one
  // committed earlier keeps its success whatever happens to the others.
  auto fail = [&](size_t i, const absl::Status& status) {
    outcomes[i] = CustomerOutcome();
    outcomes[i].commit = status;
  };
  auto fail_all = [&](const std::vector<size_t>& which, const absl::Status& status) {
    for (size_t i : which) fail(i, status);
  };

  // Per customer: orders (id fingerprints) its events place that another
  // customer of the tenant placed first (found when a write was refused
  // kOrderTaken).
  std::vector<absl::flat_hash_set<uint64_t>> foreign(customers.size());
  // The last round lost a race or met a category its snapshot cannot name:
  // back off and reload the snapshot.
  bool contended = false;
  for (int attempt = 0; !pending.empty(); ++attempt) {
    if (attempt == options_.max_attempts) {
      for (size_t i : pending) {
        fail(i, absl::AbortedError(absl::StrCat("gave up after ", attempt, " attempts: customer ",
                                                customers[i].customer_id,
                                                " is being written concurrently")));
      }
      break;
    }
    if (contended) BackOff(attempt);
    absl::StatusOr<std::shared_ptr<const TenantSnapshot>> snapshot =
        contended ? contexts_->Reload(tenant) : contexts_->Get(tenant);
    if (!snapshot.ok()) {
      fail_all(pending, snapshot.status());
      break;
    }
    const TenantSnapshot& ctx = **snapshot;
    const absl::Time now = options_.now();
    const absl::Time horizon = now - absl::Hours(24) * FoldHorizonDays(ctx.config);

    std::vector<std::string> ids;
    for (size_t i : pending) ids.push_back(customers[i].customer_id);
    absl::StatusOr<std::vector<store::CustomerState>> states = store_->Read(tenant, ids);
    if (!states.ok()) {
      fail_all(pending, states.status());
      break;
    }

    std::vector<store::CustomerWrite> writes;
    std::vector<size_t> written;  // customer index of each write
    std::vector<uint32_t> ordinals;  // the stored ordinal of each write's customer
    // Per write: the orders its events made a cancellation or refund wait for.
    std::vector<std::vector<uint64_t>> awaiting;
    // Whether the next round must reload the snapshot (and back off): set by
    // a version conflict or a category the snapshot cannot name yet.
    contended = false;
    std::vector<size_t> retry;    // customer indexes to try again
    engine::Classification classification;
    for (size_t k = 0; k < pending.size(); ++k) {
      const size_t i = pending[k];
      const store::CustomerState& state = (*states)[k];
      const CustomerEvents& events = customers[i];
      absl::StatusOr<engine::Profile> profile = DecodeStoredProfile(state);
      if (!profile.ok()) {
        fail(i, profile.status());
        continue;
      }
      // A new customer's history starts at the fold horizon, as a stored
      // one's does: an event older than it is then answered as for a stored
      // customer (a message sent before it IGNORED, not APPLIED and folded
      // away by this same write, as a reviewer found).
      if (state.version == 0) profile->Fold(horizon);
      const engine::Profile stored = *profile;
      CustomerOutcome& outcome = outcomes[i];
      outcome.events.assign(events.mutations.size(), EventResult());
      bool changed = false;
      for (size_t e = 0; e < events.mutations.size(); ++e) {
        // While this customer has orders known to be another's, each event
        // runs on a copy, and one placing such an order is refused unapplied.
        std::optional<engine::Profile> trial;
        if (!foreign[i].empty()) trial = *profile;
        absl::StatusOr<engine::EventOutcome> result =
            events.mutations[e](trial.has_value() ? &*trial : &*profile);
        if (!result.ok()) {
          outcome.events[e].status = result.status();
          continue;
        }
        if (trial.has_value()) {
          absl::StatusOr<std::vector<uint64_t>> placed = PlacedOrders(*profile, *trial);
          if (!placed.ok()) {
            outcome.events[e].status = placed.status();
            continue;
          }
          if (std::any_of(placed->begin(), placed->end(),
                          [&](uint64_t order) { return foreign[i].contains(order); })) {
            outcome.events[e].status = absl::AlreadyExistsError(
                "order_id: already placed by another customer (order ids are unique per "
                "tenant)");
            continue;
          }
          const std::vector<uint64_t> awaited = NewlyAwaited(*profile, *trial);
          if (std::any_of(awaited.begin(), awaited.end(),
                          [&](uint64_t order) { return foreign[i].contains(order); })) {
            outcome.events[e].status =
                absl::NotFoundError("order_id: placed by another customer, not this one");
            continue;
          }
          *profile = *std::move(trial);
        }
        outcome.events[e].outcome = *result;
        changed |= *result == engine::EventOutcome::kApplied;
      }
      // An event ignored can still change what the profile knows: a message
      // older than the fold horizon is ignored, but marks the profile's
      // engagement before the horizon unknown (messages_dropped), which an
      // explicit as_of must not answer as if exact.
      if (!changed) changed = *profile != stored;
      // The orders the events placed, for the write's claims: read from the
      // profile, once per customer.
      std::vector<uint64_t> placed;
      if (changed) {
        absl::StatusOr<std::vector<uint64_t>> all = PlacedOrders(stored, *profile);
        if (!all.ok()) {
          fail(i, all.status());  // nothing of this customer is written
          continue;
        }
        placed = *std::move(all);
      }
      if (!changed) {
        absl::StatusOr<CustomerMembership> stored_membership = StoredOf(state, ctx);
        if (!stored_membership.ok()) {
          fail(i, stored_membership.status());
          continue;
        }
        outcome.after = *std::move(stored_membership);
        continue;
      }
      // A correction dated ahead takes effect now: this write is as of now.
      profile->ClampCorrections(now);
      // The totals move before folding: an order already older than the
      // horizon when it arrives is folded at once, yet still counts in the
      // store AOV of a lookback longer than the horizon (until 2026-12-06 it
      // was never booked, so lengthening a spender lookback past 365 days
      // after an import left it out of the store AOV while the customer's
      // own AOV counted it). Orders folded by this write stay booked.
      std::vector<store::OrderTotalsDelta> order_totals = OrderTotalsDeltas(
          state.version > 0 ? &stored : nullptr, state.next_change, *profile, now);
      profile->Fold(horizon);
      ctx.classifier->Classify(profile->view(), now, &classification);
      if (!NamesAll(ctx, classification)) {
        retry.push_back(i);  // the next attempt reloads the dictionary
        contended = true;
        continue;
      }
      // Read() names every state after the id asked for, present or not.
      absl::StatusOr<store::CustomerWrite> write =
          MakeWrite(ctx, state, std::move(order_totals), *profile, classification,
                    store::ChangeCause::kEvent, now);
      if (!write.ok()) {
        fail(i, write.status());
        continue;
      }
      write->placed_orders = std::move(placed);
      writes.push_back(*std::move(write));
      written.push_back(i);
      ordinals.push_back(state.ordinal);
      awaiting.push_back(NewlyAwaited(stored, *profile));
      outcome.after.found = true;
      outcome.after.membership = MembershipOf(classification);
      outcome.after.category_names = ctx.category_names;
    }
    // A cancellation or refund waits only for an order no other customer
    // placed: a customer whose events made one wait for another's order is
    // not written, and the next round refuses those events.
    if (absl::Status s =
            HoldForeignAwaited(tenant, awaiting, ordinals, writes, written, foreign, retry);
        !s.ok()) {
      fail_all(written, s);
      fail_all(retry, s);
      break;
    }
    pending = std::move(retry);
    if (writes.empty()) continue;
    absl::StatusOr<std::vector<store::WriteResult>> committed = Commit(tenant, writes);
    if (!committed.ok()) {
      // Some of these writes may have been committed: none is acknowledged.
      fail_all(written, committed.status());
      fail_all(pending, committed.status());
      break;
    }
    // Per write refused for an order id placed elsewhere: the orders it placed.
    std::vector<absl::Span<const uint64_t>> taken(writes.size());
    for (size_t w = 0; w < writes.size(); ++w) {
      switch ((*committed)[w].kind) {
        case store::WriteResult::kCommitted:
          break;
        case store::WriteResult::kRefused:
          fail(written[w], (*committed)[w].refusal);
          break;
        case store::WriteResult::kConflict:
          contended = true;
          pending.push_back(written[w]);
          break;
        case store::WriteResult::kOrderTaken:
          taken[w] = writes[w].placed_orders;
          pending.push_back(written[w]);
          break;
      }
    }
    // Bad input, not a race: learn which ids are taken (one round trip), so
    // that the next round refuses just those events.
    if (absl::StatusOr<std::vector<bool>> learnt =
            AddForeignOrders(tenant, taken, written, ordinals, foreign);
        !learnt.ok()) {
      fail_all(pending, learnt.status());
      break;
    }
  }
  return outcomes;
}

absl::StatusOr<std::vector<bool>> LiveMembership::AddForeignOrders(
    const std::string& tenant, const std::vector<absl::Span<const uint64_t>>& orders_of,
    const std::vector<size_t>& written, const std::vector<uint32_t>& ordinals,
    std::vector<absl::flat_hash_set<uint64_t>>& foreign) {
  std::vector<bool> has_foreign(orders_of.size(), false);
  std::vector<uint64_t> orders;
  std::vector<size_t> write_of;  // the write each order came from
  for (size_t w = 0; w < orders_of.size(); ++w) {
    for (uint64_t order : orders_of[w]) {
      orders.push_back(order);
      write_of.push_back(w);
    }
  }
  if (orders.empty()) return has_foreign;  // the common case: no round trip
  absl::StatusOr<std::vector<uint32_t>> owners = store_->OrderOwners(tenant, orders);
  if (!owners.ok()) return owners.status();
  for (size_t j = 0; j < orders.size(); ++j) {
    const uint32_t owner = (*owners)[j];
    const size_t w = write_of[j];
    // A customer not stored yet (ordinal 0) owns nothing.
    if (owner != 0 && owner != ordinals[w]) {
      foreign[written[w]].insert(orders[j]);
      has_foreign[w] = true;
    }
  }
  return has_foreign;
}

absl::Status LiveMembership::HoldForeignAwaited(const std::string& tenant,
                                                const std::vector<std::vector<uint64_t>>& awaiting,
                                                std::vector<uint32_t>& ordinals,
                                                std::vector<store::CustomerWrite>& writes,
                                                std::vector<size_t>& written,
                                                std::vector<absl::flat_hash_set<uint64_t>>& foreign,
                                                std::vector<size_t>& retry) {
  absl::StatusOr<std::vector<bool>> hold = AddForeignOrders(
      tenant, std::vector<absl::Span<const uint64_t>>(awaiting.begin(), awaiting.end()), written,
      ordinals, foreign);
  if (!hold.ok()) return hold.status();
  size_t kept = 0;
  for (size_t w = 0; w < writes.size(); ++w) {
    if ((*hold)[w]) {
      retry.push_back(written[w]);
      continue;
    }
    if (kept != w) {  // never a self-move, which would empty the write
      writes[kept] = std::move(writes[w]);
      written[kept] = written[w];
      ordinals[kept] = ordinals[w];
    }
    ++kept;
  }
  writes.resize(kept);
  written.resize(kept);
  ordinals.resize(kept);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<store::WriteResult>> LiveMembership::Commit(
    const std::string& tenant, const std::vector<store::CustomerWrite>& writes) {
  const absl::Duration start = SteadyNow();
  absl::StatusOr<std::vector<store::WriteResult>> committed =
      store_->WriteWithResults(tenant, writes);
  if (committed.ok()) {
    std::vector<store::ChangeCause> causes;
    causes.reserve(writes.size());
    for (const store::CustomerWrite& w : writes) causes.push_back(w.cause);
    CountCommit(start, causes, *committed);
  }
  return committed;
}

void LiveMembership::CountCommit(absl::Duration start,
                                 const std::vector<store::ChangeCause>& causes,
                                 const std::vector<store::WriteResult>& results) {
  if (options_.metrics == nullptr) return;
  options_.metrics->ObserveStoreWrite(SteadyNow() - start);
  // By each write's own cause: a statistics pass stamps TIME on a change
  // that fell due (MakeWrite), as the change stream then tells it. A write
  // refused for a taken order id is bad input, not a conflict: not counted.
  for (size_t w = 0; w < results.size(); ++w) {
    const store::WriteResult r = results[w];
    options_.metrics->CountWrites(causes[w], r == store::WriteResult::kCommitted ? 1 : 0,
                                  r == store::WriteResult::kConflict ? 1 : 0);
  }
}

absl::StatusOr<int64_t> LiveMembership::Reevaluate(const std::string& tenant,
                                                   const std::vector<std::string>& customer_ids,
                                                   store::ChangeCause cause, bool most_written,
                                                   int threads) {
  const size_t chunk = cause == store::ChangeCause::kConfig || options_.background_pipeline < 1
                           ? std::max<size_t>(customer_ids.size(), 1)
                           : static_cast<size_t>(options_.background_pipeline);
  const size_t chunks = (customer_ids.size() + chunk - 1) / chunk;
  std::atomic<int64_t> changed{0};
  auto run = [&](std::vector<std::string> ids) -> absl::Status {
    absl::StatusOr<int64_t> moved = ReevaluateChunk(tenant, ids, cause, most_written);
    if (!moved.ok()) return moved.status();
    changed += *moved;
    return absl::OkStatus();
  };
  auto chunk_at = [&](size_t begin) {
    return std::vector<std::string>(
        customer_ids.begin() + begin,
        customer_ids.begin() + std::min(customer_ids.size(), begin + chunk));
  };
  if (threads <= 1 || chunks <= 1) {
    for (size_t begin = 0; begin < customer_ids.size(); begin += chunk) {
      if (absl::Status s = run(chunk_at(begin)); !s.ok()) return s;
    }
    return changed.load();
  }
  // The chunks hold distinct customers, so they never conflict with each
  // other; the first failure stops the workers after their chunk.
  PageWorkers workers(static_cast<int>(std::min<size_t>(threads, chunks)), run);
  for (size_t begin = 0; begin < customer_ids.size(); begin += chunk) {
    if (!workers.HandOver(chunk_at(begin))) break;
  }
  if (absl::Status s = workers.Finish(absl::OkStatus()); !s.ok()) return s;
  return changed.load();
}

absl::StatusOr<int64_t> LiveMembership::ReevaluateChunk(
    const std::string& tenant, const std::vector<std::string>& customer_ids,
    store::ChangeCause cause, bool most_written) {
  // Customers a committed write moved, in any attempt (one whose later
  // write conflicted still moved).
  absl::flat_hash_set<std::string> moved;
  // Edges each customer had written at their own instants (below).
  absl::flat_hash_map<std::string, int> edges_written;
  std::vector<std::string> pending = customer_ids;
  // `attempt` counts rounds that lost a race (the next one backs off and
  // reloads the snapshot); a round that only wrote earlier edges goes on at
  // once.
  bool contended = false;
  for (int attempt = 0; !pending.empty();) {
    if (attempt == options_.max_attempts) {
      return absl::AbortedError("gave up re-evaluating: customers are being written concurrently");
    }
    if (contended) BackOff(attempt);
    absl::StatusOr<std::shared_ptr<const TenantSnapshot>> snapshot =
        contended ? contexts_->Reload(tenant) : contexts_->Get(tenant);
    if (!snapshot.ok()) return snapshot.status();
    const TenantSnapshot& ctx = **snapshot;
    const absl::Time now = options_.now();
    // Of each write `decide` made: its customer, cause, and whether it moves
    // membership.
    std::vector<std::string> written;
    std::vector<store::ChangeCause> causes;
    std::vector<bool> membership_moved;
    std::vector<std::string> retry;
    // Customers whose write this round is an earlier edge: read again next.
    absl::flat_hash_set<std::string> edge_writes;
    engine::Classification classification;
    std::vector<store::CustomerWrite> writes;
    // Adds the write re-classifying `state` as `classification` (made at
    // `at`); returns it, or nullptr when nothing it stores would change.
    auto consider = [&](const store::CustomerState& state, const engine::Profile& profile,
                        absl::Time at) -> absl::StatusOr<const store::CustomerWrite*> {
      absl::StatusOr<StoredMembership> before = DecodeMembership(state.membership);
      const StoredMembership after = MembershipOf(classification);
      // Only the segments count as a move; a new next-change instant or
      // index entry is bookkeeping, written without change-stream entries.
      const bool moved = !before.ok() || before->segments != after.segments ||
                         before->categories != after.categories ||
                         before->cart_categories != after.cart_categories;
      // Facts are unchanged: order totals move only for an order that became
      // visible since the last write (`before` profile = this profile).
      absl::StatusOr<store::CustomerWrite> made =
          MakeWrite(ctx, state, OrderTotalsDeltas(&profile, state.next_change, profile, at),
                    profile, classification, cause, at);
      if (!made.ok()) return made.status();
      store::CustomerWrite& write = *made;
      // Unless an order became visible since the last write, the lifetime
      // measures are as stored: a membership move leaves their indexes
      // alone, and only the schedule or AOV entries moving (most
      // re-classifications after a config change or a time-driven wake-up)
      // is a bookkeeping-only write.
      write.measures_as_stored = write.order_totals.empty() &&
                                 !OrderBecameVisibleSince(profile.view(), state.next_change, at);
      write.bookkeeping_only =
          !moved && before.ok() && before->primary == after.primary && write.measures_as_stored;
      const bool same_index =
          state.aov_milli[0] == write.aov_milli[0] && state.aov_milli[1] == write.aov_milli[1];
      if (!moved && before.ok() && *before == after && same_index &&
          state.next_change == write.next_change) {
        return nullptr;
      }
      written.push_back(write.customer_id);
      causes.push_back(write.cause);
      membership_moved.push_back(moved);
      writes.push_back(std::move(write));
      return &writes.back();
    };
    const bool time_driven =
        cause == store::ChangeCause::kTime || cause == store::ChangeCause::kStatistics;
    auto decide = [&](const std::vector<store::CustomerState>& states)
        -> absl::StatusOr<std::vector<store::CustomerWrite>> {
      writes.clear();
      for (const store::CustomerState& stored : states) {
        if (stored.version == 0) continue;
        absl::StatusOr<engine::Profile> profile = DecodeStoredProfile(stored);
        if (!profile.ok()) {
          // One undecodable customer must not stop time transitions and
          // statistics moves for everyone else: report it and go on.
          LogErrorThrottled(absl::StrCat("tenant ", tenant, ": cannot re-classify customer \"",
                                         absl::CHexEscape(stored.customer_id),
                                         "\": ", profile.status().message()));
          continue;
        }
        // A pass that runs late (after an outage, or behind) can find more
        // than one edge due since the stored next change. Each but the last
        // is written at its own instant, one round each (the customer is
        // read again for the next: a write only ever follows the state it
        // read, so no chained write can land after a concurrent one), so
        // that Watch and the membership history see every state in between,
        // each from when it began, rather than only the last one stamped
        // with the first edge's instant.
        const store::CustomerState& state = stored;
        bool edge = false;  // written at an earlier edge, not at now
        if (time_driven && state.next_change && *state.next_change < now &&
            edges_written[state.customer_id] < kMaxEdgesPerPass) {
          ctx.classifier->Classify(profile->view(), *state.next_change, &classification);
          const std::optional<absl::Time> next =
              Derive(ctx, profile->view(), classification, *state.next_change).next_change;
          edge = next && *next > *state.next_change && *next <= now;  // it ended before now
        }
        const absl::Time at = edge ? *state.next_change : now;
        if (!edge) ctx.classifier->Classify(profile->view(), now, &classification);
        if (!NamesAll(ctx, classification)) {
          retry.push_back(state.customer_id);  // the next attempt reloads the dictionary
          continue;
        }
        // At an edge the write is never empty: its next change moves.
        absl::StatusOr<const store::CustomerWrite*> w = consider(state, *profile, at);
        if (!w.ok()) {
          LogErrorThrottled(absl::StrCat("tenant ", tenant, ": cannot re-classify customer \"",
                                         absl::CHexEscape(state.customer_id),
                                         "\": ", w.status().message()));
        } else if (edge && *w != nullptr) {
          edge_writes.insert(state.customer_id);
        }
      }
      return writes;
    };
    const absl::Duration start = SteadyNow();
    absl::StatusOr<std::vector<store::WriteResult>> committed =
        most_written ? store_->ReadAndWrite(tenant, pending, decide)
                     : store_->ReadThenWrite(tenant, pending, decide);
    if (!committed.ok()) return committed.status();
    if (!written.empty()) CountCommit(start, causes, *committed);
    // A customer whose write did not commit is read again and retried after
    // a back-off; one whose earlier edge committed goes on at once.
    absl::flat_hash_set<std::string> unfinished(retry.begin(), retry.end());
    std::vector<std::string> next_edge;
    for (size_t w = 0; w < written.size(); ++w) {
      if ((*committed)[w] == store::WriteResult::kRefused) {
        // Refused for what is stored, not a race: reported, like an
        // undecodable profile, and not retried in this pass.
        LogErrorThrottled(absl::StrCat("tenant ", tenant, ": cannot re-classify customer \"",
                                       absl::CHexEscape(written[w]),
                                       "\": ", (*committed)[w].refusal.message()));
        continue;
      }
      if ((*committed)[w] != store::WriteResult::kCommitted) {
        unfinished.insert(written[w]);
        continue;
      }
      if (membership_moved[w]) moved.insert(written[w]);
      if (edge_writes.contains(written[w])) {
        ++edges_written[written[w]];
        next_edge.push_back(written[w]);
      }
    }
    contended = !unfinished.empty();
    if (contended) ++attempt;
    pending.assign(unfinished.begin(), unfinished.end());
    pending.insert(pending.end(), next_edge.begin(), next_edge.end());
  }
  return static_cast<int64_t>(moved.size());
}

absl::StatusOr<LiveMembership::MovedCustomers> LiveMembership::MovedByConfig(
    const std::string& tenant, const std::vector<std::string>& customer_ids,
    const TenantSnapshot& previous, const TenantSnapshot& current) {
  absl::StatusOr<std::vector<store::ProfileRead>> profiles =
      store_->ReadProfiles(tenant, customer_ids);
  if (!profiles.ok()) return profiles.status();
  const absl::Time now = options_.now();
  const absl::Time horizon = now + options_.config_schedule_horizon;
  MovedCustomers moved;
  engine::Classification before, after;
  for (size_t i = 0; i < customer_ids.size(); ++i) {
    const store::ProfileRead& stored = (*profiles)[i];
    if (stored.profile.empty()) continue;  // not stored
    absl::StatusOr<engine::Profile> profile = engine::DecodeProfile(stored.profile);
    if (!profile.ok()) {
      moved.now.push_back(customer_ids[i]);  // Reevaluate reports it
      continue;
    }
    previous.classifier->Classify(profile->view(), now, &before);
    current.classifier->Classify(profile->view(), now, &after);
    Derived was = Derive(previous, profile->view(), before, now);
    const Derived will = Derive(current, profile->view(), after, now);
    // Entries of an index the replaced config did not use as stored, not as
    // derived: an earlier update may have left them to the rechecks, and this
    // one may bring the index back into use. (An index in use is exact but
    // for wake-ups already due, which are the scheduler's, as at any time.)
    for (int k = 0; k < store::kNumAovIndexes; ++k) {
      if (!AovIndexInUse(previous.config, static_cast<store::AovIndex>(k))) {
        was.aov_milli[k] = stored.aov_milli[k];
      }
    }
    if (was == will) continue;
    // The stored entry (was's) may then wake the customer early, which only
    // costs a re-classification; a late one is what the horizon prevents.
    (DeferrableDifference(was, will, current.config, horizon) ? moved.later : moved.now)
        .push_back(customer_ids[i]);
  }
  return moved;
}

absl::StatusOr<int64_t> LiveMembership::ApplyConfigMoves(const std::string& tenant,
                                                         const std::vector<std::string>& customer_ids,
                                                         const TenantSnapshot& previous,
                                                         const TenantSnapshot& current,
                                                         store::ChangeCause cause,
                                                         int64_t* deferred) {
  absl::StatusOr<MovedCustomers> moved = MovedByConfig(tenant, customer_ids, previous, current);
  if (!moved.ok()) return moved.status();
  // One thread: ReevaluateAll already works its pages on reevaluate_threads.
  absl::StatusOr<int64_t> changed =
      Reevaluate(tenant, moved->now, cause, /*most_written=*/true, /*threads=*/1);
  if (!changed.ok()) return changed.status();
  if (!moved->later.empty()) {
    absl::Status s = store_->AddRechecks(tenant, moved->later, current.config_version);
    if (!s.ok()) return s;
  }
  *deferred = static_cast<int64_t>(moved->later.size());
  return changed;
}

absl::StatusOr<int64_t> LiveMembership::DrainRechecks(const std::string& tenant, int limit) {
  absl::StatusOr<std::vector<store::CustomerStore::Recheck>> rechecks =
      store_->Rechecks(tenant, limit);
  if (!rechecks.ok()) return rechecks.status();
  if (rechecks->empty()) return 0;
  int64_t newest = 0;
  std::vector<std::string> ids;
  ids.reserve(rechecks->size());
  for (const store::CustomerStore::Recheck& r : *rechecks) {
    newest = std::max(newest, r.config_version);
    ids.push_back(r.customer_id);
  }
  // Re-classify under a config at least as new as every entry's: this
  // replica's snapshot may predate the update that added them.
  absl::StatusOr<std::shared_ptr<const TenantSnapshot>> snapshot = contexts_->Get(tenant);
  if (snapshot.ok() && (*snapshot)->config_version < newest) snapshot = contexts_->Reload(tenant);
  if (!snapshot.ok()) return snapshot.status();
  const int64_t done_version = (*snapshot)->config_version;
  // A transition that fell due meanwhile is the one membership move it can
  // find (the update wrote every membership it moved): cause TIME.
  absl::StatusOr<int64_t> moved = Reevaluate(tenant, ids, store::ChangeCause::kTime);
  if (!moved.ok()) return moved.status();
  // Writes that committed did so under done_version or a newer config;
  // entries a newer update added meanwhile stay for the next round.
  if (absl::Status s = store_->ClearRechecks(tenant, ids, done_version); !s.ok()) return s;
  return static_cast<int64_t>(ids.size());
}

LiveMembership::CutoffRanges LiveMembership::MovedCutoffs(const TenantSnapshot& previous,
                                                          const TenantSnapshot& current) {
  CutoffRanges ranges;
  if (auto r = engine::MovedRange(engine::VipThreshold(previous.stats, previous.config),
                                  engine::VipThreshold(current.stats, current.config))) {
    ranges.orders.push_back(*r);
  }
  for (auto cutoff : {&engine::PopulationStats::high_value_cutoff,
                      &engine::PopulationStats::medium_value_cutoff}) {
    if (auto r = engine::MovedRange(previous.stats.*cutoff, current.stats.*cutoff)) {
      ranges.revenue.push_back(*r);
    }
  }
  return ranges;
}

absl::StatusOr<LiveMembership::Superset> LiveMembership::SmallestSuperset(
    const std::string& tenant, const ConfigChangeScope& scope,
    const std::optional<engine::MeasureRange>& lifetime_orders) {
  Superset smallest;
  if (scope.member_supersets.empty() && scope.aov_index_supersets.empty()) return smallest;
  absl::StatusOr<int64_t> fewest =
      lifetime_orders.has_value()
          ? store_->CountCustomersByOrders(tenant, lifetime_orders->lo, lifetime_orders->hi)
          : store_->CustomerCount(tenant);
  if (!fewest.ok()) return fewest.status();
  for (engine::Segment segment : scope.member_supersets) {
    const std::string name(engine::SegmentName(segment));
    absl::StatusOr<int64_t> size = store_->SegmentSize(tenant, name);
    if (!size.ok()) return size.status();
    if (*size < *fewest) {
      fewest = *size;
      smallest = {name, std::nullopt};
    }
  }
  for (store::AovIndex index : scope.aov_index_supersets) {
    absl::StatusOr<int64_t> size = store_->CountCustomersByAov(
        tenant, index, std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max());
    if (!size.ok()) return size.status();
    if (*size < *fewest) {
      fewest = *size;
      smallest = {std::nullopt, index};
    }
  }
  return smallest;
}

absl::Status LiveMembership::ScanCandidates(
    const std::string& tenant, const TenantSnapshot* previous, const TenantSnapshot* current,
    const std::function<bool(std::vector<std::string>)>& hand_over) {
  // Which customers to look at: every one, or (after a config change whose
  // rules bound it) the buyers with as many lifetime orders as can be moved
  // (at least some, for some rules at most some), or
  // the members of a segment or the entries of an AOV index known to hold
  // every customer it can move, whichever is fewest, or (after a change of
  // percentile rules or of lifetime-order count bounds only) the customers
  // between the old and the new cut-offs or bounds, or (after a change of
  // NEW_DOWNLOAD and WINDOW_SHOPPER only) the registered customers without
  // an order.
  std::optional<engine::MeasureRange> lifetime_orders;  // [lo, hi)
  std::optional<std::string> superset;
  // After a change of percentile rules or lifetime-order count bounds only:
  // the lifetime-order and lifetime-revenue ranges between old and new.
  std::optional<CutoffRanges> cutoffs;
  // After a change of rules over recent orders only (ConfigChangeScope::
  // aov_index_supersets): an AOV index holding every customer it can move,
  // if fewer.
  std::optional<store::AovIndex> aov_index;
  // After a change of NEW_DOWNLOAD and WINDOW_SHOPPER only: the registered
  // customers without an order (if the store indexes every one of them),
  // registered at or after this instant (Unix ms).
  bool registered_non_buyers = false;
  int64_t registered_from_ms = std::numeric_limits<int64_t>::min();
  if (previous != nullptr) {
    ConfigChangeScope scope = ScopeOfConfigChange(previous->config, current->config);
    if (scope.kind == ConfigChangeScope::Kind::kNobody) return absl::OkStatus();
    if (scope.aov_index_supersets_need_no_rechecks || !scope.unused_aov_index_supersets.empty()) {
      // Only updates like this one add rechecks, and the config's
      // compare-and-set runs them one at a time (the caller's condition: the
      // replaced config was not pending); this one's own concern indexes the
      // new config does not use. So none can appear that this count misses.
      absl::StatusOr<int64_t> rechecks = store_->RecheckCount(tenant);
      if (!rechecks.ok()) return rechecks.status();
      if (*rechecks > 0 && scope.aov_index_supersets_need_no_rechecks) {
        scope.aov_index_supersets.clear();
      }
      if (*rechecks == 0 && !scope.unused_aov_index_supersets.empty()) {
        absl::StatusOr<bool> kept = store_->AovIndexesKeptFromStart(tenant);
        if (!kept.ok()) return kept.status();
        if (*kept) {
          scope.aov_index_supersets.insert(scope.aov_index_supersets.end(),
                                           scope.unused_aov_index_supersets.begin(),
                                           scope.unused_aov_index_supersets.end());
        }
      }
    }
    if (scope.registration_index_superset) {
      absl::StatusOr<bool> indexed = store_->HasRegistrationIndex(tenant);
      if (!indexed.ok()) return indexed.status();
      registered_non_buyers = *indexed;
      // Anyone registered earlier is, at this instant and any later one, as
      // much a member of either rule under both configs, with no next
      // change from it.
      if (scope.registered_within_days.has_value()) {
        registered_from_ms = absl::ToUnixMillis(options_.now()) -
                             engine::DaysToMillis(*scope.registered_within_days);
      }
    }
    if (scope.kind == ConfigChangeScope::Kind::kBuyers) {
      lifetime_orders =
          engine::MeasureRange{scope.min_lifetime_orders,
                               scope.max_lifetime_orders == std::numeric_limits<int64_t>::max()
                                   ? scope.max_lifetime_orders
                                   : scope.max_lifetime_orders + 1};
    }
    if (!scope.cutoffs_only) {
      absl::StatusOr<Superset> smallest = SmallestSuperset(tenant, scope, lifetime_orders);
      if (!smallest.ok()) return smallest.status();
      superset = std::move(smallest->segment);
      aov_index = smallest->aov_index;
    }
    if (scope.cutoffs_only) {
      cutoffs = MovedCutoffs(*previous, *current);
      cutoffs->orders.insert(cutoffs->orders.end(), scope.lifetime_order_ranges.begin(),
                             scope.lifetime_order_ranges.end());
      if (cutoffs->orders.empty() && cutoffs->revenue.empty()) return absl::OkStatus();
    }
  }
  constexpr int kPage = 500;
  // SSCAN of a large set costs ~1.4 us per member on the benchmark machine:
  // pages of 250 keep each command well under Redis's 5 ms budget.
  constexpr int kSetPage = 250;
  absl::Status scan;
  if (lifetime_orders.has_value() || superset.has_value() || aov_index.has_value() ||
      registered_non_buyers) {
    // Candidates arrive as the index or set is read: work starts at once.
    std::vector<std::string> batch;
    // A page may repeat an id of an earlier one: each goes to one worker
    // once, or two workers would race (and retry) on the same customer.
    absl::flat_hash_set<std::string> seen;
    auto take = [&](std::vector<std::string> ids) {
      for (std::string& id : ids) {
        if (!seen.insert(id).second) continue;
        batch.push_back(std::move(id));
        if (batch.size() == kPage && !hand_over(std::exchange(batch, {}))) {
          return absl::CancelledError("scan stopped");
        }
      }
      return absl::OkStatus();
    };
    if (aov_index.has_value()) {
      scan = store_->ScanCustomersByAov(tenant, *aov_index, std::numeric_limits<int64_t>::min(),
                                        std::numeric_limits<int64_t>::max(), take);
    } else if (registered_non_buyers) {
      scan = store_->ScanRegisteredNonBuyers(tenant, registered_from_ms,
                                             std::numeric_limits<int64_t>::max(), take);
    } else if (cutoffs.has_value()) {
      // Narrow ranges around the cut-offs: read whole, one after another.
      for (const engine::MeasureRange& r : cutoffs->orders) {
        absl::StatusOr<std::vector<std::string>> ids =
            store_->CustomersByOrders(tenant, r.lo, r.hi);
        scan = ids.ok() ? take(*std::move(ids)) : ids.status();
        if (!scan.ok()) break;
      }
      for (const engine::MeasureRange& r : cutoffs->revenue) {
        if (!scan.ok()) break;
        absl::StatusOr<std::vector<std::string>> ids =
            store_->CustomersByRevenue(tenant, r.lo, r.hi);
        scan = ids.ok() ? take(*std::move(ids)) : ids.status();
      }
    } else if (superset.has_value()) {
      scan = store::ScanPages(
          [&](const std::string& cursor) {
            return store_->ScanSegment(tenant, *superset, cursor, kSetPage);
          },
          take);
    } else {
      scan = store_->ScanCustomersByOrders(tenant, lifetime_orders->lo, lifetime_orders->hi, take);
    }
    if (scan.ok() && !batch.empty()) hand_over(std::move(batch));
  } else {
    scan = store::ScanPages(
        [&](const std::string& cursor) { return store_->ScanCustomers(tenant, cursor, kPage); },
        [&](std::vector<std::string> ids) {
          return hand_over(std::move(ids)) ? absl::OkStatus()
                                           : absl::CancelledError("scan stopped");
        });
  }
  return scan;
}

absl::StatusOr<int64_t> LiveMembership::ReevaluateAll(
    const std::string& tenant, store::ChangeCause cause,
    std::shared_ptr<const TenantSnapshot> previous, int64_t* deferred) {
  if (deferred != nullptr) *deferred = 0;
  std::shared_ptr<const TenantSnapshot> current;
  if (previous != nullptr) {
    absl::StatusOr<std::shared_ptr<const TenantSnapshot>> snapshot = contexts_->Get(tenant);
    if (!snapshot.ok()) return snapshot.status();
    current = *std::move(snapshot);
  }
  std::atomic<int64_t> changed{0};
  std::atomic<int64_t> deferred_count{0};
  PageWorkers workers(options_.reevaluate_threads, [&](std::vector<std::string> page) {
    int64_t later = 0;
    absl::StatusOr<int64_t> moved =
        previous == nullptr ? Reevaluate(tenant, page, cause, /*most_written=*/false, /*threads=*/1)
                            : ApplyConfigMoves(tenant, page, *previous, *current, cause, &later);
    if (!moved.ok()) return moved.status();
    changed += *moved;
    deferred_count += later;
    return absl::OkStatus();
  });
  // Each page to the workers, waiting while they are behind; false once one
  // of them failed.
  absl::Status scan = ScanCandidates(
      tenant, previous.get(), current.get(),
      [&](std::vector<std::string> ids) { return workers.HandOver(std::move(ids)); });
  // A worker's error, if any, came first (and is what cancelled the scan).
  if (absl::Status s = workers.Finish(scan); !s.ok()) return s;
  if (deferred != nullptr) *deferred = deferred_count;
  return changed;
}

absl::StatusOr<std::vector<CustomerClassification>> LiveMembership::Classify(
    const std::string& tenant, const std::vector<std::string>& customer_ids, absl::Time as_of,
    bool with_reasons, bool historical, bool with_next_change) {
  absl::StatusOr<std::shared_ptr<const TenantSnapshot>> snapshot = contexts_->GetCurrent(tenant);
  if (!snapshot.ok()) return snapshot.status();
  // Each distinct id once, in order of first mention.
  std::vector<std::string> distinct;
  std::vector<size_t> slot(customer_ids.size());
  {
    absl::flat_hash_map<absl::string_view, size_t> seen;
    for (size_t i = 0; i < customer_ids.size(); ++i) {
      auto [it, added] = seen.try_emplace(customer_ids[i], distinct.size());
      if (added) distinct.push_back(customer_ids[i]);
      slot[i] = it->second;
    }
  }
  std::vector<CustomerClassification> classified;
  // A category another replica interned after the snapshot was loaded has
  // no name in it yet: the call is classified again with a fresh snapshot,
  // every chunk (so that one config answers the whole call), never shown
  // under a made-up name.
  for (bool reloaded = false;; reloaded = true) {
    // One classifier for the call. At an explicit as_of, with the store AOV
    // of the window ending then (the orders placed in it, as known now), as
    // PreviewConfig counts it; the percentile cut-offs are the current ones
    // (docs/live.md, Known limits).
    std::shared_ptr<const engine::Classifier> classifier = (*snapshot)->classifier;
    if (historical) {
      absl::StatusOr<std::shared_ptr<const engine::Classifier>> at =
          contexts_->ClassifierAt(tenant, *snapshot, as_of);
      if (!at.ok()) return at.status();
      classifier = *std::move(at);
    }
    classified.clear();
    classified.reserve(distinct.size());
    bool all_named = true;
    for (size_t begin = 0; begin < distinct.size(); begin += kClassifyChunk) {
      const std::vector<std::string> chunk(
          distinct.begin() + begin,
          distinct.begin() + std::min(distinct.size(), begin + kClassifyChunk));
      absl::StatusOr<std::vector<CustomerClassification>> part =
          ClassifyDistinct(tenant, **snapshot, *classifier, chunk, as_of, with_reasons, historical,
                           with_next_change, &all_named);
      if (!part.ok()) return part.status();
      for (CustomerClassification& c : *part) classified.push_back(std::move(c));
    }
    if (all_named || reloaded) break;
    snapshot = contexts_->Reload(tenant);
    if (!snapshot.ok()) return snapshot.status();
  }
  if (distinct.size() == customer_ids.size()) return classified;
  std::vector<CustomerClassification> out;
  out.reserve(customer_ids.size());
  for (size_t i = 0; i < customer_ids.size(); ++i) out.push_back(classified[slot[i]]);
  return out;
}

absl::StatusOr<std::vector<CustomerClassification>> LiveMembership::ClassifyDistinct(
    const std::string& tenant, const TenantSnapshot& ctx, const engine::Classifier& classifier,
    const std::vector<std::string>& customer_ids, absl::Time as_of, bool with_reasons,
    bool historical, bool with_next_change, bool* all_named) {
  // The profile alone: history, membership and the rest are not needed.
  absl::StatusOr<std::vector<store::ProfileRead>> states =
      store_->ReadProfiles(tenant, customer_ids);
  if (!states.ok()) return states.status();
  std::vector<CustomerClassification> out(states->size());
  const auto names = ctx.category_names;
  auto category_name = [&names](engine::CategoryId id) {
    return id < names->size() ? (*names)[id] : absl::StrCat("#", id);
  };
  for (size_t i = 0; i < states->size(); ++i) {
    out[i].category_names = names;
    if ((*states)[i].profile.empty()) continue;  // not stored
    absl::StatusOr<engine::Profile> profile = DecodeStoredProfileBytes((*states)[i].profile);
    if (!profile.ok()) return profile.status();
    out[i].found = true;
    const engine::ProfileView view = profile->view();
    out[i].existed = view.FirstKnownMs() <= engine::ToMillis(as_of);
    // Classifies the customer at `at` into `c`, refusing an instant its
    // history does not answer exactly.
    auto classify_at = [&](absl::Time at, engine::Classification* c) -> absl::Status {
      if (historical) {
        if (absl::Status s = CheckExactAt(view, {&ctx.config}, at, customer_ids[i]); !s.ok()) {
          return s;
        }
      }
      // Before every message dropped from history, membership is exact but a
      // next change at or after the first of them is unknown (it may lie
      // among them): looked for only before it, and refused when none is.
      const absl::Time known_until = historical && with_next_change
                                         ? engine::KnownUntil(view, ctx.config, at)
                                         : absl::InfiniteFuture();
      if (known_until != absl::InfiniteFuture()) {
        classifier.ClassifyUntil(view, at, known_until, c);
        if (!c->next_change.has_value()) {
          return absl::OutOfRangeError(absl::StrCat(
              "as_of: the next change of customer ", customer_ids[i], " after ",
              absl::FormatTime(at), " is unknown: its messages from ",
              absl::FormatTime(known_until),
              " on are kept only in summary (it can be classified with its next change from ",
              absl::FormatTime(engine::EarliestExactInstant(view, ctx.config)),
              " on; targeting at this as_of, which needs no next change, is answered)"));
        }
      } else if (with_next_change) {
        classifier.Classify(view, at, c);
      } else {
        classifier.ClassifyMembership(view, at, c);
      }
      return absl::OkStatus();
    };
    if (historical && KnownNotACustomerYet(view, as_of, ctx.config)) {
      // In no segment then, exactly, not refused. Its next change is its
      // first fact's instant if that puts it in a segment, else the next
      // change from there (a reviewer found it unset, which says "never").
      // Unknown when messages dropped from history were sent before that
      // fact (they may have moved it), or when the fact's instant is not
      // answered exactly: refused, as other unknown next changes are.
      if (with_next_change) {
        const absl::Time first = engine::FromMillis(view.FirstKnownMs());
        const bool dropped_before = view.messages_dropped && ctx.config.engagement.enabled &&
                                    view.messages_dropped_from_ms < view.FirstKnownMs();
        engine::Classification then;
        const absl::Status s = dropped_before ? absl::OkStatus() : classify_at(first, &then);
        if (dropped_before || absl::IsOutOfRange(s)) {
          return absl::OutOfRangeError(absl::StrCat(
              "as_of: the next change of customer ", customer_ids[i], " after ",
              absl::FormatTime(as_of), " is unknown: its history before ",
              absl::FormatTime(engine::EarliestExactInstant(view, ctx.config)),
              " is kept only in summary (targeting at this as_of, which needs no next change, is "
              "answered)"));
        }
        if (!s.ok()) return s;
        const bool member = !then.segments.empty() || !then.categories.empty();
        out[i].classification.next_change = member ? first : then.next_change;
      }
      continue;
    }
    if (absl::Status s = classify_at(as_of, &out[i].classification); !s.ok()) return s;
    *all_named = *all_named && NamesAll(ctx, out[i].classification);
    if (with_reasons) out[i].reasons = classifier.Explain(view, as_of, category_name);
  }
  return out;
}

}  // namespace segmentd

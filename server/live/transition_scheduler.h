#ifndef SEGMENTD_SERVER_LIVE_TRANSITION_SCHEDULER_H_
#define SEGMENTD_SERVER_LIVE_TRANSITION_SCHEDULER_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "server/live/live_membership.h"
#include "server/live/periodic_task.h"
#include "server/live/profile_backfill.h"
#include "server/metrics/metrics.h"
#include "store/customer_store.h"

namespace segmentd {

// Applies time-driven membership changes: a background thread that polls each
// tenant's schedule (customers whose next change has fallen due) and
// re-classifies those customers, so "Loyal becomes Lost Loyalty on day 90"
// happens with no event and no rebuild. Each pass also reads every tenant's
// next instant, and the thread wakes at the earliest one rather than at the
// next poll, so a change the passes know of is applied milliseconds after
// it falls due, not up to a poll interval later. Several segmentd processes may run one
// each: the store's optimistic writes make a customer moved twice harmless
// (the second sees nothing left to change), and with `leading` set only the
// leader takes customers as they fall due, the others only those it left
// due for longer than `follower_grace`. It also re-classifies the
// rechecks a config update left (LiveMembership::DrainRechecks), so a replica
// that dies mid-way leaves them to the others, and, leading, fills what
// tenants stored before the order record and the registration index existed
// lack (ProfileBackfill).
// Thread-safe.
class TransitionScheduler {
 public:
  struct Options {
    // Pause between full passes (every tenant's schedule read, rechecks,
    // backfills). A change scheduled at least this long before it falls due
    // is known to the thread, which wakes at its instant; one scheduled
    // later (an event or another replica's write moved a customer's next
    // change closer) is applied within about this long (plus the pass
    // itself) after it falls due.
    absl::Duration poll = absl::Milliseconds(200);
    // Shortest pause before a wake-up at a known instant: customers falling
    // due continuously are then taken in passes at most this often.
    absl::Duration min_pause = absl::Milliseconds(5);
    // Customers re-classified per store round trip.
    int batch = 500;
    // Longest a pass spends on rechecks (customers whose next change a
    // config update left to the background), all tenants together, after
    // it has moved every tenant's due customers: a due change then waits
    // at most this plus `poll`.
    absl::Duration recheck_slice = absl::Milliseconds(400);
    std::function<absl::Time()> now = [] { return absl::Now(); };
    // Where the lag of due customers is observed (one more schedule read per
    // tenant in a pass that finds customers due); null: nowhere.
    Metrics* metrics = nullptr;
    // Whether this replica leads the time-driven moves, asked once per pass
    // (e.g. SchedulerLease::Held). A leader takes customers as they fall
    // due; the others only those due for longer than `follower_grace`, so
    // that replicas do not repeat a live leader's work, while without one
    // (it died, its lease cannot be read) every change is still taken, that
    // much later. A follower may then take a change grace + poll +
    // recheck_slice + its pass after it fell due: keep that under the 1 s
    // promise (250 + 200 + 400 ms by default). Unset: this replica leads (a
    // single process).
    std::function<bool()> leading;
    absl::Duration follower_grace = absl::Milliseconds(250);
    // Fill what tenants stored before them lack (the order record, the
    // registration index), in turn, while this replica leads, after the
    // rechecks, for at most `backfill_slice` per pass (all backfills and
    // tenants together) and within the recheck slice. A one-off migration,
    // so it takes a small share: given the whole slice the order record's
    // took ~0.6 of Redis's core at 1M customers, and PlaceOrder at 1000/s
    // meanwhile saw p99 87 ms instead of 3.6 ms (docs/benchmarks.md,
    // thirteenth pass).
    std::vector<ProfileBackfill*> backfills;
    absl::Duration backfill_slice = absl::Milliseconds(100);
  };

  // Returns the tenant ids to serve; called once per pass.
  using TenantLister = std::function<absl::StatusOr<std::vector<std::string>>()>;

  // Every pointer must outlive the scheduler. Call Start() to run it in the
  // background; tests may call RunOnce() instead.
  TransitionScheduler(store::CustomerStore* store, LiveMembership* live, TenantLister tenants,
                      Options options);

  // Starts passes every `poll` on a background thread, with wake-ups at the
  // known instants between them, until destruction.
  void Start();

  // Runs one pass now: every tenant, until nothing is due. Returns the number of
  // customers whose membership changed, or the first tenant's error (the other
  // tenants are still served; errors are logged).
  absl::StatusOr<int64_t> RunOnce();

  // Runs the tenants whose next instant, as the passes last read it, has
  // fallen due (for this replica, leading or not as the last full pass
  // asked: see `leading`), until nothing of theirs is due. Returns what
  // RunOnce does.
  absl::StatusOr<int64_t> RunKnownDue();

  // How long from now until the earliest next instant the passes read falls
  // due for this replica (negative when one has; InfiniteDuration when none
  // is known).
  absl::Duration UntilNextKnownDue();

 private:
  // Observes in options_.metrics how long `tenant`'s oldest due customer has
  // been due (one schedule read; only when something is due).
  void ObserveLag(const std::string& tenant);
  // Moves `tenant`'s customers due at `due_by`, adding to `moved`, then
  // reads its next instant into `next_due_`: the first after `due_by`, so
  // that customers that could not be moved (still due) are retried by the
  // next full pass, not by a wake-up every `min_pause`.
  absl::Status RunDue(const std::string& tenant, absl::Time due_by, int64_t* moved);
  // What the loop started by Start() runs: a full pass every `poll`, the
  // known instants between; returns the pause before the next run.
  absl::Duration RunNext();
  // How long after its instant a change is due for this replica: nothing
  // when leading (as the last full pass asked), the follower grace when not.
  absl::Duration Grace() const;
  // Works through `tenant`'s rechecks, a page at a time, until none are
  // left or `deadline` (SteadyNow) passes.
  absl::Status DrainRechecks(const std::string& tenant, absl::Duration deadline);
  // Runs `backfill` over `tenant`, a page at a time, until it is complete
  // (returns true) or `deadline` (SteadyNow) passes (false).
  absl::StatusOr<bool> Backfill(ProfileBackfill& backfill, const std::string& tenant,
                                absl::Duration deadline);

  store::CustomerStore* const store_;
  LiveMembership* const live_;
  const TenantLister tenants_;
  const Options options_;
  std::atomic<uint64_t> passes_{0};  // RunOnce calls so far
  // Per tenant, the schedule head whose lag was last observed.
  absl::Mutex heads_mu_;
  absl::flat_hash_map<std::string, absl::Time> observed_heads_ ABSL_GUARDED_BY(heads_mu_);
  // Per tenant, its next instant as the last pass read it.
  absl::Mutex next_mu_;
  absl::flat_hash_map<std::string, absl::Time> next_due_ ABSL_GUARDED_BY(next_mu_);
  std::atomic<bool> leading_{true};                            // as the last full pass asked
  absl::Duration last_full_pass_ = -absl::InfiniteDuration();  // SteadyNow(); Start's thread only
  std::unique_ptr<PeriodicTask> task_;
};

}  // namespace segmentd

#endif  // SEGMENTD_SERVER_LIVE_TRANSITION_SCHEDULER_H_

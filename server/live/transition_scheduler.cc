#include "server/live/transition_scheduler.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "server/log.h"
#include "server/steady_clock.h"

namespace segmentd {

TransitionScheduler::TransitionScheduler(store::CustomerStore* store, LiveMembership* live,
                                         TenantLister tenants, Options options)
    : store_(store), live_(live), tenants_(std::move(tenants)), options_(std::move(options)) {}

void TransitionScheduler::Start() {
  // A failed pass (Redis down) is retried on the next tick; health already
  // reports the outage.
  task_ = std::make_unique<PeriodicTask>(options_.poll, [this] { RunOnce().IgnoreError(); });
}

absl::StatusOr<int64_t> TransitionScheduler::RunOnce() {
  absl::StatusOr<std::vector<std::string>> tenants = tenants_();
  if (!tenants.ok()) return tenants.status();
  int64_t moved = 0;
  absl::Status first_error;
  // One tenant's trouble must not hold up the others: note it and go on.
  auto note = [&](absl::string_view what, const std::string& tenant, const absl::Status& s) {
    if (s.ok()) return;
    LogError(absl::StrCat(what, " of tenant ", tenant, ": ", s.message()));
    if (first_error.ok()) first_error = s;
  };
  const bool leading = !options_.leading || options_.leading();
  const absl::Time due_by =
      options_.now() - (leading ? absl::ZeroDuration() : options_.follower_grace);
  for (const std::string& tenant : *tenants) {
    note("time transitions", tenant, RunDue(tenant, due_by, &moved));
  }
  // Then rechecks, in one slice per pass shared by all tenants (starting
  // from another tenant each pass), so that every tenant's due customers
  // wait at most a slice and a poll interval, however many tenants drain.
  const absl::Duration deadline = SteadyNow() + options_.recheck_slice;
  const size_t n = tenants->size();
  const uint64_t pass = passes_++;
  for (size_t i = 0; i < n && SteadyNow() < deadline; ++i) {
    const std::string& tenant = (*tenants)[(pass + i) % n];
    note("rechecks", tenant, DrainRechecks(tenant, deadline));
  }
  // Then, for at most backfill_slice of what is left of the slice, what
  // tenants stored before the order record and the registration index
  // existed lack: the leader's work alone (it is the same on every replica).
  // A backfill goes on with a tenant only once the one before it is done
  // with that tenant.
  if (!options_.backfills.empty() && leading) {
    const absl::Duration backfill_deadline =
        std::min(deadline, SteadyNow() + options_.backfill_slice);
    for (size_t i = 0; i < n && SteadyNow() < backfill_deadline; ++i) {
      const std::string& tenant = (*tenants)[(pass + i) % n];
      for (ProfileBackfill* backfill : options_.backfills) {
        absl::StatusOr<bool> complete = Backfill(*backfill, tenant, backfill_deadline);
        note(absl::StrCat(backfill->what(), " backfill"), tenant, complete.status());
        if (!complete.ok() || !*complete) break;
      }
    }
  }
  if (!first_error.ok()) return first_error;
  return moved;
}

absl::Status TransitionScheduler::DrainRechecks(const std::string& tenant,
                                                absl::Duration deadline) {
  while (SteadyNow() < deadline) {
    absl::StatusOr<int64_t> rechecked = live_->DrainRechecks(tenant, options_.batch);
    if (!rechecked.ok()) return rechecked.status();
    if (*rechecked < options_.batch) return absl::OkStatus();
  }
  return absl::OkStatus();
}

absl::StatusOr<bool> TransitionScheduler::Backfill(ProfileBackfill& backfill,
                                                   const std::string& tenant,
                                                   absl::Duration deadline) {
  while (SteadyNow() < deadline) {
    absl::StatusOr<bool> complete = backfill.Step(tenant, options_.batch);
    if (!complete.ok() || *complete) return complete;
  }
  return false;
}

absl::Status TransitionScheduler::RunDue(const std::string& tenant, absl::Time due_by,
                                        int64_t* moved) {
  std::vector<std::string> previous;
  while (true) {
    absl::StatusOr<std::vector<std::string>> due = store_->Due(tenant, due_by, options_.batch);
    if (!due.ok()) return due.status();
    // Nothing due, or the same customers as last round (they could not be
    // re-classified, e.g. undecodable): this pass is done with the tenant.
    if (due->empty() || *due == previous) return absl::OkStatus();
    if (previous.empty() && options_.metrics != nullptr) ObserveLag(tenant);
    absl::StatusOr<int64_t> changed = live_->Reevaluate(tenant, *due, store::ChangeCause::kTime);
    if (!changed.ok()) return changed.status();
    *moved += *changed;
    // Re-evaluation reschedules every customer it saw past now, so a full
    // batch means there may be more; a short one means the tenant is done.
    if (static_cast<int>(due->size()) < options_.batch) return absl::OkStatus();
    previous = *std::move(due);
  }
}

void TransitionScheduler::ObserveLag(const std::string& tenant) {
  // The schedule's first entry is the oldest due customer (another replica
  // may have just moved it: then this is the next one, a slight undercount).
  absl::StatusOr<std::optional<absl::Time>> oldest = store_->NextDue(tenant);
  if (!oldest.ok() || !oldest->has_value()) return;
  // A head that stays (a customer that cannot be re-classified stays due)
  // is observed once, not with a lag growing every pass.
  {
    absl::MutexLock lock(&heads_mu_);
    auto [last, first_time] = observed_heads_.try_emplace(tenant, **oldest);
    if (!first_time && last->second == **oldest) return;
    last->second = **oldest;
  }
  const absl::Duration lag = options_.now() - **oldest;
  if (lag >= absl::ZeroDuration()) options_.metrics->ObserveTransitionLag(lag);
}

}  // namespace segmentd

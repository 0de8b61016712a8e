#include "server/live/transition_scheduler.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "server/log.h"
#include "server/log_throttle.h"
#include "server/steady_clock.h"

namespace segmentd {

namespace {

// One tenant's trouble must not hold up the others: logs a failed step of
// `tenant` and keeps the first such error in `first_error`, and the pass
// goes on.
void NoteTenantError(absl::string_view what, const std::string& tenant, const absl::Status& s,
                     absl::Status& first_error) {
  if (s.ok()) return;
  LogErrorThrottled(absl::StrCat(what, " of tenant ", tenant, ": ", s.message()));
  if (first_error.ok()) first_error = s;
}

}  // namespace

TransitionScheduler::TransitionScheduler(store::CustomerStore* store, LiveMembership* live,
                                         TenantLister tenants, Options options)
    : store_(store), live_(live), tenants_(std::move(tenants)), options_(std::move(options)) {}

void TransitionScheduler::Start() {
  task_ = std::make_unique<PeriodicTask>([this] { return RunNext(); });
}

absl::Duration TransitionScheduler::RunNext() {
  // A failed pass (Redis down) is retried on the next one; health already
  // reports the outage.
  // `poll` runs from the end of one full pass to the start of the next, as
  // it did between PeriodicTask's runs: a pass that takes longer (a recheck
  // slice, a backfill) is not followed by another at once.
  if (SteadyNow() - last_full_pass_ >= options_.poll) {
    RunOnce().IgnoreError();
    last_full_pass_ = SteadyNow();
  } else {
    RunKnownDue().IgnoreError();
  }
  const absl::Duration to_full_pass = last_full_pass_ + options_.poll - SteadyNow();
  return std::max(std::min(to_full_pass, UntilNextKnownDue()), options_.min_pause);
}

absl::Duration TransitionScheduler::Grace() const {
  return leading_ ? absl::ZeroDuration() : options_.follower_grace;
}

absl::Duration TransitionScheduler::UntilNextKnownDue() {
  absl::Time earliest = absl::InfiniteFuture();
  {
    absl::MutexLock lock(&next_mu_);
    for (const auto& [tenant, at] : next_due_) earliest = std::min(earliest, at);
  }
  if (earliest == absl::InfiniteFuture()) return absl::InfiniteDuration();
  return earliest + Grace() - options_.now();
}

absl::StatusOr<int64_t> TransitionScheduler::RunKnownDue() {
  // Leadership as the last full pass asked it (`leading` is a lease round
  // trip, asked once per pass): a replica that lost the lease since then
  // takes a few customers a leader may take too, which is harmless.
  const absl::Time due_by = options_.now() - Grace();
  std::vector<std::string> tenants;
  {
    absl::MutexLock lock(&next_mu_);
    for (const auto& [tenant, at] : next_due_) {
      if (at <= due_by) tenants.push_back(tenant);
    }
  }
  int64_t moved = 0;
  absl::Status first_error;
  for (const std::string& tenant : tenants) {
    NoteTenantError("time transitions", tenant, RunDue(tenant, due_by, &moved), first_error);
  }
  if (!first_error.ok()) return first_error;
  return moved;
}

absl::StatusOr<int64_t> TransitionScheduler::RunOnce() {
  absl::StatusOr<std::vector<std::string>> tenants = tenants_();
  if (!tenants.ok()) return tenants.status();
  int64_t moved = 0;
  absl::Status first_error;
  auto note = [&](absl::string_view what, const std::string& tenant, const absl::Status& s) {
    NoteTenantError(what, tenant, s, first_error);
  };
  const bool leading = !options_.leading || options_.leading();
  leading_ = leading;
  const absl::Time due_by = options_.now() - Grace();
  // Every tenant's schedule head, rechecks and customer count, read many
  // tenants per round trip: the rest of the pass then asks only the tenants
  // with something to do (asking each in turn, three round trips a tenant,
  // a pass over 5,000 tenants without customers took about a second, and
  // time-driven changes waited as long).
  absl::StatusOr<std::vector<store::CustomerStore::TenantSurvey>> survey =
      store_->SurveyTenants(*tenants);
  if (!survey.ok()) return survey.status();
  std::vector<std::string> with_rechecks, with_customers;
  {
    // Tenants gone since the last pass are not woken for.
    absl::MutexLock lock(&next_mu_);
    next_due_.clear();
    for (size_t i = 0; i < tenants->size(); ++i) {
      const store::CustomerStore::TenantSurvey& s = (*survey)[i];
      if (!s.status.ok()) continue;  // noted below
      if (s.next_due.has_value() && *s.next_due > due_by) next_due_[(*tenants)[i]] = *s.next_due;
      if (s.rechecks > 0) with_rechecks.push_back((*tenants)[i]);
      if (s.customers > 0) with_customers.push_back((*tenants)[i]);
    }
  }
  for (size_t i = 0; i < tenants->size(); ++i) {
    note("survey", (*tenants)[i], (*survey)[i].status);
    const std::optional<absl::Time>& next_due = (*survey)[i].next_due;
    if (next_due.has_value() && *next_due <= due_by) {
      note("time transitions", (*tenants)[i], RunDue((*tenants)[i], due_by, &moved));
    }
  }
  // Then rechecks, in one slice per pass shared by all tenants (starting
  // from another tenant each pass), so that every tenant's due customers
  // wait at most a slice and a poll interval, however many tenants drain.
  const absl::Duration deadline = SteadyNow() + options_.recheck_slice;
  const uint64_t pass = passes_++;
  for (size_t i = 0; i < with_rechecks.size() && SteadyNow() < deadline; ++i) {
    const std::string& tenant = with_rechecks[(pass + i) % with_rechecks.size()];
    note("rechecks", tenant, DrainRechecks(tenant, deadline));
  }
  // Then, for at most backfill_slice of what is left of the slice, what
  // tenants stored before the order record and the registration index
  // existed lack: the leader's work alone (it is the same on every replica).
  // A backfill goes on with a tenant only once the one before it is done
  // with that tenant. A tenant without customers has nothing to fill.
  if (!options_.backfills.empty() && leading) {
    const absl::Duration backfill_deadline =
        std::min(deadline, SteadyNow() + options_.backfill_slice);
    const size_t n = with_customers.size();
    for (size_t i = 0; i < n && SteadyNow() < backfill_deadline; ++i) {
      const std::string& tenant = with_customers[(pass + i) % n];
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
  {
    // Until it is read again below (on an error: until a pass reads it).
    absl::MutexLock lock(&next_mu_);
    next_due_.erase(tenant);
  }
  std::vector<std::string> previous;
  while (true) {
    absl::StatusOr<std::vector<std::string>> due = store_->Due(tenant, due_by, options_.batch);
    if (!due.ok()) return due.status();
    // Nothing due, or the same customers as last round (they could not be
    // re-classified, e.g. undecodable): this pass is done with the tenant.
    if (due->empty() || *due == previous) break;
    if (previous.empty() && options_.metrics != nullptr) ObserveLag(tenant);
    absl::StatusOr<int64_t> changed = live_->Reevaluate(tenant, *due, store::ChangeCause::kTime);
    if (!changed.ok()) return changed.status();
    *moved += *changed;
    // Re-evaluation reschedules every customer it saw past now, so a full
    // batch means there may be more; a short one means the tenant is done.
    if (static_cast<int>(due->size()) < options_.batch) break;
    previous = *std::move(due);
  }
  // The tenant's next instant, to wake at: the first after `due_by`. One
  // still due by then is a customer that could not be moved (or
  // rescheduled), left to the next full pass rather than retried every
  // min_pause.
  absl::StatusOr<std::optional<absl::Time>> next = store_->NextDueAfter(tenant, due_by);
  if (!next.ok()) return next.status();
  if (next->has_value()) {
    absl::MutexLock lock(&next_mu_);
    next_due_[tenant] = **next;
  }
  return absl::OkStatus();
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

#include "server/targeting/freshness_gate.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace segmentd::targeting {

FreshnessGate::FreshnessGate(MembershipIndex* index, VoucherStore* vouchers, size_t max_queued,
                             absl::Duration keep_fresh_every)
    : index_(index),
      vouchers_(vouchers),
      max_queued_(max_queued),
      keep_fresh_every_(keep_fresh_every) {}

FreshnessGate::~FreshnessGate() {
  std::vector<std::thread*> workers;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    for (auto& [id, t] : tenants_) workers.push_back(&t.worker);
  }
  for (std::thread* w : workers) w->join();
}

void FreshnessGate::WhenFresh(absl::string_view tenant, Continuation done) {
  absl::Status refused = absl::UnavailableError("segmentd is shutting down");
  {
    absl::MutexLock lock(&mu_);
    if (!stopping_) {
      auto [it, inserted] = tenants_.try_emplace(tenant);
      Tenant& t = it->second;
      if (t.queue.size() < max_queued_) {
        t.queue.push_back(std::move(done));
        t.last_queued = absl::Now();
        if (inserted) {
          t.worker = std::thread([this, id = std::string(tenant), p = &t] { Run(id, p); });
        }
        return;
      }
      refused = absl::ResourceExhaustedError(
          absl::StrCat(t.queue.size(), " eligibility checks are waiting; retry later"));
    }
  }
  done(refused);
}

absl::StatusOr<FreshnessGate::Fresh> FreshnessGate::Refresh(const std::string& tenant) {
  Fresh fresh;
  fresh.as_of = absl::Now();
  absl::StatusOr<std::string> version = vouchers_->ReadVersion(tenant);
  if (!version.ok()) return version.status();
  fresh.voucher_version = *std::move(version);
  if (absl::Status s = index_->AwaitFresh(tenant); !s.ok()) return s;
  return fresh;
}

void FreshnessGate::Run(const std::string& tenant, Tenant* t) {
  while (true) {
    std::vector<Continuation> round;
    bool stopping = false;
    bool recently_used = false;
    {
      absl::MutexLock lock(&mu_);
      struct Wake {
        Tenant* t;
        const bool* stopping;
        bool operator()() const ABSL_NO_THREAD_SAFETY_ANALYSIS {
          return *stopping || !t->queue.empty();
        }
      } wake{t, &stopping_};
      if (keep_fresh_every_ > absl::ZeroDuration()) {
        mu_.AwaitWithTimeout(absl::Condition(&wake), keep_fresh_every_);
      } else {
        mu_.Await(absl::Condition(&wake));
      }
      round.swap(t->queue);
      stopping = stopping_;
      recently_used = absl::Now() - t->last_queued < kKeepFreshFor;
    }
    if (round.empty() && !stopping) {
      // Idle: keep what bounded checks rely on fresh while they come (their
      // own fallback reports any failure).
      if (recently_used) Refresh(tenant).IgnoreError();
      continue;
    }
    if (stopping) {
      for (Continuation& done : round) done(absl::UnavailableError("segmentd is shutting down"));
      absl::MutexLock lock(&mu_);
      if (t->queue.empty()) return;  // WhenFresh queues nothing once stopping.
      continue;
    }
    const absl::StatusOr<Fresh> fresh = Refresh(tenant);
    for (Continuation& done : round) done(fresh);
  }
}

}  // namespace segmentd::targeting

#include "server/live/transition_scheduler.h"

#include <utility>

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
  for (const std::string& tenant : *tenants) {
    while (true) {
      absl::StatusOr<std::vector<std::string>> due =
          store_->Due(tenant, options_.now(), options_.batch);
      if (!due.ok()) return due.status();
      if (due->empty()) break;
      absl::StatusOr<int64_t> changed = live_->Reevaluate(tenant, *due, store::ChangeCause::kTime);
      if (!changed.ok()) return changed.status();
      moved += *changed;
      // Re-evaluation reschedules every customer it saw past now, so a full
      // batch means there may be more; a short one means the tenant is done.
      if (static_cast<int>(due->size()) < options_.batch) break;
    }
  }
  return moved;
}

}  // namespace segmentd

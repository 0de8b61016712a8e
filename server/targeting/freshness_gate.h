#ifndef SEGMENTD_SERVER_TARGETING_FRESHNESS_GATE_H_
#define SEGMENTD_SERVER_TARGETING_FRESHNESS_GATE_H_

// FreshnessGate: runs a continuation once the membership index and the
// voucher targets are at least as new as the store was when the caller
// asked, without a thread waiting per caller. It is the checkout hot path's
// answer to "every check includes every change acknowledged before it"
// (docs/targeting.md): a blocked thread per check made the sync server spawn
// a thread per queued call under load, until its thread cap refused calls.
//
// Per tenant, one worker thread takes every continuation queued so far, then
// reads the voucher version (VoucherStore::ReadVersion) and waits until the
// index has applied the newest change and knows every customer
// (MembershipIndex::AwaitFresh); both
// reads begin after every taken continuation was queued. It then runs the
// continuations in order, on the worker thread (keep them short: evaluate
// and reply), with the voucher version to read targets at, or with the error
// (UNAVAILABLE when membership cannot be known: fail closed). Continuations
// queued meanwhile wait for the next round, so under load one pair of reads
// serves many calls.
//
// With `keep_fresh_every` > 0, an idle worker also runs a round that often
// for a tenant that queued a continuation in the last 10 s: it keeps the
// voucher version read recently (VoucherStore::VersionKnownWithin), so that
// bounded-staleness checks (CONSISTENCY_MINIMIZE_LATENCY) are not sent here
// in a burst each time it would expire.
//
// Thread-safe. `index` and `vouchers` must outlive the gate. The destructor
// runs every continuation still queued with UNAVAILABLE, then stops the
// workers.

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/node_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "server/targeting/membership_index.h"
#include "server/targeting/voucher_store.h"

namespace segmentd::targeting {

class FreshnessGate {
 public:
  // What a continuation may rely on: the index has applied every change
  // committed before the call (read it with fresh = false), and
  // `voucher_version` is the tenant's voucher version as of after the call
  // (for VoucherStore::GetAt).
  struct Fresh {
    std::string voucher_version;
    // When the round's reads were sent: every change committed before it is
    // in the index.
    absl::Time as_of;
  };
  using Continuation = std::function<void(absl::StatusOr<Fresh>)>;

  // Most continuations waiting per tenant; past it WhenFresh answers
  // RESOURCE_EXHAUSTED at once (overload is refused, not queued without
  // bound).
  static constexpr size_t kDefaultMaxQueued = 20'000;

  FreshnessGate(MembershipIndex* index, VoucherStore* vouchers,
                size_t max_queued = kDefaultMaxQueued,
                absl::Duration keep_fresh_every = absl::ZeroDuration());
  ~FreshnessGate();

  FreshnessGate(const FreshnessGate&) = delete;
  FreshnessGate& operator=(const FreshnessGate&) = delete;

  // Queues `done` for `tenant`; it runs exactly once, on a worker thread (or
  // at once on the caller's thread when refused: RESOURCE_EXHAUSTED,
  // UNAVAILABLE while shutting down).
  void WhenFresh(absl::string_view tenant, Continuation done) ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct Tenant {
    std::vector<Continuation> queue;
    std::thread worker;
    // When a continuation was last queued.
    absl::Time last_queued = absl::InfinitePast();
  };

  // How long after the last queued continuation idle rounds continue.
  static constexpr absl::Duration kKeepFreshFor = absl::Seconds(10);

  // The worker of `tenant`: rounds until stopping.
  void Run(const std::string& tenant, Tenant* t) ABSL_LOCKS_EXCLUDED(mu_);
  // One round's reads.
  absl::StatusOr<Fresh> Refresh(const std::string& tenant);

  MembershipIndex* const index_;
  VoucherStore* const vouchers_;
  const size_t max_queued_;
  const absl::Duration keep_fresh_every_;
  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  // node_hash_map: workers hold a pointer to their entry.
  absl::node_hash_map<std::string, Tenant> tenants_ ABSL_GUARDED_BY(mu_);
};

}  // namespace segmentd::targeting

#endif  // SEGMENTD_SERVER_TARGETING_FRESHNESS_GATE_H_

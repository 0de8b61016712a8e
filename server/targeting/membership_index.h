#ifndef SEGMENTD_SERVER_TARGETING_MEMBERSHIP_INDEX_H_
#define SEGMENTD_SERVER_TARGETING_MEMBERSHIP_INDEX_H_

// MembershipIndex: an in-process copy of every tenant's segment membership as
// compressed bitmaps (CRoaring) over customer ordinals, for set algebra at
// memory speed (Redis set operations on large sets block Redis).
//
// Per tenant, loaded lazily on the first query:
//   1. take the change-stream position P (LastChangePosition),
//   2. read every customer's ordinal in ordinal order (ScanCustomers pages),
//   3. read every segment's members (ScanSegment = SSCAN pages; the fixed
//      segments and "category:<name>" for every category in the tenant's
//      dictionary: ingest interns a category before any customer can enter
//      its segment),
//   4. then apply every change after P, in stream order, forever (one thread
//      per tenant, ReadChanges on `tail_store`), and pick up new customers'
//      ordinals as they appear.
// A membership that changed during the load has a change after P, so
// replaying the stream makes the bitmaps equal to the stored sets; changes
// written by any segmentd process on the same Redis arrive the same way.
//
// Fresh reads are consistent with acknowledged writes and fail closed: Read()
// first learns the store's newest change position and customer count
// (ReadChangeHead) and waits (bounded) until the index has applied that change
// and knows that many customers, reading those it lacks itself (a customer
// whose write entered no segment has no change to apply), so a query sees
// every change and customer committed before it began. Concurrent queries
// share that one small read (CoalescedRead: each is answered by a read that
// began after it asked), so under load the hot path costs a fraction of a
// round trip per query. While a tenant is loading,
// its tail is failing or Redis is unreachable, Read() returns UNAVAILABLE,
// never a guess. ReadIfFreshWithin() instead answers from the index as it
// stands when the tail has recently proven it current (bounded staleness,
// no store read), and declines otherwise.
//
// Every store command is small: SSCAN/HMGET pages of `scan_count`, XREAD of
// `change_batch` entries; nothing reads a whole set at once.
//
// A tail that falls more than the stream's cap behind (changes it never read
// were trimmed) is detected after each read and rebuilds the tenant's index;
// queries fail closed meanwhile.
//
// Thread-safe. The stores must outlive the index; the destructor stops every
// tenant's thread.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <roaring/roaring.h>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/node_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "segmentd/v1/targeting.pb.h"
#include "store/customer_store.h"

namespace segmentd::targeting {

// An owned roaring bitmap of customer ordinals. Move-only; thread-compatible.
class Bitmap {
 public:
  Bitmap() : bits_(roaring_bitmap_create()) {}
  explicit Bitmap(roaring_bitmap_t* bits) : bits_(bits) {}
  Bitmap(Bitmap&& other) noexcept : bits_(std::exchange(other.bits_, nullptr)) {}
  Bitmap& operator=(Bitmap&& other) noexcept {
    std::swap(bits_, other.bits_);
    return *this;
  }
  Bitmap(const Bitmap&) = delete;
  Bitmap& operator=(const Bitmap&) = delete;
  ~Bitmap() {
    if (bits_ != nullptr) roaring_bitmap_free(bits_);
  }

  roaring_bitmap_t* get() const { return bits_; }
  uint64_t Cardinality() const { return roaring_bitmap_get_cardinality(bits_); }
  bool Contains(uint32_t ordinal) const { return roaring_bitmap_contains(bits_, ordinal); }
  // Returns up to `limit` members greater than `after`, in increasing order.
  std::vector<uint32_t> After(uint32_t after, size_t limit) const;

 private:
  roaring_bitmap_t* bits_;
};

class MembershipIndex {
 public:
  struct Options {
    // Members per SSCAN page and ordinals per ScanCustomers page. Default:
    // 250. At 1000, SSCAN pages of 1M-member sets were seen taking 5-20 ms of
    // Redis's time right after a large import (Redis must not be blocked for
    // more than 5 ms); a page costs ~1.4 us per member.
    int scan_count = 250;
    // Most changes read and applied per read of the stream. Default: 1000.
    int change_batch = 1000;
    // Longest wait of one read of the change stream; the tail also looks for
    // new customers after each. Default: 100 ms.
    absl::Duration tail_wait = absl::Milliseconds(100);
    // The same for a tenant nobody has queried for `idle_after`: a read still
    // returns as soon as a change is appended, so changes are applied as
    // promptly; what is slower is the proof that the index is current
    // (ReadIfFreshWithin declines more, and fresh reads take one round
    // trip), new customers without a change (fresh reads fetch those), and
    // the destructor (it waits for the reads). Defaults: 1 s after 10 s
    // (1,000 loaded idle tenants cost segmentd 0.40 cores with 100 ms reads).
    absl::Duration idle_tail_wait = absl::Seconds(1);
    absl::Duration idle_after = absl::Seconds(10);
    // How long a query waits for a tenant's first load. Default: 5 s.
    absl::Duration load_wait = absl::Seconds(5);
    // How long a query waits for the index to apply the newest change.
    // Default: 1 s.
    absl::Duration catch_up_wait = absl::Seconds(1);
    // Pause after a failed load or stream read before trying again.
    // Default: 200 ms.
    absl::Duration retry = absl::Milliseconds(200);
  };

  // A consistent view of one tenant's index, valid only inside Read()'s
  // callback (it holds the tenant's reader lock: keep the work short).
  class View {
   public:
    // Returns the customers satisfying a (valid) expression. none_of is
    // relative to every customer of the tenant.
    Bitmap Evaluate(const v1::TargetExpression& expression) const;
    // Returns the ordinal of `customer_id`, or nullopt for an unknown id.
    std::optional<uint32_t> OrdinalOf(absl::string_view customer_id) const;
    // Returns the id of a known ordinal.
    absl::string_view IdOf(uint32_t ordinal) const;
    // Returns whether customer `ordinal` is in `segment`.
    bool Contains(const std::string& segment, uint32_t ordinal) const;
    // Returns the number of customers of the tenant.
    uint32_t customers() const;
    // Returns which build of the tenant's index this is: it changes whenever
    // the index is rebuilt (a load after a failure, a trimmed tail), and
    // what callers keep by ordinal is valid within one generation.
    uint64_t generation() const;

   private:
    friend class MembershipIndex;
    struct Data;
    explicit View(const Data& data) : data_(data) {}
    const Data& data_;
  };

  MembershipIndex(store::CustomerStore* store, store::CustomerStore* tail_store,
                  Options options);
  ~MembershipIndex();

  MembershipIndex(const MembershipIndex&) = delete;
  MembershipIndex& operator=(const MembershipIndex&) = delete;

  // Runs `fn` on a view of `tenant`'s index. With `fresh`, first waits until
  // the index has applied every change committed before the call (one store
  // read); without, uses the index as it is (for follow-up reads of one
  // query). Returns UNAVAILABLE when the index is not loaded or not healthy,
  // or the store cannot be reached.
  absl::Status Read(absl::string_view tenant, bool fresh,
                    const std::function<void(const View&)>& fn);

  // Runs `fn` on the index as it is, without waiting: UNAVAILABLE at once when
  // it is not loaded or not healthy (for callers that made it fresh already
  // and must not stall others, e.g. FreshnessGate's continuations).
  absl::Status ReadNow(absl::string_view tenant, const std::function<void(const View&)>& fn);

  // Waits until the index has applied every change committed before the
  // call, reading the newest position itself (not shared with concurrent
  // callers: for a caller that batches waiters, e.g. FreshnessGate). A later
  // Read(tenant, /*fresh=*/false, ...) then sees at least that much.
  // UNAVAILABLE as Read().
  absl::Status AwaitFresh(absl::string_view tenant);

  // Runs `fn` on the index as it is, without any store read or wait, when it
  // is loaded, healthy and known to have applied every change committed up
  // to at most `max_age` ago (a read of the stream sent then reached its
  // head; ages are measured on a monotonic clock). Returns the wall-clock
  // instant the view is fresh as of (now - its age), or nullopt without
  // running `fn`: the caller then takes a path that waits or fails closed
  // (Read with fresh, AwaitFresh). For the checkout hot path's
  // bounded-staleness reads (CONSISTENCY_MINIMIZE_LATENCY).
  std::optional<absl::Time> ReadIfFreshWithin(absl::string_view tenant, absl::Duration max_age,
                                              const std::function<void(const View&)>& fn);

  // A change-stream position "ms-seq" as a comparable pair.
  using Position = std::pair<uint64_t, uint64_t>;
  // What a fresh read waits for: the store's newest change applied, and every
  // customer known (a customer whose write changed no segment has no change,
  // yet counts for none_of and for eligibility).
  struct Head {
    Position position;
    uint32_t customers = 0;
  };

 private:
  struct Tenant;

  // Waits (bounded: `wait`, else the loaded/loading default) until `tenant`'s
  // index is loaded, healthy and has reached `target` (if any), then runs `fn`
  // (if any) on it under the reader lock; UNAVAILABLE when it does not get
  // there in time.
  absl::Status RunApplied(absl::string_view tenant, std::optional<Head> target,
                          std::optional<absl::Duration> wait,
                          const std::function<void(const View&)>* fn);
  // Maps a failed read of the store to the index's UNAVAILABLE message.
  static absl::Status IndexStatus(absl::string_view tenant, absl::Status status);
  // Adds the customers up to ordinal `customers` the loaded index does not
  // know yet, reading them itself (RunApplied, once the target's change is
  // applied).
  absl::Status FetchMissingCustomers(Tenant* tenant, uint32_t customers);

  Tenant* GetOrStart(absl::string_view tenant) ABSL_LOCKS_EXCLUDED(mu_);
  // The tenant's thread: load, then tail until stopped.
  void Run(Tenant* tenant);
  // Builds a complete index of the tenant as of its stream position.
  absl::Status Load(Tenant* tenant);
  // Reads and applies one batch of changes (waiting up to TailWait).
  absl::Status TailOnce(Tenant* tenant);
  // How long the tenant's next read of the stream may wait: tail_wait, or
  // idle_tail_wait when nobody queried it for idle_after.
  absl::Duration TailWait(const Tenant& tenant) const;
  // How finely a query's time is kept: a tenant counts as idle between
  // idle_after and idle_after plus this after its last query.
  absl::Duration TouchGranularity() const;
  // Appends customers with ordinals beyond the known ones to `data`.
  absl::Status ScanNewCustomers(absl::string_view tenant, View::Data& data);
  // Waits up to `d` unless stopping; returns true when stopping.
  bool SleepUnlessStopping(absl::Duration d) ABSL_LOCKS_EXCLUDED(mu_);

  store::CustomerStore* const store_;
  store::CustomerStore* const tail_store_;
  const Options options_;

  absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  absl::node_hash_map<std::string, std::unique_ptr<Tenant>> tenants_ ABSL_GUARDED_BY(mu_);
};

// Ordinals mapped to ids (and arms) per index read when walking a result.
inline constexpr size_t kWalkBatch = 10000;

// Calls `fn(ordinals, ids)` for the customers of `members` after ordinal
// `after`, in ordinal order, `batch` at a time, each batch read from a short
// view of `tenant`'s index; `fn` returns false to stop. Returns the index's
// error, if any. Each batch reads the view current then, which may be of a
// newer generation than `members`' (a rebuild in between): the store never
// reassigns an ordinal, so it still names the same customer.
absl::Status Walk(MembershipIndex& index, absl::string_view tenant, const Bitmap& members,
                  uint32_t after, size_t batch,
                  const std::function<bool(const std::vector<uint32_t>&,
                                           const std::vector<std::string>&)>& fn);

}  // namespace segmentd::targeting

#endif  // SEGMENTD_SERVER_TARGETING_MEMBERSHIP_INDEX_H_

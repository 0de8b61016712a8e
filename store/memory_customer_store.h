// MemoryCustomerStore: a CustomerStore kept in process memory, for unit tests
// of the server and the engine. Same contract and same observable behaviour as
// RedisCustomerStore (same validation, times kept to whole milliseconds,
// change positions "ms-seq" ordered, segment and customer scans by cursor),
// except that nothing survives the process and the change stream is trimmed
// exactly at `max_changes`. Change positions are "0-<n>" with n counting up
// from 1 across all tenants.
//
//   MemoryCustomerStore store;
//   absl::StatusOr<std::vector<bool>> done = store.Write("acme", writes);
//
// Thread-safe: one mutex guards everything; ReadChanges waits on a condition
// variable without holding it.
#ifndef SEGMENTD_STORE_MEMORY_CUSTOMER_STORE_H_
#define SEGMENTD_STORE_MEMORY_CUSTOMER_STORE_H_

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/node_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "store/customer_store.h"

namespace segmentd::store {

class MemoryCustomerStore : public CustomerStore {
 public:
  struct Options {
    // Most change-stream entries kept per tenant; older ones are dropped.
    // Default: 1,000,000 (as RedisCustomerStore).
    int64_t max_changes = 1'000'000;
  };

  MemoryCustomerStore() : MemoryCustomerStore(Options()) {}

  // Ends `replica`'s liveness now, as if its ttl had run out (tests).
  void ExpireReplica(absl::string_view replica);
  explicit MemoryCustomerStore(Options options);

  absl::StatusOr<std::vector<CustomerState>> Read(
      absl::string_view tenant, absl::Span<const std::string> customer_ids) override;
  absl::StatusOr<std::vector<ProfileRead>> ReadProfiles(
      absl::string_view tenant, absl::Span<const std::string> customer_ids) override;
  absl::StatusOr<std::vector<WriteResult>> WriteWithResults(
      absl::string_view tenant, absl::Span<const CustomerWrite> writes) override;
  absl::StatusOr<std::vector<uint32_t>> OrderOwners(absl::string_view tenant,
                                                    absl::Span<const uint64_t> orders) override;
  // Every write here records its placed orders, so a tenant's record is
  // complete (once it has a customer) unless ForgetOrderRecord said otherwise.
  absl::StatusOr<std::optional<uint32_t>> OrdersUnrecordedFrom(absl::string_view tenant) override;
  absl::StatusOr<int64_t> RecordOrders(absl::string_view tenant,
                                       absl::Span<const RecordedOrder> orders,
                                       uint32_t next_ordinal) override;
  // For tests: makes `tenant` one whose customers were stored before the
  // order record existed (the record emptied, unrecorded from ordinal 1).
  void ForgetOrderRecord(absl::string_view tenant);
  // Every full write here keeps the registration index, so it is complete
  // (once the tenant has a customer) unless ForgetRegistrationIndex said
  // otherwise.
  absl::StatusOr<std::optional<uint32_t>> RegistrationsUnindexedFrom(
      absl::string_view tenant) override;
  absl::StatusOr<int64_t> IndexRegistrations(absl::string_view tenant,
                                             absl::Span<const IndexedRegistration> customers,
                                             uint32_t next_ordinal) override;
  // For tests: makes `tenant` one whose customers were stored before the
  // registration index existed (the index emptied, no customer's entry
  // stored, unindexed from ordinal 1).
  void ForgetRegistrationIndex(absl::string_view tenant);
  // Every write here keeps both AOV indexes: true once the tenant has a
  // customer, unless ForgetAovIndexesKept said otherwise.
  absl::StatusOr<bool> AovIndexesKeptFromStart(absl::string_view tenant) override;
  // For tests: makes `tenant` one whose customers were stored before every
  // write kept both AOV indexes.
  void ForgetAovIndexesKept(absl::string_view tenant);
  absl::StatusOr<std::vector<std::string>> Due(absl::string_view tenant, absl::Time now,
                                               int limit) override;
  absl::StatusOr<std::optional<absl::Time>> NextDueAfter(absl::string_view tenant,
                                                         absl::Time after) override;
  absl::StatusOr<int64_t> SegmentSize(absl::string_view tenant, absl::string_view segment) override;
  // The cursor is the last id returned (members are visited in byte order).
  absl::StatusOr<IdPage> ScanSegment(absl::string_view tenant, absl::string_view segment,
                                     absl::string_view cursor, int count) override;
  // The cursor is the next ordinal to visit (customers in ordinal order).
  absl::StatusOr<IdPage> ScanCustomers(absl::string_view tenant, absl::string_view cursor,
                                       int count) override;
  absl::StatusOr<std::vector<std::string>> CustomersByOrders(absl::string_view tenant, int64_t lo,
                                                             int64_t hi) override;
  absl::StatusOr<int64_t> CountCustomersByOrders(absl::string_view tenant, int64_t lo,
                                                 int64_t hi) override;
  absl::Status ScanCustomersByOrders(absl::string_view tenant, int64_t lo, int64_t hi,
                                     const IdPageSink& page) override;
  absl::StatusOr<std::vector<std::string>> CustomersByRevenue(absl::string_view tenant, int64_t lo,
                                                              int64_t hi) override;
  absl::StatusOr<std::vector<std::string>> CustomersByAov(absl::string_view tenant, AovIndex index,
                                                          int64_t lo, int64_t hi) override;
  absl::Status ScanCustomersByAov(absl::string_view tenant, AovIndex index, int64_t lo, int64_t hi,
                                  const IdPageSink& page) override;
  absl::StatusOr<int64_t> CountCustomersByAov(absl::string_view tenant, AovIndex index, int64_t lo,
                                              int64_t hi) override;
  absl::Status ScanRegisteredNonBuyers(absl::string_view tenant, int64_t lo, int64_t hi,
                                       const IdPageSink& page) override;
  absl::StatusOr<std::vector<DayTotals>> DailyTotals(absl::string_view tenant, int64_t first_day,
                                                     int64_t last_day) override;
  absl::StatusOr<DayTotals> OrderTotalsIn(absl::string_view tenant, int64_t after_ms,
                                          int64_t up_to_ms) override;
  absl::StatusOr<int64_t> CustomerCount(absl::string_view tenant) override;
  absl::StatusOr<int64_t> Buyers(absl::string_view tenant) override;
  absl::StatusOr<std::optional<int64_t>> OrdersAtRank(absl::string_view tenant,
                                                      int64_t rank) override;
  absl::StatusOr<std::optional<int64_t>> RevenueAtRank(absl::string_view tenant,
                                                       int64_t rank) override;
  absl::StatusOr<std::vector<StoredChange>> ReadChanges(absl::string_view tenant,
                                                        absl::string_view after, int limit,
                                                        absl::Duration wait) override;
  absl::StatusOr<std::string> LastChangePosition(absl::string_view tenant) override;
  absl::StatusOr<ChangeHead> ReadChangeHead(absl::string_view tenant) override;
  absl::StatusOr<std::optional<std::string>> RetainedFrom(absl::string_view tenant) override;
  absl::StatusOr<std::optional<VersionedBlob>> ReadConfig(absl::string_view tenant) override;
  absl::StatusOr<int64_t> WriteConfig(absl::string_view tenant, int64_t expected_version,
                                      absl::string_view bytes, absl::Time at) override;
  absl::Status ConfigApplied(absl::string_view tenant, int64_t version) override;
  absl::StatusOr<bool> ClaimReclassification(absl::string_view tenant, int64_t version,
                                             absl::string_view from,
                                             absl::string_view replica) override;
  absl::Status AddRechecks(absl::string_view tenant, absl::Span<const std::string> customer_ids,
                           int64_t config_version) override;
  // Entries in customer-id order.
  absl::StatusOr<std::vector<Recheck>> Rechecks(absl::string_view tenant, int limit) override;
  absl::Status ClearRechecks(absl::string_view tenant, absl::Span<const std::string> customer_ids,
                             int64_t done_version) override;
  absl::StatusOr<int64_t> RecheckCount(absl::string_view tenant) override;
  absl::Status AddStatsInUse(absl::string_view tenant, absl::string_view field,
                             absl::string_view value) override;
  absl::StatusOr<std::vector<std::pair<std::string, std::string>>> StatsInUse(
      absl::string_view tenant) override;
  absl::Status RemoveStatsInUse(absl::string_view tenant,
                                absl::Span<const std::string> fields) override;
  absl::StatusOr<bool> MarkReplicaAlive(absl::string_view replica, absl::Duration ttl) override;
  absl::StatusOr<std::vector<bool>> ReplicasAlive(absl::Span<const std::string> replicas) override;
  absl::StatusOr<std::vector<uint16_t>> InternCategories(
      absl::string_view tenant, absl::Span<const std::string> names) override;
  absl::StatusOr<std::vector<std::string>> CategoryNames(absl::string_view tenant) override;

 private:
  // A measure index: (value, customer id), ascending.
  using Measure = std::set<std::pair<int64_t, std::string>>;
  // The indexes kept per tenant: lifetime orders and revenue (buyers only),
  // one per AovIndex, then the registration index.
  enum MeasureId {
    kOrders = 0,
    kRevenue = 1,
    kAov = 2,
    kRegistered = 2 + kNumAovIndexes,
    kNumMeasures = 3 + kNumAovIndexes
  };

  struct Customer {
    CustomerState state;
    int64_t orders = 0;
    int64_t revenue = 0;
    std::optional<int64_t> registered_non_buyer_ms;
    // Whether registered_non_buyer_ms is stored (a full write stores it;
    // ForgetRegistrationIndex forgets it, IndexRegistrations fills it in).
    bool registration_indexed = false;
  };
  struct Change {
    uint64_t seq = 0;
    StoredChange change;
  };
  struct Tenant {
    absl::flat_hash_map<std::string, Customer> customers;
    // Customer ids by ordinal - 1.
    std::vector<std::string> by_ordinal;
    std::map<std::string, std::set<std::string>> segments;
    // (next change ms, customer id), earliest first.
    std::set<std::pair<int64_t, std::string>> schedule;
    std::deque<Change> changes;
    bool changes_dropped = false;  // the cap dropped entries at least once
    Measure measures[kNumMeasures];
    // Daily totals by day.
    absl::flat_hash_map<int64_t, DayTotals> daily;
    // The same changes by instant (Unix ms).
    std::map<int64_t, DayTotals> by_instant;
    std::optional<VersionedBlob> config;
    // Rechecks: customer id -> config version.
    std::map<std::string, int64_t> rechecks;
    std::map<std::string, std::string> stats_in_use;
    absl::flat_hash_map<std::string, uint16_t> category_ids;
    std::vector<std::string> category_names;
    // Order id fingerprint -> ordinal of the customer it was placed for.
    absl::flat_hash_map<uint64_t, uint32_t> order_owners;
    // OrdersUnrecordedFrom (nullopt: the record is complete).
    std::optional<uint32_t> orders_unrecorded_from;
    // RegistrationsUnindexedFrom (nullopt: the index is complete).
    std::optional<uint32_t> registrations_unindexed_from;
    bool aov_indexes_forgotten = false;  // ForgetAovIndexesKept
  };

  // Returns the tenant's data, creating it empty on first use.
  Tenant& GetTenant(absl::string_view tenant) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The position of the tenant's newest change ("0-0" when none).
  static std::string NewestPosition(const Tenant& t);
  // Whether one of `write`'s placed orders is recorded against another
  // customer than `write`'s.
  static bool PlacesForeignOrder(const Tenant& t, const CustomerWrite& write);
  // OrdersUnrecordedFrom or RegistrationsUnindexedFrom: `from` names the
  // tenant's cursor.
  absl::StatusOr<std::optional<uint32_t>> UnfilledFrom(absl::string_view tenant,
                                                       std::optional<uint32_t> Tenant::*from);
  // Moves a backfill cursor (`from`: OrdersUnrecordedFrom or
  // RegistrationsUnindexedFrom of `t`) up to `next_ordinal`, never back;
  // past the last ordinal, the backfill is complete (nullopt).
  static void MoveBackfillCursor(const Tenant& t, uint32_t next_ordinal,
                                 std::optional<uint32_t>& from);
  // Commits `write` (whose version matched) to `t`.
  void Apply(Tenant& t, const CustomerWrite& write) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Moves the schedule and AOV index entries of `state` (a customer of `t`)
  // to `write`'s.
  void SetSchedule(Tenant& t, CustomerState& state, const CustomerWrite& write)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<std::vector<std::string>> ByMeasure(absl::string_view tenant, MeasureId measure,
                                                     int64_t lo, int64_t hi);
  // ByMeasure handed over in pages of 100 (so callers see more than one).
  absl::Status ScanMeasure(absl::string_view tenant, MeasureId measure, int64_t lo, int64_t hi,
                           const IdPageSink& page);
  absl::StatusOr<std::optional<int64_t>> AtRank(absl::string_view tenant, MeasureId measure,
                                                int64_t rank);

  const Options options_;

  absl::Mutex mu_;
  // Signalled whenever a change-stream entry is appended.
  absl::CondVar changed_;
  // node_hash_map: references to a Tenant stay valid while others are added.
  absl::node_hash_map<std::string, Tenant> tenants_ ABSL_GUARDED_BY(mu_);
  // Replica -> when its liveness runs out (absl::Now()'s clock).
  absl::flat_hash_map<std::string, absl::Time> alive_until_ ABSL_GUARDED_BY(mu_);
  // The seq of the last change-stream entry, over all tenants.
  uint64_t last_seq_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace segmentd::store

#endif  // SEGMENTD_STORE_MEMORY_CUSTOMER_STORE_H_

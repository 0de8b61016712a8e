#ifndef SEGMENTD_STORE_CUSTOMER_STORE_H_
#define SEGMENTD_STORE_CUSTOMER_STORE_H_

// CustomerStore: where one tenant's customers, their membership, the schedule of
// time-driven changes, the change stream, the tenant's config and its category
// dictionary live. Redis is the implementation that counts (redis_customer_store.h);
// MemoryCustomerStore is a faithful in-process fake for unit tests.
//
// Concurrency model: optimistic. Read() returns each customer's state with a
// version; Write() commits a new state only if the stored version still equals
// the one read (else the caller re-reads, re-applies and retries). Each
// committed write is atomic: profile + membership + segment member sets +
// schedule + change-stream entries + measure indexes change together or not
// at all. So any number of segmentd processes can share one Redis.
//
// All methods are thread-safe. Errors: UNAVAILABLE when the backing store
// cannot be reached (nothing is acknowledged then), DATA_LOSS for stored data
// that cannot be decoded, INVALID_ARGUMENT for bad input (naming it).

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "absl/types/span.h"

namespace segmentd::store {

// What made a membership change (mirrors segmentd.v1.ChangeCause).
enum class ChangeCause : uint8_t { kEvent = 1, kTime = 2, kConfig = 3, kStatistics = 4 };

// The two per-customer AOV indexes: the customer's average order value over
// the BIG_SPENDER and the LOW_SPENDER lookback, in thousandths of a minor unit
// (floor), kept so that a move of the store-AOV threshold finds exactly the
// customers it can move.
enum class AovIndex : uint8_t { kBigSpender = 0, kLowSpender = 1 };
inline constexpr int kNumAovIndexes = 2;

// A change of the tenant's order totals by one order, placed at `placed_ms`
// (Unix ms): +1 order and +amount when it is booked, -1 and -amount when it
// is cancelled, 0 and -refund for a refund. `orders` is -1, 0 or 1. The
// store keeps both the totals per UTC day and each change at its instant,
// so that a window's totals are exact to the millisecond (OrderTotalsIn).
struct OrderTotalsDelta {
  int64_t placed_ms = 0;
  int64_t orders = 0;
  int64_t revenue = 0;
};

// Milliseconds in a UTC day.
inline constexpr int64_t kDayMillis = 24 * 60 * 60 * 1000;

// The UTC day (days since 1970-01-01) of the instant `ms` (Unix ms).
int64_t UtcDayOf(int64_t ms);

// The longest window OrderTotalsIn sums (ten years: SPEC's longest lookback).
inline constexpr int64_t kMaxTotalsWindowDays = 3650;

// Most days one DailyTotals call covers (ten years and change).
inline constexpr int64_t kMaxDailyRange = 3660;

// The tenant's valid orders and their net revenue on one UTC day.
struct DayTotals {
  int64_t orders = 0;
  int64_t revenue = 0;
};

// The change stream's newest position ("0-0" when empty) and the tenant's
// customer count, as of one instant (CustomerStore::ReadChangeHead).
struct ChangeHead {
  std::string position;
  int64_t customers = 0;
};

// A customer's stored state. version 0 means "not stored yet" (then the other
// fields are empty).
struct CustomerState {
  std::string customer_id;
  int64_t version = 0;
  // Ordinal: a dense per-tenant number (1, 2, 3, ...) given to each customer
  // when first written, never reused; in-memory bitmap indexes use it.
  uint32_t ordinal = 0;
  // The engine's encoded profile (engine::ProfileCodec); opaque here.
  std::string profile;
  // The encoded membership (opaque here; the server encodes it).
  std::string membership;
  // Names of the segments the customer is in, e.g. "VIP", "category:shoes".
  std::vector<std::string> segments;
  std::optional<absl::Time> next_change;
  // The AOV index entries as last written (nullopt: no order in the lookback).
  std::optional<int64_t> aov_milli[kNumAovIndexes];
  // The encoded membership history (opaque here; the server encodes it).
  std::string history;
};

// The part of a customer's stored state a config update reads of every
// candidate (CustomerStore::ReadProfiles).
struct ProfileRead {
  std::string profile;  // "" when the customer is not stored
  std::optional<int64_t> aov_milli[kNumAovIndexes];
  uint32_t ordinal = 0;  // 0 when the customer is not stored
};

// One new state to commit.
struct CustomerWrite {
  std::string customer_id;
  // Must equal the stored version (0: the customer must not exist yet).
  int64_t expected_version = 0;
  std::string profile;
  std::string membership;
  // The full new segment-name list; the store derives entered/left by comparing
  // with the stored list, updates the member sets and appends one change-stream
  // entry per difference.
  std::vector<std::string> segments;
  // When membership next changes by time alone; nullopt: never (removed from
  // the schedule).
  std::optional<absl::Time> next_change;
  ChangeCause cause = ChangeCause::kEvent;
  // The instant of the change (stamped on change-stream entries).
  absl::Time changed_at;
  // Measures indexed for population statistics (sorted sets by value):
  // lifetime valid orders and lifetime net revenue.
  int64_t lifetime_orders = 0;
  int64_t lifetime_revenue = 0;
  // The tenant config version the membership was computed with: the write is
  // refused (returns false, like a version conflict) when the stored config
  // version differs (0: none stored), so no replica can write membership of a
  // config that another replica has just replaced.
  int64_t config_version = 0;
  // AOV index entries (nullopt: removed from the index).
  std::optional<int64_t> aov_milli[kNumAovIndexes];
  // The registration index entry: the customer's registration instant (Unix
  // ms) while it is registered and has no valid order placed by now
  // (lifetime_orders == 0); nullopt otherwise (removed from the index).
  // NEW_DOWNLOAD and WINDOW_SHOPPER concern only these customers, so a change
  // of those rules re-classifies just them. Ignored by a bookkeeping-only
  // write: the entry moves only with new facts or an order becoming visible,
  // and either makes a full write.
  std::optional<int64_t> registered_non_buyer_ms;
  // Changes to the tenant's order totals that this write makes, one per
  // order whose contribution moves.
  std::vector<OrderTotalsDelta> order_totals;
  // The new encoded membership history (replaces the stored one).
  std::string history;
  // Only the bookkeeping moves: the membership's next-change instant (in
  // `membership`), `next_change` and `aov_milli`. The writer re-classified
  // the stored profile without new facts, the segments and primary segment
  // are as stored, and the measures and history are unchanged. The store then
  // writes just `membership`, `next_change`, `aov_milli` and the version (the
  // schedule and AOV index entries follow); `profile`, `history`,
  // `lifetime_*`, `cause` and `changed_at` are ignored. Requires an existing
  // customer and no order totals deltas (INVALID_ARGUMENT otherwise); `segments`
  // must equal the stored list, or the write fails INTERNAL with nothing
  // written (a writer bug, never a guess). Why: most re-classifications after
  // a config change or a time-driven wake-up only move the schedule, and this
  // write costs Redis a fraction of a full one.
  bool bookkeeping_only = false;
  // A full write (segments may move) of a re-classification without new
  // facts, after which the lifetime measures are as stored (no order became
  // visible since the last write): the store leaves the measure indexes
  // alone and ignores `lifetime_*`. Requires an existing customer and no
  // order totals deltas (INVALID_ARGUMENT otherwise). Why: each config or
  // time-driven membership move rewrote both measure sorted sets (~12 us of
  // Redis each at 1M) with the values they held.
  bool measures_as_stored = false;
  // The orders this write places for the first time, by the 64-bit
  // fingerprint the engine keeps of each order id (engine::IdFingerprint).
  // Order ids are unique per tenant (SPEC.md): the store records each
  // against the customer's ordinal, and refuses the whole write
  // (WriteResult::kOrderTaken, nothing written) when one is already recorded
  // against another customer. The writer then asks OrderOwners and refuses
  // that event. Must be empty in a bookkeeping-only or measures-as-stored
  // write (INVALID_ARGUMENT): those place no order.
  std::vector<uint64_t> placed_orders;
};

// What happened to one CustomerWrite: its kind, and for kRefused why.
struct WriteResult {
  enum Kind : uint8_t {
    kCommitted,
    // Nothing written: the stored version or config version differs.
    kConflict,
    // Nothing written: one of placed_orders is recorded against another
    // customer (OrderOwners tells which).
    kOrderTaken,
    // Not acknowledged: the store refused this write alone (`refusal`: e.g.
    // DATA_LOSS for a stored state segmentd cannot have written, such as a
    // key of another type under the tenant's prefix). Retrying it is
    // pointless until that is repaired; the call's other writes are
    // independent of it.
    kRefused,
  };

  WriteResult(Kind k = kConflict) : kind(k) {}  // NOLINT(runtime/explicit): a result is its kind
  static WriteResult Refused(absl::Status why) {
    WriteResult r(kRefused);
    r.refusal = std::move(why);
    return r;
  }

  friend bool operator==(const WriteResult& a, const WriteResult& b) {
    return a.kind == b.kind && a.refusal == b.refusal;
  }
  friend bool operator==(const WriteResult& r, Kind k) { return r.kind == k; }
  friend bool operator==(Kind k, const WriteResult& r) { return r.kind == k; }
  friend bool operator!=(const WriteResult& r, Kind k) { return r.kind != k; }
  friend bool operator!=(Kind k, const WriteResult& r) { return r.kind != k; }

  Kind kind;
  absl::Status refusal;  // set for kRefused only
};

// One entry of the tenant's change stream.
struct StoredChange {
  // Opaque, ordered position (Redis stream id "ms-seq").
  std::string position;
  std::string customer_id;
  std::string segment;
  bool entered = false;
  absl::Time changed_at;
  ChangeCause cause = ChangeCause::kEvent;
};

// One pass of a follower of the change stream (CustomerStore::ReadChangeTail).
struct ChangeTail {
  std::vector<StoredChange> changes;
  // RetainedFrom, CustomerCount and LastChangePosition as they stood once
  // `changes` were read. None of them ever goes back, unless the store's
  // data did (restored from an older copy, or lost).
  std::optional<std::string> retained_from;
  int64_t customers = 0;
  std::string newest = "0-0";
};

// A versioned opaque blob (the tenant's config).
struct VersionedBlob {
  int64_t version = 0;
  std::string bytes;
  absl::Time updated_at;
  // The config was stored but existing customers have not all been
  // re-classified under it yet (WriteConfig sets it, ConfigApplied clears it).
  bool reclassification_pending = false;
  // While pending: the replica re-classifying (ClaimReclassification), ""
  // while none has claimed it (as WriteConfig stores it, or an older build).
  std::string reclassifying_replica;
};

// A page of a scan over ids.
struct IdPage {
  std::vector<std::string> ids;
  // Pass back to continue; empty when the scan is complete.
  std::string next_cursor;
};

class CustomerStore {
 public:
  virtual ~CustomerStore() = default;

  // Returns the states of `customer_ids`, in order (absent ones: version 0).
  virtual absl::StatusOr<std::vector<CustomerState>> Read(
      absl::string_view tenant, absl::Span<const std::string> customer_ids) = 0;

  // Returns only the encoded profiles, AOV index entries and ordinals of
  // `customer_ids`, in order (profile "" for a customer not stored; the engine
  // never stores an empty profile): what a config re-classification reads of
  // every customer (LiveMembership::ReevaluateAll) before it reads the whole
  // state of the few whose membership can move.
  virtual absl::StatusOr<std::vector<ProfileRead>> ReadProfiles(
      absl::string_view tenant, absl::Span<const std::string> customer_ids) = 0;

  // Commits each write whose expected_version matches; returns, per write,
  // what happened to it. Writes to distinct customers are independent (one
  // refusal, kRefused included, does not stop the others). A write is
  // acknowledged only once the backing store has it. An error for the whole
  // call (the store unreachable) acknowledges none, though some may be
  // stored.
  virtual absl::StatusOr<std::vector<WriteResult>> WriteWithResults(
      absl::string_view tenant, absl::Span<const CustomerWrite> writes) = 0;
  // WriteWithResults with each result as committed (true) or not (false);
  // the first kRefused write's refusal, once every write was tried, as the
  // call's error.
  absl::StatusOr<std::vector<bool>> Write(absl::string_view tenant,
                                          absl::Span<const CustomerWrite> writes) {
    absl::StatusOr<std::vector<WriteResult>> results = WriteWithResults(tenant, writes);
    if (!results.ok()) return results.status();
    for (const WriteResult& r : *results) {
      if (r == WriteResult::kRefused) return r.refusal;
    }
    std::vector<bool> committed;
    committed.reserve(results->size());
    for (WriteResult r : *results) committed.push_back(r == WriteResult::kCommitted);
    return committed;
  }

  // What ReadAndWrite asks of the states it read: the writes to commit, each
  // expecting the version read (a customer left alone has none).
  using WritesOf = absl::FunctionRef<absl::StatusOr<std::vector<CustomerWrite>>(
      const std::vector<CustomerState>& states)>;

  // Reads `customer_ids` (as Read) and commits the writes `decide` makes of
  // their states (as WriteWithResults); returns a result per write, in the
  // order made. `decide` may be called more than once, each time with the
  // states of the next ids in order (each id's once), and must write only
  // those customers. For re-classifications of customers most of whom move
  // (due, moved by a config or statistics change): the Redis store reads
  // each batch under WATCH and commits the re-classifications among its
  // writes in the same transaction, one read of each customer instead of
  // two. By default (and where few of the customers read are written, as in
  // a full re-evaluation: ReadThenWrite), a Read, then WriteWithResults.
  virtual absl::StatusOr<std::vector<WriteResult>> ReadAndWrite(
      absl::string_view tenant, absl::Span<const std::string> customer_ids, WritesOf decide) {
    return ReadThenWrite(tenant, customer_ids, decide);
  }
  // ReadAndWrite as a Read, then WriteWithResults, whatever the store.
  absl::StatusOr<std::vector<WriteResult>> ReadThenWrite(absl::string_view tenant,
                                                         absl::Span<const std::string> customer_ids,
                                                         WritesOf decide) {
    absl::StatusOr<std::vector<CustomerState>> states = Read(tenant, customer_ids);
    if (!states.ok()) return states.status();
    absl::StatusOr<std::vector<CustomerWrite>> writes = decide(*states);
    if (!writes.ok()) return writes.status();
    if (writes->empty()) return std::vector<WriteResult>();
    return WriteWithResults(tenant, *writes);
  }

  // Returns, per order (id fingerprint), the ordinal of the customer it was
  // placed for (0: none recorded; CustomerWrite::placed_orders).
  virtual absl::StatusOr<std::vector<uint32_t>> OrderOwners(absl::string_view tenant,
                                                            absl::Span<const uint64_t> orders) = 0;

  // The order record of a tenant whose customers were stored before it
  // existed (a store that did not record placed orders) lacks their orders;
  // the server fills it from their profiles (OrderRecordBackfill).
  // OrdersUnrecordedFrom returns nullopt when the record holds every stored
  // order (a tenant whose first customer was written by a store that keeps
  // it), 0 for a tenant without customers (nothing to record; its first
  // write completes the record), else the first ordinal whose orders may be
  // missing. RecordOrders records each order against its ordinal unless
  // one is recorded already (a live write recorded it, or two customers
  // written before share the id: the first recorded keeps it), then moves
  // that ordinal up to `next_ordinal` (0: leave it; it never moves back):
  // past the tenant's last ordinal, the record is complete. Returns how many
  // orders were already recorded against another ordinal than the one given.
  struct RecordedOrder {
    uint64_t order = 0;  // id fingerprint
    uint32_t ordinal = 0;
  };
  virtual absl::StatusOr<std::optional<uint32_t>> OrdersUnrecordedFrom(
      absl::string_view tenant) = 0;
  virtual absl::StatusOr<int64_t> RecordOrders(absl::string_view tenant,
                                               absl::Span<const RecordedOrder> orders,
                                               uint32_t next_ordinal) = 0;

  // Likewise the registration index (ScanRegisteredNonBuyers) of a tenant
  // whose customers were stored before it existed lacks their entries; the
  // server fills it from their profiles (RegistrationIndexBackfill).
  // RegistrationsUnindexedFrom answers as OrdersUnrecordedFrom does, for the
  // index. IndexRegistrations stores the entry of each customer given
  // (stored ones only) unless a write has stored one since the index
  // existed (that write derived it from the customer's newer state, entry or
  // none), then moves the cursor as RecordOrders does. A customer without
  // an entry needs no call: without a stored entry it is in no index, as
  // "none" has it. Returns how many customers it added to the index.
  struct IndexedRegistration {
    std::string customer_id;
    // What a write would store now (CustomerWrite::registered_non_buyer_ms).
    int64_t registered_non_buyer_ms = 0;
  };
  virtual absl::StatusOr<std::optional<uint32_t>> RegistrationsUnindexedFrom(
      absl::string_view tenant) = 0;
  virtual absl::StatusOr<int64_t> IndexRegistrations(
      absl::string_view tenant, absl::Span<const IndexedRegistration> customers,
      uint32_t next_ordinal) = 0;

  // Returns up to `limit` customers whose next_change <= `now`, earliest first.
  virtual absl::StatusOr<std::vector<std::string>> Due(absl::string_view tenant, absl::Time now,
                                                       int limit) = 0;
  // Returns the earliest scheduled next_change of the tenant later than
  // `after` (compared in milliseconds, as Due does), if any.
  virtual absl::StatusOr<std::optional<absl::Time>> NextDueAfter(absl::string_view tenant,
                                                                 absl::Time after) = 0;
  // Returns the earliest scheduled next_change of the tenant, if any.
  absl::StatusOr<std::optional<absl::Time>> NextDue(absl::string_view tenant) {
    return NextDueAfter(tenant, absl::InfinitePast());
  }

  // What a background pass over every tenant first needs to know of each, so
  // that it does more only for the tenants that need it: the earliest
  // scheduled next change (NextDue), how many rechecks are left
  // (RecheckCount), how many customers there are (CustomerCount) and
  // whether the stored config's re-classification is pending
  // (VersionedBlob::reclassification_pending). One entry per tenant, in
  // order; a tenant whose data cannot be read (a bad id, a key of the wrong
  // type) has its own error in `status`, so that one tenant's trouble does
  // not hold up the others. The call fails only when the store cannot be
  // asked at all (UNAVAILABLE). A store may read many tenants per round trip
  // (the Redis store does); this default asks each in turn.
  struct TenantSurvey {
    absl::Status status;  // when not OK, the fields below are not filled
    std::optional<absl::Time> next_due;
    int64_t rechecks = 0;
    int64_t customers = 0;
    bool reclassification_pending = false;
  };
  virtual absl::StatusOr<std::vector<TenantSurvey>> SurveyTenants(
      absl::Span<const std::string> tenants);

  // Returns the number of members of `segment`.
  virtual absl::StatusOr<int64_t> SegmentSize(absl::string_view tenant,
                                              absl::string_view segment) = 0;
  // SegmentSize of each of `segments`, in order. This default asks one at a
  // time; a store with round trips answers them all in one.
  virtual absl::StatusOr<std::vector<int64_t>> SegmentSizes(
      absl::string_view tenant, absl::Span<const std::string> segments) {
    std::vector<int64_t> sizes;
    sizes.reserve(segments.size());
    for (const std::string& segment : segments) {
      absl::StatusOr<int64_t> size = SegmentSize(tenant, segment);
      if (!size.ok()) return size.status();
      sizes.push_back(*size);
    }
    return sizes;
  }
  // Pages through the members of `segment` (each member once if it stays a
  // member during the scan; order unspecified). `count` is a hint.
  virtual absl::StatusOr<IdPage> ScanSegment(absl::string_view tenant, absl::string_view segment,
                                             absl::string_view cursor, int count) = 0;
  // The first ScanSegment page of each of `segments`, in their order (the
  // Redis store asks for them in one round trip: a tenant with thousands of
  // categories has as many member sets, mostly small).
  virtual absl::StatusOr<std::vector<IdPage>> ScanSegmentsFirstPages(
      absl::string_view tenant, absl::Span<const std::string> segments, int count);
  // Returns how many customers the tenant has (= the highest ordinal given).
  virtual absl::StatusOr<int64_t> CustomerCount(absl::string_view tenant) = 0;
  // Pages through every customer of the tenant, in ordinal order. The cursor
  // is the next ordinal to visit, in decimal ("": from the first).
  virtual absl::StatusOr<IdPage> ScanCustomers(absl::string_view tenant,
                                               absl::string_view cursor, int count) = 0;
  // Customers whose lifetime order count / revenue lies in [lo, hi).
  virtual absl::StatusOr<std::vector<std::string>> CustomersByOrders(absl::string_view tenant,
                                                                     int64_t lo, int64_t hi) = 0;
  // CustomersByOrders, handed over page by page as it is read, so that a long
  // range can be worked on while the rest is still being read. A page may
  // repeat ids of an earlier one (after a member it resumed from moved); an
  // error `page` returns stops the scan and is returned.
  using IdPageSink = std::function<absl::Status(std::vector<std::string> ids)>;
  virtual absl::Status ScanCustomersByOrders(absl::string_view tenant, int64_t lo, int64_t hi,
                                             const IdPageSink& page) = 0;
  // How many customers CustomersByOrders would return (one O(log n) read).
  virtual absl::StatusOr<int64_t> CountCustomersByOrders(absl::string_view tenant, int64_t lo,
                                                         int64_t hi) = 0;
  virtual absl::StatusOr<std::vector<std::string>> CustomersByRevenue(absl::string_view tenant,
                                                                      int64_t lo, int64_t hi) = 0;
  // Customers whose registration index entry
  // (CustomerWrite::registered_non_buyer_ms) lies in [lo, hi), handed over
  // page by page as it is read (a page may repeat ids of an earlier one).
  virtual absl::Status ScanRegisteredNonBuyers(absl::string_view tenant, int64_t lo, int64_t hi,
                                               const IdPageSink& page) = 0;
  // Whether the registration index holds every customer it should: true for
  // a tenant without customers, whose first customer was written by a store
  // that keeps the index, or whose index RegistrationIndexBackfill
  // completed; false for one that already had customers when the index was
  // introduced, until then (read every customer instead).
  absl::StatusOr<bool> HasRegistrationIndex(absl::string_view tenant) {
    absl::StatusOr<std::optional<uint32_t>> from = RegistrationsUnindexedFrom(tenant);
    if (!from.ok()) return from.status();
    return !from->has_value() || **from == 0;
  }
  // Customers whose AOV index entry lies in [lo, hi).
  virtual absl::StatusOr<std::vector<std::string>> CustomersByAov(absl::string_view tenant,
                                                                  AovIndex index, int64_t lo,
                                                                  int64_t hi) = 0;
  // CustomersByAov, handed over page by page as it is read (as
  // ScanCustomersByOrders).
  virtual absl::Status ScanCustomersByAov(absl::string_view tenant, AovIndex index, int64_t lo,
                                          int64_t hi, const IdPageSink& page) = 0;
  // How many customers CustomersByAov would return (one O(log n) read).
  virtual absl::StatusOr<int64_t> CountCustomersByAov(absl::string_view tenant, AovIndex index,
                                                      int64_t lo, int64_t hi) = 0;
  // Whether every write of the tenant's customers kept both AOV indexes,
  // whether or not the config used them (every write has since 817d147):
  // true from the tenant's first customer on when that write's store keeps
  // them, false for a tenant stored before (or without customers). Then an
  // index not in use holds an entry for every customer with a valid order
  // within its lookback, but for entries left to pending rechecks
  // (ConfigChangeScope::unused_aov_index_supersets).
  virtual absl::StatusOr<bool> AovIndexesKeptFromStart(absl::string_view tenant) = 0;
  // The tenant's daily totals for days first_day..last_day (inclusive, at most
  // 3660 days), in order.
  virtual absl::StatusOr<std::vector<DayTotals>> DailyTotals(absl::string_view tenant,
                                                             int64_t first_day,
                                                             int64_t last_day) = 0;
  // The tenant's valid orders and their net revenue placed in
  // (after_ms, up_to_ms], as booked so far: exact to the millisecond (SPEC's
  // store AOV "in that lookback"). INVALID_ARGUMENT unless
  // after_ms < up_to_ms <= after_ms + kMaxTotalsWindowDays days.
  // A tenant stored before the store kept each change at its instant counts
  // whole days at the window's ends until its changes are kept from both
  // ends' days on (a day holding the window's end counts whole; the one
  // holding its start, not at all): the store marks, once, the day after
  // the one it first found the tenant without that record (docs/live.md).
  virtual absl::StatusOr<DayTotals> OrderTotalsIn(absl::string_view tenant, int64_t after_ms,
                                                  int64_t up_to_ms) = 0;
  // Number of buyers (customers with lifetime_orders >= 1), and the value of the
  // measure at 1-based place `rank` counting from the highest (nullopt when
  // rank is outside [1, buyers]).
  virtual absl::StatusOr<int64_t> Buyers(absl::string_view tenant) = 0;
  virtual absl::StatusOr<std::optional<int64_t>> OrdersAtRank(absl::string_view tenant,
                                                              int64_t rank) = 0;
  virtual absl::StatusOr<std::optional<int64_t>> RevenueAtRank(absl::string_view tenant,
                                                               int64_t rank) = 0;

  // Returns up to `limit` change-stream entries after `after` ("" = from the
  // oldest retained), waiting up to `wait` for one to arrive when there are
  // none yet (zero: do not wait).
  virtual absl::StatusOr<std::vector<StoredChange>> ReadChanges(absl::string_view tenant,
                                                                absl::string_view after, int limit,
                                                                absl::Duration wait) = 0;
  // Returns the position of the newest change-stream entry ("0-0" when empty).
  virtual absl::StatusOr<std::string> LastChangePosition(absl::string_view tenant) = 0;
  // LastChangePosition and CustomerCount read together (one round trip):
  // what a reader of the stream must have seen to reflect every write
  // committed before the call, since a customer whose write changed no
  // segment is counted but has no stream entry.
  virtual absl::StatusOr<ChangeHead> ReadChangeHead(absl::string_view tenant) = 0;
  // When older entries were dropped by the stream cap, returns the position of
  // the oldest retained one (a reader resuming before it may have missed
  // changes); nullopt when nothing was ever dropped.
  virtual absl::StatusOr<std::optional<std::string>> RetainedFrom(absl::string_view tenant) = 0;
  // ReadChanges, then RetainedFrom and CustomerCount as they stand once those
  // changes were read: what a follower of the stream needs per pass to
  // notice a gap (entries the cap dropped after its position) and customers
  // created by writes that made no entry. The Redis store sends the three in
  // one round trip instead of three: a follower may wake for every write
  // (docs/benchmarks.md, twenty-fourth pass). This default calls them one
  // after the other, which gives the same guarantees.
  virtual absl::StatusOr<ChangeTail> ReadChangeTail(absl::string_view tenant,
                                                    absl::string_view after, int limit,
                                                    absl::Duration wait);

  // The tenant's config: nullopt when none was stored. WriteConfig stores
  // version expected_version + 1 iff the stored version equals expected_version
  // (0: none stored) and returns the new version, or ABORTED on a mismatch.
  virtual absl::StatusOr<std::optional<VersionedBlob>> ReadConfig(absl::string_view tenant) = 0;
  virtual absl::StatusOr<int64_t> WriteConfig(absl::string_view tenant, int64_t expected_version,
                                              absl::string_view bytes, absl::Time at) = 0;
  // Records that every customer has been re-classified under config
  // `version`: clears reclassification_pending if `version` is still the
  // stored one (otherwise nothing: a newer config is pending itself).
  virtual absl::Status ConfigApplied(absl::string_view tenant, int64_t version) = 0;
  // Makes `replica` the one re-classifying under config `version`
  // (VersionedBlob::reclassifying_replica) if that is still the stored
  // version, still pending, and claimed by `from` ("": unclaimed). Returns
  // whether it did. Why: a replica that dies midway leaves its claim, which
  // other replicas take over as soon as its liveness mark lapses
  // (StatisticsMover::ResumeConfig), not after a fixed grace period.
  // INVALID_ARGUMENT for an empty `replica`.
  virtual absl::StatusOr<bool> ClaimReclassification(absl::string_view tenant, int64_t version,
                                                     absl::string_view from,
                                                     absl::string_view replica) = 0;

  // Rechecks: customers whose membership a config update brought up to date
  // but whose schedule entry (next change) it left for the background, each
  // with the config version that left it. Kept in the store so that a replica
  // dying before the background finishes loses nothing: any replica's
  // TransitionScheduler re-classifies them and clears them.
  // AddRechecks records `customer_ids` under `config_version` (an entry of a
  // higher version is kept as it is). Rechecks returns up to `limit` entries,
  // in no particular order. ClearRechecks removes each given customer whose
  // entry's version is <= `done_version` (a higher one was added since and
  // still needs its own re-classification). RecheckCount: how many remain.
  struct Recheck {
    std::string customer_id;
    int64_t config_version = 0;
  };
  virtual absl::Status AddRechecks(absl::string_view tenant,
                                   absl::Span<const std::string> customer_ids,
                                   int64_t config_version) = 0;
  virtual absl::StatusOr<std::vector<Recheck>> Rechecks(absl::string_view tenant, int limit) = 0;
  virtual absl::Status ClearRechecks(absl::string_view tenant,
                                     absl::Span<const std::string> customer_ids,
                                     int64_t done_version) = 0;
  virtual absl::StatusOr<int64_t> RecheckCount(absl::string_view tenant) = 0;

  // Statistics in use: population statistics some replica's writes may have
  // classified customers with, whose moves that replica's StatisticsMover has
  // not applied yet; each an opaque `value` under a `field` of the caller's
  // making (TenantContexts). Kept in the store so that moves a replica owed
  // when it died or stopped are applied by another replica, or by itself once
  // restarted (StatisticsMover adopts them). StatsInUse returns every entry;
  // RemoveStatsInUse ignores fields already gone.
  virtual absl::Status AddStatsInUse(absl::string_view tenant, absl::string_view field,
                                     absl::string_view value) = 0;
  virtual absl::StatusOr<std::vector<std::pair<std::string, std::string>>> StatsInUse(
      absl::string_view tenant) = 0;
  virtual absl::Status RemoveStatsInUse(absl::string_view tenant,
                                        absl::Span<const std::string> fields) = 0;

  // Replica liveness, judged by the store's clock (not the replicas'):
  // MarkReplicaAlive keeps `replica` alive for `ttl` from now and returns
  // whether it was alive already (false: its first mark, or it had lapsed).
  // ReplicasAlive says which of `replicas` are alive.
  virtual absl::StatusOr<bool> MarkReplicaAlive(absl::string_view replica, absl::Duration ttl) = 0;
  virtual absl::StatusOr<std::vector<bool>> ReplicasAlive(
      absl::Span<const std::string> replicas) = 0;

  // Returns the ids of category names, giving new names the next free ids
  // (0, 1, 2, ... per tenant) atomically; RESOURCE_EXHAUSTED past 65535 ids.
  virtual absl::StatusOr<std::vector<uint16_t>> InternCategories(
      absl::string_view tenant, absl::Span<const std::string> names) = 0;
  // Returns every category name, indexed by id.
  virtual absl::StatusOr<std::vector<std::string>> CategoryNames(absl::string_view tenant) = 0;
};

}  // namespace segmentd::store

#endif  // SEGMENTD_STORE_CUSTOMER_STORE_H_

// RedisCustomerStore: the CustomerStore that counts, kept in Redis (7.0+)
// through a shared RedisClient. Key layout: docs/redis-keys.md.
//
//   absl::StatusOr<std::unique_ptr<RedisCustomerStore>> store =
//       RedisCustomerStore::Create(client, RedisCustomerStore::Options());
//
// Every key of a tenant carries the hash tag {<tenant>}, so one tenant lives
// in one cluster slot; customer ids and segment names only ever appear as the
// last component of a key after a fixed prefix, or as members and values, so
// no id can address another tenant's or another kind's keys.
//
// A customer write is one Lua script (version check, ordinal, state, member
// sets, change-stream entries, schedule, measure indexes), atomic in Redis;
// a batch of writes is pipelined in one round trip per `write_batch` writes
// (`small_call_batch` in a call of at most `small_call_writes`).
// Re-classifications without new facts (config updates, time-driven and
// statistics moves), each of a customer written once in its batch, are
// checked in C++ and committed as one WATCH/MULTI/EXEC transaction per batch
// instead: the same effects for less Redis time (a third of the command
// time, measured in config updates at 1M customers). One difference: a
// command failing inside the transaction (only possible when a key of ours
// holds another type) does not stop the commands after it, as it would stop
// a script's.
// Every command touches O(changed segments) or O(page) entries: nothing scans a
// whole set, because Redis serves every client from one thread.
//
// Not a snapshot: CustomersByOrders/Revenue/Aov read in pages of `read_page`,
// so writes that land meanwhile may or may not show; but a customer whose
// measure is in the range and unchanged throughout is always returned, however
// others move (each page starts right after the last member read, found by
// ZRANK in the same script). ScanSegment is SSCAN: a
// member may be returned twice if the set is resized during the scan.
// Measures are Redis scores (doubles): exact up to 2^53.
//
// ReadChanges with a wait holds one pooled connection in XREAD BLOCK for up to
// `max_block` at a time; size the client's pool for the number of concurrent
// waiting readers.
//
// Thread-safe, as RedisClient is. The client must outlive the store.
#ifndef SEGMENTD_STORE_REDIS_CUSTOMER_STORE_H_
#define SEGMENTD_STORE_REDIS_CUSTOMER_STORE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "store/customer_store.h"
#include "store/order_log.h"
#include "store/redis/member_commands.h"
#include "store/redis/redis_client.h"
#include "store/redis/redis_reply.h"

namespace segmentd::store {

class RedisCustomerStore : public CustomerStore {
 public:
  struct Options {
    // Change-stream entries kept per tenant (XADD MAXLEN ~): Redis trims whole
    // stream nodes, so it keeps at least this many and up to one node (100
    // entries by default) more. Default: 1,000,000.
    int64_t max_changes = 1'000'000;
    // Writes pipelined per round trip by WriteWithResults(). Redis runs a client's
    // pipelined commands back to back, and one write script costs ~35 us of
    // Redis time, so 32 keeps any pipeline near 1 ms: a bulk import or a
    // background re-classification never holds a checkout's command for long.
    // Default: 32.
    int write_batch = 32;
    // Writes pipelined per round trip by a WriteWithResults() of at most
    // small_call_writes writes: a live feed's BulkIngest batch, unary events
    // coalesced. Such a call waits for its round trips either way, but a
    // pipeline of 32 (new orders cost Redis ~250 us each at 1M) held other
    // clients' commands for several ms each, and a checkout's event waited
    // behind one per busy client (docs/benchmarks.md, twenty-third and
    // thirty-fourth passes). An import's calls are larger and keep
    // write_batch. Defaults: 8 and 64.
    int small_call_batch = 8;
    int small_call_writes = 64;
    // Entries fetched per command by CustomersByOrders/Revenue and
    // CategoryNames. Default: 1000.
    int read_page = 1000;
    // Longest single XREAD BLOCK; ReadChanges waits longer by blocking again.
    // Must be shorter than the client's command_timeout (default 2 s), or the
    // client gives up on the blocked read. Default: 1 s.
    absl::Duration max_block = absl::Seconds(1);
  };

  // Returns INVALID_ARGUMENT for a null client or an option out of range.
  // Does not talk to Redis.
  static absl::StatusOr<std::unique_ptr<RedisCustomerStore>> Create(redis::RedisClient* client,
                                                                    Options options);

  absl::StatusOr<std::vector<CustomerState>> Read(
      absl::string_view tenant, absl::Span<const std::string> customer_ids) override;
  absl::StatusOr<std::vector<ProfileRead>> ReadProfiles(
      absl::string_view tenant, absl::Span<const std::string> customer_ids) override;
  // On an error status some writes of the batch may have been committed (a
  // retry then sees version conflicts for them); none is acknowledged.
  absl::StatusOr<std::vector<WriteResult>> WriteWithResults(
      absl::string_view tenant, absl::Span<const CustomerWrite> writes) override;
  // Each write_batch customers read under WATCH, their re-classifications
  // committed in the same transaction (ReadAndWriteBatch).
  absl::StatusOr<std::vector<WriteResult>> ReadAndWrite(absl::string_view tenant,
                                                        absl::Span<const std::string> customer_ids,
                                                        WritesOf decide) override;
  absl::StatusOr<std::vector<uint32_t>> OrderOwners(absl::string_view tenant,
                                                    absl::Span<const uint64_t> orders) override;
  absl::StatusOr<std::optional<uint32_t>> OrdersUnrecordedFrom(absl::string_view tenant) override;
  absl::StatusOr<int64_t> RecordOrders(absl::string_view tenant,
                                       absl::Span<const RecordedOrder> orders,
                                       uint32_t next_ordinal) override;
  absl::StatusOr<std::optional<uint32_t>> RegistrationsUnindexedFrom(
      absl::string_view tenant) override;
  absl::StatusOr<int64_t> IndexRegistrations(absl::string_view tenant,
                                             absl::Span<const IndexedRegistration> customers,
                                             uint32_t next_ordinal) override;
  absl::StatusOr<std::vector<std::string>> Due(absl::string_view tenant, absl::Time now,
                                               int limit) override;
  absl::StatusOr<std::optional<absl::Time>> NextDueAfter(absl::string_view tenant,
                                                         absl::Time after) override;
  absl::StatusOr<int64_t> SegmentSize(absl::string_view tenant, absl::string_view segment) override;
  // One pipeline of SCARDs.
  absl::StatusOr<std::vector<int64_t>> SegmentSizes(
      absl::string_view tenant, absl::Span<const std::string> segments) override;
  // The cursor is the SSCAN cursor.
  absl::StatusOr<IdPage> ScanSegment(absl::string_view tenant, absl::string_view segment,
                                     absl::string_view cursor, int count) override;
  absl::StatusOr<std::vector<IdPage>> ScanSegmentsFirstPages(absl::string_view tenant,
                                                             absl::Span<const std::string> segments,
                                                             int count) override;
  // The cursor is the next ordinal to visit: customers come in ordinal order,
  // each exactly once; at most 10,000 per page whatever `count` asks.
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
  // EXISTS sd:{t}:m:aov:kept, which the write giving the tenant ordinal 1
  // sets.
  absl::StatusOr<bool> AovIndexesKeptFromStart(absl::string_view tenant) override;
  absl::Status ScanRegisteredNonBuyers(absl::string_view tenant, int64_t lo, int64_t hi,
                                       const IdPageSink& page) override;
  absl::StatusOr<std::vector<DayTotals>> DailyTotals(absl::string_view tenant, int64_t first_day,
                                                     int64_t last_day) override;
  // Exact at both ends from the day logs (store/order_log.h) when the
  // tenant's first logged day (a field of sd:{t}:daily) allows; a tenant
  // without that field gets it (the day after Redis's today) on the first call.
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
  absl::StatusOr<ChangeTail> ReadChangeTail(absl::string_view tenant, absl::string_view after,
                                            int limit, absl::Duration wait) override;
  absl::StatusOr<std::optional<VersionedBlob>> ReadConfig(absl::string_view tenant) override;
  absl::StatusOr<int64_t> WriteConfig(absl::string_view tenant, int64_t expected_version,
                                      absl::string_view bytes, absl::Time at) override;
  absl::Status ConfigApplied(absl::string_view tenant, int64_t version) override;
  absl::StatusOr<bool> ClaimReclassification(absl::string_view tenant, int64_t version,
                                             absl::string_view from,
                                             absl::string_view replica) override;
  absl::Status AddRechecks(absl::string_view tenant, absl::Span<const std::string> customer_ids,
                           int64_t config_version) override;
  // HRANDFIELD: a random sample, so replicas draining together mostly take
  // different customers.
  absl::StatusOr<std::vector<Recheck>> Rechecks(absl::string_view tenant, int limit) override;
  absl::Status ClearRechecks(absl::string_view tenant, absl::Span<const std::string> customer_ids,
                             int64_t done_version) override;
  absl::StatusOr<int64_t> RecheckCount(absl::string_view tenant) override;
  // Four commands per tenant, kSurveyTenantsPerRoundTrip tenants per
  // pipelined round trip.
  absl::StatusOr<std::vector<TenantSurvey>> SurveyTenants(
      absl::Span<const std::string> tenants) override;
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

  // Tests only: runs `hook` inside a re-classification transaction after its
  // reads, before its EXEC, so a test can write a watched key there.
  void SetBeforeReclassifyCommitForTest(std::function<void()> hook) {
    before_reclassify_commit_for_test_ = std::move(hook);
  }

 private:
  RedisCustomerStore(redis::RedisClient* client, Options options);

  // ReadChanges' work, with `then` pipelined after each XREAD (Redis answers
  // them once it returns): appends the changes read to `changes` and returns
  // the replies to `then` of the last XREAD, the one that returned them or
  // found none when the wait was over.
  absl::StatusOr<std::vector<redis::RedisReply>> ReadChangesThen(
      absl::string_view tenant, absl::string_view after, int limit, absl::Duration wait,
      absl::Span<const redis::RedisCommand> then, std::vector<StoredChange>& changes);
  // Returns the KEYS and the ARGV of the script that commits one customer
  // write (the full write script, or the bookkeeping-only one).
  std::vector<std::string> WriteKeys(absl::string_view tenant, const CustomerWrite& write) const;
  std::vector<std::string> WriteArgs(absl::string_view tenant, const CustomerWrite& write) const;
  // Commits `writes` in one pipeline (or two, or three: re-classifications
  // go through ReadAndWriteBatch), appending one result per write to
  // `committed`.
  absl::Status WriteBatch(absl::string_view tenant, absl::Span<const CustomerWrite> writes,
                          std::vector<WriteResult>& committed);
  // Commits writes[i] for each i in `which` through its script, in one
  // pipeline, setting done[i].
  absl::Status RunWriteScripts(absl::string_view tenant, absl::Span<const CustomerWrite> writes,
                               absl::Span<const size_t> which, std::vector<WriteResult>& done);
  // One transaction of ReadAndWrite (RedisClient::Transaction): WATCHes the
  // config and `customer_ids`, reads the config version and their states,
  // and commits the re-classifications among the writes `decide` makes of
  // them (one write of a customer read here each) as MULTI/EXEC: the
  // version checks of the scripts in C++ on the states read, then their
  // commands, without Lua, which costs Redis less (docs/benchmarks.md,
  // fifteenth pass). The other writes, and all of them when a watched key
  // (a customer, the config) was written meanwhile (EXEC ran nothing), go
  // through their scripts after it. Appends a result per write to
  // `results`.
  absl::Status ReadAndWriteBatch(absl::string_view tenant,
                                 absl::Span<const std::string> customer_ids, WritesOf decide,
                                 std::vector<WriteResult>& results);
  // Appends the commands of re-classification `write` to `out`, but its
  // member-set and sorted-set moves to `members`, given its stored fields as
  // a state read has them (what the scripts do after their checks).
  absl::Status AppendReclassification(absl::string_view tenant, const CustomerWrite& write,
                                      const std::vector<redis::RedisReply>& stored,
                                      std::vector<redis::RedisCommand>& out,
                                      redis::MemberCommands& members) const;
  // Runs `claims` (HSETNX <bucket> <order> <ordinal>, RecordOrders) in one
  // pipeline; returns how many orders were held by another ordinal.
  absl::StatusOr<int64_t> ClaimOrders(const std::vector<redis::RedisCommand>& claims);
  // OrdersUnrecordedFrom or RegistrationsUnindexedFrom of `tenant`, from the
  // backfill's marker and cursor keys.
  absl::StatusOr<std::optional<uint32_t>> UnfilledFrom(absl::string_view tenant,
                                                       const std::string& marker_key,
                                                       const std::string& cursor_key);
  // Moves a backfill's cursor up to `next_ordinal` (0: leaves it), setting
  // its marker past the last ordinal (BackfillCursorScript).
  absl::Status MoveBackfillCursor(absl::string_view tenant, const std::string& marker_key,
                                  const std::string& cursor_key, uint32_t next_ordinal);
  // Runs AddRechecks' or ClearRechecks' script over `customer_ids`, a page at
  // a time (each page atomic; the pages need not be).
  absl::Status EvalRechecks(const redis::RedisScript& script, absl::string_view tenant,
                            absl::Span<const std::string> customer_ids, int64_t config_version);
  // Ids whose score in the sorted set `key` lies in [lo, hi).
  // Validates the ids, then runs `command` (its name, then what follows the
  // key) on each customer's hash, in one pipeline.
  absl::StatusOr<std::vector<redis::RedisReply>> ReadEach(
      absl::string_view tenant, absl::Span<const std::string> customer_ids,
      const std::vector<std::string>& command);
  absl::StatusOr<std::vector<std::string>> ByMeasure(absl::string_view tenant,
                                                     const std::string& key, int64_t lo,
                                                     int64_t hi);
  // How many members of the sorted set `key` score in [lo, hi).
  absl::StatusOr<int64_t> CountByMeasure(absl::string_view tenant, const std::string& key,
                                         int64_t lo, int64_t hi);
  // Hands over the members scoring in [lo, hi), page by page (see
  // ScanCustomersByOrders).
  absl::Status ByMeasurePages(absl::string_view tenant, const std::string& key, int64_t lo,
                              int64_t hi, const IdPageSink& page);
  absl::StatusOr<std::optional<int64_t>> AtRank(absl::string_view tenant, absl::string_view measure,
                                                int64_t rank);

  redis::RedisClient* const client_;
  const Options options_;
  // The day logs OrderTotalsIn read: at most 64 MiB.
  OrderLogCache order_logs_{64 << 20};
  std::function<void()> before_reclassify_commit_for_test_;
};

}  // namespace segmentd::store

#endif  // SEGMENTD_STORE_REDIS_CUSTOMER_STORE_H_

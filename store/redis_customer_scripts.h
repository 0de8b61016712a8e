// The customer store's Lua scripts, each documented with its KEYS, ARGV and
// replies (docs/redis-keys.md, Operations). Each runs atomically in Redis and
// touches O(one customer) or O(one page) entries. Internal to
// RedisCustomerStore.
#ifndef SEGMENTD_STORE_REDIS_CUSTOMER_SCRIPTS_H_
#define SEGMENTD_STORE_REDIS_CUSTOMER_SCRIPTS_H_

#include "store/redis/redis_script.h"

namespace segmentd::store {

// Commits one customer write if the stored version matches.
// KEYS[1] customer hash sd:{t}:c:<id>   KEYS[2] ordinal hash sd:{t}:ord
// KEYS[3] ordinal counter sd:{t}:ordseq KEYS[4] schedule zset sd:{t}:sched
// KEYS[5] change stream sd:{t}:changes  KEYS[6] orders zset sd:{t}:m:orders
// KEYS[7] revenue zset sd:{t}:m:revenue KEYS[8] config hash sd:{t}:config
// KEYS[9] daily totals hash sd:{t}:daily KEYS[10], [11] AOV zsets sd:{t}:m:aov0/1
// KEYS[12] registration zset sd:{t}:m:reg KEYS[13] its marker sd:{t}:m:reg:complete
// KEYS[14] the order record's marker sd:{t}:oid:complete
// KEYS[15] the AOV indexes' marker sd:{t}:m:aov:kept
// KEYS[16] the tenant's presence key sd:{t}:present (store/tenant_presence.h)
// ARGV[1] customer id, [2] expected version, [3] new version, [4] profile,
// [5] membership, [6] encoded segment list, [7] next change ms or "" (none),
// [8] cause, [9] changed_at ms, [10] lifetime orders, "" (not a buyer) or
// "=" (the measures are as stored: CustomerWrite::measures_as_stored),
// [11] lifetime revenue, [12] segment key prefix sd:{t}:s:, [13] stream cap,
// [14] config version the write was computed with, [15], [16] AOV index
// entries or "" (none), [17] number D of days whose totals move, [18]
// membership history, [19] registration index entry or "" (none), [20]
// number P of placed orders, [21] day-log key prefix sd:{t}:dl:, then D
// quadruples (day, orders, revenue, the day's order-log records: order_log.h),
// then P pairs (order-owner bucket key, order id fingerprint as 8 bytes),
// then the new segment names.
// Member-set keys are built from ARGV[12], and bucket keys are passed in
// ARGV; they share the tenant's hash tag, so they live in the same slot as
// the declared keys.
// Returns 1 when committed, 0 on a version conflict, -1 when the stored
// segment list cannot be decoded, -3 when a placed order is recorded
// against another customer, kTenantAbsentReply (-4) when the tenant's
// presence key is gone (nothing written in any of these cases).
const redis::RedisScript& WriteScript();

// Commits a bookkeeping-only write (CustomerWrite::bookkeeping_only) if the
// stored version matches: the encoded membership, the schedule entry and the
// AOV index entries, nothing else (no member set, stream, measure or daily
// command, no profile or history bytes).
// KEYS as WriteScript's (only [1], [4], [8], [10], [11] and [16] are used).
// ARGV[1] customer id, [2] expected version, [3] new version, [4] membership,
// [5] encoded segment list (must equal the stored one), [6] next change ms or
// "", [7] config version the write was computed with, [8], [9] AOV index
// entries or "".
// Returns 1 when committed, 0 on a version conflict, -2 when the stored
// segment list differs, -4 when the tenant's presence key is gone (nothing
// written in either case).
const redis::RedisScript& BookkeepingScript();

// Stores a new config version if the stored one matches.
// KEYS[1] config hash sd:{t}:config, [2] presence key sd:{t}:present.
// ARGV[1] expected version ("0": none stored), [2] new version, [3] bytes,
// [4] updated ms.
// Returns {1, new version} when stored, {0, stored version} on a mismatch,
// kTenantAbsentReply (-4) when the tenant's presence key KEYS[2] is gone.
const redis::RedisScript& WriteConfigScript();

// Makes ARGV[3] the replica re-classifying under config version ARGV[1] if
// that is still stored, pending, and claimed by ARGV[2] (kUnclaimed: none).
// KEYS[1] config hash sd:{t}:config. Returns 1 when it did, else 0.
const redis::RedisScript& ClaimReclassificationScript();

// Clears the config's re-classification-pending flag if the stored version is
// still ARGV[1]. KEYS[1] config hash sd:{t}:config.
const redis::RedisScript& ConfigAppliedScript();

// KEYS[1] the rechecks hash sd:{t}:recheck (customer id -> config version).
// ARGV[1] the version, [2..] customer ids (at least one). AddRechecks: sets
// each entry to the version unless it holds a higher one. ClearRechecks:
// deletes each entry whose version is <= ARGV[1]. One HMGET and one HSET or
// HDEL for all the ids: a redis.call costs more than a field.
const redis::RedisScript& AddRechecksScript();

const redis::RedisScript& ClearRechecksScript();

// Moves a backfill's cursor (CustomerStore::RecordOrders, IndexRegistrations)
// once everything below it is filled.
// KEYS[1] the cursor (sd:{t}:oid:next, sd:{t}:m:reg:next), [2] the marker
// (sd:{t}:oid:complete, sd:{t}:m:reg:complete), [3] sd:{t}:ordseq.
// ARGV[1] the next unfilled ordinal: the cursor moves up to it (never back),
// or past the last ordinal the marker is set and the cursor deleted.
const redis::RedisScript& BackfillCursorScript();

// Stores the registration index entry of customers written before the index
// existed (CustomerStore::IndexRegistrations): of each stored customer
// (field `v`) without a stored entry (field `g`, which every full write sets,
// by script or transaction), so an entry a newer write derived is never
// overwritten, and the index and the field stay in step (those writes move
// the index entry from the stored field).
// KEYS[1] registration zset sd:{t}:m:reg.
// ARGV: triples (customer hash key, customer id, entry in Unix ms).
// Customer keys share the tenant's hash tag with KEYS[1].
// Returns how many customers it added to the index.
const redis::RedisScript& IndexRegistrationsScript();

// Returns the ids of category names, giving unknown names the next ids.
// KEYS[1] name -> id hash sd:{t}:cat, KEYS[2] id -> name hash sd:{t}:catn.
// ARGV[1] most ids per tenant, [2..] names.
// Ids are dense (0, 1, ...), so the next id is HLEN of KEYS[2].
// Returns the ids in ARGV order, or -1 (nothing written) when the new names
// would not fit.
const redis::RedisScript& InternScript();

// A page of a measure zset's members scoring in [ARGV[1], ARGV[2]) (integer
// bounds), at most ARGV[3] of them in score order, without their scores but
// for the last one's, appended: formatting a score costs Redis about what
// reading its member does. The first page (ARGV[4] empty) starts at the
// range's first member; a later one right after member ARGV[4] (whose score
// was ARGV[5] when read) or, if that member has since left the set or
// changed score, at the first member scoring at least ARGV[5] (members read
// again are de-duplicated by the caller). KEYS[1] the zset.
const redis::RedisScript& MeasurePageScript();

// Marks, once, the first day whose log an older tenant's OrderTotalsIn may
// read: the day after both Redis's today and the last day holding totals.
// Every change booked into it or later is then booked by a write of this
// build (or a later one), which logs it: an order is booked only once placed
// (server/live/customer_measures.h), and the last day holding totals covers
// orders dated ahead that builds before 2026-12-05 booked on arrival.
// Nothing for a tenant whose presence key is gone (store/tenant_presence.h).
// Days whose totals are back to zero need no log, and days beyond ten
// years ahead (an order dated in 2100) are left out: they would keep the
// tenant inexact for good, and no window ending before then reads them.
// Reads every field of the daily totals once per tenant (~2-4 ms at ten
// years of days). KEYS[1] daily totals sd:{t}:daily, KEYS[2] presence
// sd:{t}:present; ARGV[1] the field. Returns the field's value, or nil.
const redis::RedisScript& MarkLogsFromScript();

}  // namespace segmentd::store

#endif  // SEGMENTD_STORE_REDIS_CUSTOMER_SCRIPTS_H_

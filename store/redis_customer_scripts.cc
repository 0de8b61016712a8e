#include "store/redis_customer_scripts.h"

#include <string>

namespace segmentd::store {

using redis::RedisScript;

namespace {

// Lua: moves the entry of customer `id` in sorted set `key` from `old` (its
// stored field; "" or false: none) to `value` ("": none). An unchanged entry
// costs no command. Both write scripts define `id` before it.
constexpr char kIndexFunction[] = R"lua(
    local function index(key, old, value)
      old = old or ''
      if value == old then return end
      if value == '' then
        redis.call('ZREM', key, id)
      else
        redis.call('ZADD', key, value, id)
      end
    end
)lua";

}  // namespace

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
const RedisScript& WriteScript() {
  static const RedisScript* const script = new RedisScript(std::string(R"lua(
    local id = ARGV[1]
    if redis.call('EXISTS', KEYS[16]) == 0 then return -4 end
    -- The stored schedule and AOV entries too: a sorted set is only touched
    -- when its entry moves (ZADD of an unchanged score and ZREM of an absent
    -- member still cost Redis a lookup each; a new customer is in none).
    local stored = redis.call('HMGET', KEYS[1], 'v', 's', 'n', 'a0', 'a1', 'g', 'o')
    if (stored[1] or '0') ~= ARGV[2] then return 0 end
    if (redis.call('HGET', KEYS[8], 'v') or '0') ~= ARGV[14] then return 0 end
    local first_order = 22 + 4 * tonumber(ARGV[17])
    local first_name = first_order + 2 * tonumber(ARGV[20])
    -- Decode the stored list: "<len>:<name>" repeated.
    local old, was = {}, {}
    local list, pos = stored[2] or '', 1
    while pos <= #list do
      local colon = string.find(list, ':', pos, true)
      local len = colon and tonumber(string.sub(list, pos, colon - 1))
      if not len or colon + len > #list then return -1 end
      local name = string.sub(list, colon + 1, colon + len)
      old[#old + 1] = name
      was[name] = true
      pos = colon + len + 1
    end
    local now = {}
    for i = first_name, #ARGV do now[ARGV[i]] = true end
    -- Order ids are unique per tenant: claim each placed one for this
    -- customer (HSETNX: one command per order, as the bulk path needs)
    -- before anything else is written. One recorded against another
    -- customer undoes this script's claims and refuses the write. A new
    -- customer's ordinal will be the counter's next value (INCR below).
    local claimed = {}
    local function unclaim()
      for _, i in ipairs(claimed) do redis.call('HDEL', ARGV[i], ARGV[i + 1]) end
    end
    if first_name > first_order then
      local mine = stored[7]
      if stored[1] == false then
        mine = tostring((tonumber(redis.call('GET', KEYS[3])) or 0) + 1)
      end
      for i = first_order, first_name - 1, 2 do
        if redis.call('HSETNX', ARGV[i], ARGV[i + 1], mine) == 1 then
          claimed[#claimed + 1] = i
        elseif redis.call('HGET', ARGV[i], ARGV[i + 1]) ~= mine then
          unclaim()
          return -3
        end
      end
    end
    -- The daily totals next: HINCRBY is the one command here that can fail
    -- on valid input (overflow), and Redis does not undo a script's earlier
    -- commands when a later one fails. Failing here undoes the totals already
    -- moved (last first, negated as text: exact for any delta but -2^63, which
    -- no write carries: amounts are bounded far below) and the claims, and leaves
    -- the customer, its sets and its index entries as they were, in step
    -- with each other (the sorted-set updates below rely on the stored
    -- fields matching them).
    local added = {}
    local function add(field, by)
      if by == '0' then return nil end
      local r = redis.pcall('HINCRBY', KEYS[9], field, by)
      if type(r) == 'table' and r.err then
        for k = #added, 1, -1 do redis.call('HINCRBY', KEYS[9], added[k][1], added[k][2]) end
        unclaim()
        return r
      end
      added[#added + 1] = {field, string.sub(by, 1, 1) == '-' and string.sub(by, 2) or '-' .. by}
    end
    for i = 22, first_order - 1, 4 do
      local failed = add('o' .. ARGV[i], ARGV[i + 1]) or add('r' .. ARGV[i], ARGV[i + 2])
      if failed then return failed end
    end
    -- Each change at its instant too (APPEND fails only as every command
    -- may, out of memory).
    for i = 22, first_order - 1, 4 do redis.call('APPEND', ARGV[21] .. ARGV[i], ARGV[i + 3]) end
    local function change(name, entered)
      redis.call('XADD', KEYS[5], 'MAXLEN', '~', ARGV[13], '*', 'c', id, 's', name,
                 'e', entered, 't', ARGV[9], 'k', ARGV[8])
    end
    for _, name in ipairs(old) do
      if not now[name] then
        redis.call('SREM', ARGV[12] .. name, id)
        change(name, '0')
      end
    end
    for i = first_name, #ARGV do
      if not was[ARGV[i]] then
        redis.call('SADD', ARGV[12] .. ARGV[i], id)
        change(ARGV[i], '1')
      end
    end
  )lua" + std::string(kIndexFunction) + R"lua(
    index(KEYS[4], stored[3], ARGV[7])
    if ARGV[10] == '' then
      if stored[1] then
        redis.call('ZREM', KEYS[6], id)
        redis.call('ZREM', KEYS[7], id)
      end
    elseif ARGV[10] ~= '=' then
      redis.call('ZADD', KEYS[6], ARGV[10], id)
      redis.call('ZADD', KEYS[7], ARGV[11], id)
    end
    index(KEYS[10], stored[4], ARGV[15])
    index(KEYS[11], stored[5], ARGV[16])
    index(KEYS[12], stored[6], ARGV[19])
    -- A new customer's ordinal, last: a command failing above then leaves no
    -- ordinal without its customer, and it goes into the state HSET (one
    -- command fewer per new customer).
    local ordinal
    if stored[1] == false then
      ordinal = redis.call('INCR', KEYS[3])
      redis.call('HSET', KEYS[2], ordinal, id)
      -- The tenant's first customer: every customer will have its
      -- registration entry and its orders recorded, both AOV index
      -- entries kept, and every change of the order totals logged at its
      -- instant from the first day on (a tenant older than the index, the
      -- record, the kept indexes or the logs has none of that).
      if ordinal == 1 then
        redis.call('SET', KEYS[13], '1')
        redis.call('SET', KEYS[14], '1')
        redis.call('SET', KEYS[15], '1')
        -- kLogsFromField, kLogsFromStart
        redis.call('HSET', KEYS[9], 'f', '-2147483648')
      end
    end
    if ordinal then
      redis.call('HSET', KEYS[1], 'o', ordinal, 'v', ARGV[3], 'p', ARGV[4], 'm', ARGV[5],
                 's', ARGV[6], 'n', ARGV[7], 'a0', ARGV[15], 'a1', ARGV[16], 'h', ARGV[18],
                 'g', ARGV[19])
    else
      redis.call('HSET', KEYS[1], 'v', ARGV[3], 'p', ARGV[4], 'm', ARGV[5], 's', ARGV[6],
                 'n', ARGV[7], 'a0', ARGV[15], 'a1', ARGV[16], 'h', ARGV[18], 'g', ARGV[19])
    end
    return 1
  )lua"));
  return *script;
}

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
const RedisScript& BookkeepingScript() {
  static const RedisScript* const script = new RedisScript(std::string(R"lua(
    local id = ARGV[1]
    if redis.call('EXISTS', KEYS[16]) == 0 then return -4 end
    local stored = redis.call('HMGET', KEYS[1], 'v', 's', 'n', 'a0', 'a1')
    if (stored[1] or '0') ~= ARGV[2] then return 0 end
    if (redis.call('HGET', KEYS[8], 'v') or '0') ~= ARGV[7] then return 0 end
    if (stored[2] or '') ~= ARGV[5] then return -2 end
  )lua") + kIndexFunction + R"lua(
    index(KEYS[4], stored[3], ARGV[6])
    index(KEYS[10], stored[4], ARGV[8])
    index(KEYS[11], stored[5], ARGV[9])
    redis.call('HSET', KEYS[1], 'v', ARGV[3], 'm', ARGV[4], 'n', ARGV[6], 'a0', ARGV[8],
               'a1', ARGV[9])
    return 1
  )lua");
  return *script;
}

// Stores a new config version if the stored one matches.
// KEYS[1] config hash sd:{t}:config, [2] presence key sd:{t}:present.
// ARGV[1] expected version ("0": none stored), [2] new version, [3] bytes,
// [4] updated ms.
// Returns {1, new version} when stored, {0, stored version} on a mismatch,
// kTenantAbsentReply (-4) when the tenant's presence key KEYS[2] is gone.
const RedisScript& WriteConfigScript() {
  static const RedisScript* const script = new RedisScript(R"lua(
    if redis.call('EXISTS', KEYS[2]) == 0 then return -4 end
    local v = redis.call('HGET', KEYS[1], 'v') or '0'
    if v ~= ARGV[1] then return {0, v} end
    -- Pending, unclaimed (kUnclaimed).
    redis.call('HSET', KEYS[1], 'v', ARGV[2], 'b', ARGV[3], 't', ARGV[4], 'p', '1')
    return {1, ARGV[2]}
  )lua");
  return *script;
}

// Makes ARGV[3] the replica re-classifying under config version ARGV[1] if
// that is still stored, pending, and claimed by ARGV[2] (kUnclaimed: none).
// KEYS[1] config hash sd:{t}:config. Returns 1 when it did, else 0.
const RedisScript& ClaimReclassificationScript() {
  static const RedisScript* const script = new RedisScript(R"lua(
    local stored = redis.call('HMGET', KEYS[1], 'v', 'p')
    if stored[1] ~= ARGV[1] or stored[2] ~= ARGV[2] then return 0 end
    redis.call('HSET', KEYS[1], 'p', ARGV[3])
    return 1
  )lua");
  return *script;
}

// Clears the config's re-classification-pending flag if the stored version is
// still ARGV[1]. KEYS[1] config hash sd:{t}:config.
// Only deletes: runs while Redis is over its maxmemory too.
const RedisScript& ConfigAppliedScript() {
  static const RedisScript* const script = new RedisScript(R"lua(#!lua flags=allow-oom
    if redis.call('HGET', KEYS[1], 'v') == ARGV[1] then redis.call('HDEL', KEYS[1], 'p') end
    return 1
  )lua");
  return *script;
}

// KEYS[1] the rechecks hash sd:{t}:recheck (customer id -> config version).
// ARGV[1] the version, [2..] customer ids (at least one). AddRechecks: sets
// each entry to the version unless it holds a higher one. ClearRechecks:
// deletes each entry whose version is <= ARGV[1]. One HMGET and one HSET or
// HDEL for all the ids: a redis.call costs more than a field.
const RedisScript& AddRechecksScript() {
  static const RedisScript* const script = new RedisScript(R"lua(
    local v = tonumber(ARGV[1])
    local old = redis.call('HMGET', KEYS[1], unpack(ARGV, 2))
    local set = {}
    for i = 2, #ARGV do
      if not old[i - 1] or tonumber(old[i - 1]) < v then
        set[#set + 1] = ARGV[i]
        set[#set + 1] = ARGV[1]
      end
    end
    if #set > 0 then redis.call('HSET', KEYS[1], unpack(set)) end
    return 1
  )lua");
  return *script;
}
// Only deletes: runs while Redis is over its maxmemory too, so a drain
// during an outage does not re-classify its customers again every slice.
const RedisScript& ClearRechecksScript() {
  static const RedisScript* const script = new RedisScript(R"lua(#!lua flags=allow-oom
    local v = tonumber(ARGV[1])
    local old = redis.call('HMGET', KEYS[1], unpack(ARGV, 2))
    local done = {}
    for i = 2, #ARGV do
      if old[i - 1] and tonumber(old[i - 1]) <= v then done[#done + 1] = ARGV[i] end
    end
    if #done > 0 then redis.call('HDEL', KEYS[1], unpack(done)) end
    return 1
  )lua");
  return *script;
}

// Moves a backfill's cursor (CustomerStore::RecordOrders, IndexRegistrations)
// once everything below it is filled.
// KEYS[1] the cursor (sd:{t}:oid:next, sd:{t}:m:reg:next), [2] the marker
// (sd:{t}:oid:complete, sd:{t}:m:reg:complete), [3] sd:{t}:ordseq.
// ARGV[1] the next unfilled ordinal: the cursor moves up to it (never back),
// or past the last ordinal the marker is set and the cursor deleted.
const RedisScript& BackfillCursorScript() {
  static const RedisScript* const script = new RedisScript(R"lua(
    if redis.call('EXISTS', KEYS[2]) == 1 then return 1 end
    local next = tonumber(ARGV[1])
    if next > (tonumber(redis.call('GET', KEYS[3])) or 0) then
      redis.call('SET', KEYS[2], '1')
      redis.call('DEL', KEYS[1])
    elseif next > (tonumber(redis.call('GET', KEYS[1])) or 1) then
      redis.call('SET', KEYS[1], ARGV[1])
    end
    return 1
  )lua");
  return *script;
}

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
const RedisScript& IndexRegistrationsScript() {
  static const RedisScript* const script = new RedisScript(R"lua(
    local added = 0
    for i = 1, #ARGV, 3 do
      if redis.call('HEXISTS', ARGV[i], 'v') == 1 and
         redis.call('HSETNX', ARGV[i], 'g', ARGV[i + 2]) == 1 then
        redis.call('ZADD', KEYS[1], ARGV[i + 2], ARGV[i + 1])
        added = added + 1
      end
    end
    return added
  )lua");
  return *script;
}

// Returns the ids of category names, giving unknown names the next ids.
// KEYS[1] name -> id hash sd:{t}:cat, KEYS[2] id -> name hash sd:{t}:catn.
// ARGV[1] most ids per tenant, [2..] names.
// Ids are dense (0, 1, ...), so the next id is HLEN of KEYS[2].
// Returns the ids in ARGV order, or -1 (nothing written) when the new names
// would not fit.
const RedisScript& InternScript() {
  static const RedisScript* const script = new RedisScript(R"lua(
    local fresh, seen = 0, {}
    for i = 2, #ARGV do
      if not seen[ARGV[i]] and redis.call('HEXISTS', KEYS[1], ARGV[i]) == 0 then
        fresh = fresh + 1
      end
      seen[ARGV[i]] = true
    end
    if redis.call('HLEN', KEYS[2]) + fresh > tonumber(ARGV[1]) then return -1 end
    local ids = {}
    for i = 2, #ARGV do
      local id = redis.call('HGET', KEYS[1], ARGV[i])
      if not id then
        id = redis.call('HLEN', KEYS[2])
        redis.call('HSET', KEYS[1], ARGV[i], id)
        redis.call('HSET', KEYS[2], id, ARGV[i])
      end
      ids[#ids + 1] = tonumber(id)
    end
    return ids
  )lua");
  return *script;
}

// A page of a measure zset's members scoring in [ARGV[1], ARGV[2]) (integer
// bounds), at most ARGV[3] of them in score order, without their scores but
// for the last one's, appended: formatting a score costs Redis about what
// reading its member does. The first page (ARGV[4] empty) starts at the
// range's first member; a later one right after member ARGV[4] (whose score
// was ARGV[5] when read) or, if that member has since left the set or
// changed score, at the first member scoring at least ARGV[5] (members read
// again are de-duplicated by the caller). KEYS[1] the zset.
const RedisScript& MeasurePageScript() {
  // Reads only: runs while Redis is over its maxmemory too.
  static const RedisScript* const script = new RedisScript(R"lua(#!lua flags=no-writes
    local rank
    if ARGV[4] == '' then
      rank = redis.call('ZCOUNT', KEYS[1], '-inf', '(' .. ARGV[1])
    elseif redis.call('ZSCORE', KEYS[1], ARGV[4]) == ARGV[5] then
      rank = redis.call('ZRANK', KEYS[1], ARGV[4]) + 1
    else
      rank = redis.call('ZCOUNT', KEYS[1], '-inf', '(' .. ARGV[5])
    end
    local last = math.min(rank + tonumber(ARGV[3]),
                          redis.call('ZCOUNT', KEYS[1], '-inf', '(' .. ARGV[2])) - 1
    if last < rank then return {} end
    local ids = redis.call('ZRANGE', KEYS[1], rank, last)
    ids[#ids + 1] = redis.call('ZSCORE', KEYS[1], ids[#ids])
    return ids
  )lua");
  return *script;
}

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
const RedisScript& MarkLogsFromScript() {
  static const RedisScript* const script = new RedisScript(R"lua(
    if redis.call('EXISTS', KEYS[2]) == 0 then return false end
    local today = math.floor(tonumber(redis.call('TIME')[1]) / 86400)
    local last = today
    local fields = redis.call('HGETALL', KEYS[1])
    for i = 1, #fields, 2 do
      local day = tonumber(string.sub(fields[i], 2))
      if day and fields[i + 1] ~= '0' and day > last and day <= today + 3650 then last = day end
    end
    redis.call('HSETNX', KEYS[1], ARGV[1], string.format('%d', last + 1))
    return redis.call('HGET', KEYS[1], ARGV[1])
  )lua");
  return *script;
}

}  // namespace segmentd::store

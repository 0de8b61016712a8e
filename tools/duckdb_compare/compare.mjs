// Runs segmentd's segment rules as SQL in DuckDB on a tenant written by
// //engine:export_generated, times the evaluation, and checks the answer
// against the engine's own (docs/duckdb-comparison.md).
//
//   node compare.mjs --data DIR [--runs 5] [--json OUT.json] [--no-per-customer]
//   node compare.mjs --data DIR --print-sql   (prints the timed SQL and exits)
//
// Steps:
//   1. Load the CSV tables into an in-memory DuckDB (timed separately, not
//      part of the comparison).
//   2. Evaluate every rule for every customer at the tenant's as_of with the
//      config in meta.json (the engine's defaults), population statistics
//      included (percentile cut-offs, store AOV), in one SQL statement:
//        - "counts":       per-segment member counts (what the engine
//                          benchmark does: every customer classified, the
//                          result reduced to a checksum);
//        - "materialize":  a table with one row per customer (22 segment flags
//                          and its category-affinity list).
//      Each is run once to warm up, then --runs times; the median is reported,
//      with DuckDB's default threads and with SET threads = 1.
//   3. Check: every segment's count against engine_counts.csv, the SQL's
//      population statistics against the engine's (meta.json), and, when
//      engine_membership.csv exists, every customer's segment list.
// Exit status: 0 when everything matches, 1 on any mismatch, 2 on bad usage.

import { readFileSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { DuckDBInstance } from '@duckdb/node-api';

// The 22 fixed segments in the engine's enum order (engine/segment.h).
const SEGMENTS = [
  'FREQUENT_BUYER', 'NEW_DOWNLOAD', 'WINDOW_SHOPPER', 'NEW_CUSTOMER',
  'RETURNING_CUSTOMER', 'LOYAL_CUSTOMER', 'LOST_LOYALTY', 'ONE_TIME_WONDER',
  'BIG_SPENDER', 'LOW_SPENDER', 'LOST_CUSTOMER', 'FIRST_TIME_BUYER',
  'REPEAT_CUSTOMER', 'VIP', 'LAPSED', 'HIGH_VALUE', 'MEDIUM_VALUE', 'LOW_VALUE',
  'HIGHLY_ENGAGED', 'MODERATELY_ENGAGED', 'DISENGAGED', 'ABANDONED_CART',
];

function parseArgs(argv) {
  const args = { data: null, runs: 5, json: null, perCustomer: true, printSql: false };
  for (let i = 2; i < argv.length; ++i) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) usage(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--data') args.data = value();
    else if (a === '--runs') args.runs = Number(value());
    else if (a === '--json') args.json = value();
    else if (a === '--no-per-customer') args.perCustomer = false;
    else if (a === '--print-sql') args.printSql = true;
    else usage(`unknown argument ${a}`);
  }
  if (!args.data) usage('--data DIR is required');
  if (!Number.isInteger(args.runs) || args.runs < 1) usage('--runs must be >= 1');
  return args;
}

function usage(message) {
  console.error(`compare.mjs: ${message}`);
  console.error('usage: node compare.mjs --data DIR [--runs N] [--json OUT] [--no-per-customer]' +
    ' [--print-sql]');
  process.exit(2);
}

// SQL literals.
const sqlString = (s) => `'${String(s).replaceAll("'", "''")}'`;
const sqlDouble = (x) => `${Number(x)}::DOUBLE`;
const sqlInt = (x) => {
  if (!Number.isInteger(x)) throw new Error(`not an integer: ${x}`);
  return String(x);
};

async function loadTables(con, dir) {
  const csv = (name, columns) =>
    `read_csv(${sqlString(join(dir, name))}, header = true, delim = ',', quote = '"', ` +
    `columns = {${Object.entries(columns).map(([k, v]) => `${sqlString(k)}: ${sqlString(v)}`).join(', ')}})`;
  const ms = (col) => `epoch_ms(${col})`;
  // A '|'-separated id list (never empty in the generated data) as a list.
  const ids = (col) =>
    `CASE WHEN ${col} IS NULL OR ${col} = '' THEN []::USMALLINT[] ` +
    `ELSE string_split(${col}, '|')::USMALLINT[] END`;
  const statements = [
    `CREATE TABLE customers AS
       SELECT customer_id, external_id, ${ms('registered_at_ms')} AS registered_at,
              ${ms('last_active_at_ms')} AS last_active_at
       FROM ${csv('customers.csv', {
         customer_id: 'INTEGER', external_id: 'VARCHAR', registered_at_ms: 'BIGINT',
         last_active_at_ms: 'BIGINT' })}`,
    `CREATE TABLE orders AS
       SELECT order_id, customer_id, external_id, ${ms('placed_at_ms')} AS placed_at, amount,
              refunded, cancelled = 1 AS cancelled, ${ids('categories')} AS categories
       FROM ${csv('orders.csv', {
         order_id: 'BIGINT', customer_id: 'INTEGER', external_id: 'VARCHAR',
         placed_at_ms: 'BIGINT', amount: 'BIGINT', refunded: 'BIGINT', cancelled: 'TINYINT',
         categories: 'VARCHAR' })}`,
    `CREATE TABLE messages AS
       SELECT message_id, customer_id, ${ms('sent_at_ms')} AS sent_at,
              ${ms('opened_at_ms')} AS opened_at, ${ms('acted_at_ms')} AS acted_at
       FROM ${csv('messages.csv', {
         message_id: 'BIGINT', customer_id: 'INTEGER', sent_at_ms: 'BIGINT',
         opened_at_ms: 'BIGINT', acted_at_ms: 'BIGINT' })}`,
    `CREATE TABLE carts AS
       SELECT customer_id, ${ms('updated_at_ms')} AS updated_at, value,
              ${ms('converted_at_ms')} AS converted_at, ${ids('categories')} AS categories
       FROM ${csv('carts.csv', {
         customer_id: 'INTEGER', updated_at_ms: 'BIGINT', value: 'BIGINT',
         converted_at_ms: 'BIGINT', categories: 'VARCHAR' })}`,
    `CREATE TABLE categories AS
       SELECT category_id::USMALLINT AS category_id, name
       FROM ${csv('categories.csv', { category_id: 'INTEGER', name: 'VARCHAR' })}`,
  ];
  for (const s of statements) await con.run(s);
}

// The engine folds every profile at as_of - LongestWindowDays (the benchmark
// and export_generated do so before timing): older orders survive only as
// per-customer lifetime totals. These two tables give the SQL the same
// starting point (built here, not timed, like the engine's folding):
//   orders_recent    orders placed after the fold horizon, as in `orders`;
//   customer_folded  per customer: valid orders at or before the horizon,
//                    their net revenue, first and last placement.
async function foldTables(con, meta) {
  const horizon = `epoch_ms(${sqlInt(meta.fold_horizon_ms)})`;
  await con.run(`CREATE TABLE orders_recent AS
    SELECT * FROM orders WHERE placed_at > ${horizon} ORDER BY customer_id, placed_at`);
  await con.run(`CREATE TABLE customer_folded AS
    SELECT customer_id, count(*) AS orders, sum(amount - refunded)::BIGINT AS net_revenue,
           min(placed_at) AS first_at, max(placed_at) AS last_at
    FROM orders WHERE placed_at <= ${horizon} AND NOT cancelled
    GROUP BY customer_id ORDER BY customer_id`);
}

// The rules as SQL common table expressions, ending in `flags`: one row per
// customer with a boolean per fixed segment, and `affinity`: one row per
// (customer, category) membership. Every parameter comes from the config the
// engine used (meta.json); comments cite SPEC.md / docs/engine.md.
//
// folded = false: the rules read the raw `orders` table (every order ever).
// folded = true: they read `orders_recent` + `customer_folded` instead, the
// same folding the engine's profiles get (see foldTables).
function ruleCtes(meta, { folded = false } = {}) {
  const k = meta.config;
  const asOf = `TIMESTAMP ${sqlString(meta.as_of.replace('T', ' ').replace('Z', ''))}`;
  // "Within the last D days": as_of - D*24h < t <= as_of (SPEC section 3).
  const since = (days) => `${asOf} - INTERVAL ${sqlInt(days)} DAY`;
  const spender = (c, agg) => {
    if (c.threshold_amount !== null) {
      // Absolute AOV threshold: compared exactly, as the engine does.
      return { threshold: `${sqlInt(c.threshold_amount)}::HUGEINT`, absolute: true };
    }
    return {
      threshold: `${sqlDouble(c.threshold_store_aov_multiple)} * ` +
        `(NULLIF(sum(${agg}_rev), 0)::DOUBLE / NULLIF(sum(${agg}_n), 0)::DOUBLE)`,
      absolute: false,
    };
  };
  const big = spender(k.big_spender, 'big');
  const low = spender(k.low_spender, 'low');
  const aovTest = (s, agg, op) => s.absolute
    ? `${agg}_n > 0 AND ${agg}_rev ${op} s.${agg}_threshold * ${agg}_n`
    : `${agg}_n > 0 AND ${agg}_rev::DOUBLE / ${agg}_n::DOUBLE ${op} s.${agg}_threshold`;
  const vt = k.value_tiers;
  return `
  -- Valid orders visible at as_of: a cancelled order counts for nothing, a
  -- refund lowers the net amount (SPEC section 2).
  valid AS NOT MATERIALIZED (
    SELECT customer_id, placed_at, amount - refunded AS net, categories
    FROM ${folded ? 'orders_recent' : 'orders'}
    WHERE NOT cancelled AND placed_at <= ${asOf}
  ),
  -- Per-buyer order facts: lifetime and per window.
  ${folded ? 'recent' : 'buyer'} AS (
    SELECT customer_id,
           count(*) AS life_n,
           sum(net) AS life_rev,
           min(placed_at) AS first_at,
           max(placed_at) AS last_at,
           count(*) FILTER (WHERE placed_at > ${since(k.frequent_buyer.window_days)}) AS fb_n,
           count(*) FILTER (WHERE placed_at > ${since(k.returning_customer.window_days)}) AS ret_n,
           count(*) FILTER (WHERE placed_at > ${since(k.big_spender.lookback_days)}) AS big_n,
           sum(net) FILTER (WHERE placed_at > ${since(k.big_spender.lookback_days)}) AS big_rev,
           count(*) FILTER (WHERE placed_at > ${since(k.low_spender.lookback_days)}) AS low_n,
           sum(net) FILTER (WHERE placed_at > ${since(k.low_spender.lookback_days)}) AS low_rev
    FROM valid
    GROUP BY customer_id
  ),${folded ? `
  -- Lifetime totals = folded totals + recent orders; every folded order is
  -- older than every recent one and outside every window.
  buyer AS (
    SELECT customer_id,
           coalesce(f.orders, 0) + coalesce(r.life_n, 0) AS life_n,
           coalesce(f.net_revenue, 0) + coalesce(r.life_rev, 0) AS life_rev,
           coalesce(f.first_at, r.first_at) AS first_at,
           coalesce(r.last_at, f.last_at) AS last_at,
           r.fb_n, r.ret_n, r.big_n, r.big_rev, r.low_n, r.low_rev
    FROM recent r FULL OUTER JOIN customer_folded f USING (customer_id)
  ),` : ''}
  -- Population statistics (SPEC section 5): rank buyers highest first; the
  -- top p% is the first ceil(p*N/100) places plus everyone tied with the
  -- last, i.e. measure >= the value at that place. percentile_disc(p/100)
  -- over a descending order is the value at place ceil(p/100 * N). Store AOV
  -- = total net revenue / total valid orders in the lookback.
  stats AS (
    SELECT count(*) AS buyers,
           percentile_disc(${k.vip.top_percent / 100}) WITHIN GROUP (ORDER BY life_n DESC)
             AS vip_cutoff,
           percentile_disc(${vt.high_percent / 100}) WITHIN GROUP (ORDER BY life_rev DESC)
             AS high_cutoff,
           percentile_disc(${(vt.high_percent + vt.medium_percent) / 100})
             WITHIN GROUP (ORDER BY life_rev DESC) AS medium_cutoff,
           coalesce(sum(big_n), 0) AS big_store_orders,
           coalesce(sum(big_rev), 0) AS big_store_revenue,
           coalesce(sum(low_n), 0) AS low_store_orders,
           coalesce(sum(low_rev), 0) AS low_store_revenue,
           ${big.threshold} AS big_threshold,
           ${low.threshold} AS low_threshold
    FROM buyer
  ),
  -- Engagement over messages sent in the window, for customers sent at
  -- least min_messages; an action implies an open (docs/engine.md).
  engagement AS (
    SELECT customer_id,
           open_rate >= ${sqlDouble(k.engagement.high_open_rate)}
             AND action_rate >= ${sqlDouble(k.engagement.high_action_rate)} AS highly,
           open_rate >= ${sqlDouble(k.engagement.moderate_open_rate)} AS moderately_or_more
    FROM (SELECT customer_id,
                 count(*) FILTER (WHERE opened_at <= ${asOf} OR acted_at <= ${asOf})::DOUBLE
                   / count(*)::DOUBLE AS open_rate,
                 count(*) FILTER (WHERE acted_at <= ${asOf})::DOUBLE / count(*)::DOUBLE
                   AS action_rate
          FROM messages
          WHERE sent_at > ${since(k.engagement.window_days)} AND sent_at <= ${asOf}
          GROUP BY customer_id
          HAVING count(*) >= ${sqlInt(k.engagement.min_messages)})
  ),
  -- The latest cart per customer (the engine keeps only that one) while it
  -- can be abandoned: updated at least abandon_after ago and within the
  -- window, not converted by as_of, and not empty (a value or a category).
  -- (The order condition is in flags.)
  cart AS (
    SELECT customer_id, updated_at
    FROM carts
    WHERE (value > 0 OR len(categories) > 0)
      AND updated_at <= ${asOf} - INTERVAL ${sqlInt(k.abandoned_cart.abandon_after_minutes)} MINUTE
      AND updated_at > ${since(k.abandoned_cart.window_days)}
      AND (converted_at IS NULL OR converted_at > ${asOf})
  ),
  flags AS (
    SELECT c.customer_id,
           coalesce(b.fb_n >= ${sqlInt(k.frequent_buyer.min_orders)}, false) AS FREQUENT_BUYER,
           coalesce(b.customer_id IS NULL AND c.registered_at <= ${asOf}
             AND c.registered_at > ${since(k.new_download.max_days)}, false) AS NEW_DOWNLOAD,
           coalesce(b.customer_id IS NULL
             AND c.registered_at <= ${since(k.window_shopper.min_days)}, false) AS WINDOW_SHOPPER,
           coalesce(b.first_at > ${since(k.new_customer.window_days)}, false) AS NEW_CUSTOMER,
           coalesce(b.ret_n >= ${sqlInt(k.returning_customer.min_orders)}, false)
             AS RETURNING_CUSTOMER,
           coalesce(b.life_n >= ${sqlInt(k.loyal_customer.min_orders)}
             AND b.last_at > ${since(k.loyal_customer.active_days)}, false) AS LOYAL_CUSTOMER,
           -- "No order for D days": last order <= as_of - D*24h.
           coalesce(b.life_n >= ${sqlInt(k.lost_loyalty.min_orders)}
             AND b.last_at <= ${since(k.lost_loyalty.inactive_days)}, false) AS LOST_LOYALTY,
           coalesce(b.life_n = 1
             AND b.last_at <= ${since(k.one_time_wonder.inactive_days)}, false) AS ONE_TIME_WONDER,
           coalesce(${aovTest(big, 'big', '>=')}, false) AS BIG_SPENDER,
           coalesce(${aovTest(low, 'low', '<=')}, false) AS LOW_SPENDER,
           coalesce(b.life_n BETWEEN ${sqlInt(k.lost_customer.min_orders)}
                                 AND ${sqlInt(k.lost_customer.max_orders)}
             AND b.last_at <= ${since(k.lost_customer.inactive_days)}, false) AS LOST_CUSTOMER,
           coalesce(b.life_n = 1, false) AS FIRST_TIME_BUYER,
           coalesce(b.life_n BETWEEN ${sqlInt(k.repeat_customer.min_orders)}
                                 AND ${sqlInt(k.repeat_customer.max_orders)}, false)
             AS REPEAT_CUSTOMER,
           coalesce(b.life_n >= s.vip_cutoff AND b.life_n >= ${sqlInt(k.vip.min_orders)}, false)
             AS VIP,
           coalesce(b.last_at <= ${since(k.lapsed.inactive_days)}, false) AS LAPSED,
           -- Every buyer is in exactly one tier; a tie group straddling a
           -- cut-off goes to the higher tier.
           coalesce(b.life_rev >= s.high_cutoff, false) AS HIGH_VALUE,
           coalesce(b.life_rev < s.high_cutoff AND b.life_rev >= s.medium_cutoff, false)
             AS MEDIUM_VALUE,
           coalesce(b.life_rev < s.medium_cutoff, false) AS LOW_VALUE,
           coalesce(e.highly, false) AS HIGHLY_ENGAGED,
           coalesce(NOT e.highly AND e.moderately_or_more, false) AS MODERATELY_ENGAGED,
           coalesce(NOT e.moderately_or_more, false) AS DISENGAGED,
           -- ... and no valid order placed after the update.
           coalesce(ct.updated_at IS NOT NULL
             AND (b.last_at IS NULL OR b.last_at <= ct.updated_at), false) AS ABANDONED_CART
    FROM customers c
    CROSS JOIN stats s
    LEFT JOIN buyer b ON b.customer_id = c.customer_id
    LEFT JOIN engagement e ON e.customer_id = c.customer_id
    LEFT JOIN cart ct ON ct.customer_id = c.customer_id
  ),
  -- category:<name>: at least min_orders valid orders containing the
  -- category in the lookback (categories are distinct within an order).
  affinity AS (
    SELECT customer_id, category
    FROM (SELECT customer_id, unnest(categories) AS category
          FROM valid
          WHERE placed_at > ${since(k.category_affinity.lookback_days)})
    GROUP BY customer_id, category
    HAVING count(*) >= ${sqlInt(k.category_affinity.min_orders)}
  )`;
}

// Per-segment counts: every customer evaluated, reduced to counts.
function countsQuery(meta, options) {
  return `WITH ${ruleCtes(meta, options)},
  fixed_counts AS (
    SELECT ${SEGMENTS.map((s) => `count_if(${s}) AS ${s}`).join(', ')} FROM flags
  )
  SELECT segment, members FROM (
    UNPIVOT fixed_counts ON COLUMNS(*) INTO NAME segment VALUE members)
  UNION ALL
  SELECT 'category:' || g.name AS segment, count(a.customer_id) AS members
  FROM categories g LEFT JOIN affinity a ON a.category = g.category_id
  GROUP BY g.name`;
}

// One row per customer: its fixed-segment flags and category list.
function materializeQuery(meta, options) {
  return `CREATE OR REPLACE TABLE sql_membership AS
  WITH ${ruleCtes(meta, options)},
  affinity_lists AS (
    SELECT customer_id, list(category ORDER BY category) AS categories
    FROM affinity GROUP BY customer_id
  )
  SELECT f.*, coalesce(l.categories, []::USMALLINT[]) AS categories
  FROM flags f LEFT JOIN affinity_lists l USING (customer_id)`;
}

// The SQL's own population statistics, to set beside the engine's.
function statsQuery(meta) {
  return `WITH ${ruleCtes(meta)}
  SELECT buyers, vip_cutoff, high_cutoff, medium_cutoff, big_store_orders,
         big_store_revenue, low_store_orders, low_store_revenue FROM stats`;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

// Runs `sql` once to warm up, then `runs` times; returns the medians of wall
// time and of this process's CPU time (all threads), and the last rows.
async function timeQuery(con, sql, runs) {
  await con.runAndReadAll(sql);
  const wall = [];
  const cpu = [];
  let rows = null;
  for (let i = 0; i < runs; ++i) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    rows = (await con.runAndReadAll(sql)).getRows();
    wall.push((performance.now() - t0) / 1000);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1e6);
  }
  return { wall: median(wall), cpu: median(cpu), wall_runs: wall, cpu_runs: cpu, rows };
}

const num = (v) => (v === null || v === undefined ? null : Number(v));

async function main() {
  const args = parseArgs(process.argv);
  const meta = JSON.parse(readFileSync(join(args.data, 'meta.json'), 'utf8'));
  const engineCounts = new Map(
    readFileSync(join(args.data, 'engine_counts.csv'), 'utf8').trim().split('\n').slice(1)
      .map((line) => {
        const i = line.lastIndexOf(',');
        return [line.slice(0, i), Number(line.slice(i + 1))];
      }));
  if (args.printSql) {
    for (const [name, sql] of [['counts', countsQuery(meta, { folded: false })],
      ['counts_folded', countsQuery(meta, { folded: true })],
      ['materialize', materializeQuery(meta, { folded: false })]]) {
      console.log(`-- ${name}\n${sql};\n`);
    }
    return;
  }

  const instance = await DuckDBInstance.create(':memory:');
  const con = await instance.connect();
  const [[version]] = (await con.runAndReadAll('SELECT version()')).getRows();
  const [[defaultThreads]] =
    (await con.runAndReadAll("SELECT current_setting('threads')")).getRows();
  console.log(`DuckDB ${version} (@duckdb/node-api), default threads = ${defaultThreads}`);
  console.log(`tenant: ${meta.customers} customers, ${meta.orders} orders, ` +
    `${meta.messages} messages, ${meta.carts} carts, ${meta.num_categories} categories, ` +
    `as_of ${meta.as_of}`);

  let t0 = performance.now();
  await loadTables(con, args.data);
  const loadSeconds = (performance.now() - t0) / 1000;
  t0 = performance.now();
  await foldTables(con, meta);
  const foldSeconds = (performance.now() - t0) / 1000;
  console.log(`load (CSV -> DuckDB tables, not counted): ${loadSeconds.toFixed(2)} s; ` +
    `folding into orders_recent + customer_folded (not counted): ${foldSeconds.toFixed(2)} s`);

  const result = {
    duckdb_version: version, default_threads: Number(defaultThreads), customers: meta.customers,
    orders: meta.orders, as_of: meta.as_of, load_seconds: loadSeconds,
    fold_seconds: foldSeconds, runs: args.runs, timings: {}, mismatches: [],
  };
  // name -> [sql, is a counts query]
  const queries = [
    ['counts', countsQuery(meta, { folded: false }), true],
    ['counts_folded', countsQuery(meta, { folded: true }), true],
    ['materialize', materializeQuery(meta, { folded: false }), false],
  ];
  const countResults = new Map();
  for (const threads of [Number(defaultThreads), 1]) {
    await con.run(`SET threads = ${threads}`);
    for (const [name, sql, isCounts] of queries) {
      const t = await timeQuery(con, sql, args.runs);
      result.timings[`${name}_threads${threads}`] = {
        wall: t.wall, cpu: t.cpu, wall_runs: t.wall_runs, cpu_runs: t.cpu_runs };
      console.log(`rules as SQL, ${name.padEnd(13)} threads=${threads}: median wall ` +
        `${t.wall.toFixed(3)} s, cpu ${t.cpu.toFixed(3)} s  ` +
        `(wall runs: ${t.wall_runs.map((x) => x.toFixed(3)).join(' ')})`);
      if (isCounts) {
        countResults.set(`${name} threads=${threads}`,
          new Map(t.rows.map(([seg, n]) => [seg, Number(n)])));
      }
    }
  }
  await con.run(`SET threads = ${defaultThreads}`);

  // --- Checks (not timed). ---
  let ok = true;
  const sqlCounts = countResults.get(`counts threads=${defaultThreads}`);
  const names = [...engineCounts.keys()];
  for (const seg of sqlCounts.keys()) if (!engineCounts.has(seg)) names.push(seg);
  console.log('\nsegment                     engine       sql   diff');
  let matched = 0;
  for (const seg of names) {
    const e = engineCounts.get(seg);
    const q = sqlCounts.get(seg);
    const same = e !== undefined && q !== undefined && e === q;
    if (same) ++matched;
    else {
      ok = false;
      result.mismatches.push({ query: 'counts', segment: seg, engine: e ?? null, sql: q ?? null });
    }
    const diff = same ? '' : (e === undefined || q === undefined ? 'missing' : `${q - e}`);
    console.log(`${seg.padEnd(24)} ${String(e ?? '-').padStart(9)} ${String(q ?? '-').padStart(9)}` +
      `   ${same ? 'ok' : `MISMATCH ${diff}`}`);
  }
  result.segments_matched = matched;
  result.segments_total = names.length;
  console.log(`segments matching the engine exactly: ${matched} of ${names.length}`);
  // Every other timed counts run (folded tables, one thread) must agree too.
  for (const [label, counts] of countResults) {
    const bad = names.filter((seg) => counts.get(seg) !== engineCounts.get(seg));
    if (bad.length === 0) continue;
    ok = false;
    for (const seg of bad) {
      result.mismatches.push({ query: label, segment: seg, engine: engineCounts.get(seg) ?? null,
        sql: counts.get(seg) ?? null });
    }
    console.log(`${label}: MISMATCH in ${bad.map((seg) =>
      `${seg} (engine ${engineCounts.get(seg)}, sql ${counts.get(seg)})`).join(', ')}`);
  }
  if (ok) console.log(`every timed counts run (${[...countResults.keys()].join('; ')}) agrees`);

  const [sqlStatsRow] = (await con.runAndReadAll(statsQuery(meta))).getRowObjects();
  const es = meta.engine_stats;
  const window = (days) => es.windows.find((w) => w.lookback_days === days) ?? {};
  const pairs = [
    ['buyers', es.buyers, num(sqlStatsRow.buyers)],
    ['vip order cut-off', es.vip_order_cutoff, num(sqlStatsRow.vip_cutoff)],
    ['high value cut-off', es.high_value_cutoff, num(sqlStatsRow.high_cutoff)],
    ['medium value cut-off', es.medium_value_cutoff, num(sqlStatsRow.medium_cutoff)],
    [`store orders ${meta.config.big_spender.lookback_days}d`,
      window(meta.config.big_spender.lookback_days).orders, num(sqlStatsRow.big_store_orders)],
    [`store revenue ${meta.config.big_spender.lookback_days}d`,
      window(meta.config.big_spender.lookback_days).net_revenue,
      num(sqlStatsRow.big_store_revenue)],
    [`store orders ${meta.config.low_spender.lookback_days}d`,
      window(meta.config.low_spender.lookback_days).orders, num(sqlStatsRow.low_store_orders)],
    [`store revenue ${meta.config.low_spender.lookback_days}d`,
      window(meta.config.low_spender.lookback_days).net_revenue,
      num(sqlStatsRow.low_store_revenue)],
  ];
  console.log('\npopulation statistic           engine          sql');
  result.stats = {};
  for (const [label, e, q] of pairs) {
    const same = e === q;
    if (!same) ok = false;
    result.stats[label] = { engine: e, sql: q };
    console.log(`${label.padEnd(26)} ${String(e).padStart(12)} ${String(q).padStart(12)}` +
      `   ${same ? 'ok' : 'MISMATCH'}`);
  }

  const membershipCsv = join(args.data, 'engine_membership.csv');
  if (args.perCustomer && existsSync(membershipCsv)) {
    // sql_membership is left by the last timed "materialize" run.
    await con.run(`CREATE TABLE engine_membership AS SELECT * FROM read_csv(
      ${sqlString(membershipCsv)}, header = true,
      columns = {'customer_id': 'INTEGER', 'segments': 'VARCHAR'})`);
    const diff = await con.runAndReadAll(`
      WITH engine_pairs AS (
        SELECT customer_id, unnest(string_split(segments, '|')) AS segment
        FROM engine_membership WHERE segments IS NOT NULL AND segments <> ''
      ),
      sql_fixed AS (
        UNPIVOT (SELECT customer_id, ${SEGMENTS.join(', ')} FROM sql_membership)
        ON ${SEGMENTS.join(', ')} INTO NAME segment VALUE member
      ),
      sql_pairs AS (
        SELECT customer_id, segment FROM sql_fixed WHERE member
        UNION ALL
        SELECT m.customer_id, 'category:' || g.name
        FROM (SELECT customer_id, unnest(categories) AS category FROM sql_membership) m
        JOIN categories g ON g.category_id = m.category
      ),
      only_engine AS (SELECT * FROM engine_pairs EXCEPT ALL SELECT * FROM sql_pairs),
      only_sql AS (SELECT * FROM sql_pairs EXCEPT ALL SELECT * FROM engine_pairs)
      SELECT side, segment, count(*) AS customers,
             list(customer_id ORDER BY customer_id)[1:5] AS examples
      FROM (SELECT 'engine only' AS side, * FROM only_engine
            UNION ALL SELECT 'sql only', * FROM only_sql)
      GROUP BY side, segment ORDER BY segment, side`);
    const rows = diff.getRowObjects();
    const [[customersCompared]] =
      (await con.runAndReadAll('SELECT count(*) FROM engine_membership')).getRows();
    result.per_customer = { customers: Number(customersCompared), differences: rows.length };
    if (rows.length === 0) {
      console.log(`\nper customer: all ${customersCompared} customers have exactly the ` +
        `engine's segments`);
    } else {
      ok = false;
      console.log('\nper customer: differences (customer ids are the generator index):');
      for (const r of rows) {
        console.log(`  ${r.segment} ${r.side}: ${r.customers} customers, e.g. ` +
          `${r.examples.items.map(String).join(', ')}`);
      }
    }
  }

  result.ok = ok;
  if (args.json) writeFileSync(args.json, JSON.stringify(result, null, 2));
  console.log(ok ? '\nRESULT: the SQL matches the engine exactly'
    : '\nRESULT: MISMATCH between the SQL and the engine (see above)');
  process.exitCode = ok ? 0 : 1;
}

await main();

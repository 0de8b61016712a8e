#!/usr/bin/env bash
# Engine vs DuckDB on the same generated tenant, in one run
# (docs/duckdb-comparison.md):
#   1. builds //engine:export_generated and //engine:classify_benchmark (-c opt);
#   2. exports N customers (default 1,000,000) as CSV + the engine's answer;
#   3. npm ci here if @duckdb/node-api is not installed;
#   4. classify_benchmark --benchmark_filter=BM_FullEvaluation, --runs
#      repetitions on one thread and on two (engine, before);
#   5. compare.mjs: loads the CSVs into DuckDB, times the rules as SQL (default
#      threads and threads=1, median of --runs) and checks every segment, and
#      every customer, against the engine;
#   6. BM_FullEvaluation again (engine, after), so that both sides see the
#      same stretch of a shared machine's load;
#   7. prints DuckDB time / engine time (engine: median of all repetitions of
#      steps 4 and 6), wall and CPU, against the engine on one thread and on
#      two (the CPU of two threads is both threads' time).
#
# Usage: tools/duckdb_compare/run.sh [--customers=N] [--runs=N] [--keep]
#   --runs   timed runs per SQL query, and engine repetitions per step (5)
#   --keep   keep the exported data directory (printed) instead of deleting it
# Exit status: non-zero if a step fails or the SQL does not match the engine.
set -euo pipefail

customers=1000000
runs=5
keep=0
for arg in "$@"; do
  case "$arg" in
    --customers=*) customers="${arg#*=}" ;;
    --runs=*) runs="${arg#*=}" ;;
    --keep) keep=1 ;;
    *) echo "usage: $0 [--customers=N] [--runs=N] [--keep]" >&2; exit 2 ;;
  esac
done

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$root"

stamp() { echo "== $(date -u +%Y-%m-%dT%H:%M:%SZ) | $(uptime) | $*"; }
# The machine's CPU time stolen by the hypervisor between two /proc/stat
# snapshots, as a share of all its CPU time (the VM's speed drifts with it).
cpu_snapshot() { head -1 /proc/stat; }
steal_share() {
  awk -v a="$1" -v b="$2" 'BEGIN {
    n = split(a, x, " "); split(b, y, " "); total = 0;
    for (i = 2; i <= 9 && i <= n; ++i) total += y[i] - x[i];
    share = 0; if (total > 0) share = 100 * (y[9] - x[9]) / total;
    printf "%.1f%%", share }'
}

stamp "building"
bazel build -c opt //engine:export_generated //engine:classify_benchmark
# bazel-bin follows the last build's configuration; ask for the opt one.
bin="$(bazel info -c opt bazel-bin 2>/dev/null)"

data="$(mktemp -d /tmp/duckdb_compare.XXXXXX)"
if [[ "$keep" == 0 ]]; then trap 'rm -rf "$data"' EXIT; fi
stamp "exporting $customers customers to $data"
"$bin/engine/export_generated" --customers="$customers" --out_dir="$data"

if [[ ! -d "$here/node_modules/@duckdb/node-api" ]]; then
  stamp "npm ci"
  (cd "$here" && npm ci --no-audit --no-fund)
fi

# engine_step NAME: BM_FullEvaluation into $data/engine_NAME.json.
steals=()
engine_step() {
  stamp "engine ($1): BM_FullEvaluation"
  local before
  before="$(cpu_snapshot)"
  "$bin/engine/classify_benchmark" --customers="$customers" \
    --benchmark_filter=BM_FullEvaluation --benchmark_repetitions="$runs" \
    --benchmark_out="$data/engine_$1.json" --benchmark_out_format=json
  steals+=("engine $1: $(steal_share "$before" "$(cpu_snapshot)")")
}

engine_step before

stamp "DuckDB: rules as SQL"
before="$(cpu_snapshot)"
set +e
node "$here/compare.mjs" --data "$data" --runs "$runs" --json "$data/duckdb.json"
compare_status=$?
set -e
steals+=("DuckDB: $(steal_share "$before" "$(cpu_snapshot)")")
if [[ ! -f "$data/duckdb.json" ]]; then
  echo "compare.mjs failed (status $compare_status)" >&2
  exit 1
fi

engine_step after

stamp "done"
echo "CPU time stolen by the hypervisor: $(IFS=,; echo "${steals[*]}" | sed 's/,/, /g')"
node - "$data/duckdb.json" "$data/engine_before.json" "$data/engine_after.json" <<'EOF'
const fs = require('node:fs');
const duck = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
// Seconds per repetition (wall, cpu) of BM_FullEvaluation on `workers`
// threads in one output file.
const repetitions = (file, workers) => {
  const out = JSON.parse(fs.readFileSync(file, 'utf8'));
  const unit = { s: 1, ms: 1e-3, us: 1e-6, ns: 1e-9 };
  return out.benchmarks
    .filter((b) => (b.run_name ?? b.name).startsWith(`BM_FullEvaluation/workers:${workers}/`) &&
      (b.run_type ?? 'iteration') === 'iteration')
    .map((b) => ({ wall: b.real_time * unit[b.time_unit], cpu: b.cpu_time * unit[b.time_unit] }));
};
const fmt = (xs) => xs.map((r) => r.wall.toFixed(3)).join(' ');
// The engine on one thread (DESIGN.md's "one core") and on two, each the
// median of its repetitions in both steps.
const engine = {};
for (const workers of [1, 2]) {
  const before = repetitions(process.argv[3], workers);
  const after = repetitions(process.argv[4], workers);
  const all = [...before, ...after];
  if (all.length === 0) throw new Error(`no BM_FullEvaluation/workers:${workers} repetitions`);
  const e = { wall: median(all.map((r) => r.wall)), cpu: median(all.map((r) => r.cpu)) };
  engine[workers] = e;
  console.log(`\nengine on ${workers} thread(s), BM_FullEvaluation wall per repetition: ` +
    `before ${fmt(before)}; after ${fmt(after)}`);
  console.log(`engine on ${workers} thread(s), median of ${all.length} repetitions: ` +
    `wall ${e.wall.toFixed(4)} s, cpu ${e.cpu.toFixed(4)} s` +
    (workers === 1 ? ' (target <= 0.25 s)' : ' (cpu: both threads)'));
}
console.log(`SQL matches engine: ${duck.ok ? 'yes' : 'NO'} ` +
  `(${duck.segments_matched} of ${duck.segments_total} segments` +
  (duck.per_customer ? `; ${duck.per_customer.customers} customers compared one by one, ` +
    `${duck.per_customer.differences} differing (segment, side) groups` : '') + ')');
console.log('\nDuckDB median / engine median (target: >= 5), against the engine on 1 and on 2 threads');
console.log('query           threads   duckdb wall   wall/e1   wall/e2   duckdb cpu    cpu/e1    cpu/e2');
for (const [key, t] of Object.entries(duck.timings)) {
  const [, name, threads] = key.match(/^(.*)_threads(\d+)$/);
  const ratio = (x, e) => `${(x / e).toFixed(1)}x`.padStart(10);
  console.log(`${name.padEnd(15)} ${threads.padStart(7)} ${t.wall.toFixed(3).padStart(12)} s` +
    `${ratio(t.wall, engine[1].wall)}${ratio(t.wall, engine[2].wall)}` +
    ` ${t.cpu.toFixed(3).padStart(11)} s${ratio(t.cpu, engine[1].cpu)}${ratio(t.cpu, engine[2].cpu)}`);
}
EOF
exit "$compare_status"

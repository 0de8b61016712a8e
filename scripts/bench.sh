#!/usr/bin/env bash
# Issues 4, 5 and 6 benchmarks (5 and 6 via BENCH_MODES): builds -c opt
# segmentd and the load generator, starts a private redis-server (unix socket,
# AOF everysec) and segmentd on loopback, creates a tenant with an admin key,
# and runs bulk import (+ end-state check),
# event-to-membership latency and config update. Prints every result, the CPU
# each process used during each mode, and memory; stops everything on exit.
#
#   bash scripts/bench.sh                          # 100k customers, a few minutes
#   BENCH_CUSTOMERS=1000000 bash scripts/bench.sh  # DESIGN.md's standard size
#   BENCH_MODES="bulk eligibility targets insights" bash scripts/bench.sh  # issues 5, 6
#
# Environment (defaults in brackets):
#   BENCH_CUSTOMERS [100000]  generated customers (about 4.6 orders each)
#   BENCH_STREAMS [4]         parallel BulkIngest streams
#   BENCH_BATCH [1000]        events per BulkIngest request
#   BENCH_WINDOW [2]          unacknowledged requests per stream
#   BENCH_RATES ["1000 2500 5000 10000"]  unary calls/s of the latency
#                             runs, ascending; the sweep stops after the first
#                             rate the server cannot sustain
#   BENCH_DURATION [10s]      measured length of each latency run
#   BENCH_LATENCY_EVENTS [order]  the single-event RPCs the latency runs time,
#                             each swept over BENCH_RATES in turn: order
#                             (PlaceOrder), activity (RecordActivity),
#                             engagement (RecordEngagement, a message sent),
#                             cart (UpdateCart)
#   BENCH_BACKGROUND_RATE [0] latency: events/s streamed meanwhile through
#                             BulkIngest streams (BENCH_BACKGROUND_STREAMS [2],
#                             BENCH_BACKGROUND_BATCH [50] events per request,
#                             BENCH_BACKGROUND_EVENT [order]: their kind, as
#                             BENCH_LATENCY_EVENTS names them, or a comma-
#                             separated list given to the streams in turn),
#                             so the unary probes measure one
#                             event's latency under that load; e.g. RATES=200
#                             BACKGROUND_RATE=9800 is 10k events/s in all
#   BENCH_MODES ["bulk config latency"]  which runs, in order (bulk first:
#                             the others need the loaded tenant); also
#                             eligibility (CheckEligibility vs Health/Check QPS,
#                             p99 at half peak), targets (CountTargets,
#                             StreamTargets ~200k ids), insights (KPIs/flows and
#                             the hot path while they run). These three run with
#                             Redis slowlog-log-slower-than 5000 us, reset
#                             before each and printed (SLOWLOG GET 20) after.
#                             Also: transitions (time-driven changes: due instant to
#                             Watch delivery, BENCH_TRANSITIONS [1000] customers
#                             falling due over BENCH_DURATION;
#                             BENCH_TRANSITIONS_CONFIG_CHANGE [unset]: a rule
#                             parameter changed one step just before, so they
#                             fall due while its next changes are recomputed
#                             in the background, e.g. big_spender.lookback_days).
#                             And layout (last; stops segmentd): Redis memory
#                             per customer by key group, then after rewriting
#                             the keys into a leaner layout step by step
#                             (scripts/layout_prototype.py).
#                             And backfill (after bulk): how long a restarted
#                             segmentd takes to fill the order record and the
#                             registration index of a tenant stored before
#                             they existed (their keys and fields deleted);
#                             BENCH_BACKFILL_RATE [unset]: PlaceOrder calls/s
#                             sent meanwhile for 30 s, their latency reported.
#   BENCH_EXTRA_TENANTS [0]   tenants without customers created besides the
#                             benchmark's, so that what each tenant costs the
#                             background passes shows (e.g. with transitions)
#   BENCH_CONFIG_CHANGES [frequent_buyer.min_orders]  config: comma-separated
#                             rule parameters (<block>.<field>), each changed
#                             one step and back, or preset:<NAME> (e.g.
#                             preset:FAST_FOOD) applied and the replaced config
#                             stored back, each change timed; preview:<NAME>
#                             times PreviewConfig of a preset (preview:STORED:
#                             of the stored config, as `segctl segments`)
#   BENCH_CALLERS [32]        eligibility: concurrent callers (closed loop);
#                             BENCH_ROUNDS [3]: 3x this many rounds of three phases (health,
#                             eligibility, fully consistent eligibility), each
#                             BENCH_DURATION / 3 long
#   BENCH_REPS [20]           targets: calls per timed count
#   BENCH_HOT_RATE [500]      insights: hot-path calls/s (half CheckEligibility,
#                             half PlaceOrder)
#   BENCH_OUT [unset]         file to append the JSON result lines to
#   BENCH_BIN_DIR [unset]     take segmentd and segmentd_load from this directory
#                             instead of building them (-c opt) from the tree
#   BENCH_REDIS_NICE [-10]    nice value given to redis-server (renice; needs
#                             root, else ignored; "" keeps 0). On this shared
#                             2-core machine the load generator and segmentd
#                             otherwise preempt Redis mid-command (single
#                             commands seen taking 10-35 ms in SLOWLOG), which
#                             a production Redis on its own cores never sees.
#   BENCH_REDIS_ARGS [unset]  more redis-server arguments, e.g. "--io-threads 2"
#   BENCH_SEGMENTD_ARGS [unset]  more segmentd flags, e.g.
#                             "--metrics_listen=127.0.0.1:0" (Prometheus
#                             metrics and the per-RPC interceptor on)
#   BENCH_PIN [unset]         "1": pin segmentd (and redis-server) to CPU 0 and
#                             the load generator to CPU 1 (taskset), as if the
#                             callers ran on another machine; otherwise all
#                             three share both cores
#   BENCH_PAUSE_DAMON [unset] "1": pause the kernel's DAMON monitors
#                             (/sys/kernel/mm/damon/admin/kdamonds/*/state,
#                             needs root) for the run and turn them back on at
#                             exit. The dev VM runs a DAMON "pageout" scheme
#                             over all physical memory; its access sampling
#                             and reclaim attempts stall Redis and segmentd
#                             for 5-25 ms at a time (docs/benchmarks.md, fifth
#                             pass). The script always says whether one runs.
#   BENCH_PERF_STAT [unset]   "1": count segmentd's context switches and
#                             system calls during each mode (perf stat)
#   BENCH_PERF [unset]        directory: record segmentd with `perf record`
#                             (cpu-clock) during each mode and write the flat
#                             profile to <dir>/perf-<mode>.txt (needs
#                             Debian's linux-perf)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
CUSTOMERS="${BENCH_CUSTOMERS:-100000}"
STREAMS="${BENCH_STREAMS:-4}"
BATCH="${BENCH_BATCH:-1000}"
WINDOW="${BENCH_WINDOW:-2}"
RATES="${BENCH_RATES:-1000 2500 5000 10000}"
DURATION="${BENCH_DURATION:-10s}"
MODES="${BENCH_MODES:-bulk config latency}"
for event in ${BENCH_LATENCY_EVENTS:-order}; do
  case "$event" in
    order|activity|engagement|cart) ;;
    *) echo "bench: BENCH_LATENCY_EVENTS: unknown event \"$event\" (order, activity, engagement or cart)" >&2; exit 2 ;;
  esac
done
CONFIG_CHANGES="${BENCH_CONFIG_CHANGES:-frequent_buyer.min_orders}"

scripts/install-deps.sh
# A short private directory: unix socket paths are limited to 107 bytes.
DIR="$(mktemp -d /tmp/sdbench.XXXXXX)"
if [[ -n "${BENCH_BIN_DIR:-}" ]]; then
  # Binaries built earlier (e.g. of another commit, for an A/B pair).
  cp "$BENCH_BIN_DIR/segmentd" "$BENCH_BIN_DIR/segmentd_load" "$DIR/"
  echo "bench: binaries from $BENCH_BIN_DIR"
else
  bazel build -c opt //server:segmentd //tests/load:segmentd_load
  # Copies from the opt output tree (bazel-bin follows whichever configuration
  # was built last, possibly by someone else), so nothing swaps a binary mid-run.
  BIN="$(bazel info -c opt bazel-bin 2>/dev/null)"
  cp "$BIN/server/segmentd" "$BIN/tests/load/segmentd_load" "$DIR/"
  echo "bench: commit $(git rev-parse --short HEAD), $(git status --porcelain | wc -l) uncommitted paths in the tree"
fi
LOAD="$DIR/segmentd_load"
redis_pid=""
segmentd_pid=""
paused_damon=()
cleanup() {
  for state in "${paused_damon[@]}"; do echo on >"$state" 2>/dev/null || true; done
  for pid in $segmentd_pid $redis_pid; do
    kill -TERM "$pid" 2>/dev/null || true
    # Bounded wait for a clean exit, then SIGKILL.
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  rm -rf "$DIR"
}
trap cleanup EXIT INT TERM

# The machine's DAMON monitors (proactive reclaim) change the latency tails a
# lot on a VM: say whether any runs, and pause them when asked.
for state in /sys/kernel/mm/damon/admin/kdamonds/*/state; do
  [ -r "$state" ] || continue
  [ "$(cat "$state")" = on ] || continue
  if [ "${BENCH_PAUSE_DAMON:-}" = 1 ] && echo off >"$state" 2>/dev/null; then
    paused_damon+=("$state")
    echo "bench: DAMON monitor ${state%/state} paused for this run (back on at exit)"
  else
    echo "bench: DAMON monitor ${state%/state} is on (BENCH_PAUSE_DAMON=1 pauses it)"
  fi
done

redis-server --port 0 --bind 127.0.0.1 --unixsocket "$DIR/r.sock" --unixsocketperm 700 \
  --dir "$DIR" --appendonly yes --appendfsync everysec --save "" --hash-max-listpack-value 1024 \
  ${BENCH_REDIS_ARGS:-} >"$DIR/redis.log" 2>&1 &
redis_pid=$!
REDIS_NICE="${BENCH_REDIS_NICE--10}"
if [ -n "$REDIS_NICE" ]; then
  renice -n "$REDIS_NICE" -p "$redis_pid" >/dev/null 2>&1 && echo "bench: redis-server at nice $REDIS_NICE" \
    || echo "bench: could not renice redis-server (not root?); it runs at nice 0"
fi
for _ in $(seq 100); do
  redis-cli -s "$DIR/r.sock" ping >/dev/null 2>&1 && break
  sleep 0.1
done
redis-cli -s "$DIR/r.sock" ping >/dev/null || { echo "bench: redis did not start" >&2; exit 1; }
# Issue 5: no command may block Redis for > 5 ms; log every one that does.
redis-cli -s "$DIR/r.sock" config set slowlog-log-slower-than 5000 >/dev/null

SERVER_CPU=() LOAD_CPU=()
if [ "${BENCH_PIN:-}" = 1 ]; then
  SERVER_CPU=(taskset -c 0) LOAD_CPU=(taskset -c 1)
  taskset -pc 0 "$redis_pid" >/dev/null
  echo "bench: segmentd and redis-server pinned to CPU 0, the load generator to CPU 1"
fi
# Starts segmentd (on `$1`, default any free port) and sets segmentd_pid and
# port; its log goes on in segmentd.log.
start_segmentd() {
  # Only this start's lines count: the log is appended to.
  local skip=0
  if [ -f "$DIR/segmentd.log" ]; then skip=$(wc -l <"$DIR/segmentd.log"); fi
  "${SERVER_CPU[@]}" "$DIR/segmentd" --listen="127.0.0.1:${1:-0}" --redis="unix:$DIR/r.sock" \
    --operator_key_file="$DIR/operator.key" ${BENCH_SEGMENTD_ARGS:-} >>"$DIR/segmentd.log" 2>&1 &
  segmentd_pid=$!
  port=""
  for _ in $(seq 300); do
    port="$(tail -n +"$((skip + 1))" "$DIR/segmentd.log" |
      sed -n 's/.*listening on port \([0-9]*\).*/\1/p' | head -1)"
    [ -n "$port" ] && break
    sleep 0.1
  done
  [ -n "$port" ] || { echo "bench: segmentd did not start:" >&2; cat "$DIR/segmentd.log" >&2; exit 1; }
}
# Stops segmentd (SIGTERM, then SIGKILL after 10 s).
stop_segmentd() {
  kill -TERM "$segmentd_pid"
  for _ in $(seq 100); do kill -0 "$segmentd_pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$segmentd_pid" 2>/dev/null || true
  wait "$segmentd_pid" 2>/dev/null || true
  segmentd_pid=""
}
start_segmentd
TARGET="127.0.0.1:$port"
"$LOAD" --mode=setup --target="$TARGET" --operator_key_file="$DIR/operator.key" \
  --tenant=bench --key_file="$DIR/bench.key" --extra_tenants="${BENCH_EXTRA_TENANTS:-0}"

HZ="$(getconf CLK_TCK)"
# CPU ticks (user + system) a process has used so far.
ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
# Nanoseconds the process's threads have spent runnable but waiting for a
# CPU (second field of schedstat): high means starved of CPU, not idle.
waits() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{s += $2} END {printf "%.0f\n", s}'; }
# Minor page faults of a process so far (/proc/<pid>/stat field 10). After a
# fork (AOF rewrite), the parent's first write to each page it shared with
# the child faults, even once the child is gone.
minflt() { awk '{print $10}' "/proc/$1/stat" 2>/dev/null || echo 0; }
# The whole machine's steal ticks so far (/proc/stat, 8th value of "cpu"): time
# the hypervisor ran something else while this VM had work. Runs with much of
# it are not comparable with quiet ones (seen: 20-40% of the CPU time).
steal() { awk '$1 == "cpu" {print $9}' /proc/stat; }
json_lines=()

# Runs one mode of the load generator and reports the CPU each process used
# during it (in cores: CPU seconds / wall seconds).
run_mode() {
  local name="$1"; shift
  local r0 s0 t0 r1 s1 t1 rw0 rw1 mf0 mf1 st0 st1 out
  echo
  echo "=== $name  (load average $(cut -d' ' -f1-3 /proc/loadavg))"
  r0=$(ticks "$redis_pid"); s0=$(ticks "$segmentd_pid"); t0=$(date +%s.%N)
  # Run-queue wait of redis-server only: segmentd's threads come and go, so
  # a sum over its current threads is not monotonic.
  rw0=$(waits "$redis_pid"); mf0=$(minflt "$redis_pid"); st0=$(steal)
  out="$DIR/$name.out"
  TIMEFORMAT="bench: $name: segmentd_load used %U s user + %S s system over %R s"
  local rc=0
  # One snapshot of the whole machine 3 s into the run (others share it).
  (sleep 3; top -b -n1 -w 120 | head -14 >"$DIR/$name.top") &
  local top_pid=$!
  local perf_pid="" stat_pid=""
  if [ "${BENCH_PERF_STAT:-}" = 1 ]; then
    perf stat -e context-switches,raw_syscalls:sys_enter -p "$segmentd_pid" \
      -o "$DIR/$name.stat" 2>/dev/null &
    stat_pid=$!
  fi
  if [ -n "${BENCH_PERF:-}" ]; then
    mkdir -p "$BENCH_PERF"
    perf record -q -e cpu-clock -F 499 -p "$segmentd_pid" -o "$DIR/$name.perf" 2>/dev/null &
    perf_pid=$!
  fi
  time "${LOAD_CPU[@]}" "$LOAD" --target="$TARGET" --key_file="$DIR/bench.key" --customers="$CUSTOMERS" "$@" \
    | tee "$out" || rc=$?
  [ "$rc" -eq 0 ] || echo "bench: $name FAILED (exit $rc)"
  wait "$top_pid" || true
  if [ -n "$perf_pid" ]; then
    kill -INT "$perf_pid" 2>/dev/null || true
    wait "$perf_pid" || true
    perf report -i "$DIR/$name.perf" --no-children --stdio --sort symbol 2>/dev/null \
      | grep -v '^#' | grep -v '^$' | head -80 >"$BENCH_PERF/perf-$name.txt" || true
    echo "bench: $name: segmentd profile in $BENCH_PERF/perf-$name.txt"
  fi
  if [ -n "$stat_pid" ]; then
    kill -INT "$stat_pid" 2>/dev/null || true
    wait "$stat_pid" || true
    if [ -s "$DIR/$name.stat" ]; then
      grep -E 'context-switches|sys_enter' "$DIR/$name.stat" | awk -v n="$name" \
        '{gsub(",", "", $1); printf "bench: %s: segmentd %s %s\n", n, $1, $2}' || true
    else
      echo "bench: $name: perf stat printed nothing (perf missing, or no access to the tracepoint)"
    fi
  fi
  sed 's/^/bench: top: /' "$DIR/$name.top" 2>/dev/null | sed -n '1p;3p;7,14p' || true
  r1=$(ticks "$redis_pid"); s1=$(ticks "$segmentd_pid"); t1=$(date +%s.%N)
  rw1=$(waits "$redis_pid"); mf1=$(minflt "$redis_pid"); st1=$(steal)
  awk -v r="$((r1 - r0))" -v s="$((s1 - s0))" -v hz="$HZ" -v w="$(echo "$t1 - $t0" | bc)" \
    -v rw="$((rw1 - rw0))" -v mf="$((mf1 - mf0))" -v st="$((st1 - st0))" -v cpus="$(nproc)" -v n="$name" \
    'BEGIN { printf "bench: %s: wall %.1f s; redis-server %.1f CPU s (%.2f cores), waited for a CPU %.1f s, %d minor page faults; segmentd %.1f CPU s (%.2f cores); stolen by the hypervisor %.0f%% of the machine\n", n, w, r/hz, r/hz/w, rw/1e9, mf, s/hz, s/hz/w, 100 * st / hz / w / cpus }'
  while IFS= read -r line; do json_lines+=("$line"); done < <(grep '^{' "$out" || true)
}

# Waits (at most 60 s) until segmentd and redis-server are idle, so one run's
# tail (background re-classification, calls still queued) does not load the
# next one.
settle() {
  local a b
  # An AOF rewrite (redis-server's forked child, not counted below) competes
  # for the two cores for many seconds after a large import: wait it out,
  # including one scheduled to start next.
  for _ in $(seq 300); do
    redis-cli -s "$DIR/r.sock" info persistence \
      | grep -qE '^aof_rewrite_(in_progress|scheduled):1' || break
    sleep 1
  done
  # After a rewrite the new base file (~1 GB at 1M customers) is fsynced in
  # the background; while the disk is busy with it, Redis's own AOF writes
  # block its main thread (seen: p50 0.9 s right after a rewrite). Wait until
  # no background fsync is pending for 3 s in a row.
  local quiet=0
  for _ in $(seq 120); do
    if redis-cli -s "$DIR/r.sock" info persistence | grep -q '^aof_pending_bio_fsync:0'; then
      quiet=$((quiet + 1))
      [ "$quiet" -ge 3 ] && break
    else
      quiet=0
    fi
    sleep 1
  done
  for _ in $(seq 60); do
    a=$(( $(ticks "$redis_pid") + $(ticks "$segmentd_pid") ))
    sleep 1
    b=$(( $(ticks "$redis_pid") + $(ticks "$segmentd_pid") ))
    [ $((b - a)) -le $((HZ / 10)) ] && return 0
  done
  echo "bench: segmentd/redis still busy after 60 s"
}

memory() {
  local used rss
  used=$(redis-cli -s "$DIR/r.sock" info memory | sed -n 's/^used_memory:\([0-9]*\).*/\1/p' | tr -d '\r')
  rss=$(awk '/VmRSS/ {print $2 * 1024}' "/proc/$segmentd_pid/status")
  echo "bench: memory: redis used_memory $used bytes ($((used / CUSTOMERS)) per customer), segmentd RSS $rss bytes ($((rss / CUSTOMERS)) per customer)"
  echo "bench: redis keys: $(redis-cli -s "$DIR/r.sock" dbsize)"
}

# With BENCH_SEGMENTD_ARGS="--metrics_listen=...": prints segmentd's series
# whose names start with $2 (its /metrics, as a scraper would see them).
metrics() {
  local port
  port="$(sed -n 's/.*metrics on port \([0-9]*\).*/\1/p' "$DIR/segmentd.log" | head -1)"
  [ -n "$port" ] || return 0
  curl -s "http://127.0.0.1:$port/metrics" | grep "^$2" | sed "s/^/bench: $1 metrics: /" || true
}

# Prints the 20 newest Redis slowlog entries, one line each: id, unix time,
# microseconds, command, first argument and how many words the command had.
slowlog() {
  redis-cli -s "$DIR/r.sock" --no-raw slowlog get 20 | awk '
    function flush() { if (id != "") printf "bench: slowlog: id %s, unix time %s, %s us: %s%s (%d words)\n", id, ts, us, cmd, (key != "" ? " " key : ""), nargs }
    # An entry starts "[ ]N) 1) (integer) <id>"; its other fields are indented
    # by the width of "N) ", the command words by more.
    /^ *[0-9]+\) +1\) \(integer\)/ { flush(); match($0, /^ *[0-9]+\) /); ind = RLENGTH; id = $NF; ts = us = cmd = key = ""; nargs = 0; next }
    { match($0, /^ */); sp = RLENGTH; line = substr($0, sp + 1) }
    sp == ind && line ~ /^2\) \(integer\)/ { ts = $NF; next }
    sp == ind && line ~ /^3\) \(integer\)/ { us = $NF; next }
    sp == ind && line ~ /^4\) +1\) / { sub(/^4\) +1\) /, "", line); cmd = line; nargs = 1; next }
    sp > ind && line ~ /^[0-9]+\) "/ {
      nargs++
      if (nargs == 2) { sub(/^[0-9]+\) /, "", line); key = line }
      if (line ~ /more arguments\)"$/) { n = line; sub(/.*\(/, "", n); sub(/ more.*/, "", n); nargs += n - 1 }
      next
    }
    END { flush() }'
}

# Every command Redis ran during the last mode (Lua's redis.call included), with
# its mean cost: where the Redis time of a write or a scan goes.
commandstats() {
  redis-cli -s "$DIR/r.sock" info commandstats | tr -d '\r' | grep '^cmdstat_' |
    sed "s/^cmdstat_/bench: $1 commandstats: /; s/,rejected_calls.*//"
}

for mode in $MODES; do
  redis-cli -s "$DIR/r.sock" config resetstat >/dev/null
  case "$mode" in
    bulk)
      run_mode bulk --mode=bulk --streams="$STREAMS" --batch="$BATCH" --window="$WINDOW"
      commandstats bulk
      memory
      ;;
    latency)
      for event in ${BENCH_LATENCY_EVENTS:-order}; do
        # Order runs keep their old names (latency-<rate>).
        prefix=latency
        [[ "$event" == order ]] || prefix="latency-$event"
        for rate in $RATES; do
          settle
          redis-cli -s "$DIR/r.sock" config resetstat >/dev/null
          run_mode "$prefix-$rate" --mode=latency --event="$event" --rate="$rate" \
            --duration="$DURATION" \
            --background_rate="${BENCH_BACKGROUND_RATE:-0}" \
            --background_event="${BENCH_BACKGROUND_EVENT:-order}" \
            --background_batch="${BENCH_BACKGROUND_BATCH:-50}" \
            --background_streams="${BENCH_BACKGROUND_STREAMS:-2}"
          commandstats "$prefix-$rate"
          if grep -q '"saturated":1' "$DIR/$prefix-$rate.out"; then
            echo "bench: $event at $rate/s not sustained; its higher rates skipped"
            break
          fi
        done
      done
      ;;
    config)
      settle
      redis-cli -s "$DIR/r.sock" config resetstat >/dev/null
      run_mode config --mode=config --config_changes="$CONFIG_CHANGES"
      commandstats config
      metrics config segmentd_config_update_seconds
      ;;
    transitions)
      settle
      run_mode transitions --mode=transitions --transitions="${BENCH_TRANSITIONS:-1000}" \
        --duration="$DURATION" \
        --transitions_config_change="${BENCH_TRANSITIONS_CONFIG_CHANGE:-}"
      # The server's own view of the same lateness (since it started).
      metrics transitions segmentd_transition_lag_seconds
      ;;
    eligibility|targets|insights)
      settle
      redis-cli -s "$DIR/r.sock" slowlog reset >/dev/null
      run_mode "$mode" --mode="$mode" --segmentd_pid="$segmentd_pid" --redis_pid="$redis_pid" \
        --callers="${BENCH_CALLERS:-32}" --rounds="${BENCH_ROUNDS:-3}" --duration="$DURATION" \
        --repetitions="${BENCH_REPS:-20}" --hot_rate="${BENCH_HOT_RATE:-500}"
      echo "bench: $mode: Redis commands slower than 5 ms: $(redis-cli -s "$DIR/r.sock" slowlog len)"
      memory  # With the tenant's membership index loaded (DESIGN.md: server <= 150 B/customer).
      slowlog
      # Mean cost per command since redis started (slowlog durations include
      # time redis-server was descheduled; these averages show the usual cost).
      redis-cli -s "$DIR/r.sock" info commandstats | tr -d '\r' |
        grep -E '^cmdstat_(hmget|sscan|xrevrange|xread|evalsha|hget|get):' |
        sed 's/^/bench: commandstats (cumulative): /; s/,rejected_calls.*//'
      ;;
    backfill)
      # The order record and the registration index of a tenant stored
      # before they existed: with segmentd stopped, every sd:{bench}:oid:*
      # key, the index, its marker and every customer's `g` field are
      # deleted, then segmentd is started again and fills both from the
      # stored profiles in the background. Times each and compares the
      # orders recorded (one HLEN per bucket, in a script) and the index's
      # size before and after.
      settle
      count_orders='local n = 0 for b = 0, 65535 do n = n + redis.call("HLEN", ARGV[1] .. b) end return n'
      before="$(redis-cli -s "$DIR/r.sock" eval "$count_orders" 0 'sd:{bench}:oid:')"
      reg_before="$(redis-cli -s "$DIR/r.sock" zcard 'sd:{bench}:m:reg')"
      stop_segmentd
      redis-cli -s "$DIR/r.sock" --scan --pattern 'sd:{bench}:oid:*' |
        xargs -r -n 1000 redis-cli -s "$DIR/r.sock" del >/dev/null
      redis-cli -s "$DIR/r.sock" del 'sd:{bench}:m:reg' 'sd:{bench}:m:reg:complete' >/dev/null
      # (One script over every customer: blocks Redis for seconds, but
      # nothing else is running.)
      unfielded="$(redis-cli -s "$DIR/r.sock" eval "local c, n = '0', 0
        repeat
          local r = redis.call('SCAN', c, 'MATCH', ARGV[1], 'COUNT', 10000)
          c = r[1]
          for _, k in ipairs(r[2]) do n = n + redis.call('HDEL', k, 'g') end
        until c == '0'
        return n" 0 'sd:{bench}:c:*')"
      echo "bench: backfill: $before orders recorded, $reg_before registered non-buyers indexed; record, index and $unfielded customers' index fields deleted ($(redis-cli -s "$DIR/r.sock" exists 'sd:{bench}:oid:complete' 'sd:{bench}:m:reg:complete') markers left)"
      # Those deletions grew the AOF by ~100 MB: rewrite it now, so that a
      # rewrite they would start (a fork, then copy-on-write faults that
      # stall Redis) does not land in the backfill's measurement. One its
      # own writes start still does.
      redis-cli -s "$DIR/r.sock" bgrewriteaof >/dev/null
      for _ in $(seq 600); do
        redis-cli -s "$DIR/r.sock" info persistence | tr -d '\r' | grep -q '^aof_rewrite_in_progress:0' &&
          redis-cli -s "$DIR/r.sock" info persistence | tr -d '\r' | grep -q '^aof_rewrite_scheduled:0' && break
        sleep 0.5
      done
      redis-cli -s "$DIR/r.sock" slowlog reset >/dev/null
      forks() { redis-cli -s "$DIR/r.sock" info stats | tr -d '\r' | sed -n 's/^total_forks://p'; }
      f0=$(minflt "$redis_pid"); k0=$(forks)
      r0=$(ticks "$redis_pid"); t0=$(date +%s.%N)
      start_segmentd "$port"
      probe=""
      if [ -n "${BENCH_BACKFILL_RATE:-}" ]; then
        # PlaceOrder latency while the backfill runs (it takes longer than this).
        "${LOAD_CPU[@]}" "$LOAD" --target="$TARGET" --key_file="$DIR/bench.key" \
          --customers="$CUSTOMERS" --mode=latency --rate="$BENCH_BACKFILL_RATE" --duration=30s \
          >"$DIR/backfill-latency.out" 2>&1 &
        probe=$!
      fi
      complete() { [ "$(redis-cli -s "$DIR/r.sock" exists 'sd:{bench}:oid:complete' 'sd:{bench}:m:reg:complete')" = 2 ]; }
      for _ in $(seq 4500); do  # at most 15 minutes
        complete && break
        sleep 0.2
      done
      complete || { echo "bench: backfill: not complete after 15 minutes" >&2; exit 1; }
      t1=$(date +%s.%N)
      # Before the count below, itself a slow command (~0.2 s).
      slow="$(redis-cli -s "$DIR/r.sock" slowlog len)"
      slowlog
      after="$(redis-cli -s "$DIR/r.sock" eval "$count_orders" 0 'sd:{bench}:oid:')"
      seconds=$(echo "$t1 - $t0" | bc -l)
      reg_after="$(redis-cli -s "$DIR/r.sock" zcard 'sd:{bench}:m:reg')"
      # When each completed, from its log line's time.
      completed_after() {
        local at
        at="$(grep "$1 of tenant bench complete" "$DIR/segmentd.log" | tail -1 | cut -d' ' -f1)"
        echo "$(date -d "$at" +%s.%N) - $t0" | bc -l | xargs printf '%.1f'
      }
      echo "bench: backfill: both complete ${seconds}s after the restart, redis $(echo "($(ticks "$redis_pid") - $r0) / $HZ" | bc -l | xargs printf '%.1f') CPU s"
      echo "bench: backfill: order record: $after orders recorded again, complete after $(completed_after 'order record')s; $(grep -o 'order record of tenant.*complete.*' "$DIR/segmentd.log" | tail -1)"
      echo "bench: backfill: registration index: $reg_after entries again, complete after $(completed_after 'registration index')s; $(grep -o 'registration index of tenant.*complete.*' "$DIR/segmentd.log" | tail -1)"
      placed=0  # orders the probe placed meanwhile (new ids, recorded by their writes)
      if [ -n "$probe" ]; then
        wait "$probe" || true
        sed 's/^/bench: backfill: probe: /' "$DIR/backfill-latency.out" | grep -E 'ok|p50|"mode"' || true
        placed="$(sed -n 's/.*"errors":0,.*"sent":\([0-9]*\),.*/\1/p' "$DIR/backfill-latency.out")"
        [ -n "$placed" ] || { echo "bench: backfill: the probe had errors" >&2; exit 1; }
      fi
      echo "bench: backfill: Redis commands slower than 5 ms while it ran: $slow; redis-server minor page faults: $(( $(minflt "$redis_pid") - f0 )), forks: $(( $(forks) - k0 ))"
      [ "$((before + placed))" = "$after" ] ||
        { echo "bench: backfill: orders recorded differ ($before + $placed placed meanwhile)" >&2; exit 1; }
      # The probe's first orders take non-buyers out of the index: compare
      # only without it.
      [ -n "$probe" ] || [ "$reg_before" = "$reg_after" ] ||
        { echo "bench: backfill: registration index differs ($reg_before before)" >&2; exit 1; }
      json_lines+=("{\"mode\":\"backfill\",\"customers\":$CUSTOMERS,\"orders\":$after,\"registrations\":$reg_after,\"seconds\":$(printf '%.3f' "$seconds")}")
      ;;
    layout)
      # Destructive, so last: stops segmentd, then rewrites the tenant's keys
      # into a leaner layout the store does not implement, printing Redis's
      # memory per customer at each step (scripts/layout_prototype.py).
      settle
      stop_segmentd  # nothing may write while keys are rewritten
      echo
      echo "=== layout"
      python3 scripts/layout_prototype.py "$DIR/r.sock" bench
      ;;
    *) echo "bench: unknown mode $mode" >&2; exit 2 ;;
  esac
done

echo
echo "=== results (JSON, one line per run; $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores)"
printf '%s\n' "${json_lines[@]}"
if [ -n "${BENCH_OUT:-}" ]; then printf '%s\n' "${json_lines[@]}" >>"$BENCH_OUT"; fi

#!/usr/bin/env bash
# Measures what tenants cost an idle segmentd and its Redis (docs/benchmarks.md,
# thirty-seventh pass): starts a private redis-server (AOF on) and segmentd,
# creates one tenant plus N more without customers (segmentd_load
# --mode=setup --extra_tenants=N; LOADED=M of them also get their membership
# index loaded by one query each), waits SETTLE seconds (3), then reports the CPU both used
# over 10 s of no traffic and Redis's busiest commands. Stops everything on exit.
#
#   bash scripts/idle_tenants.sh 5000              # this tree's -c opt binaries
#   bash scripts/idle_tenants.sh 5000 /path/to/dir # segmentd and segmentd_load from DIR
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:?usage: idle_tenants.sh TENANTS [BIN_DIR]}"
own_bin=""
if [ -n "${2:-}" ]; then
  BIN="$2"
else
  own_bin=1
  bazel build -c opt //server:segmentd //tests/load:segmentd_load >/dev/null 2>&1
  BIN="$(mktemp -d /tmp/segmentd-idle-bin.XXXXXX)"
  cp bazel-bin/server/segmentd bazel-bin/tests/load/segmentd_load "$BIN/"
fi
DIR="$(mktemp -d /tmp/segmentd-idle.XXXXXX)"
spid=""
cleanup() {
  [ -n "$spid" ] && kill "$spid" 2>/dev/null || true
  redis-cli -s "$DIR/r.sock" shutdown nosave >/dev/null 2>&1 || true
  rm -rf "$DIR"
  if [ -n "$own_bin" ]; then rm -rf "$BIN"; fi
}
trap cleanup EXIT
redis-server --port 0 --unixsocket "$DIR/r.sock" --daemonize yes --dir "$DIR" \
  --appendonly yes --pidfile "$DIR/r.pid" --logfile "$DIR/r.log"
for _ in $(seq 50); do [ -s "$DIR/r.pid" ] && [ -S "$DIR/r.sock" ] && break; sleep 0.1; done
port=$((52000 + RANDOM % 900))
"$BIN/segmentd" --listen="127.0.0.1:$port" --redis="unix:$DIR/r.sock" \
  --operator_key_file="$DIR/op.key" >"$DIR/s.log" 2>&1 &
spid=$!
for _ in $(seq 100); do [ -s "$DIR/op.key" ] && break; sleep 0.1; done
sleep 1
setup_start="$(date +%s.%N)"
"$BIN/segmentd_load" --mode=setup --target="127.0.0.1:$port" --operator_key_file="$DIR/op.key" \
  --tenant=bench --key_file="$DIR/bench.key" --extra_tenants="$N" --loaded_tenants="${LOADED:-0}"
awk -v a="$setup_start" -v b="$(date +%s.%N)" 'BEGIN { printf "setup took %.1f s\n", b - a }'
# SETTLE: seconds before measuring; past 10 s, the loaded tenants' indexes
# count as idle (MembershipIndex::Options::idle_after) and tail slower.
sleep "${SETTLE:-3}"
redis-cli -s "$DIR/r.sock" config resetstat >/dev/null
rpid="$(cat "$DIR/r.pid")"
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
s0="$(ticks "$spid")"; r0="$(ticks "$rpid")"
sleep 10
s1="$(ticks "$spid")"; r1="$(ticks "$rpid")"
hz="$(getconf CLK_TCK)"
awk -v s=$((s1 - s0)) -v r=$((r1 - r0)) -v hz="$hz" -v n="$N" -v l="${LOADED:-0}" 'BEGIN {
  printf "idle with %d more tenants (%d loaded): segmentd %.2f cores, redis %.2f cores (10 s)\n", n, l, s / hz / 10, r / hz / 10 }'
echo "segmentd threads: $(ls "/proc/$spid/task" | wc -l)"
redis-cli -s "$DIR/r.sock" info commandstats | tr -d '\r' | grep '^cmdstat_' |
  sed 's/,rejected_calls.*//' | sort -t= -k2 -n -r | head -8

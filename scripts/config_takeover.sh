#!/usr/bin/env bash
# Measures how long membership stays under the old config when the replica
# applying a config update is killed midway (docs/live.md, Configs): builds
# -c opt segmentd and the load generator, starts a private redis-server and two
# segmentd replicas on it, bulk-imports generated customers through the first,
# applies a preset through it, kills it with SIGKILL as soon as the config is
# stored (pending, claimed by it), and times until the other replica's
# StatisticsMover has finished the re-classification (the flag cleared).
# Stops everything on exit.
#
#   bash scripts/config_takeover.sh                     # 100k customers
#   TAKEOVER_CUSTOMERS=200000 bash scripts/config_takeover.sh
set -euo pipefail
cd "$(dirname "$0")/.."
CUSTOMERS="${TAKEOVER_CUSTOMERS:-100000}"
bazel build -c opt //server:segmentd //tests/load:segmentd_load
BIN="$(bazel info -c opt bazel-bin 2>/dev/null)"
DIR="$(mktemp -d /tmp/segmentd-takeover.XXXXXX)"
cp "$BIN/server/segmentd" "$BIN/tests/load/segmentd_load" "$DIR/"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  redis-cli -s "$DIR/r.sock" shutdown nosave >/dev/null 2>&1 || true
  rm -rf "$DIR"
}
trap cleanup EXIT
redis-server --port 0 --unixsocket "$DIR/r.sock" --dir "$DIR" --appendonly no --save "" \
  --daemonize yes --pidfile "$DIR/redis.pid" >/dev/null
R=(redis-cli -s "$DIR/r.sock")
for _ in $(seq 50); do "${R[@]}" ping >/dev/null 2>&1 && break; sleep 0.1; done
# Starts a replica listening on port $1 (0: any) and waits for it.
start() {
  "$DIR/segmentd" --listen="127.0.0.1:$1" --redis="unix:$DIR/r.sock" \
    --operator_key_file="$DIR/operator.key" >"$DIR/$2.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 300); do grep -q "listening on port" "$DIR/$2.log" && return; sleep 0.1; done
  echo "takeover: segmentd $2 did not start" >&2; cat "$DIR/$2.log" >&2; exit 1
}
start 0 first
first_pid=${pids[0]}
PORT="$(sed -n 's/.*listening on port \([0-9]*\).*/\1/p' "$DIR/first.log" | head -1)"
start 0 second
"$DIR/segmentd_load" --mode=setup --target="127.0.0.1:$PORT" \
  --operator_key_file="$DIR/operator.key" --tenant=bench --key_file="$DIR/bench.key"
"$DIR/segmentd_load" --mode=bulk --target="127.0.0.1:$PORT" --key_file="$DIR/bench.key" \
  --customers="$CUSTOMERS" --verify_sample=0 | tail -1
tools/node_modules/.bin/buf curl --protocol grpc --http2-prior-knowledge \
  -H "Authorization: Bearer $(cat "$DIR/bench.key")" -d '{"preset":"PRESET_GROCERY"}' \
  "http://127.0.0.1:$PORT/segmentd.v1.ConfigService/ApplyPreset" >"$DIR/apply.out" 2>&1 &
claim=""
for _ in $(seq 1000); do
  claim="$("${R[@]}" HGET 'sd:{bench}:config' p)"
  [ -n "$claim" ] && [ "$claim" != 1 ] && break
  sleep 0.01
done
[ -n "$claim" ] || { echo "takeover: the update finished before it could be interrupted" >&2; exit 1; }
kill -9 "$first_pid"
t0="$(date +%s.%N)"
echo "takeover: killed the replica re-classifying ($claim) at $(date -u +%T.%N)"
for _ in $(seq 1200); do
  [ -z "$("${R[@]}" HGET 'sd:{bench}:config' p)" ] && break
  sleep 0.05
done
echo "takeover: re-classification finished by the other replica $(echo "$(date +%s.%N) - $t0" | bc) s after the kill"
grep "finishing the re-classification" "$DIR/second.log" || true

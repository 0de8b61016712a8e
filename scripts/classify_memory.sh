#!/usr/bin/env bash
# Measures what one ClassifyCustomers call costs segmentd's memory when it
# names one customer of 50,000 orders 1000 times, with reasons (a limits
# reviewer's case, docs/benchmarks.md thirty-sixth pass): starts a private
# redis-server and the given segmentd binary (default: this tree's, built),
# imports the orders with segctl, then samples segmentd's RSS every 0.2 s
# while the call runs (buf curl). Stops everything on exit.
#
#   bash scripts/classify_memory.sh                      # this tree's segmentd
#   bash scripts/classify_memory.sh /path/to/segmentd    # another build's
set -euo pipefail
cd "$(dirname "$0")/.."
bazel build //server:segmentd //clients/segctl >/dev/null 2>&1
ROOT="$PWD"
BIN="${1:-$ROOT/bazel-bin/server/segmentd}"
SEGCTL="$ROOT/bazel-bin/clients/segctl/segctl"
BUF="$ROOT/tools/node_modules/.bin/buf"
DIR="$(mktemp -d /tmp/segmentd-classify-memory.XXXXXX)"
spid=""
cleanup() {
  [ -n "$spid" ] && kill "$spid" 2>/dev/null || true
  redis-cli -s "$DIR/r.sock" shutdown nosave >/dev/null 2>&1 || true
  rm -rf "$DIR"
}
trap cleanup EXIT
python3 - "$DIR" <<'PY'
import datetime, json, sys
d = sys.argv[1]
with open(f"{d}/hot.csv", "w") as f:
    base = datetime.datetime.now() - datetime.timedelta(days=200)
    for i in range(50000):
        t = base + datetime.timedelta(minutes=4 * i)
        f.write(f"hot,o{i},{t.strftime('%Y-%m-%d')},{i % 50 + 1}.00\n")
json.dump({"customer_ids": ["hot"] * 1000, "include_reasons": True}, open(f"{d}/req.json", "w"))
PY
redis-server --port 0 --unixsocket "$DIR/r.sock" --daemonize yes --dir "$DIR" \
  --pidfile "$DIR/r.pid" --logfile "$DIR/r.log" --save "" --hash-max-listpack-value 1024 >/dev/null
for _ in $(seq 50); do redis-cli -s "$DIR/r.sock" ping >/dev/null 2>&1 && break; sleep 0.1; done
"$BIN" --listen=127.0.0.1:0 --redis="unix:$DIR/r.sock" --operator_key_file="$DIR/op.key" \
  >"$DIR/s.log" 2>&1 &
spid=$!
port=""
for _ in $(seq 100); do
  port="$(grep -o 'listening on port [0-9]*' "$DIR/s.log" | head -1 | awk '{print $4}')" || true
  [ -n "$port" ] && break
  sleep 0.1
done
S=("$SEGCTL" --target="127.0.0.1:$port")
"${S[@]}" tenant create t --operator_key_file="$DIR/op.key" >/dev/null
"${S[@]}" key create --as_operator --operator_key_file="$DIR/op.key" --tenant=t \
  --scopes=read,write,admin 2>/dev/null | head -c 86 >"$DIR/key"
"${S[@]}" --key_file="$DIR/key" import csv "$DIR/hot.csv" --header=false --progress=off \
  --columns=customer_id=1,order_id=2,placed_at=3:%Y-%m-%d,amount=4:decimal \
  --progress_file="$DIR/progress" >/dev/null
before="$(ps -o rss= -p "$spid")"
(while kill -0 "$spid" 2>/dev/null; do ps -o rss= -p "$spid"; sleep 0.2; done) >"$DIR/rss" &
sampler=$!
start="$(date +%s%N)"
"$BUF" curl --protocol grpc --http2-prior-knowledge -H "authorization: Bearer $(cat "$DIR/key")" \
  --data @"$DIR/req.json" \
  "http://127.0.0.1:$port/segmentd.v1.ClassificationService/ClassifyCustomers" >"$DIR/out.json"
end="$(date +%s%N)"
sleep 0.5
kill "$sampler" 2>/dev/null || true
echo "classify_memory: $BIN: call $(( (end - start) / 1000000 )) ms; segmentd RSS before ${before} KB, peak $(sort -n "$DIR/rss" | tail -1) KB; response $(stat -c %s "$DIR/out.json") bytes of JSON"

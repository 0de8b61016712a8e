#!/usr/bin/env bash
# Runs segmentd locally: installs what is missing, builds, starts a local
# redis-server (AOF on, data in .segmentd/) unless REDIS is given, starts
# segmentd, creates a demo tenant with an API key, and prints how to call it.
# Stops everything on Ctrl-C.
#
#   bash scripts/run.sh                       # local Redis, port 50051
#   REDIS=127.0.0.1:6379 bash scripts/run.sh  # an existing Redis
#   PORT=6000 bash scripts/run.sh
#   METRICS_PORT=9465 bash scripts/run.sh     # Prometheus /metrics (default 9464)
#   SEGMENTD_HOME=/var/lib/segmentd bash scripts/run.sh   # data dir (default .segmentd/)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
PORT="${PORT:-50051}"
METRICS_PORT="${METRICS_PORT:-9464}"
DATA="${SEGMENTD_HOME:-$ROOT/.segmentd}"
BUF="$ROOT/tools/node_modules/.bin/buf"
mkdir -p "$DATA"

scripts/install-deps.sh
bazel build //server:segmentd
cp -f bazel-bin/server/segmentd "$DATA/segmentd"

pids=()
stop() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop EXIT INT TERM

if [ -z "${REDIS:-}" ]; then
  REDIS="unix:$DATA/redis.sock"
  if ! redis-cli -s "$DATA/redis.sock" ping >/dev/null 2>&1; then
    redis-server --port 0 --unixsocket "$DATA/redis.sock" --unixsocketperm 700 --dir "$DATA" \
      --appendonly yes --appendfsync everysec --save "" --hash-max-listpack-value 1024 \
      >"$DATA/redis.log" 2>&1 &
    pids+=($!)
    for _ in $(seq 100); do
      redis-cli -s "$DATA/redis.sock" ping >/dev/null 2>&1 && break
      sleep 0.05
    done
  fi
  echo "run: Redis at $REDIS (data and AOF in $DATA)"
fi

"$DATA/segmentd" --listen="127.0.0.1:$PORT" --redis="$REDIS" \
  --metrics_listen="127.0.0.1:$METRICS_PORT" --operator_key_file="$DATA/operator.key" 2>&1 | tee "$DATA/segmentd.log" &
pids+=($!)
for _ in $(seq 200); do
  grep -q "listening on port" "$DATA/segmentd.log" 2>/dev/null && break
  sleep 0.05
done
grep -q "listening on port" "$DATA/segmentd.log" || { echo "run: segmentd did not start" >&2; exit 1; }

curl_() { "$BUF" curl --protocol grpc --http2-prior-knowledge "$@"; }
OP="$(cat "$DATA/operator.key")"
# The demo tenant may exist from an earlier run; a new key is made each time.
curl_ -H "authorization: Bearer $OP" "http://127.0.0.1:$PORT/segmentd.v1.AdminService/CreateTenant" \
  -d '{"tenant_id":"demo","display_name":"Demo shop"}' >/dev/null 2>&1 || true
KEY=$(curl_ -H "authorization: Bearer $OP" "http://127.0.0.1:$PORT/segmentd.v1.AdminService/CreateApiKey" \
  -d '{"tenant_id":"demo","name":"run.sh demo key","scopes":["SCOPE_ADMIN"]}' |
  sed -n 's/.*"secret": "\([^"]*\)".*/\1/p')
echo "$KEY" >"$DATA/demo.key"

cat <<MSG

segmentd is running on 127.0.0.1:$PORT   (Ctrl-C stops it)
  operator credential:  $DATA/operator.key
  demo tenant API key:  $DATA/demo.key   (scope admin)
  Prometheus metrics:   http://127.0.0.1:$METRICS_PORT/metrics

Try it with buf curl (installed in tools/node_modules/.bin):
  BUF=$BUF
  \$BUF curl --protocol grpc --http2-prior-knowledge --list-services http://127.0.0.1:$PORT
  \$BUF curl --protocol grpc --http2-prior-knowledge http://127.0.0.1:$PORT/grpc.health.v1.Health/Check
  \$BUF curl --protocol grpc --http2-prior-knowledge -H "authorization: Bearer \$(cat $DATA/demo.key)" \\
      http://127.0.0.1:$PORT/segmentd.v1.AdminService/ListApiKeys -d '{"tenant_id":"demo"}'

MSG
wait "${pids[-1]}"

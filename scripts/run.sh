#!/usr/bin/env bash
# Runs segmentd locally: installs what is missing, builds, starts a local
# redis-server (AOF on, data in .segmentd/) unless REDIS is given, starts
# segmentd, creates a demo tenant with an API key, and prints how to call it.
# Stops everything on Ctrl-C.
#
#   bash scripts/run.sh                       # local Redis, port 50051
#   REDIS=127.0.0.1:6379 bash scripts/run.sh  # an existing Redis
#   REDIS=10.0.0.5:6379 REDIS_PASSWORD_FILE=/etc/segmentd/redis.pw [REDIS_USER=segmentd] \
#     bash scripts/run.sh                     # one that wants a password (AUTH)
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

# The children run in their own process groups (set -m while starting them), so
# a Ctrl-C reaches only this script, which stops them in order: segmentd first
# (it drains its calls, which may still need Redis), then the Redis it started.
segmentd_pid=""
redis_pid=""
# True while child `$1` runs (`kill -0` also succeeds on an exited child that is
# not reaped yet, so ask ps and treat a zombie as gone; no ps: not running).
running() {
  local state
  state="$(ps -o stat= -p "$1" 2>/dev/null | tr -d ' ')" || true
  [ -n "$state" ] && [ "${state#Z}" = "$state" ]
}
# Sends TERM to child `$1` (named `$2`) and waits for it to exit; KILL after 15 s.
stop_child() {
  local pid="$1" name="$2"
  if kill -TERM "$pid" 2>/dev/null; then
    echo "run: stopping $name (pid $pid)" >&2
    for _ in $(seq 150); do
      running "$pid" || break
      sleep 0.1
    done
    if running "$pid"; then
      echo "run: $name did not stop within 15 s; killing it" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  wait "$pid" 2>/dev/null || true
}
stop() {
  trap '' INT TERM HUP  # a second Ctrl-C must not cut the shutdown short
  if [ -n "$segmentd_pid" ]; then stop_child "$segmentd_pid" segmentd; fi
  if [ -n "$redis_pid" ]; then stop_child "$redis_pid" redis-server; fi
}
trap stop EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

redis_given="${REDIS:+yes}"
if [ -z "$redis_given" ]; then
  REDIS="unix:$DATA/redis.sock"
  if ! redis-cli -s "$DATA/redis.sock" ping >/dev/null 2>&1; then
    set -m
    redis-server --port 0 --unixsocket "$DATA/redis.sock" --unixsocketperm 700 --dir "$DATA" \
      --appendonly yes --appendfsync everysec --save "" --hash-max-listpack-value 1024 \
      </dev/null >"$DATA/redis.log" 2>&1 &
    redis_pid=$!
    set +m
    for _ in $(seq 100); do
      redis-cli -s "$DATA/redis.sock" ping >/dev/null 2>&1 && break
      sleep 0.05
    done
  fi
  echo "run: Redis at $REDIS (data and AOF in $DATA)"
fi

# Credentials are for a Redis named by REDIS; the local one has none.
redis_auth=()
if [ -z "$redis_given" ] && [ -n "${REDIS_PASSWORD_FILE:-}${REDIS_USER:-}" ]; then
  echo "run: REDIS_PASSWORD_FILE/REDIS_USER ignored: they are for a Redis given with REDIS" >&2
else
  # Passed as given: segmentd says what is missing (a user needs a password).
  if [ -n "${REDIS_PASSWORD_FILE:-}" ]; then redis_auth+=(--redis_password_file="$REDIS_PASSWORD_FILE"); fi
  if [ -n "${REDIS_USER:-}" ]; then redis_auth+=(--redis_user="$REDIS_USER"); fi
fi
# The operator credential manages every tenant's keys: owner-only, even if an
# earlier run or a hand edit left it readable by others.
if [ -f "$DATA/operator.key" ]; then chmod 600 "$DATA/operator.key"; fi

# The log goes through tee by process substitution, so that $! is segmentd's own
# pid (with `segmentd | tee &` it would be tee's); tee ends when segmentd does.
: >"$DATA/segmentd.log"  # no earlier run's "listening" line
set -m
"$DATA/segmentd" --listen="127.0.0.1:$PORT" --redis="$REDIS" "${redis_auth[@]}" \
  --metrics_listen="127.0.0.1:$METRICS_PORT" --operator_key_file="$DATA/operator.key" \
  </dev/null > >(tee "$DATA/segmentd.log") 2>&1 &
segmentd_pid=$!
set +m
for _ in $(seq 200); do
  grep -q "listening on port" "$DATA/segmentd.log" 2>/dev/null && break
  running "$segmentd_pid" || break  # it exited: its log says why
  sleep 0.05
done
grep -q "listening on port" "$DATA/segmentd.log" || { echo "run: segmentd did not start" >&2; exit 1; }

curl_() { "$BUF" curl --protocol grpc --http2-prior-knowledge "$@"; }
OP="$(cat "$DATA/operator.key")"
# The demo tenant may exist from an earlier run. Its key from that run is
# kept while it still works for the tenant (so progress files of segctl
# imports, which record the key, stay usable across restarts); otherwise a
# new key is made, and the old one revoked, so restarts leave no admin keys
# behind (best effort: the old key's tenant or Redis may be gone).
curl_ -H "authorization: Bearer $OP" "http://127.0.0.1:$PORT/segmentd.v1.AdminService/CreateTenant" \
  -d '{"tenant_id":"demo","display_name":"Demo shop"}' >/dev/null 2>&1 || true
KEY=""
if [[ -s "$DATA/demo.key" ]] &&
  curl_ -H "authorization: Bearer $(cat "$DATA/demo.key")" \
    "http://127.0.0.1:$PORT/segmentd.v1.AdminService/ListApiKeys" -d '{"tenant_id":"demo"}' \
    >/dev/null 2>&1; then
  KEY="$(cat "$DATA/demo.key")"
fi
if [[ -z "$KEY" ]]; then
  KEY=$(curl_ -H "authorization: Bearer $OP" "http://127.0.0.1:$PORT/segmentd.v1.AdminService/CreateApiKey" \
    -d '{"tenant_id":"demo","name":"run.sh demo key","scopes":["SCOPE_ADMIN"]}' |
    sed -n 's/.*"secret": "\([^"]*\)".*/\1/p')
  if [[ -n "$KEY" && -s "$DATA/demo.key" ]]; then
    OLD_ID=$(sed -n 's/^sd_\([0-9a-f]*\)_.*/\1/p' "$DATA/demo.key")
    [[ -n "$OLD_ID" ]] && curl_ -H "authorization: Bearer $OP" \
      "http://127.0.0.1:$PORT/segmentd.v1.AdminService/RevokeApiKey" \
      -d "{\"tenant_id\":\"demo\",\"key_id\":\"$OLD_ID\"}" >/dev/null 2>&1 || true
  fi
fi
# A secret: created 0600 (never readable by others, not even for a moment), and
# replaced rather than rewritten, since an earlier run may have left it 0644.
(umask 077 && printf '%s\n' "$KEY" >"$DATA/demo.key.tmp")
mv -f "$DATA/demo.key.tmp" "$DATA/demo.key"

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
wait "$segmentd_pid"

# Shell harness for end-to-end tests: a real redis-server and the real segmentd
# binary on this machine, driven with `buf curl` over gRPC (reflection).
# Source it from a test; it cleans up its processes on exit.
set -euo pipefail

: "${TEST_TMPDIR:=$(mktemp -d)}"
WORK="$(mktemp -d "$TEST_TMPDIR/e2e.XXXXXX")"
# Unix socket paths must be under 108 bytes; Bazel's TEST_TMPDIR is longer.
SOCKDIR="$(mktemp -d /tmp/sd-e2e.XXXXXX)"
REDIS_SOCK="$SOCKDIR/redis.sock"
SEGMENTD_BIN="${TEST_SRCDIR:-.}/segmentd/server/segmentd"
BUF="${BUF:-$(command -v buf || true)}"
if [ -z "$BUF" ] || [ ! -x "$BUF" ]; then
  echo "FAIL: buf not found: set BUF or run scripts/install-deps.sh" >&2
  exit 1
fi

REDIS_PID=""
SEGMENTD_PID=""
PORT=""
FAILURES=0

cleanup() {
  [ -n "$SEGMENTD_PID" ] && kill -9 "$SEGMENTD_PID" 2>/dev/null || true
  [ -n "$REDIS_PID" ] && kill -9 "$REDIS_PID" 2>/dev/null || true
  rm -rf "$SOCKDIR"
}
trap cleanup EXIT

start_redis() {
  redis-server --port 0 --unixsocket "$REDIS_SOCK" --dir "$WORK" \
    --appendonly yes --appendfsync always --save "" >"$WORK/redis.log" 2>&1 &
  REDIS_PID=$!
  for _ in $(seq 100); do
    redis-cli -s "$REDIS_SOCK" ping 2>/dev/null | grep -q PONG && return 0
    sleep 0.05
  done
  echo "FAIL: redis-server did not start" >&2; cat "$WORK/redis.log" >&2; exit 1
}

# start_segmentd [extra flags...]: starts the server on a free port, sets PORT.
# The log is emptied here, not only by the child's redirection: the loop below
# may read it before the child opens it, and then found no file (set -e ended
# the test) or, after a restart, the previous process's port.
start_segmentd() {
  : >"$WORK/segmentd.log"
  "$SEGMENTD_BIN" --listen=127.0.0.1:0 --redis="unix:$REDIS_SOCK" \
    --operator_key_file="$WORK/operator.key" "$@" >"$WORK/segmentd.log" 2>&1 &
  SEGMENTD_PID=$!
  for _ in $(seq 200); do
    PORT=$(sed -n 's/.*listening on port \([0-9]*\).*/\1/p' "$WORK/segmentd.log")
    [ -n "$PORT" ] && return 0
    kill -0 "$SEGMENTD_PID" 2>/dev/null || break
    sleep 0.05
  done
  echo "FAIL: segmentd did not start" >&2; cat "$WORK/segmentd.log" >&2; exit 1
}

operator_key() { cat "$WORK/operator.key"; }

# call KEY METHOD JSON: runs one RPC; sets OUT (stdout+stderr) and RC.
call() {
  local key="$1" method="$2" body="$3"
  local auth=()
  [ -n "$key" ] && auth=(-H "authorization: Bearer $key")
  set +e
  OUT=$("$BUF" curl --protocol grpc --http2-prior-knowledge "${auth[@]}" \
    "http://127.0.0.1:$PORT/$method" -d "$body" 2>&1)
  RC=$?
  set -e
}

# json FIELD: prints a top-level-or-nested string field of OUT (first match).
json() { printf '%s' "$OUT" | sed -n "s/.*\"$1\": *\"\\([^\"]*\\)\".*/\\1/p" | head -1; }

check() {  # check DESCRIPTION CONDITION...
  local what="$1"; shift
  if "$@"; then echo "ok: $what"; else echo "FAIL: $what"; echo "  output: $OUT"; FAILURES=$((FAILURES + 1)); fi
}
ok() { [ "$RC" -eq 0 ]; }
# Here-strings, not pipes: under pipefail, grep -q exiting at its first
# match can kill the writer with SIGPIPE and fail a check that matched.
code_is() { [ "$RC" -ne 0 ] && grep -q "\"code\": \"$1\"" <<<"$OUT"; }
out_has() { grep -q -- "$1" <<<"$OUT"; }

finish() {
  if [ "$FAILURES" -ne 0 ]; then echo "$FAILURES check(s) failed"; exit 1; fi
  echo "all checks passed"
}

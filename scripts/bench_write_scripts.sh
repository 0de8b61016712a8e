#!/usr/bin/env bash
# Redis's own cost of one customer write script at 1M customers, apart from
# segmentd: a private redis-server (unix socket, no persistence) holding
# BENCH_KEYS customer hashes and schedule, lifetime-orders and
# lifetime-revenue sorted sets of that size runs each write script of
# store/redis_customer_store.cc (its Lua taken from the source, so this
# measures what the store runs) on random customers through
# redis-benchmark; prints INFO commandstats per script. Each committed call
# moves the customer's schedule entry and nothing else: the write a config
# update or a time-driven wake-up makes when only the next change moves.
#   WriteScript        the full write (what such a write cost before
#                      bookkeeping-only writes: measure ZADDs, profile and
#                      history rewritten)
#   BookkeepingScript  CustomerWrite::bookkeeping_only
#
#   bash scripts/bench_write_scripts.sh
#
# Environment: BENCH_KEYS [1000000], BENCH_CALLS [300000].
set -euo pipefail
cd "$(dirname "$0")/.."
KEYS="${BENCH_KEYS:-1000000}"
CALLS="${BENCH_CALLS:-300000}"
DIR="$(mktemp -d /tmp/sdwrite.XXXXXX)"
SOCK="$DIR/redis.sock"
cleanup() {
  redis-cli -s "$SOCK" SHUTDOWN NOSAVE >/dev/null 2>&1 || true
  rm -rf "$DIR"
}
trap cleanup EXIT
redis-server --port 0 --unixsocket "$SOCK" --save "" --appendonly no \
  --hash-max-listpack-value 1024 --daemonize yes --logfile "$DIR/redis.log" --dir "$DIR"
for _ in $(seq 50); do redis-cli -s "$SOCK" PING >/dev/null 2>&1 && break; sleep 0.1; done

# The Lua of both scripts, from the store's source.
python3 - "$DIR" <<'PY'
import re, sys
src = open("store/redis_customer_store.cc").read()
index = re.search(r'constexpr char kIndexFunction\[\] = R"lua\((.*?)\)lua";', src, re.S).group(1)
for name in ("WriteScript", "BookkeepingScript"):
    body = re.search(r"const RedisScript& %s\(\) \{(.*?)\n\}" % name, src, re.S).group(1)
    parts = re.findall(r'R"lua\((.*?)\)lua"|(kIndexFunction)', body, re.S)
    open("%s/%s.lua" % (sys.argv[1], name), "w").write(
        "".join(index if k else s for s, k in parts))
PY

# The data: customer hashes (version 1, in VIP, with a schedule entry), and
# the three sorted sets every buyer is in, as after a bulk import.
load() {
  redis-cli -s "$SOCK" FLUSHALL >/dev/null
  python3 - "$KEYS" <<'PY' | redis-cli -s "$SOCK" --pipe | tail -1
import random, sys
random.seed(1)
def cmd(*args):
    return "*%d\r\n" % len(args) + "".join("$%d\r\n%s\r\n" % (len(a), a) for a in args)
w = sys.stdout.write
for i in range(int(sys.argv[1])):
    cid = "%012d" % i
    n = str(1_700_000_000_000 + random.randint(0, 10**10))
    w(cmd("HSET", "sd:{t}:c:" + cid, "v", "1", "s", "3:VIP", "n", n, "a0", "", "a1", "",
          "p", "p" * 300, "h", "h" * 80, "m", "m" * 12))
    w(cmd("ZADD", "sd:{t}:sched", n, cid))
    w(cmd("ZADD", "sd:{t}:m:orders", "3", cid))
    w(cmd("ZADD", "sd:{t}:m:revenue", "500", cid))
PY
}

# As RedisCustomerStore::WriteKeys.
SCRIPT_KEYS=('sd:{t}:c:__rand_int__' 'sd:{t}:ord' 'sd:{t}:ordseq' 'sd:{t}:sched'
             'sd:{t}:changes' 'sd:{t}:m:orders' 'sd:{t}:m:revenue' 'sd:{t}:config'
             'sd:{t}:daily' 'sd:{t}:m:aov0' 'sd:{t}:m:aov1' 'sd:{t}:m:reg'
             'sd:{t}:m:reg:complete' 'sd:{t}:oid:complete')
PROFILE="$(printf 'p%.0s' $(seq 300))"
HISTORY="$(printf 'h%.0s' $(seq 80))"
run() {
  local name="$1"; shift
  load
  local sha
  sha="$(redis-cli -s "$SOCK" SCRIPT LOAD "$(cat "$DIR/$name.lua")")"
  redis-cli -s "$SOCK" CONFIG RESETSTAT >/dev/null
  redis-benchmark -s "$SOCK" -n "$CALLS" -r "$KEYS" -P 32 -q \
    EVALSHA "$sha" "${#SCRIPT_KEYS[@]}" "${SCRIPT_KEYS[@]}" "$@" \
    2>&1 | tr '\r' '\n' | tail -1 | sed 's/.*: \([0-9.]* requests per second\)/\1/'
  echo "$name: $(redis-cli -s "$SOCK" INFO commandstats | grep -E 'cmdstat_(evalsha|zadd|hset|hmget):' |
    sed 's/,rejected_calls.*//; s/cmdstat_//' | tr '\n' ' ')"
}
# Each run starts from the same data. A random customer's first call
# commits (version 1 -> 2); a repeated one is refused at the version check,
# cheaply, as in the store.
run WriteScript __rand_int__ 1 2 "$PROFILE" mmmmmmmmmmmm '3:VIP' 1800000000000 3 1800000000000 3 \
  500 'sd:{t}:s:' 1000000 0 '' '' 0 "$HISTORY" '' 0 VIP
run BookkeepingScript __rand_int__ 1 2 mmmmmmmmmmmm '3:VIP' 1800000000000 0 '' ''

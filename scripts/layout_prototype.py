#!/usr/bin/env python3
"""Measures what a leaner Redis key layout would save, on a real import.

Usage (destructive: run on a throw-away Redis, e.g. the last mode of
`BENCH_MODES="bulk layout" bash scripts/bench.sh`, which stops segmentd
first):

    python3 scripts/layout_prototype.py <redis unix socket> <tenant>

It prints Redis's memory per customer by key group as the store writes it
(docs/redis-keys.md), then rewrites the tenant's keys step by step into a
layout the store does not implement, printing used_memory after each step:

  1. member sets -> bitmaps over the customers' ordinals (SETBIT), which
     other services could read only through the ordinal map;
  2. the sorted-set indexes (schedule, lifetime orders and revenue, AOV,
     registration) dropped, as if segmentd held them in memory and rebuilt
     them from the customer hashes;
  3. the fields only those indexes and the member-set diff need (s, n, a0,
     a1, g) removed from every customer hash;
  4. the change stream rewritten with one entry per customer write, carrying
     the changes and the measures a replica would need to keep step 2's
     indexes (instead of one entry per segment change);
  5. the same with the customer id and the changes only (replicas would
     re-read the customer to update their indexes).

Nothing here is used by segmentd; see docs/benchmarks.md, tenth pass.
"""
import random
import socket
import sys


class Redis:
    """A minimal pipelining RESP client over a unix socket."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect(path)
        self.file = self.sock.makefile("rb")

    @staticmethod
    def _encode(args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        return b"".join(out)

    def _read(self):
        line = self.file.readline()
        kind, rest = line[:1], line[1:-2]
        if kind == b"+":
            return rest
        if kind == b"-":
            raise RuntimeError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self.file.read(n + 2)[:-2]
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self._read() for _ in range(n)]
        raise RuntimeError("unexpected reply %r" % line)

    def pipe(self, commands, page=1000):
        replies = []
        for i in range(0, len(commands), page):
            chunk = commands[i:i + page]
            self.sock.sendall(b"".join(self._encode(c) for c in chunk))
            replies.extend(self._read() for _ in chunk)
        return replies

    def call(self, *args):
        return self.pipe([args])[0]

    def used_memory(self):
        info = self.call("INFO", "memory").decode()
        return int(next(l for l in info.split("\r\n") if l.startswith("used_memory:")).split(":")[1])

    def scan(self, pattern):
        cursor, keys = b"0", []
        while True:
            cursor, page = self.call("SCAN", cursor, "MATCH", pattern, "COUNT", 10000)
            keys.extend(page)
            if cursor == b"0":
                return keys


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    r = Redis(sys.argv[1])
    prefix = b"sd:{%s}:" % sys.argv[2].encode()
    ids = r.call("HVALS", prefix + b"ord")
    n = len(ids)
    if n == 0:
        sys.exit("layout: tenant %s has no customers" % sys.argv[2])
    per = lambda b: "%.0f B/customer" % (b / n)

    # Memory by key group, as stored (MEMORY USAGE of every key).
    groups = {}
    for key in r.scan(prefix + b"*"):
        rest = key[len(prefix):]
        group = {b"c:": "customer hashes", b"s:": "member sets", b"m:": "measure, AOV, registration indexes",
                 b"oi": "order record (oid:*)"}.get(rest[:2], rest.decode())
        groups.setdefault(group, []).append(key)
    for group, keys in sorted(groups.items()):
        sizes = r.pipe([("MEMORY", "USAGE", k, "SAMPLES", 0) for k in keys])
        print("layout: as stored: %-36s %s (%d keys)" % (group, per(sum(s or 0 for s in sizes)), len(keys)))
    print("layout: as stored: used_memory %s (%d customers)" % (per(r.used_memory()), n))

    # What each field of a customer hash holds: mean value length over a
    # sample (a listpack entry costs its bytes plus 2-5 bytes of framing).
    sample = random.Random(2).sample(ids, min(n, 10000))
    fields = {}
    for h in r.pipe([("HGETALL", prefix + b"c:" + c) for c in sample]):
        for name, value in zip(h[::2], h[1::2]):
            fields.setdefault(name.decode(), []).append(len(value))
    print("layout: customer hash fields, mean bytes over %d customers: %s" % (len(sample), ", ".join(
        "%s %.1f (%d%% hold it)" % (f, sum(v) / len(v), 100 * len(v) // len(sample))
        for f, v in sorted(fields.items()))))

    ordinals = dict(zip(ids, r.pipe([("HGET", prefix + b"c:" + c, "o") for c in ids])))
    for key in groups.get("member sets", []):
        members = r.call("SMEMBERS", key)
        bitmap = prefix + b"b:" + key[len(prefix) + 2:]
        r.pipe([("SETBIT", bitmap, ordinals[m], 1) for m in members])
        r.call("DEL", key)
    print("layout: 1. member sets as bitmaps over ordinals: used_memory %s" % per(r.used_memory()))

    for key in groups.get("measure, AOV, registration indexes", []) + groups.get("sched", []):
        r.call("DEL", key)
    print("layout: 2. no sorted-set indexes: used_memory %s" % per(r.used_memory()))

    r.pipe([("HDEL", prefix + b"c:" + c, "s", "n", "a0", "a1", "g") for c in ids])
    print("layout: 3. customer hashes without s, n, a0, a1, g: used_memory %s" % per(r.used_memory()))

    entries = r.call("XLEN", prefix + b"changes")
    r.call("DEL", prefix + b"changes")
    rng = random.Random(1)
    r.pipe([("XADD", prefix + b"changes", "*", "c", c, "x", "+LAPSED,+LOST_CUSTOMER,+LOW_VALUE,+REPEAT_CUSTOMER",
             "t", 1764000000000 + i, "k", 0, "o", rng.randint(1, 9), "r", rng.randint(1000, 900000),
             "n", 1770000000000 + rng.randint(0, 10**10), "a0", rng.randint(1000, 90000),
             "a1", rng.randint(1000, 90000)) for i, c in enumerate(ids)])
    print("layout: 4. one stream entry per customer write (%d entries, was %d): used_memory %s" %
          (n, entries, per(r.used_memory())))
    stream = r.call("MEMORY", "USAGE", prefix + b"changes", "SAMPLES", 0)
    print("layout: 4. of which the stream %s (%.0f B per entry)" % (per(stream), stream / n))

    # 5. The same entries with the changes and the customer id only: replicas
    #    would re-read the customer's hash to update their indexes.
    r.call("DEL", prefix + b"changes")
    r.pipe([("XADD", prefix + b"changes", "*", "c", c,
             "x", "+LAPSED,+LOST_CUSTOMER,+LOW_VALUE,+REPEAT_CUSTOMER") for c in ids])
    stream = r.call("MEMORY", "USAGE", prefix + b"changes", "SAMPLES", 0)
    print("layout: 5. one stream entry per customer write, id and changes only: used_memory %s; "
          "the stream %s (%.0f B per entry)" % (per(r.used_memory()), per(stream), stream / n))


if __name__ == "__main__":
    main()

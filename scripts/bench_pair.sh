#!/usr/bin/env bash
# Compares two builds of a Google Benchmark binary on this 2-core VM, whose
# speed shifts between runs by up to ~40% with nothing stolen: A and B run at
# the same time, one per core, then with the cores swapped, and each pair
# gives a ratio B/A taken at one moment of the VM (docs/benchmarks.md,
# twenty-first pass). Prints each pair, then the geometric mean of the ratios.
#
#   bazel build -c opt //engine:classify_benchmark && cp bazel-bin/engine/classify_benchmark /tmp/a
#   (change the code, build again) && cp bazel-bin/engine/classify_benchmark /tmp/b
#   scripts/bench_pair.sh /tmp/a /tmp/b                  # BM_ClassifyAll, 4 rounds
#   ROUNDS=2 FILTER=BM_FullEvaluation scripts/bench_pair.sh /tmp/a /tmp/b
#
# A round is two pairs (A on CPU 0 and B on CPU 1, then the other way round);
# each side is the median of 3 repetitions. Pairs taken while the VM shifts
# scatter: compare means of pairs from a steady stretch.
set -euo pipefail
if [[ $# -ne 2 || ! -x "$1" || ! -x "$2" ]]; then
  echo "usage: [ROUNDS=4] [FILTER=BM_ClassifyAll] $0 BINARY_A BINARY_B" >&2
  exit 2
fi
a="$1" b="$2" rounds="${ROUNDS:-4}" filter="${FILTER:-BM_ClassifyAll}"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

# Prints the median real time of `filter` in binary $1 pinned to CPU $2.
median() {
  taskset -c "$2" "$1" --benchmark_filter="$filter" --benchmark_repetitions=3 \
    --benchmark_report_aggregates_only=true 2>/dev/null | awk '/_median/ { print $2; exit }'
}

for ((r = 0; r < rounds; ++r)); do
  for cpu_a in 0 1; do
    cpu_b=$((1 - cpu_a))
    median "$a" "$cpu_a" >"$out/a" &
    median "$b" "$cpu_b" >"$out/b" &
    wait
    awk -v a="$(cat "$out/a")" -v b="$(cat "$out/b")" -v ca="$cpu_a" -v cb="$cpu_b" \
      'BEGIN { printf "A on CPU %d: %s   B on CPU %d: %s   B/A %.3f\n", ca, a, cb, b, b / a }' |
      tee -a "$out/pairs"
  done
done
awk '{ s += log($NF); n++ } END { printf "geometric mean of B/A over %d pairs: %.3f\n", n, exp(s / n) }' \
  "$out/pairs"

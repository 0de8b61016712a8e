#!/usr/bin/env bash
# Runs the whole test suite: `buf lint` over the API, then every Bazel test
# (unit tests, tests against a real redis-server, end-to-end tests of the real
# binary), then every fuzz target under ASan and UBSan. Installs what is missing
# first. Ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"

scripts/install-deps.sh || { echo "0 passed, 1 failed"; exit 1; }
BUF="$ROOT/tools/node_modules/.bin/buf"

passed=0
failed=0

echo "== buf lint"
if "$BUF" lint; then passed=$((passed + 1)); echo "buf lint: PASSED"; else failed=$((failed + 1)); echo "buf lint: FAILED"; fi

echo "== bazel test //..."
log="$(mktemp)"
bazel test //... --keep_going --test_env=BUF="$BUF" --test_env=SEGMENTD_DATA="$ROOT/../shared/data" --test_output=errors 2>&1 | tee "$log"
bazel_rc=${PIPESTATUS[0]}
p=$(grep -cE '^//[^ ]+ +(\(cached\) )?PASSED' "$log")
f=$(grep -cE '^//[^ ]+ +(\(cached\) )?(FAILED|TIMEOUT|NO STATUS|FAILED TO BUILD)' "$log")
passed=$((passed + p))
failed=$((failed + f))
# A build failure or an interrupted run reports no per-target line: count it.
if [ "$bazel_rc" -ne 0 ] && [ "$f" -eq 0 ]; then failed=$((failed + 1)); fi
rm -f "$log"

# The fuzz targets under ASan + UBSan (docs/fuzzing.md): a fixed number of
# inputs from libFuzzer's seed 1 and a fresh corpus, so every run (and CI) fuzzes
# the same inputs; fewer for redis_live_fuzz, each of whose inputs is rounds of
# Redis calls (5,000 took 41 s on the 2-core dev VM). Longer runs: scripts/fuzz.sh.
echo "== fuzz"
fuzz_out="$(mktemp -d)"  # kept when a target fails: the failing input is there
if FUZZ_OUT="$fuzz_out" FUZZ_RUNS="${FUZZ_RUNS:-20000,redis_live_fuzz=5000}" bash scripts/fuzz.sh; then
  passed=$((passed + 1)); echo "fuzz: PASSED"; rm -rf "$fuzz_out"
else
  failed=$((failed + 1)); echo "fuzz: FAILED (inputs and logs in $fuzz_out)"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]

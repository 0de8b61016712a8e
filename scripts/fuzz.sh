#!/usr/bin/env bash
# Fuzzes every parser and validator that takes untrusted input (docs/fuzzing.md):
# builds each fuzz target with clang, libFuzzer, AddressSanitizer and
# UndefinedBehaviorSanitizer, starts it from its seeds and regression inputs,
# and fails when any target crashes, leaks, hits undefined behaviour or breaks a
# property it checks. The inputs that did are kept in $FUZZ_OUT/<target>/.
#
#   bash scripts/fuzz.sh                          # every target, 60 s each
#   FUZZ_SECONDS=600 bash scripts/fuzz.sh //tests/fuzz:event_fuzz
#   FUZZ_RUNS=20000 bash scripts/fuzz.sh          # a fixed number of inputs, seed 1:
#                                                 # the same run every time
#   FUZZ_RUNS=20000,redis_live_fuzz=2000 ...      # ... and another number for a target
#
# The sanitized build has its own Bazel output base (~/.cache/segmentd-fuzz), so
# it leaves the normal build's cache alone.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"

# FUZZ_RUNS: a number of inputs for every target, then any "<target>=<number>"
# for one (a target whose input costs far more than the others').
declare -A target_runs=()
default_runs=""
if [ -n "${FUZZ_RUNS:-}" ]; then
  IFS=, read -ra runs_items <<<"$FUZZ_RUNS"
  for item in "${runs_items[@]}"; do
    case "$item" in
      *=*) target_runs["${item%%=*}"]="${item#*=}" ;;
      *) default_runs="$item" ;;
    esac
    [[ "${item#*=}" =~ ^[0-9]+$ ]] || { echo "fuzz: FUZZ_RUNS: \"$item\" is not a number of inputs" >&2; exit 2; }
  done
  [[ -n "$default_runs" ]] || { echo "fuzz: FUZZ_RUNS=$FUZZ_RUNS names no number for every target" >&2; exit 2; }
fi

scripts/install-deps.sh clang libclang-rt-14-dev
OUT="${FUZZ_OUT:-$ROOT/.segmentd/fuzz}"
FUZZ_BASE="${FUZZ_OUTPUT_BASE:-$HOME/.cache/segmentd-fuzz}"
fuzz_bazel() { CC=clang bazel --output_base="$FUZZ_BASE" "$@"; }

targets=("$@")
if ((${#targets[@]} == 0)); then
  mapfile -t targets < <(bazel query --output=label 'filter("_fuzz$", kind(cc_binary, //...))' 2>/dev/null)
fi
((${#targets[@]})) || { echo "fuzz: no fuzz targets found" >&2; exit 1; }

# The seeds come from each target's seed test, built the normal way.
seed_tests=()
for t in "${targets[@]}"; do seed_tests+=("${t}_seed_test"); done
bazel build "${seed_tests[@]}"
fuzz_bazel build --config=fuzz --symlink_prefix=/ "${targets[@]}"
fuzz_bin="$(fuzz_bazel info --config=fuzz bazel-bin 2>/dev/null)"

failed=()
for t in "${targets[@]}"; do
  path="${t#//}"; path="${path/://}"            # //tests/fuzz:x -> tests/fuzz/x
  name="${path##*/}"
  if [ -n "$default_runs" ]; then
    limit=(-runs="${target_runs[$name]:-$default_runs}" -seed=1)
  else
    limit=(-max_total_time="${FUZZ_SECONDS:-60}")
  fi
  corpus="$OUT/$name/corpus"; mkdir -p "$corpus"
  "bazel-bin/${path}_seed_test" --write "$corpus" >/dev/null
  regressions="$(dirname "$path")/testdata/$name"
  if [ -d "$regressions" ]; then cp -f "$regressions"/* "$corpus"/; fi
  echo "== $t (${limit[*]})"
  if ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
      "$fuzz_bin/$path" "${limit[@]}" -timeout=10 -rss_limit_mb=4096 -print_final_stats=1 \
      -artifact_prefix="$OUT/$name/" "$corpus" 2>"$OUT/$name/log"; then
    grep -E "^stat::number_of_executed_units|^Done" "$OUT/$name/log" | tail -2
  else
    failed+=("$t")
    tail -40 "$OUT/$name/log"
    echo "fuzz: $t FAILED; the input is in $OUT/$name/ (crash-*, leak-*, timeout-*)"
  fi
done

echo "fuzz: $((${#targets[@]} - ${#failed[@]})) targets clean, ${#failed[@]} failed${failed:+: ${failed[*]}}"
((${#failed[@]} == 0))

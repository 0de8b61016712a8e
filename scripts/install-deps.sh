#!/usr/bin/env bash
# Installs what segmentd needs to build, run and test, from Debian's packages and
# npm only, plus any Debian packages named as arguments. Idempotent, and quick
# when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  bazel-bootstrap bazel-rules-java pkg-config g++
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler grpc-proto
  libabsl-dev libhiredis-dev libssl-dev libroaring-dev libjemalloc-dev prometheus-cpp-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  redis-server redis-tools
)
# Extra packages a caller needs (scripts/fuzz.sh: clang and its runtimes).
APT_PACKAGES+=("$@")

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
# npm may come from outside Debian (this machine kind ships Node 20 + npm 11);
# take Debian's only when there is none.
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}" >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# buf (lint, curl) from npm, pinned by tools/package-lock.json.
if [ ! -x tools/node_modules/.bin/buf ]; then
  echo "install-deps: installing buf from npm" >&2
  (cd tools && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
fi

#!/usr/bin/env bash
# Configures and builds the native tree in build/native (Release).
#   tools/build-native.sh                 everything (CLI, tests, training)
#   tools/build-native.sh folia_cli ...   only these targets
# XNNPACK is built once at configure time and cached under FOLIA_THIRD_PARTY_DIR
# (default ~/.cache/folia/third_party, outside the clone; see
# cmake/xnnpack-native.cmake). FOLIA_JOBS (default 2) sets the parallelism.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
step() { printf '\n==> %s\n' "$*"; }

jobs=${FOLIA_JOBS:-2}
# One build of build/native at a time: a second caller waits here instead of racing it.
mkdir -p "$here/build"
exec 9>"$here/build/.native-build.lock"
flock 9
args=(-S "$here" -B "$here/build/native" -DCMAKE_BUILD_TYPE=Release)
# Tests read the data folder from the CMake cache: refresh it when the caller gives one.
[ -n "${FOLIA_DATA:-}" ] && args+=("-DFOLIA_DATA=$FOLIA_DATA")

step "configure build/native"
echo "+ cmake ${args[*]}"
cmake "${args[@]}"

targets=()
for t in "$@"; do targets+=(--target "$t"); done
step "build build/native${*:+ (targets: $*)} with -j$jobs"
echo "+ cmake --build build/native -j $jobs ${targets[*]}"
cmake --build "$here/build/native" -j "$jobs" "${targets[@]}"
step "native build done: build/native/bin/folia"

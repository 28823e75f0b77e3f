#!/usr/bin/env bash
# Data-parallel throughput here: folia-train bench-dist (1 process x 2 threads vs 2 ranks x 1
# thread, interleaved A B A B, with load averages), with the background research training
# paused while it measures (HELPERS.md) and resumed however this script ends.
#   tools/bench-dist.sh [bench-dist flags, e.g. --size 64 --batch 16 --rounds 3]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
exe="$here/build/native/training/folia-train"
[ -x "$exe" ] || { echo "build folia-train first: bash tools/build-native.sh folia-train" >&2; exit 1; }
# The process group to pause (a file holding its id); absent: nothing is paused.
pgid_file=${FOLIA_PAUSE_PGID_FILE:-/work/research.pgid}
resume() { [ -f "$pgid_file" ] && kill -CONT -- "-$(cat "$pgid_file")" 2>/dev/null || true; }
trap resume EXIT
[ -f "$pgid_file" ] && kill -STOP -- "-$(cat "$pgid_file")" 2>/dev/null || true
"$exe" bench-dist "$@"

#!/usr/bin/env bash
# Sets up, builds and runs every Folia test suite, then prints "N passed, N failed" over all.
#   bash tools/test-all.sh
# Suites: native CTest (build/native); the native tests under ASan + UBSan
# (tools/test-sanitizers.sh); every fuzz target for FOLIA_FUZZ_SECONDS (default 60,
# tools/fuzz.sh); the wasm builds' CTest under node (tools/build-wasm.sh, when present); the
# browser tests (tools/test-web.sh, when present). FOLIA_DATA defaults to
# ../shared/data/plantvillage next to the repository.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
step() { printf '\n==> %s\n' "$*"; }

if [ -z "${FOLIA_DATA:-}" ]; then
  FOLIA_DATA="$here/../shared/data/plantvillage"
fi
[ -d "$FOLIA_DATA" ] && FOLIA_DATA=$(cd "$FOLIA_DATA" && pwd)
export FOLIA_DATA
echo "FOLIA_DATA=$FOLIA_DATA"
[ -d "$FOLIA_DATA" ] || echo "warning: $FOLIA_DATA does not exist; data-driven tests will fail" >&2
jobs=${FOLIA_JOBS:-2}
logs="$here/build/test-logs"
mkdir -p "$logs"

total_passed=0
total_failed=0
summary=()

# run_suite NAME CMD...: runs a suite with its output on screen and in build/test-logs/NAME.log,
# then adds its counts to the totals. Counts come from CTest ("N tests failed out of M") and
# node --test ("# pass N" / "# fail N") summaries; a suite that fails without printing a
# summary counts as one failure, so a broken build can never read as a pass.
run_suite() {
  local name=$1; shift
  local log="$logs/$name.log"
  step "suite $name: $*"
  set +e
  "$@" 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  set -e
  local p f
  read -r p f < <(awk '
    /tests failed out of/ { for (i = 1; i <= NF; i++) if ($i == "tests" && $(i+1) == "failed") { nf = $(i-1); nt = $NF }
                            tp += nt - nf; tf += nf; seen = 1 }
    /^# pass / { tp += $3; seen = 1 }
    /^# fail / { tf += $3; seen = 1 }
    END { if (!seen) { tp = 0; tf = 0 } printf "%d %d\n", tp, tf }' "$log")
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=$((f + 1)); fi
  total_passed=$((total_passed + p))
  total_failed=$((total_failed + f))
  summary+=("$(printf '%-8s %5d passed, %3d failed (exit %d)' "$name" "$p" "$f" "$rc")")
}

step "setup (tools/setup.sh)"
bash tools/setup.sh

# Formatting: every tracked C/C++ file as the repository's .clang-format wants it.
run_suite format bash tools/check-format.sh

step "native build (tools/build-native.sh)"
if bash tools/build-native.sh; then
  run_suite native ctest --test-dir build/native --output-on-failure -j "$jobs"
else
  summary+=("native   build FAILED")
  total_failed=$((total_failed + 1))
fi

# --- hook: the native tests under ASan + UBSan + LeakSanitizer (build/asan) ------------------
if [ -x tools/test-sanitizers.sh ]; then
  run_suite asan bash tools/test-sanitizers.sh
fi

# --- hook: libFuzzer targets, FOLIA_FUZZ_SECONDS each (default 60; build/fuzz) -------------
if [ -x tools/fuzz.sh ]; then
  run_suite fuzz bash tools/fuzz.sh --seconds "${FOLIA_FUZZ_SECONDS:-60}"
fi

# --- hook: wasm builds + their CTest suites under node (tools/build-wasm.sh) ---------------
if [ -x tools/build-wasm.sh ]; then
  run_suite wasm bash tools/build-wasm.sh
fi

# --- hook: browser tests of the PWA (tools/test-web.sh builds web/ and runs its tests) -----
if [ -x tools/test-web.sh ]; then
  run_suite web bash tools/test-web.sh
fi

step "summary (logs in build/test-logs)"
for line in "${summary[@]}"; do echo "  $line"; done
echo "$total_passed passed, $total_failed failed"
[ "$total_failed" -eq 0 ]

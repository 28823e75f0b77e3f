#!/usr/bin/env bash
# test-web.sh: builds the PWA (web/dist) and runs its browser tests (node --test + playwright-core
# driving /usr/bin/chromium headless). Prints node's TAP summary ("# pass N", "# fail N").
#   tools/test-web.sh [--no-build] [test files...]
# Needs: the wasm builds (tools/build-wasm.sh), the native CLI (tools/build-native.sh, the
# reference the page is compared against), FOLIA_DATA (default ../shared/data/plantvillage); the
# teaching tests take $FOLIA_DATA/../new-classes/Mango___Bacterial_disease, else synthetic leaves.
# Model: FOLIA_MODEL, else shared/models/plantvillage.folia, else a random model made here.
# Wasm builds: FOLIA_WASM_DIR / FOLIA_WASM_MT_DIR (default build/wasm, build/wasm-mt).
# Artifacts (screenshots, figures JSON) go to build/web-artifacts/.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
step() { printf '\n==> %s\n' "$*"; }

build=1
files=()
for a in "$@"; do
  case "$a" in
    --no-build) build=0 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) files+=("$a") ;;
  esac
done

if [ -z "${FOLIA_DATA:-}" ] && [ -d "$root/../shared/data/plantvillage" ]; then
  FOLIA_DATA=$(cd "$root/../shared/data/plantvillage" && pwd)
fi
export FOLIA_DATA=${FOLIA_DATA:-}
[ -x /usr/bin/chromium ] || { echo "test-web.sh: /usr/bin/chromium missing: run tools/setup.sh" >&2; exit 1; }
[ -d web/node_modules/playwright-core ] || { echo "test-web.sh: web/node_modules missing: run tools/setup.sh" >&2; exit 1; }
cli="$root/build/native/bin/folia"
if [ ! -x "$cli" ]; then
  step "building the native CLI (the reference)"
  bash tools/build-native.sh folia_cli folia-make-random-model
fi

if [ "$build" = 1 ]; then
  model="${FOLIA_MODEL:-$root/shared/models/plantvillage.folia}"
  if [ ! -f "$model" ]; then
    step "no trained model yet: testing with a RANDOM model (build/models/web-random.folia)"
    mkdir -p build/models
    labels=()
    [ -f "$FOLIA_DATA/CLASSES.txt" ] && labels=(--labels "$FOLIA_DATA/CLASSES.txt")
    bash tools/make-random-model -o build/models/web-random.folia --seed 7 --random-bn \
      --abstain-threshold 0.5 "${labels[@]}"
    model="$root/build/models/web-random.folia"
  fi
  if [ ! -f "${FOLIA_WASM_DIR:-build/wasm}/web/folia-web.js" ] ||
     [ ! -f "${FOLIA_WASM_MT_DIR:-build/wasm-mt}/web/folia-web-mt.js" ] ||
     [ ! -f "${FOLIA_WASM_RELAXED_DIR:-build/wasm-mt-relaxed}/web/folia-web-mt-relaxed.js" ]; then
    step "building the wasm engines (tools/build-wasm.sh --no-test)"
    bash tools/build-wasm.sh --no-test
  fi
  step "building web/dist (tools/build-web.sh)"
  bash tools/build-web.sh --model "$model"
fi

step "browser tests (node --test web/tests)"
[ ${#files[@]} -gt 0 ] || files=(web/tests/*.test.mjs)
rm -rf build/web-test/dist-v1 build/web-test/dist-v2
# One file at a time: each starts its own Chromium, and this machine has 2 cores. node 20's V8
# has relaxed SIMD behind a flag (Chromium ships it): the test processes inherit it.
FOLIA_CLI="$cli" node --experimental-wasm-relaxed-simd --test --test-concurrency=1 --test-timeout=900000 --test-reporter=tap "${files[@]}"

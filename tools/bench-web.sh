#!/usr/bin/env bash
# bench-web.sh: the browser benchmark. Folia (wasm, 1 and 2 threads) vs onnxruntime-web and
# @tensorflow/tfjs-backend-wasm on the same weights, in one headless Chromium run; plus the app's
# cold start, 12 MP photo-to-diagnosis and first-visit download, and `folia bench` natively.
# Prints a table and writes build/bench/web-bench.json.
#   tools/bench-web.sh [bench-web.mjs options: --runs N --warmup N --no-app --no-native --out FILE]
# Prepares only what is missing: web/bench/node_modules (npm ci), the wasm builds
# (tools/build-wasm.sh --no-test), the PWA (tools/build-web.sh), the ONNX export
# (tools/export-onnx.py; redone when the model file is newer).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
step() { printf '\n==> %s\n' "$*"; }

case "${1:-}" in -h|--help) sed -n '2,9p' "$0"; exit 0 ;; esac
[ -x /usr/bin/chromium ] || { echo "bench-web.sh: /usr/bin/chromium missing: run tools/setup.sh" >&2; exit 1; }
[ -d web/node_modules/playwright-core ] || { echo "bench-web.sh: web/node_modules missing: run tools/setup.sh" >&2; exit 1; }
if [ -z "${FOLIA_DATA:-}" ] && [ -d "$root/../shared/data/plantvillage" ]; then
  export FOLIA_DATA=$(cd "$root/../shared/data/plantvillage" && pwd)
fi

if [ ! -d web/bench/node_modules/onnxruntime-web ] || [ ! -d web/bench/node_modules/@tensorflow/tfjs-backend-wasm ] \
   || [ web/bench/package-lock.json -nt web/bench/node_modules/.package-lock.json ]; then
  step "npm ci in web/bench (onnxruntime-web, @tensorflow/tfjs-core, @tensorflow/tfjs-backend-wasm)"
  (cd web/bench && npm ci --no-audit --no-fund)
fi
if [ ! -f build/wasm/web/folia-web.wasm ] || [ ! -f build/wasm-mt/web/folia-web-mt.wasm ] \
   || [ ! -f build/wasm-mt-relaxed/web/folia-web-mt-relaxed.wasm ]; then
  step "building the wasm engines"
  bash tools/build-wasm.sh --no-test
fi
if [ ! -f web/dist/index.html ]; then
  step "building the PWA (web/dist)"
  bash tools/build-web.sh
fi
model="${FOLIA_MODEL:-shared/models/plantvillage.folia}"
if [ ! -f build/bench/folia.onnx ] || [ "$model" -nt build/bench/folia.onnx ]; then
  step "exporting $model to ONNX"
  cli_check=()
  [ -x build/native/bin/folia ] || cli_check=(--no-cli-check)
  /usr/bin/python3 tools/export-onnx.py --model "$model" "${cli_check[@]}"
fi
step "benchmark (load average: $(cut -d' ' -f1-3 /proc/loadavg))"
exec node tools/bench-web.mjs "$@"

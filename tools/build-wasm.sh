#!/usr/bin/env bash
# Builds the wasm core three times (single-thread SIMD in build/wasm, pthreads in build/wasm-mt,
# pthreads + relaxed SIMD in build/wasm-mt-relaxed) and runs each one's Catch2 tests under node
# through CTest. The relaxed variant is built with Debian trixie's emcc 3.1.69 inside the chroot
# of tools/trixie-toolchain.sh (bookworm's 3.1.6 cannot emit final relaxed-SIMD opcodes); its
# tests run on the host's node with --experimental-wasm-relaxed-simd (node 20's V8 11.3 has it
# behind that flag; Chrome ships it since 114).
#   tools/build-wasm.sh            configure + build + test both variants
#   tools/build-wasm.sh --no-test  configure + build only
#   FOLIA_WASM_VARIANTS="wasm" tools/build-wasm.sh   one variant
# XNNPACK for wasm (~7 min per variant at -j2) is built once at configure time and cached under
# FOLIA_THIRD_PARTY_DIR/wasm[-mt]-install (default ~/.cache/folia/third_party, outside the
# clone); later runs and other clones reuse it.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
step() { printf '\n==> %s\n' "$*"; }

run_tests=1
for a in "$@"; do
  case "$a" in
    --no-test) run_tests=0 ;;
    *) echo "usage: tools/build-wasm.sh [--no-test]" >&2; exit 2 ;;
  esac
done

# Debian's emscripten 3.1.6: optimised links run acorn from Debian's node modules.
export NODE_PATH=/usr/share/nodejs${NODE_PATH:+:$NODE_PATH}
command -v emcmake >/dev/null || { echo "emscripten is missing: run tools/setup.sh" >&2; exit 1; }
jobs=${FOLIA_JOBS:-2}
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)

for variant in ${FOLIA_WASM_VARIANTS:-wasm wasm-mt wasm-mt-relaxed}; do
  in_tc=()  # the toolchain's command prefix: none (bookworm's emcc) or the trixie chroot
  relaxed=OFF
  case "$variant" in
    wasm) threads=OFF ;;
    wasm-mt) threads=ON ;;
    wasm-mt-relaxed) threads=ON; relaxed=ON; in_tc=(bash tools/trixie-toolchain.sh run) ;;
    *) echo "unknown variant $variant (wasm, wasm-mt or wasm-mt-relaxed)" >&2; exit 2 ;;
  esac
  dir="build/$variant"
  args=(-S . -B "$dir" "${generator[@]}" -DFOLIA_BUILD_TRAINING=OFF -DFOLIA_WASM_THREADS=$threads
        -DFOLIA_WASM_RELAXED_SIMD=$relaxed)
  if [ "$relaxed" = ON ]; then
    bash tools/trixie-toolchain.sh ensure
    # The web lab stays on the plain builds; the host's node runs the tests (same paths).
    args+=(-DFOLIA_WASM_LAB=OFF -DFOLIA_NODE=/usr/bin/node
           "-DFOLIA_WASM_NODE_ARGS=--no-experimental-fetch;--experimental-wasm-relaxed-simd")
  fi
  # Tests read the data folder from the CMake cache: refresh it when the caller gives one.
  [ -n "${FOLIA_DATA:-}" ] && args+=("-DFOLIA_DATA=$FOLIA_DATA")
  step "configure $dir (FOLIA_WASM_THREADS=$threads FOLIA_WASM_RELAXED_SIMD=$relaxed)"
  echo "+ ${in_tc[*]} emcmake cmake ${args[*]}"
  "${in_tc[@]}" emcmake cmake "${args[@]}"
  step "build $dir (-j$jobs)"
  echo "+ ${in_tc[*]} cmake --build $dir -j $jobs"
  "${in_tc[@]}" cmake --build "$dir" -j "$jobs"
  if [ "$run_tests" = 1 ]; then
    step "test $dir (node)"
    echo "+ ctest --test-dir $dir --output-on-failure"
    ctest --test-dir "$dir" --output-on-failure
  fi
done
step "wasm build done: build/wasm/web/folia-web.{js,wasm}, build/wasm-mt/web/folia-web-mt.{js,wasm,worker.js}, build/wasm-mt-relaxed/web/folia-web-mt-relaxed.{js,wasm}"

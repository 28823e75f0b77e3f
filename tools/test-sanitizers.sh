#!/usr/bin/env bash
# Builds the native test suite with AddressSanitizer + UndefinedBehaviorSanitizer (+ LeakSanitizer,
# on by default with ASan) into build/asan and runs it with CTest.
#   bash tools/test-sanitizers.sh [--build-only | --no-build] [ctest args...]   e.g. -R teach
# Covered: model file, preprocessing, augmentation, engine, CLI (folia and
# folia-make-random-model run instrumented), teaching and limits tests. Not covered: the LibTorch
# training tests (FOLIA_BUILD_TRAINING=OFF: the prebuilt libtorch is not instrumented and its
# slices take minutes even unsanitised) and the lab (FOLIA_LAB=OFF: its tests drive folia-train,
# and Mesa/SDL2/X11 underneath it are uninstrumented system libraries whose allocations LeakSanitizer
# reports as leaks; the lab runs in the plain native suite). Our code, stb_image and nlohmann-json are instrumented;
# the cached XNNPACK build (FOLIA_THIRD_PARTY_DIR, clang-14 Release) is linked uninstrumented.
# Any sanitizer report fails the test that made it (halt_on_error; exit code != 0).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
step() { printf '\n==> %s\n' "$*"; }

mode=all
case "${1:-}" in
  --build-only) mode=build; shift ;;
  --no-build) mode=test; shift ;;
esac
out="$here/build/asan"
jobs=${FOLIA_JOBS:-2}
flags="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all"
flags+=" -fsanitize-ignorelist=$here/tools/sanitizer-ignorelist.txt"  # stb_image_write (tests) only
gen=(); command -v ninja >/dev/null && gen=(-G Ninja)
args=(-S "$here" -B "$out" "${gen[@]}" -DCMAKE_BUILD_TYPE=Asan
      -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14
      "-DCMAKE_C_FLAGS=$flags" "-DCMAKE_CXX_FLAGS=$flags"
      -DFOLIA_BUILD_TRAINING=OFF -DFOLIA_LAB=OFF -DFOLIA_BUILD_TESTS=ON)
[ -n "${FOLIA_DATA:-}" ] && args+=("-DFOLIA_DATA=$FOLIA_DATA")
if [ "$mode" != test ]; then
  step "configure build/asan (clang-14, address,undefined)"
  cmake "${args[@]}" >"$out.configure.log" 2>&1 || { cat "$out.configure.log"; exit 1; }
  step "build build/asan with -j$jobs"
  cmake --build "$out" -j "$jobs"
fi
[ "$mode" = build ] && exit 0

# detect_leaks: LeakSanitizer at exit. Children (the CLI under test) inherit the options.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:halt_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
step "ctest build/asan (ASAN_OPTIONS=$ASAN_OPTIONS)"
ctest --test-dir "$out" --output-on-failure -j "$jobs" "$@"

#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/) into build/fuzz and runs each for N seconds.
#   bash tools/fuzz.sh [--seconds N] [--no-build] [TARGET...]     (default: 60 s, every target)
# Targets: fuzz_decode (image bytes -> decode + EXIF + resize + normalise), fuzz_model_file (the
# model-file reader/writer), fuzz_api (folia.h: init, classify, classify_image, logits, teaching).
# Instrumentation: clang-14 -fsanitize=fuzzer-no-link,address,undefined on all of our code (and
# stb_image / nlohmann-json, compiled into it); the cached XNNPACK build is linked uninstrumented.
# Seeds are made at run time (fuzz/make-seeds.py with Pillow, folia-make-random-model); the
# corpus grows in build/fuzz/corpus/TARGET across runs. Inputs under fuzz/regressions/TARGET
# (past findings, synthetic bytes) are replayed first. Prints one line per target (exec/s, cov,
# ft) and "# pass N" / "# fail N" (targets); exits non-zero on any crash, leak, timeout, OOM or
# sanitizer report (the input is saved under build/fuzz/artifacts/TARGET/). After fuzz_decode, its
# corpus is replayed under MemorySanitizer (fuzz_decode_msan), counted as one more target.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
step() { printf '\n==> %s\n' "$*"; }

seconds=60
build=1
targets=()
while [ $# -gt 0 ]; do
  case $1 in
    --seconds) seconds=$2; shift 2 ;;
    --seconds=*) seconds=${1#*=}; shift ;;
    --no-build) build=0; shift ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    -*) echo "fuzz.sh: unknown option $1" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
all=(fuzz_decode fuzz_model_file fuzz_api)
[ ${#targets[@]} -gt 0 ] || targets=("${all[@]}")
for t in "${targets[@]}"; do
  case " ${all[*]} " in *" $t "*) ;; *) echo "fuzz.sh: unknown target $t (${all[*]})" >&2; exit 2 ;; esac
done

out="$here/build/fuzz"
jobs=${FOLIA_JOBS:-2}
t_start=$(date +%s)
if [ "$build" = 1 ]; then
  step "configure + build build/fuzz (clang-14, fuzzer-no-link,address,undefined)"
  gen=(); command -v ninja >/dev/null && gen=(-G Ninja)
  flags="-O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all"
  cmake -S "$here" -B "$out" "${gen[@]}" -DCMAKE_BUILD_TYPE=Fuzz \
    -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 \
    "-DCMAKE_C_FLAGS=$flags" "-DCMAKE_CXX_FLAGS=$flags" \
    -DFOLIA_BUILD_FUZZ=ON -DFOLIA_BUILD_TESTS=OFF -DFOLIA_BUILD_TRAINING=OFF >"$out.configure.log" 2>&1 \
    || { cat "$out.configure.log"; exit 1; }
  cmake --build "$out" -j "$jobs" --target "${targets[@]}" folia-make-random-model
  echo "fuzz.sh: configure + build took $(( $(date +%s) - t_start )) s"
fi

step "seed corpora (made now: Pillow images, random model files)"
seeds="$out/seeds"
rm -rf "$seeds"
mkdir -p "$seeds/images" "$seeds/fuzz_decode" "$seeds/fuzz_model_file" "$seeds/fuzz_api"
/usr/bin/python3 "$here/fuzz/make-seeds.py" "$seeds/images"
cp "$seeds/images/"* "$seeds/fuzz_decode/"
mk="$out/bin/folia-make-random-model"
i=0
for args in "--classes 3 --channels 4,8 --hidden 8 --input-size 16" \
            "--classes 2 --channels 2 --hidden 4 --input-size 8 --random-bn --temperature 1.5" \
            "--classes 5 --channels 4,4,8 --hidden 6 --input-size 24 --abstain-threshold 0.4" \
            "--classes 1 --channels 3,3,3,3 --hidden 2 --input-size 16 --seed 7"; do
  # shellcheck disable=SC2086
  "$mk" -o "$seeds/fuzz_model_file/model-$i.folia" $args >/dev/null
  i=$((i + 1))
done
# fuzz_api: first byte picks the API path (see fuzz/fuzz-api.cpp); 32 trailing bytes feed the
# integers FuzzedDataProvider reads from the end.
/usr/bin/python3 - "$seeds" <<'PY'
import os, random, sys
seeds = sys.argv[1]
rng = random.Random(1)
tail = lambda: bytes(rng.randrange(256) for _ in range(32))
n = 0
def put(data):
    global n
    open(os.path.join(seeds, "fuzz_api", f"seed-{n:03d}"), "wb").write(data)
    n += 1
for d, mode in (("fuzz_model_file", 0), ("images", 2), ("images", 3)):
    for f in sorted(os.listdir(os.path.join(seeds, d))):
        put(bytes([mode]) + open(os.path.join(seeds, d, f), "rb").read() + tail())
for mode in (1, 4):
    for _ in range(8):
        put(bytes([mode]) + bytes(rng.randrange(256) for _ in range(rng.randrange(8, 200))) + tail())
print(f"fuzz_api: {n} seeds")
PY
cat "$here/fuzz/image.dict" "$here/fuzz/model.dict" >"$out/api.dict"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
mkdir -p "$out/logs"
passed=0
failed=0
lines=()
for t in "${targets[@]}"; do
  case $t in
    fuzz_decode) dict="$here/fuzz/image.dict" ;;
    fuzz_model_file) dict="$here/fuzz/model.dict" ;;
    fuzz_api) dict="$out/api.dict" ;;
  esac
  exe="$out/fuzz/$t"
  log="$out/logs/$t.log"
  mkdir -p "$out/corpus/$t" "$out/artifacts/$t"
  ok=1
  reg="$here/fuzz/regressions/$t"
  nreg=0
  if [ -d "$reg" ] && [ -n "$(ls -A "$reg")" ]; then
    nreg=$(ls "$reg" | wc -l)
    step "$t: replaying $nreg regression input(s) from fuzz/regressions/$t"
    if ! "$exe" -timeout=10 "$reg"/* >"$out/logs/$t.regressions.log" 2>&1; then
      tail -40 "$out/logs/$t.regressions.log"
      ok=0
    fi
  fi
  step "$t: fuzzing ${seconds}s"
  set +e
  "$exe" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
    -dict="$dict" -print_final_stats=1 -artifact_prefix="$out/artifacts/$t/" \
    "$out/corpus/$t" "$seeds/$t" >"$log" 2>&1
  rc=$?
  set -e
  if [ $rc -ne 0 ] || grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|SUMMARY: ' "$log"; then
    ok=0
    tail -60 "$log"
  fi
  # Last status line, e.g. "#123456  DONE   cov: 1234 ft: 5678 corp: 90/12Kb ... exec/s: 2057 rss: 80Mb"
  runs=$(awk '/stat::number_of_executed_units:/ {print $2}' "$log" | tail -1)
  eps=$(awk '/stat::average_exec_per_sec:/ {print $2}' "$log" | tail -1)
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | awk '{print $2}')
  ft=$(grep -oE 'ft: [0-9]+' "$log" | tail -1 | awk '{print $2}')
  corp=$(grep -oE 'corp: [0-9]+/[0-9A-Za-z]+' "$log" | tail -1 | awk '{print $2}')
  rss=$(awk '/stat::peak_rss_mb:/ {print $2}' "$log" | tail -1)
  verdict=$([ $ok = 1 ] && echo ok || echo "FAILED (exit $rc, log $log)")
  line=$(printf '%-16s %4ss  runs %-9s exec/s %-6s cov %-5s ft %-6s corpus %-10s rss %sMB  regressions %s  %s' \
    "$t" "$seconds" "${runs:-?}" "${eps:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "${rss:-?}" "$nreg" "$verdict")
  echo "$line"
  lines+=("$line")
  if [ $ok = 1 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
done

# MemorySanitizer replay of everything fuzz_decode kept (corpus, seeds, regressions): ASan cannot
# see reads of uninitialised memory, the bug class stb_image had (fuzz/regressions/fuzz_decode).
# Only the preprocessing sources and the harness: MSan needs every byte's code instrumented, and
# these use nothing of libstdc++'s compiled part. Runs when fuzz_decode was fuzzed.
case " ${targets[*]} " in *" fuzz_decode "*)
  step "fuzz_decode_msan: replaying the fuzz_decode corpus under MemorySanitizer"
  msan="$out/msan/fuzz_decode_msan"
  mkdir -p "$out/msan"
  ok=1
  if [ "$build" = 1 ] || [ ! -x "$msan" ]; then
    clang++-14 -std=c++17 -O1 -g -fsanitize=memory -fsanitize-memory-track-origins -ffp-contract=off \
      -I"$here/shared/include" -I"$here/fuzz" \
      "$here"/shared/src/preprocess/{container,decode,exif,resize-pillow,normalize}.cpp \
      "$here/fuzz/fuzz-decode.cpp" "$here/fuzz/replay-main.cpp" -o "$msan" || ok=0
  fi
  log="$out/logs/fuzz_decode_msan.log"
  if [ $ok = 1 ] && MSAN_OPTIONS=halt_on_error=1 "$msan" "$out/corpus/fuzz_decode" "$seeds/fuzz_decode" \
       "$here/fuzz/regressions/fuzz_decode" >"$log" 2>&1; then :; else ok=0; tail -40 "$log"; fi
  line=$(printf '%-16s %s  %s' fuzz_decode_msan "$(grep -o 'replayed [0-9]* inputs' "$log" || echo 'replay failed')" \
    "$([ $ok = 1 ] && echo ok || echo "FAILED (log $log)")")
  echo "$line"
  lines+=("$line")
  if [ $ok = 1 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
  ;;
esac

step "fuzz summary ($(( $(date +%s) - t_start )) s in all)"
for l in "${lines[@]}"; do echo "  $l"; done
echo "# pass $passed"
echo "# fail $failed"
[ "$failed" -eq 0 ]

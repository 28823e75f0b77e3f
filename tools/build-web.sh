#!/usr/bin/env bash
# build-web.sh: assembles the offline PWA into web/dist (or --out DIR) from web/src, the two wasm
# engine builds, the shipped model and generated icons, then writes the Workbox service worker.
#
#   tools/build-web.sh [--out DIR] [--version STR] [--model FILE] [--wasm-dir DIR] [--wasm-mt-dir DIR]
#                      [--wasm-relaxed-dir DIR]
# (the wasm folders also come from FOLIA_WASM_DIR / FOLIA_WASM_MT_DIR / FOLIA_WASM_RELAXED_DIR)
#
# Needs: build/wasm/**/folia-web.{js,wasm}, build/wasm-mt/**/folia-web-mt.{js,wasm} and
# build/wasm-mt-relaxed/**/folia-web-mt-relaxed.{js,wasm} (the page picks one), and the
# web lab's folia-lab.{js,wasm} / folia-lab-mt.{js,wasm} next to them (tools/build-wasm.sh), wasm/folia-engine.js (the JS binding, copied as is), shared/models/plantvillage.folia (or --model / FOLIA_MODEL), web/node_modules
# (tools/setup.sh). The output appears atomically (built in DIR.tmp, then renamed).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out="$root/web/dist"
version=""
model="${FOLIA_MODEL:-$root/shared/models/plantvillage.folia}"
wasm_dir="${FOLIA_WASM_DIR:-$root/build/wasm}"
wasm_mt_dir="${FOLIA_WASM_MT_DIR:-$root/build/wasm-mt}"
wasm_relaxed_dir="${FOLIA_WASM_RELAXED_DIR:-$root/build/wasm-mt-relaxed}"
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out=$2; shift 2 ;;
    --version) version=$2; shift 2 ;;
    --model) model=$2; shift 2 ;;
    --wasm-dir) wasm_dir=$2; shift 2 ;;
    --wasm-mt-dir) wasm_mt_dir=$2; shift 2 ;;
    --wasm-relaxed-dir) wasm_relaxed_dir=$2; shift 2 ;;
    -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
    *) echo "build-web.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
step() { printf '==> %s\n' "$*"; }
die() { echo "build-web.sh: $*" >&2; exit 1; }

# The newest file of that name under a build folder (the CMake layout may nest it).
find_one() {
  local dir=$1 name=$2 f
  [ -d "$dir" ] || return 1
  f=$(find "$dir" -name "$name" -type f -printf '%T@ %p\n' 2>/dev/null | sort -nr | head -n1 | cut -d' ' -f2-)
  [ -n "$f" ] && printf '%s\n' "$f"
}

[ -f "$model" ] || die "model file not found: $model (train one, or pass --model)"
[ -d "$root/web/node_modules/workbox-build" ] || die "web/node_modules missing: run tools/setup.sh"
st_js=$(find_one "$wasm_dir" folia-web.js) || die "folia-web.js not found under $wasm_dir: run tools/build-wasm.sh"
mt_js=$(find_one "$wasm_mt_dir" folia-web-mt.js) || die "folia-web-mt.js not found under $wasm_mt_dir: run tools/build-wasm.sh"
relaxed_js=$(find_one "$wasm_relaxed_dir" folia-web-mt-relaxed.js) \
  || die "folia-web-mt-relaxed.js not found under $wasm_relaxed_dir: run tools/build-wasm.sh"

if [ -z "$version" ]; then
  rev=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
  model_sum=$(sha256sum "$model" | cut -c1-8)
  version="$(cat "$root/VERSION")+$rev.m$model_sum"
fi

tmp="$out.tmp"
rm -rf "$tmp"
mkdir -p "$tmp/icons"
step "app shell from web/src (version $version)"
for f in "$root"/web/src/*; do
  case "$(basename "$f")" in sw.js) continue ;; esac
  cp "$f" "$tmp/"
done
case "$version" in *[!A-Za-z0-9.+_-]*) die "version may hold only letters, digits and . + _ -" ;; esac
sed -i "s|__FOLIA_VERSION__|$version|g" "$tmp/index.html" "$tmp/app.js" "$tmp/worker.js" "$tmp/lab.html"
! grep -l __FOLIA_VERSION__ "$tmp"/*.* || die "unstamped __FOLIA_VERSION__ left"

step "icons"
/usr/bin/python3 "$root/web/scripts/make-icons.py" "$tmp/icons"

step "wasm engines: $st_js, $mt_js, $relaxed_js"
cp "$st_js" "$tmp/folia-web.js"
cp "$(dirname "$st_js")/folia-web.wasm" "$tmp/folia-web.wasm"
cp "$mt_js" "$tmp/folia-web-mt.js"
cp "$(dirname "$mt_js")/folia-web-mt.wasm" "$tmp/folia-web-mt.wasm"
# Emscripten 3.1.x writes the pthread bootstrap as a separate file.
if [ -f "$(dirname "$mt_js")/folia-web-mt.worker.js" ]; then
  cp "$(dirname "$mt_js")/folia-web-mt.worker.js" "$tmp/"
fi
# Emscripten 3.1.69 (trixie) starts pthreads from the main script: no worker file.
cp "$relaxed_js" "$tmp/folia-web-mt-relaxed.js"
cp "$(dirname "$relaxed_js")/folia-web-mt-relaxed.wasm" "$tmp/folia-web-mt-relaxed.wasm"

# The web lab's modules (lab.html loads one; the service worker caches them on the first lab
# visit, they are not in the app's precache).
step "web lab modules"
for f in "$(dirname "$st_js")/folia-lab.js" "$(dirname "$st_js")/folia-lab.wasm" \
         "$(dirname "$mt_js")/folia-lab-mt.js" "$(dirname "$mt_js")/folia-lab-mt.wasm"; do
  [ -f "$f" ] || die "$f not found: run tools/build-wasm.sh (FOLIA_WASM_LAB=ON)"
  cp "$f" "$tmp/"
done
if [ -f "$(dirname "$mt_js")/folia-lab-mt.worker.js" ]; then
  cp "$(dirname "$mt_js")/folia-lab-mt.worker.js" "$tmp/"
fi

# The one JS binding of the C API (classic/UMD script): the app's worker importScripts() it.
step "JS binding: wasm/folia-engine.js"
cp "$root/wasm/folia-engine.js" "$tmp/folia-engine.js"

step "model: $model"
cp "$model" "$tmp/plantvillage.folia"

step "service worker (workbox-build injectManifest)"
(cd "$root/web" && node scripts/inject-sw.mjs "$tmp" "$root/web/src/sw.js")
# A worker that does not parse never registers, and the page silently stays online-only.
node --check "$tmp/sw.js" || { echo "build-web.sh: the built sw.js does not parse" >&2; exit 1; }

rm -rf "$out"
mv "$tmp" "$out"
total=$(find "$out" -type f -printf '%s\n' | awk '{s+=$1} END {print s}')
step "built $out: $(find "$out" -type f | wc -l) files, $total bytes"

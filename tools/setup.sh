#!/usr/bin/env bash
# Installs everything a fresh Debian bookworm machine needs to build, test and serve Folia.
# Idempotent and non-interactive; prints each step. Third-party *sources* (XNNPACK, pthreadpool,
# fxdiv, fp16, psimd) come from Debian source packages and are unpacked under
# ${XDG_CACHE_HOME:-~/.cache}/folia/third_party (FOLIA_THIRD_PARTY_DIR), outside the clone.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
step() { printf '\n==> %s\n' "$*"; }
export DEBIAN_FRONTEND=noninteractive
SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo

# --- apt sources: deb-src for bookworm, deb-src only (no binaries) for trixie ---------------
src_list=/etc/apt/sources.list.d/folia-src.sources
if [ ! -f "$src_list" ]; then
  step "adding deb-src entries ($src_list)"
  uri=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  [ -n "$uri" ] || uri=$(awk '/^deb / && !/security/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
  [ -n "$uri" ] || uri=http://deb.debian.org/debian
  $SUDO tee "$src_list" >/dev/null <<SRC
Types: deb-src
URIs: $uri
Suites: bookworm trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  rm -f "$here/build/.apt-updated"
fi

pkgs=(build-essential cmake ninja-build clang-14 clang-format pkg-config dpkg-dev xz-utils time
      libclang-rt-14-dev libstb-dev catch2 libcli11-dev nlohmann-json3-dev libfmt-dev libcpuinfo-dev
      libtorch-dev libgloo-dev python3-torch python3-pil python3-numpy python3-matplotlib
      emscripten nodejs chromium
      libsdl2-dev libimgui-dev libgl-dev xvfb xauth  # folia-lab and its tests under Xvfb
      debootstrap patch)  # the trixie chroot for the relaxed-SIMD wasm build; our XNNPACK patches
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
mkdir -p "$here/build"
if [ ${#missing[@]} -gt 0 ] || [ ! -f "$here/build/.apt-updated" ]; then
  step "apt-get update"
  $SUDO apt-get update -q
  touch "$here/build/.apt-updated"
fi
if [ ${#missing[@]} -gt 0 ]; then
  step "apt-get install ${missing[*]}"
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# --- third-party sources (orig tarballs only; .dsc files 404 on this mirror) -----------------
# Outside the clone, shared by every checkout (CMakeLists.txt computes the same folder); the
# cached builds in it are keyed by sources, compiler and flags.
tp=${FOLIA_THIRD_PARTY_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/folia/third_party}
mkdir -p "$tp/dl"
# Two setups at once (two clones) must not unpack into the same folder together.
exec 9>"$tp/setup.lock"
flock 9
fetch_src() { # name suite tarball-glob dir
  local name=$1 suite=$2 glob=$3 dir=$4
  if [ -d "$tp/$dir" ]; then return 0; fi
  if ! ls "$tp/dl/"$glob >/dev/null 2>&1; then
    step "apt-get source $name/$suite"
    (cd "$tp/dl" && apt-get source --download-only -q "$name/$suite" >/dev/null 2>&1 || true)
    ls "$tp/dl/"$glob >/dev/null 2>&1 || { echo "could not download $name source ($glob)"; exit 1; }
  fi
  step "unpacking $name into $tp/$dir"
  rm -rf "$tp/$dir.tmp"
  mkdir -p "$tp/$dir.tmp"
  # Some orig tarballs wrap everything in one folder, XNNPACK's does not: strip only a lone one.
  local strip=0 names tops
  names=$(tar -tf "$tp/dl/"$glob | sed 's|^\./||' | grep -v '^$')
  tops=$(printf '%s\n' "$names" | sed 's|/.*||' | sort -u)
  if [ "$(printf '%s\n' "$tops" | wc -l)" -eq 1 ] && [ "$(printf '%s\n' "$names" | grep -c /)" -gt 0 ]; then
    strip=1
  fi
  tar -xf "$tp/dl/"$glob -C "$tp/$dir.tmp" --strip-components=$strip
  mv "$tp/$dir.tmp" "$tp/$dir"
}
fetch_src xnnpack trixie 'xnnpack_*.orig.tar.*' xnnpack
fetch_src pthreadpool trixie 'pthreadpool_*.orig.tar.*' pthreadpool
fetch_src fxdiv bookworm 'fxdiv_*.orig.tar.*' fxdiv
fetch_src fp16 bookworm 'fp16_*.orig.tar.*' fp16
fetch_src psimd bookworm 'psimd_*.orig.tar.*' psimd
# The web lab (wasm/lab): SDL2 and Dear ImGui compiled with emcc from their Debian sources
# (Emscripten's -sUSE_SDL=2 port downloads from the internet).
fetch_src libsdl2 bookworm 'libsdl2_*.orig.tar.*' sdl2
fetch_src imgui bookworm 'imgui_*.orig.tar.*' imgui
exec 9>&-  # unpacking done: release the lock

# --- Debian trixie's emscripten 3.1.69 in a chroot, for the relaxed-SIMD wasm build -----------
# (outside the clone, made once per machine: tools/trixie-toolchain.sh says why)
$SUDO env XDG_CACHE_HOME="${XDG_CACHE_HOME:-$HOME/.cache}" FOLIA_THIRD_PARTY_DIR="$tp" \
  bash "$here/tools/trixie-toolchain.sh" ensure

# --- npm packages for web tooling and browser tests ------------------------------------------
if [ -f "$here/web/package.json" ] && [ ! -d "$here/web/node_modules" ]; then
  step "npm ci (web tooling)"
  (cd "$here/web" && if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi)
fi
step "setup done"

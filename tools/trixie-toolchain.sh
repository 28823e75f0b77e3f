#!/usr/bin/env bash
# trixie-toolchain.sh: Debian trixie's Emscripten 3.1.69 (clang 19), for the relaxed-SIMD wasm
# build. Debian bookworm's emcc 3.1.6 (clang 14) emits a draft relaxed-SIMD encoding that V8
# rejects; trixie's emits the final opcodes (../shared/notes/relaxed-simd-toolchain.md).
#
#   tools/trixie-toolchain.sh ensure        make the chroot if it is missing (~2 min, ~3 GB)
#   tools/trixie-toolchain.sh run CMD...    run CMD inside it, in the current directory
#
# The chroot is a debootstrap of trixie from the machine's own Debian mirror, with emscripten,
# cmake, ninja, python3 (+ Pillow and numpy for the preprocessing tests' reference files),
# patch and nodejs from trixie's packages, kept outside the clone in
# FOLIA_TRIXIE_ROOT (default ${XDG_CACHE_HOME:-~/.cache}/folia/trixie-root) so every clone on the
# machine reuses it. `run` bind-mounts the repository, FOLIA_THIRD_PARTY_DIR, FOLIA_DATA and the
# host's header-only packages (/usr/include/{stb,nlohmann,catch2,CLI}) at the same paths
# inside a private mount namespace (unshare -m): the mounts vanish with the command, whatever
# happens to it, and two runs at once do not see each other's mounts. Needs root (debootstrap,
# chroot, mount); the CI machine and this one run as root.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cache=${XDG_CACHE_HOME:-$HOME/.cache}/folia
root=${FOLIA_TRIXIE_ROOT:-$cache/trixie-root}
tp=${FOLIA_THIRD_PARTY_DIR:-$cache/third_party}
pkgs="emscripten cmake ninja-build python3 python3-pil python3-numpy patch nodejs"
stamp="$root/.folia-stamp"  # the package list the chroot was made with

die() { echo "trixie-toolchain.sh: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root (debootstrap, chroot, mount)"

mirror() {
  local uri
  uri=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  [ -n "$uri" ] || uri=$(awk '/^deb / && !/security/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
  echo "${uri:-http://deb.debian.org/debian}"
}

ensure() {
  [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$pkgs" ] && return 0
  mkdir -p "$cache"
  exec 8>"$cache/trixie-root.lock"
  flock 8  # two setups at once build it once
  [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$pkgs" ] && return 0
  if [ -f "$stamp" ]; then  # made with fewer packages: add the missing ones
    echo "==> apt-get install $pkgs (inside the chroot, $root)"
    chroot "$root" sh -c "apt-get update -q && DEBIAN_FRONTEND=noninteractive \
      apt-get install -y -q --no-install-recommends $pkgs" > "$cache/trixie-apt.log" 2>&1 \
      || die "apt-get inside the chroot failed; see $cache/trixie-apt.log"
    echo "$pkgs" > "$stamp"
    return 0
  fi
  command -v debootstrap >/dev/null || die "debootstrap missing: run tools/setup.sh"
  echo "==> debootstrap trixie into $root (once per machine)"
  rm -rf "$root.tmp"
  debootstrap --variant=minbase trixie "$root.tmp" "$(mirror)" > "$cache/trixie-debootstrap.log" 2>&1 \
    || die "debootstrap failed; see $cache/trixie-debootstrap.log"
  echo "==> apt-get install $pkgs (inside the chroot)"
  chroot "$root.tmp" sh -c "apt-get update -q && DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -q --no-install-recommends $pkgs" > "$cache/trixie-apt.log" 2>&1 \
    || die "apt-get inside the chroot failed; see $cache/trixie-apt.log"
  # Do not set EM_CACHE: Debian's emscripten cache is frozen and pre-filled at its default path.
  chroot "$root.tmp" emcc --version | head -1
  echo "$pkgs" > "$root.tmp/.folia-stamp"
  rm -rf "$root"
  mv "$root.tmp" "$root"
}

run() {
  [ -f "$stamp" ] || die "no chroot at $root: run tools/trixie-toolchain.sh ensure"
  [ $# -gt 0 ] || die "run needs a command"
  exec unshare -m --propagation private "$0" _inner "$@"
}

inner() {  # in the private mount namespace: mount, then run the command in the chroot
  local d binds=("$here" "$tp")
  # at the path the caller gives (a symlinked path too: the build records that one)
  [ -n "${FOLIA_DATA:-}" ] && [ -d "$FOLIA_DATA" ] && binds+=("$(cd "$FOLIA_DATA" && pwd)")
  # The header-only packages the wasm build uses (cmake/system-headers.cmake), bookworm's
  # versions: trixie's Catch2 is v3, with another API.
  for d in /usr/include/stb /usr/include/nlohmann /usr/include/catch2 /usr/include/CLI; do
    [ -d "$d" ] && binds+=("$d")
  done
  mount -t proc proc "$root/proc"
  for d in "${binds[@]}"; do
    mkdir -p "$d" "$root$d"
    mount --bind "$d" "$root$d"
  done
  exec chroot "$root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    FOLIA_THIRD_PARTY_DIR="$tp" FOLIA_DATA="${FOLIA_DATA:-}" FOLIA_JOBS="${FOLIA_JOBS:-}" \
    /bin/sh -c 'cd "$1" && shift && exec "$@"' sh "$PWD" "$@"
}

case "${1:-}" in
  ensure) ensure ;;
  run) shift; run "$@" ;;
  _inner) shift; inner "$@" ;;
  *) sed -n '2,7p' "$0"; exit 2 ;;
esac

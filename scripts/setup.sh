#!/usr/bin/env bash
# Installs what is missing (Debian 12, as root or with sudo) and builds
# sluice into ./build.  Sourced by demo.sh and test.sh; safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

need=(gcc make meson ninja-build pkg-config libcmocka-dev libarchive-dev
      zlib1g-dev libdeflate-dev libisal-dev coreutils findutils)
# What the caller needs besides (test.sh: the tools the tests compare with).
# shellcheck disable=SC2206 # a word list on purpose
need+=(${SLUICE_SETUP_EXTRA:-})
missing=()
for p in "${need[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
        missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${missing[*]}" >&2
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null
fi

builddir=${1:-build}
shift || true
if [ ! -f "$builddir/build.ninja" ]; then
    meson setup "$builddir" --werror "$@" >/dev/null
fi
ninja -C "$builddir" >/dev/null

#!/bin/bash
# tests/cli/sandbox_cross.sh -- the sandbox's aarch64 filter, on any
# machine.
#
# The kernel runs a seccomp filter only for its own architecture, so the
# aarch64 program is checked by cross-compiling tests/test_sandbox_bpf.c
# with engine/sandbox.c (warnings are errors, as in the real build) and
# running its BPF interpreter under qemu's user mode.  The same program
# runs natively as the `sandbox_bpf` unit test.  Needs aarch64-linux-gnu-gcc
# and qemu-aarch64 (Debian: gcc-aarch64-linux-gnu, libc6-dev-arm64-cross,
# qemu-user; scripts/test.sh installs them); without them it exits 77
# (skipped) saying what is missing.
set -u
SRC=${SLUICE_SOURCE_ROOT:?}
CC=aarch64-linux-gnu-gcc
QEMU=$(command -v qemu-aarch64 || command -v qemu-aarch64-static || true)
if ! command -v "$CC" >/dev/null || [ -z "$QEMU" ]; then
    echo "SKIP: needs $CC and qemu-aarch64"
    exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 failed=0
ok() { pass=$((pass + 1)); echo "ok - $1"; }
fail() { failed=$((failed + 1)); echo "FAIL - $1: $2"; }

if "$CC" -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Wpedantic -Werror -static \
    -I "$SRC/engine" -I "$SRC/engine/include" \
    "$SRC/tests/test_sandbox_bpf.c" "$SRC/engine/sandbox.c" \
    -o "$tmp/bpf" 2>"$tmp/cc.err"; then
    ok aarch64.compiles-without-warnings
else
    fail aarch64.compiles-without-warnings "$(cat "$tmp/cc.err")"
fi
if [ -x "$tmp/bpf" ]; then
    timeout 120 "$QEMU" "$tmp/bpf" >"$tmp/out" 2>&1
    rc=$?
    if [ $rc -eq 0 ] && grep -q '^# arch: aarch64' "$tmp/out" &&
        ! grep -q '^not ok' "$tmp/out" && grep -q '^1\.\.[1-9]' "$tmp/out"; then
        ok "aarch64.filter ($(grep -c '^ok' "$tmp/out") cases)"
    else
        fail aarch64.filter "rc $rc; $(cat "$tmp/out")"
    fi
fi
echo "$pass passed, $failed failed"
[ "$failed" -eq 0 ]

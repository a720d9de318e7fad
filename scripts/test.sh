#!/usr/bin/env bash
# Quick start, step 2: set up, build, and run every test suite: the unit and
# CLI suites on an optimised build, then again under AddressSanitizer and
# UndefinedBehaviorSanitizer.  Ends with one line "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."

passed=0
failed=0
status=0
# The other tools the CLI suites compare with: gzip's decoders and encoders
# (pigz, bgzip; compress and zip for the other formats gunzip reads),
# python3's gzip and zipfile modules, script(1) for terminal cases.
export SLUICE_SETUP_EXTRA="gzip pigz tabix ncompress zip python3 util-linux bsdutils time git libarchive-tools xz-utils bzip2 zstd binutils valgrind gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user libopenmpi-dev openmpi-bin"

run_suites() { # builddir [meson test options]
    local dir=$1 log
    shift
    log=$(mktemp)
    meson test -C "$dir" --print-errorlogs --num-processes 2 "$@" 2>&1 | tee "$log"
    local ok fail
    ok=$(awk '/^Ok:/ {print $2}' "$log")
    fail=$(awk '/^(Fail|Unexpected Pass|Timeout):/ {s += $NF} END {print s + 0}' "$log")
    rm -f "$log"
    if [ -z "$ok" ]; then
        echo "test.sh: no test summary from $dir" >&2
        failed=$((failed + 1))
        status=1
        return
    fi
    passed=$((passed + ok))
    failed=$((failed + fail))
    [ "$fail" -eq 0 ] || status=1
}

if bash scripts/setup.sh build; then
    run_suites build
else
    echo "test.sh: build failed" >&2
    failed=$((failed + 1))
    status=1
fi

if bash scripts/setup.sh build-sanitize -Db_sanitize=address,undefined \
        -Db_lundef=false -Dbuildtype=debug; then
    export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
    export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
    # Unoptimised and instrumented, every suite runs a few times slower.
    run_suites build-sanitize --timeout-multiplier 3
else
    echo "test.sh: sanitizer build failed" >&2
    failed=$((failed + 1))
    status=1
fi

echo "$passed passed, $failed failed"
exit $status

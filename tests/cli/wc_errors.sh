#!/bin/bash
# tests/cli/wc_errors.sh -- `sluice wc` when things go wrong.
#
# Missing and unreadable inputs, inputs that fail while being read, bad
# options, directories, names that need quoting in messages, output errors,
# exit codes, and the `sluice` command's own usage errors.  Where GNU wc has
# an answer, GNU wc (GNU_WC, default /usr/bin/wc) is the oracle: same
# stdout, same stderr with "wc:" read as "sluice wc:", same exit status.
# Where sluice differs on purpose (directories are walked; its own options),
# the expected output is written out here.  Tests run as root in CI: a
# mode-000 file is readable by root, so the unreadable-file case drops
# privileges with setpriv when it can, and is skipped otherwise.
#
# Prints "ok NAME" or "FAIL NAME" plus a diff per case; exits 1 if any
# case failed.  Environment: SLUICE_BUILD_ROOT.
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh disable=SC1091 # -x follows it
. "$(dirname "$0")/lib.sh"
# nobody must reach the inputs in the unreadable-file cases
chmod 755 "$T" "$IN"

CONFIGS=("-j0" "-j2" "-j2 --chunk-size=7")

# run, gnu_to_sluice, expect_gnu, diff_run and check are in lib.sh.

# expect OUT ERR RC -- literal expectations
expect() {
    printf '%s' "$1" >"$T/exp.out"
    printf '%s' "$2" >"$T/exp.err"
    echo "$3" >"$T/exp.rc"
}

# check_cmd NAME LOCALE STDIN CMD... -- one run of exactly CMD
check_cmd() {
    local name=$1 loc=$2 in=$3 d
    shift 3
    run "$T/got" "$loc" "$in" "$@"
    d=$(diff_run "$T/got")
    if [ -z "$d" ]; then ok "$name"; else fail "$name" "[$*]"$'\n'"$d"; fi
}

printf 'one two\nthree\n' >"$IN/f"
printf 'x\n' >"$IN/g"
printf 'no newline' >"$IN/h"

# --------------------------------------------------------- missing inputs

for loc in "${LOCALES[@]}"; do
    expect_gnu "$loc" /dev/null nosuch
    check "missing.one.$loc" "$loc" /dev/null nosuch
    expect_gnu "$loc" /dev/null f nosuch g
    check "missing.among-files.$loc" "$loc" /dev/null f nosuch g
    expect_gnu "$loc" /dev/null -l nosuch1 f nosuch2
    check "missing.two.$loc" "$loc" /dev/null -l nosuch1 f nosuch2
    expect_gnu "$loc" /dev/null "no
such" "it's gone" "c:d" "$(printf 'bad\xff')" "$(printf 'ctl\x01x')" f
    check "missing.quoted-names.$loc" "$loc" /dev/null "no
such" "it's gone" "c:d" "$(printf 'bad\xff')" "$(printf 'ctl\x01x')" f
    expect_gnu "$loc" /dev/null f/x g
    check "missing.not-a-directory.$loc" "$loc" /dev/null f/x g
    expect_gnu "$loc" /dev/null ""
    check "missing.empty-name.$loc" "$loc" /dev/null ""
    expect_gnu "$loc" /dev/null f "" g
    check "missing.empty-name-among-files.$loc" "$loc" /dev/null f "" g
done

# ------------------------------------------------------- unopenable inputs

# A UNIX socket cannot be opened (ENXIO), even by root.
if command -v python3 >/dev/null 2>&1 &&
    python3 -c 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$IN/sock" 2>/dev/null; then
    for loc in "${LOCALES[@]}"; do
        expect_gnu "$loc" /dev/null f sock g
        check "unopenable.socket.$loc" "$loc" /dev/null f sock g
    done
else
    skip unopenable.socket "cannot make a socket"
fi

# A mode-000 file: as root, run both as nobody.
printf 'secret\n' >"$IN/unreadable"
chmod 000 "$IN/unreadable"
if [ "$(id -u)" -ne 0 ]; then
    for loc in "${LOCALES[@]}"; do
        expect_gnu "$loc" /dev/null f unreadable g
        check "unreadable.$loc" "$loc" /dev/null f unreadable g
    done
elif command -v setpriv >/dev/null 2>&1 &&
    setpriv --reuid=65534 --regid=65534 --clear-groups test -x "$SLUICE" 2>/dev/null; then
    AS_NOBODY=(setpriv --reuid=65534 --regid=65534 --clear-groups)
    for loc in "${LOCALES[@]}"; do
        run "$T/exp" "$loc" /dev/null "${AS_NOBODY[@]}" "${GNU[@]}" f unreadable g
        gnu_to_sluice "$T/exp.err"
        for cfg in -j0 -j2; do
            check_cmd "unreadable.$cfg.$loc" "$loc" /dev/null "${AS_NOBODY[@]}" "$SLUICE" wc "$cfg" f unreadable g
        done
    done
    # A directory of a tree that cannot be read: an error in its place in
    # the walk, and the walk goes on.  GNU wc given the same paths (the
    # directory as an operand) prints the same: it cannot open it either.
    mkdir -p "$IN/locked/a" "$IN/locked/b" "$IN/locked/c"
    printf 'a\n' >"$IN/locked/a/x"
    printf 'c c\n' >"$IN/locked/c/y"
    chmod 000 "$IN/locked/b"
    for loc in "${LOCALES[@]}"; do
        run "$T/exp" "$loc" /dev/null "${AS_NOBODY[@]}" "${GNU[@]}" locked/a/x locked/b locked/c/y
        gnu_to_sluice "$T/exp.err"
        for cfg in -j0 -j2; do
            check_cmd "unreadable.subdirectory.$cfg.$loc" "$loc" /dev/null "${AS_NOBODY[@]}" "$SLUICE" wc "$cfg" locked
        done
    done
    chmod 755 "$IN/locked/b"
else
    skip unreadable "running as root and cannot drop privileges to nobody"
fi

# ------------------------------------------ inputs failing while being read

# GNU prints the counts read so far, then the error.
mkdir -p "$IN/adir"
for loc in "${LOCALES[@]}"; do
    expect_gnu "$loc" "$IN/adir"
    check "read-error.stdin-is-a-directory.$loc" "$loc" "$IN/adir"
    expect_gnu "$loc" "$IN/adir" f -
    check "read-error.dash-is-a-directory.$loc" "$loc" "$IN/adir" f -
    expect_gnu "$loc" - -l
    check "read-error.stdin-closed.$loc" "$loc" - -l
done

# --------------------------------------------------------------- options

for loc in "${LOCALES[@]}"; do
    for bad in -x --foo --lines=3 --files0-from -lx "--bytes=1" --max=2; do
        expect_gnu "$loc" /dev/null "$bad" f
        check "usage.$bad.$loc" "$loc" /dev/null "$bad" f
    done
    expect_gnu "$loc" /dev/null --files0-from=f g
    check "usage.files0-with-operand.$loc" "$loc" /dev/null --files0-from=f g
    expect_gnu "$loc" /dev/null --files0-from=nosuch
    check "usage.files0-missing.$loc" "$loc" /dev/null --files0-from=nosuch
    expect_gnu "$loc" /dev/null "--files0-from=no
such"
    check "usage.files0-missing-quoted.$loc" "$loc" /dev/null "--files0-from=no
such"
    expect_gnu "$loc" /dev/null --files0-from=adir
    check "usage.files0-from-a-directory.$loc" "$loc" /dev/null --files0-from=adir
    printf 'f\0\0g\0' >"$T/list"
    expect_gnu "$loc" /dev/null "--files0-from=$T/list"
    check "usage.files0-empty-name.$loc" "$loc" /dev/null "--files0-from=$T/list"
    expect_gnu "$loc" "|$T/list" --files0-from=-
    check "usage.files0-empty-name-stdin.$loc" "$loc" "|$T/list" --files0-from=-
    printf 'f\0nosuch\0\0' >"$T/list2"
    expect_gnu "$loc" /dev/null -l "--files0-from=$T/list2"
    check "usage.files0-missing-and-empty.$loc" "$loc" /dev/null -l "--files0-from=$T/list2"
done

# sluice's own options (no GNU equivalent): configuration errors, exit 2
# (docs/exit-codes.md)
expect "" "sluice wc: invalid number of jobs: 'x'
" 2
check_cmd "usage.jobs-not-a-number" C /dev/null "$SLUICE" wc -j x f
expect "" "sluice wc: invalid number of jobs: '-1'
" 2
check_cmd "usage.jobs-negative" C /dev/null "$SLUICE" wc --jobs=-1 f
expect "" "sluice wc: invalid chunk size: '0'
" 2
check_cmd "usage.chunk-size-zero" C /dev/null "$SLUICE" wc --chunk-size=0 f
expect "" "sluice wc: invalid chunk size: '12q'
" 2
check_cmd "usage.chunk-size-suffix" C /dev/null "$SLUICE" wc --chunk-size=12q f
expect "" "sluice wc: invalid number of jobs: '2k'
" 2
check_cmd "usage.jobs-suffix" C /dev/null "$SLUICE" wc -j 2k f
run "$T/got" C /dev/null "$SLUICE" wc --simd=bogus f
if [ "$(cat "$T/got.rc")" = 2 ] && grep -q '^sluice wc: .*simd' "$T/got.err" && [ ! -s "$T/got.out" ]; then
    ok usage.simd-bogus
else
    fail usage.simd-bogus "rc $(cat "$T/got.rc"); stderr: $(cat "$T/got.err")"
fi
expect "" "sluice wc: option requires an argument -- 'j'
Try 'sluice wc --help' for more information.
" 1
check_cmd "usage.jobs-missing" C /dev/null "$SLUICE" wc -j
# 9.1 has no --total; 9.5's getopt message:
expect "" "sluice wc: option '--total' requires an argument
Try 'sluice wc --help' for more information.
" 1
check_cmd "usage.total-missing" C /dev/null "$SLUICE" wc --total
for size in 1 7 4k 1M 1G; do
    expect_gnu C /dev/null f g
    check_cmd "options.chunk-size-$size" C /dev/null "$SLUICE" wc --chunk-size="$size" f g
done
expect_gnu C /dev/null f g
check_cmd "options.simd-scalar" C /dev/null "$SLUICE" wc --simd=scalar f g
check_cmd "options.jobs-long" C /dev/null "$SLUICE" wc --jobs=3 f g
check_cmd "options.jobs-attached" C /dev/null "$SLUICE" wc -j3 f g
check_cmd "options.default-jobs" C /dev/null "$SLUICE" wc f g
check_cmd "options.debug-accepted" C /dev/null "$SLUICE" wc --debug f g

# --help and --version go to stdout and exit 0
for cmd in "wc --help" "wc --version" "--help" "--version" "help" "help wc"; do
    # shellcheck disable=SC2086
    run "$T/got" C /dev/null "$SLUICE" $cmd
    if [ "$(cat "$T/got.rc")" = 0 ] && [ -s "$T/got.out" ] && [ ! -s "$T/got.err" ]; then
        ok "help.$(printf '%s' "$cmd" | tr ' ' '_')"
    else
        fail "help.$(printf '%s' "$cmd" | tr ' ' '_')" "rc $(cat "$T/got.rc"); stderr: $(cat "$T/got.err")"
    fi
done
run "$T/got" C /dev/null "$SLUICE" --version
if grep -qx 'sluice [0-9][0-9.]*' "$T/got.out"; then ok version.format; else fail version.format "$(cat "$T/got.out")"; fi
run "$T/exp" C /dev/null "$SLUICE" wc --help
check_cmd "help.help-wc-is-wc-help" C /dev/null "$SLUICE" help wc

# the sluice command's usage errors: exit 2
for cmd in "" "nosuch" "--nosuch" "help nosuch"; do
    # shellcheck disable=SC2086
    run "$T/got" C /dev/null "$SLUICE" $cmd
    if [ "$(cat "$T/got.rc")" = 2 ] && [ -s "$T/got.err" ] && [ ! -s "$T/got.out" ]; then
        ok "usage.sluice.${cmd:-none}"
    else
        fail "usage.sluice.${cmd:-none}" "rc $(cat "$T/got.rc"); stdout: $(cat "$T/got.out")"
    fi
done
expect "" "sluice: unknown command 'nosuch'
Try 'sluice --help' for more information.
" 2
check_cmd "usage.sluice.unknown-message" C /dev/null "$SLUICE" nosuch

# ----------------------------------------------------------- directories

# GNU: "Is a directory"; sluice walks it.  The oracle is GNU wc given the
# directory's files as operands, in sluice's order.
mkdir -p "$IN/tree/sub" "$IN/tree/empty" "$IN/emptydir"
printf 'a b\n' >"$IN/tree/b.txt"
printf 'x\n' >"$IN/tree/a.txt"
printf 'deep\nfile\n' >"$IN/tree/sub/z"
printf 'one\n' >"$IN/onefile-dir.txt"
mkdir -p "$IN/onedir"
cp "$IN/onefile-dir.txt" "$IN/onedir/only"
for loc in "${LOCALES[@]}"; do
    expect_gnu "$loc" /dev/null tree/a.txt tree/b.txt tree/sub/z
    check "dir.walked.$loc" "$loc" /dev/null tree
    expect_gnu "$loc" /dev/null tree/a.txt tree/b.txt tree/sub/z
    check "dir.trailing-slash.$loc" "$loc" /dev/null tree/
    expect_gnu "$loc" /dev/null f tree/a.txt tree/b.txt tree/sub/z nosuch g
    check "dir.among-files.$loc" "$loc" /dev/null f tree nosuch g
    expect_gnu "$loc" /dev/null -l onedir/only
    check "dir.one-file-no-total.$loc" "$loc" /dev/null -l onedir
    # an empty directory: no inputs, so nothing to print
    expect "" "" 0
    check "dir.empty.$loc" "$loc" /dev/null emptydir
    expect_gnu "$loc" /dev/null f
    check "dir.empty-and-file.$loc" "$loc" /dev/null emptydir f
    printf 'tree\0f\0' >"$T/dirlist"
    expect_gnu "$loc" /dev/null tree/a.txt tree/b.txt tree/sub/z f
    check "dir.files0-from.$loc" "$loc" /dev/null "--files0-from=$T/dirlist"
done

# --------------------------------------------------------- output errors

if [ -w /dev/full ]; then
    (cd "$IN" && "${GNU[@]}" f >/dev/full 2>"$T/exp.err"; echo $? >"$T/exp.rc")
    gnu_to_sluice "$T/exp.err"
    : >"$T/exp.out"
    for cfg in -j0 -j2; do
        (cd "$IN" && "$SLUICE" wc "$cfg" f >/dev/full 2>"$T/got.err"; echo $? >"$T/got.rc")
        : >"$T/got.out"
        d=$(diff_run "$T/got")
        if [ -z "$d" ]; then ok "output.dev-full.$cfg"; else fail "output.dev-full.$cfg" "$d"; fi
    done
else
    skip output.dev-full "no /dev/full"
fi

# A closed pipe: killed by SIGPIPE or a write error, never a hang.
mkdir -p "$IN/many"
for i in $(seq 1 3000); do printf '%d\n' "$i" >"$IN/many/f$i"; done
timeout 60 "$SLUICE" wc -j2 "$IN/many" | head -n 1 >/dev/null
rc=${PIPESTATUS[0]}
if [ "$rc" -ne 124 ]; then ok output.closed-pipe; else fail output.closed-pipe "timed out"; fi

finish

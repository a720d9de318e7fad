#!/bin/bash
# tests/cli/walk_edge.sh -- the walker's edge cases through `sluice wc DIR`.
#
#   loop.*    symbolic-link loops: skipped without --follow (no hang, the
#             files counted as GNU wc counts them); with --follow each loop
#             is reported by name ("Too many levels of symbolic links"),
#             exit status 1, and every other file is counted, links to
#             files and to directories followed
#   perm.*    a directory and a file the user may not read: each reported
#             by name ("Permission denied"), exit status 1, the rest
#             counted.  As root the command runs as nobody (setpriv), or
#             the cases are skipped with the reason
#   fifo.*    FIFOs inside a tree (and a link to one, followed) are skipped:
#             no hang (every run is under `timeout`)
#   odd.*     names with spaces, tabs, newlines and bytes that are not
#             UTF-8, byte-identical to GNU wc in every locale
#   deep.*    a tree 1500 levels deep, counted with `ulimit -n 256`, below
#             one descriptor per level, byte-identical to GNU wc
#
# The oracle is GNU wc (GNU_WC, default /usr/bin/wc) reading the expected
# files through --files0-from of a regular file, as in wc_tree.sh.  Where an
# input fails, GNU's list cannot hold it (GNU would read a directory), so
# those cases compare the counts with the columns' padding squeezed, and
# the messages and exit status exactly.
#
# Prints "ok NAME" or "FAIL NAME" plus a diff per case; exits 1 if any case
# failed.  Environment: SLUICE_BUILD_ROOT.
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh disable=SC1091 # -x follows it
. "$(dirname "$0")/lib.sh"
IN="$T"
RUN_TIMEOUT=60
cd "$T" || exit 1
CONFIGS=("-j0" "-j2")

# squeeze FILE -- the lines with runs of blanks made one, leading ones gone
squeeze() {
    sed -e 's/  */ /g' -e 's/^ //' "$1"
}

# check_failing NAME ERRFILE ARGS... -- `sluice wc ARGS` (under AS, when
# set) under every config: stdout as $T/exp.out with blanks squeezed,
# stderr exactly ERRFILE, exit status 1
AS=()
check_failing() {
    local name=$1 errfile=$2
    shift 2
    local cfg d all="" nl=$'\n'
    for cfg in "${CONFIGS[@]}"; do
        # shellcheck disable=SC2086 # cfg is a list of options
        run "$T/got" C /dev/null "${AS[@]}" "$SLUICE" wc $cfg "$@"
        d=""
        if ! diff -q <(squeeze "$T/exp.out") <(squeeze "$T/got.out") >/dev/null; then
            d+="stdout:$nl$(diff <(squeeze "$T/exp.out") <(squeeze "$T/got.out") | head -n 20)$nl"
        fi
        if ! cmp -s "$errfile" "$T/got.err"; then
            d+="stderr:$nl$(diff "$errfile" "$T/got.err" | head -n 20)$nl"
        fi
        if [ "$(cat "$T/got.rc")" != 1 ]; then
            d+="exit status: expected 1, got $(cat "$T/got.rc")$nl"
        fi
        [ -n "$d" ] && all+="${all:+$nl}[sluice wc $cfg $*]$nl$d"
    done
    if [ -z "$all" ]; then ok "$name"; else fail "$name" "$all"; fi
}

# ---------------------------------------------------------------- loops

mkdir -p loop/sub/deep
printf 'a\n' >loop/a
printf 'b b\n' >loop/sub/b
printf 'c\nc c\n' >loop/sub/deep/c
printf 'zzz' >loop/z
ln -s . loop/self
ln -s ../.. loop/sub/deep/top
ln -s sub loop/dirlink
ln -s a loop/flink
ln -s loop-b loop/loop-a
ln -s loop-a loop/loop-b

walk_list loop >list.loop
expect_gnu C /dev/null --files0-from=list.loop
check loop.not-followed C /dev/null loop

printf '%s\0' loop/a loop/dirlink/b loop/dirlink/deep/c loop/flink \
    loop/sub/b loop/sub/deep/c loop/z >list.follow
expect_gnu C /dev/null --files0-from=list.follow
msg='Too many levels of symbolic links'
cat >exp.follow.err <<EOF
sluice wc: loop/dirlink/deep/top: $msg
sluice wc: loop/loop-a: $msg
sluice wc: loop/loop-b: $msg
sluice wc: loop/self: $msg
sluice wc: loop/sub/deep/top: $msg
EOF
check_failing loop.followed exp.follow.err --follow loop

# ---------------------------------------------------------- permissions

mkdir -p perm/locked perm/open
printf 'x\n' >perm/locked/x
printf 'one\n' >perm/ok1
printf 'y y\n' >perm/open/y
printf 's\n' >perm/secret
printf 'z\n' >perm/z
chmod 000 perm/locked perm/secret
perm_skip=""
if [ "$(id -u)" = 0 ]; then
    AS=(setpriv --reuid=65534 --regid=65534 --clear-groups)
    chmod a+rx "$T"
    if ! "${AS[@]}" true 2>/dev/null; then
        perm_skip="root, and setpriv cannot drop to uid 65534 here"
    elif ! "${AS[@]}" test -x "$SLUICE"; then
        perm_skip="uid 65534 cannot run $SLUICE"
    elif ! "${AS[@]}" test -r perm/ok1 || "${AS[@]}" test -r perm/secret; then
        perm_skip="uid 65534 does not see the permissions of $T as expected"
    fi
fi
if [ -n "$perm_skip" ]; then
    skip perm.unreadable "$perm_skip"
else
    printf '%s\0' perm/ok1 perm/open/y perm/secret perm/z >list.perm
    run "$T/exp" C /dev/null "${AS[@]}" "${GNU[@]}" --files0-from=list.perm
    cat >exp.perm.err <<EOF
sluice wc: perm/locked: Permission denied
sluice wc: perm/secret: Permission denied
EOF
    # GNU's own words for the file it could not open, as a cross-check.
    if grep -qx 'wc: perm/secret: Permission denied' exp.err; then
        check_failing perm.unreadable exp.perm.err perm
    else
        fail perm.unreadable "GNU wc as that user said: $(cat exp.err)"
    fi
fi
AS=()
chmod 755 perm/locked
chmod 644 perm/secret

# ---------------------------------------------------------------- FIFOs

mkdir -p fifo/sub
printf 'a\n' >fifo/a
printf 'b\n' >fifo/sub/b
mkfifo fifo/p fifo/sub/q
ln -s p fifo/lp
ln -s sub/q fifo/lq
RUN_TIMEOUT=20
walk_list fifo >list.fifo
expect_gnu C /dev/null --files0-from=list.fifo
check fifo.skipped C /dev/null fifo
check fifo.skipped-when-followed C /dev/null --follow fifo
RUN_TIMEOUT=60

# ------------------------------------------------------------ odd names

mkdir -p "odd/dir with
newline" "odd/sp ace dir"
printf '1\n' >"odd/sp ace"
printf '2 2\n' >"odd/  lead"
printf '3\n' >"odd/new
line"
printf '4\n' >"odd/tab	here"
printf '5\n' >"odd/$(printf 'bad\377byte')"
printf '6\n' >"odd/$(printf 'lone\303')"
printf '7\n' >"odd/$(printf '\200start')"
printf '8\n' >"odd/dir with
newline/$(printf 'x\376y')"
printf '9\n' >"odd/sp ace dir/it's \"q\""
printf 'ok\n' >"odd/$(printf 'caf\303\251')"
walk_list odd >list.odd
if [ "$(tr -cd '\0' <list.odd | wc -c)" != 10 ]; then
    fail odd.setup "expected 10 files, found: $(tr '\0' '\n' <list.odd)"
fi
for loc in "${LOCALES[@]}"; do
    expect_gnu "$loc" /dev/null --files0-from=list.odd
    check "odd.$loc" "$loc" /dev/null odd
    expect_gnu "$loc" /dev/null -lwmcL --files0-from=list.odd
    check "odd.-lwmcL.$loc" "$loc" /dev/null -lwmcL odd
done

# ------------------------------------------------------------ deep tree

# 1500 levels of "d", each holding a file "f" (after "d" in the walk).
mkdir deep
(
    cd deep || exit 1
    for i in $(seq 1500); do
        printf '%s\n' "$i" >f
        mkdir d && cd d || exit 1
    done
    printf 'bottom\n' >f
) || fail deep.setup "could not build the tree"
walk_list deep >list.deep
if [ "$(tr -cd '\0' <list.deep | wc -c)" != 1501 ]; then
    fail deep.setup "expected 1501 files in deep/"
fi
expect_gnu C /dev/null --files0-from=list.deep
all=""
for cfg in "-j0" "-j2" ""; do
    # shellcheck disable=SC2016 # expanded by the inner shell
    run "$T/got" C /dev/null bash -c 'ulimit -n 256 && exec "$@"' _ \
        "$SLUICE" wc $cfg deep
    d=$(diff_run "$T/got")
    [ -n "$d" ] && all+="[ulimit -n 256; sluice wc $cfg deep]"$'\n'"$d"
done
if [ -z "$all" ]; then ok deep.ulimit-256; else fail deep.ulimit-256 "$all"; fi

finish

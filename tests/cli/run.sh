#!/bin/bash
# tests/cli/run.sh -- `sluice run`, `sluice plugins`, `sluice plugin check`.
#
# The test plugins (tests/plugins/*.c, built against the public header
# only) cover each way a plugin can be wrong: another ABI major, a newer
# minor, no entry point, a constructor that crashes, a group-writable file,
# worker_init failing, map crashing; and each way it can be used: counters
# (lines.so: the oracle is GNU wc -l), ordered output (ordered.so: tr),
# output many times larger than a worker's arena (bigout.so), options
# checked against the schema before anything runs.
#
# Prints "ok NAME" or "FAIL NAME" per case; exits 1 if any failed.
# Environment: SLUICE_BUILD_ROOT, SLUICE_TEST_PLUGIN_DIR.
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh disable=SC1091
. "$(dirname "$0")/lib.sh"

export LC_ALL=C
P=${SLUICE_TEST_PLUGIN_DIR:?}
cd "$T" || exit 1
mkdir -p tree/sub
printf 'one\ntwo\n' >tree/a
printf 'x\n' >tree/sub/b
printf 'no newline' >tree/sub/c
seq 1 100000 >tree/big

# expect NAME WANT_RC WANT_STDOUT_FILE CMD... -- exit status and stdout
expect() {
    local name=$1 rc=$2 want=$3
    shift 3
    "$@" >out 2>err
    local got=$?
    if [ "$got" -eq "$rc" ] && cmp -s "$want" out; then
        ok "$name"
    else
        fail "$name" "exit $got (want $rc); $(diff "$want" out | head -n 20); stderr: $(cat err)"
    fi
}

# ------------------------------------------------------------- counters
(cd tree && "${GNU[@]}" -l a big sub/b sub/c) |
    awk '{ printf "%7d %s\n", $1, ($2 == "total" ? "total" : "tree/" $2) }' >want
expect run.counters 0 want "$SLUICE" run "$P/lines.so" tree
expect run.counters.j0 0 want "$SLUICE" run "$P/lines.so" -j 0 tree
expect run.counters.chunked 0 want "$SLUICE" run "$P/lines.so" -j 2 --chunk-size 4k tree
printf '      2 -\n' >want
expect run.stdin 0 want sh -c "printf 'a\nb\n' | '$SLUICE' run '$P/lines.so'"

"$SLUICE" run "$P/lines.so" --json tree >out 2>err
if python3 -c '
import json
d = json.load(open("out"))
assert [f["name"] for f in d["files"]] == ["tree/a", "tree/big", "tree/sub/b", "tree/sub/c"], d
assert [f["lines"] for f in d["files"]] == [2, 100000, 1, 0], d
assert d["total"] == {"files": 4, "lines": 100003}, d
' 2>pyerr; then ok run.json; else fail run.json "$(cat out pyerr)"; fi
printf '"name","lines"\n"tree/a",2\n"tree/big",100000\n"tree/sub/b",1\n"tree/sub/c",0\n"total",100003\n' >want
"$SLUICE" run "$P/lines.so" --csv tree >out 2>err
if python3 -c '
import csv
rows = list(csv.reader(open("out")))
assert rows[0] == ["name", "lines"], rows
assert rows[1:] == [["tree/a", "2"], ["tree/big", "100000"], ["tree/sub/b", "1"], ["tree/sub/c", "0"], ["total", "100003"]], rows
' 2>pyerr; then ok run.csv; else fail run.csv "$(cat out pyerr)"; fi
printf ' 100003 total\n' >want
expect run.summary 0 want "$SLUICE" run "$P/lines.so" --summary tree

# --------------------------------------------------------- ordered output
{ tr a-z A-Z <tree/a; tr a-z A-Z <tree/big; echo END; } >want
expect run.ordered 0 want "$SLUICE" run "$P/ordered.so" -j 2 --chunk-size 8k tree/a tree/big
expect run.ordered.option 0 want "$SLUICE" run "$P/ordered.so" -P piece=1k tree/a tree/big

# Output 40 times the input, far more than a worker's 8 MiB arena: whole,
# in order, and in memory that does not follow the output's size.
seq 1 1000000 >six
python3 -c '
import sys
d = open("six", "rb").read()
sys.stdout.buffer.write(b"".join(bytes([c]) * 40 for c in d))' | md5sum >want
for j in 0 2; do
    if command -v /usr/bin/time >/dev/null; then
        /usr/bin/time -f %M -o rss "$SLUICE" run "$P/bigout.so" -j "$j" six | md5sum >out
    else
        "$SLUICE" run "$P/bigout.so" -j "$j" six | md5sum >out
        echo 0 >rss
    fi
    if cmp -s want out && [ "$(cat rss)" -lt 150000 ]; then
        ok "run.output-larger-than-arena.j$j"
    else
        fail "run.output-larger-than-arena.j$j" "md5 $(cat out) want $(cat want); peak RSS $(cat rss) KiB"
    fi
done

# ------------------------------------------------ options, before running
# check_option NAME MESSAGE ARGS... -- `sluice run ordered.so ARGS` is
# refused with "sluice run: MESSAGE" alone
check_option() {
    local name=$1 msg=$2
    shift 2
    "$SLUICE" run "$P/ordered.so" "$@" tree/a >out 2>err
    local rc=$?
    if [ "$rc" -eq 2 ] && [ ! -s out ] && is_message err "sluice run: $msg"; then
        ok "$name"
    else
        fail "$name" "exit $rc; stdout $(cat out); stderr $(cat err)"
    fi
}
check_option option.unknown-key "plugin ordered has no option 'nope'" -P nope=1
check_option option.bad-int "option piece: invalid number 'abc'" -P piece=abc
check_option option.bad-bool "option mark: invalid boolean 'maybe'" -P mark=maybe
# (quoted as the locale quotes: the part after the quotes is compared)
"$SLUICE" run "$P/ordered.so" -P piece tree/a >out 2>err
if [ $? -eq 2 ] && [ ! -s out ] && [ "$(wc -l <err)" -eq 1 ] &&
    grep -q '^sluice run: -P .piece.: expected KEY=VALUE$' err; then
    ok option.no-equals
else
    fail option.no-equals "stdout $(cat out); stderr $(cat err)"
fi
"$SLUICE" run "$P/ordered.so" --help >out 2>err
if grep -q '^plugin: ordered 1$' out && grep -q -- '-P piece=int  (default 65536)' out &&
    grep -q '^capabilities: ordered records$' out; then
    ok run.plugin-help
else
    fail run.plugin-help "$(cat out err)"
fi
"$SLUICE" run nosuchplugin tree/a >out 2>err
if [ $? -eq 2 ] && grep -q 'nosuchplugin' err; then ok run.unknown-plugin; else fail run.unknown-plugin "$(cat err)"; fi

# ------------------------------------------------------ plugins that fail
"$SLUICE" run "$P/crash.so" tree/a >out 2>err
if [ $? -eq 5 ] && is_message err 'sluice run: plugin crash: worker initialisation failed'; then
    ok run.crash-in-init
else
    fail run.crash-in-init "$(cat err)"
fi
printf 'a!b\n' >bang
"$SLUICE" run "$P/summer.so" -P crash_always=true bang tree/a >out 2>err
if [ $? -eq 5 ] && is_message err "sluice run: bang: batch of 2 files from bang: worker process died twice (signal 9, SIGKILL) while plugin summer processed it"; then
    ok run.crash-in-map
else
    fail run.crash-in-map "$(cat err)"
fi

# ------------------------------------------------------- plugin check
check_plugin() {
    local name=$1 file=$2 rc=$3 pat=$4
    "$SLUICE" plugin check "$file" >out 2>err
    local got=$?
    if [ "$got" -eq "$rc" ] && grep -q -- "$pat" out; then
        ok "check.$name"
    else
        fail "check.$name" "exit $got; $(cat out err)"
    fi
}
check_plugin good "$P/ordered.so" 0 '^result: loads$'
check_plugin abi-major "$P/badabi.so" 1 'cannot load: plugin ABI 2.0 is not supported by this sluice (ABI 1.1)'
check_plugin abi-minor "$P/newminor.so" 1 'cannot load: plugin ABI 1.2 is not supported by this sluice (ABI 1.1)'
check_plugin no-entry "$P/noentry.so" 1 'cannot load: not a sluice plugin (no sluice_plugin_entry function)'
check_plugin crash-in-constructor "$P/ctorcrash.so" 1 'cannot load: the plugin crashed while loading (Segmentation fault)'
cp "$P/lines.so" gw.so
chmod g+w gw.so
check_plugin group-writable "$T/gw.so" 1 'cannot load: .*writable'
chmod g-w,o+w gw.so
check_plugin world-writable "$T/gw.so" 1 'cannot load: .*writable'
check_plugin missing "$T/none.so" 1 'cannot load'
check_plugin by-name wc 0 '^counters: lines words chars bytes maxline$'

# ------------------------------------------------------------ plugins
"$SLUICE" plugins >out 2>err
rc=$?
if [ "$rc" -eq 0 ] && grep -q '^wc  *1\.' out && grep -q '^gzip ' out && grep -q '^noop ' out; then
    ok plugins.builtin
else
    fail plugins.builtin "exit $rc; $(cat out err)"
fi
SLUICE_PLUGIN_PATH="$P" "$SLUICE" plugins >out 2>err
rc=$?
if [ "$rc" -eq 1 ] && grep -q '^lines  *1.0  *count newlines' out &&
    grep -q '^badabi  *?  (cannot load: plugin ABI 2.0' out &&
    grep -q '^ctorcrash  *?  (cannot load: crashed while loading' out &&
    grep -q '^wc ' out; then
    ok plugins.path
else
    fail plugins.path "exit $rc; $(cat out err)"
fi

finish

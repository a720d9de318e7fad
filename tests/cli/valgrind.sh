#!/usr/bin/env bash
# tests/cli/valgrind.sh -- no leak and no memory error on sample jobs, under
# valgrind (memcheck), with every worker process traced too:
#   sluice wc -j2 on a small tree, sluice gzip -c of a file and sluice
#   gunzip -c back (byte-identical), sluice grep -j2 on the tree.
# A definite or indirect leak, or any error, fails the case (valgrind
# exits 99).  Skipped (exit 77) when valgrind is missing or the build uses
# sanitizers (they and valgrind do not mix; the sanitizer build has its own
# leak check).
# Environment: SLUICE_BUILD_ROOT.

# shellcheck source-path=SCRIPTDIR source=lib.sh disable=SC1091
. "$(dirname "$0")/lib.sh"

if ! command -v valgrind >/dev/null; then
    echo "valgrind.sh: valgrind is not installed: skipped"
    exit 77
fi
if grep -Eq "^b_sanitize *= *[a-z]" <(meson introspect --buildoptions "$SLUICE_BUILD_ROOT" 2>/dev/null |
    python3 -c 'import json,sys; [print(o["name"], "=", o["value"]) for o in json.load(sys.stdin) if o["name"] == "b_sanitize" and o["value"] != "none"]'); then
    echo "valgrind.sh: sanitizer build: skipped"
    exit 77
fi

cd "$IN" || exit 1
VG=(timeout 300 valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect
    --error-exitcode=99 --trace-children=yes --child-silent-after-fork=no
    --log-file="$T/vg.%p")

mkdir -p tree/a/b
for i in 1 2 3 4 5 6; do
    seq "$((i * 500))" | sed 's/$/ word x/' >"tree/a/f$i.txt"
done
printf 'needle one\nnothing\n' >tree/a/b/g.txt
head -c 200000 /dev/urandom | base64 >tree/b64

# vg NAME CMD... -- runs CMD under valgrind, output in out; ok when it exits
# as expected ($want_rc, default 0) and valgrind reported nothing.
vg() {
    local name=$1
    shift
    rm -f "$T"/vg.*
    "${VG[@]}" "$@" >out 2>err
    local rc=$?
    local logs
    # valgrind 3.19 does not know pidfd_open (434): the engine falls back,
    # and the warning is not an error.
    logs=$(cat "$T"/vg.* 2>/dev/null | grep -Ev -- '-- (WARNING: unhandled amd64-linux syscall: 434|You may be able to write your own handler|Read the file README_MISSING_SYSCALL_OR_IOCTL|Nevertheless we consider this a bug|it at http://valgrind.org/support/bug_reports.html)')
    if [ "$rc" -eq "${want_rc:-0}" ] && [ -z "$logs" ]; then
        ok "$name"
    else
        fail "$name" "rc=$rc $(cat err) $logs"
    fi
}

vg wc-j2-tree "$SLUICE" wc -j2 tree
want=$(cd tree && "${GNU[@]}" a/b/g.txt a/f1.txt a/f2.txt a/f3.txt a/f4.txt a/f5.txt a/f6.txt b64 | awk '{print $1, $2, $3}')
got=$(cd tree && "$SLUICE" wc -j2 . | awk '{print $1, $2, $3}' | sed 's| \./| |')
if [ "$want" = "$got" ]; then ok wc-j2-tree-counts; else fail wc-j2-tree-counts "$got"; fi
vg gzip-c "$SLUICE" gzip -c tree/b64
mv out b64.gz
vg gunzip-c "$SLUICE" gunzip -c b64.gz
if cmp -s out tree/b64; then ok gzip-gunzip-round-trip; else fail gzip-gunzip-round-trip "differs"; fi
want_rc=0 vg grep-j2 "$SLUICE" grep -j2 -n needle tree/a/b/g.txt tree/a/f1.txt tree/b64
want_rc=1 vg wc-missing-file "$SLUICE" wc -j2 tree nosuchfile
want_rc=1 vg gunzip-corrupt "$SLUICE" gunzip -c tree/b64

finish

#!/bin/bash
# tests/cli/sandbox.sh -- workers under the seccomp sandbox, through the
# command.
#
# `sluice run hostile.so -P action=...` tries each forbidden thing on its
# first block: the job must exit 5 at once with a message naming the input,
# the plugin and the system call, and the file aimed at must be untouched;
# --no-sandbox lets the action through.  Every real command (wc, gzip,
# gunzip, zcat, grep, replace) must still work sandboxed, on files, trees,
# stdin and archives, giving what --no-sandbox and the GNU tools give.
# Each run has a timeout.  Where the sandbox is unavailable (sanitizer
# builds, valgrind: see `sluice --version`) the suite prints SKIP, exit 77.
#
# Prints "ok NAME" or "FAIL NAME" per case; exits 1 if any failed.
# Environment: SLUICE_BUILD_ROOT, SLUICE_TEST_PLUGIN_DIR.
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh disable=SC1091
. "$(dirname "$0")/lib.sh"

export LC_ALL=C
P=${SLUICE_TEST_PLUGIN_DIR:?}
cd "$T" || exit 1

version=$("$SLUICE" --version)
if ! printf '%s\n' "$version" | grep -q '^sandbox: seccomp (on by default)$'; then
    if printf '%s\n' "$version" | grep -q '^sandbox: unavailable: '; then
        echo "SKIP: $(printf '%s\n' "$version" | sed -n 's/^sandbox: //p')"
        exit 77
    fi
    fail version "$version"
    finish
fi
ok version

t() { timeout "$RUN_TIMEOUT" "$@"; }

printf 'one\ntwo\nthree\n' >in.txt

# --------------------------------------------------- forbidden actions
for case in write_file:openat open_write:openat unlink:unlinkat \
    exec:execve socket:socket fork:clone mmap_exec:mmap \
    mprotect_exec:mprotect write_fd:write; do
    action=${case%%:*} call=${case#*:}
    printf 'keep me\n' >target
    t "$SLUICE" run "$P/hostile.so" -j2 -P action="$action" -P path=target \
        in.txt >out 2>err
    rc=$?
    want="sluice run: in.txt: whole file: plugin hostile was stopped by the sandbox \
(forbidden system call [0-9]*: $call)"
    if [ $rc -eq 5 ] && grep -qx "$want" err && [ "$(cat target)" = "keep me" ]
    then
        ok "forbidden.$action"
    else
        fail "forbidden.$action" "rc $rc; target: $(cat target); $(cat err)"
    fi
done

t "$SLUICE" run "$P/hostile.so" -j2 -P action=fini_socket in.txt >out 2>err
rc=$?
if [ $rc -eq 5 ] && grep -q 'stopped by the sandbox in worker_fini (forbidden system call [0-9]*: socket)' err; then
    ok forbidden.worker_fini
else
    fail forbidden.worker_fini "rc $rc; $(cat err)"
fi
t "$SLUICE" run "$P/hostile.so" -j2 -P action=init_socket in.txt >out 2>err
rc=$?
if [ $rc -eq 1 ] && grep -q 'hostile: init_socket done' err; then
    ok worker_init-unsandboxed
else
    fail worker_init-unsandboxed "rc $rc; $(cat err)"
fi

# The unit is named as the job names it: a stream range, a batch.
printf 'one\ntwo\n' | t "$SLUICE" run "$P/hostile.so" -j2 -P action=socket - \
    >out 2>err
rc=$?
if [ $rc -eq 5 ] && grep -q '^sluice run: -: bytes 0-8: plugin hostile was stopped by the sandbox (forbidden system call [0-9]*: socket)$' err; then
    ok forbidden.stdin
else
    fail forbidden.stdin "rc $rc; $(cat err)"
fi
mkdir -p small
for i in 1 2 3 4 5; do printf '%s\n' "$i" >"small/f$i"; done
t "$SLUICE" run "$P/hostile.so" -j2 -P action=socket small >out 2>err
rc=$?
if [ $rc -eq 5 ] && grep -q '^sluice run: small/f1: batch of 5 files from small/f1: plugin hostile was stopped by the sandbox (forbidden system call [0-9]*: socket)$' err; then
    ok forbidden.batch
else
    fail forbidden.batch "rc $rc; $(cat err)"
fi

# --keep-going: the unit the sandbox stopped is poison; its input fails,
# the other inputs are counted, exit 5.  A range unit of a large file.
printf 'a\nb\n' >k0
seq 1 1500000 >k1
printf 'c\n' >k2
t "$SLUICE" run "$P/hostile.so" -j2 -P action=socket -P input=1 --keep-going \
    k0 k1 k2 >out 2>err
rc=$?
if [ $rc -eq 5 ] &&
    grep -q '^sluice run: k1: bytes 0-[0-9]*: plugin hostile was stopped by the sandbox (forbidden system call [0-9]*: socket)$' err &&
    [ "$(wc -l <err)" -eq 1 ] && grep -q '^ *4 k0$' out && grep -q '^ *2 k2$' out &&
    ! grep -q k1 out
then
    ok keep-going
else
    fail keep-going "rc $rc; $(cat out err)"
fi

# -------------------------------------------------------- --no-sandbox
printf 'keep me\n' >target
t "$SLUICE" run "$P/hostile.so" -j2 --no-sandbox -P action=write_file \
    -P path=target in.txt >out 2>err
rc=$?
if [ $rc -eq 1 ] && grep -q 'hostile: write_file done' err &&
    [ "$(cat target)" = "pwned" ]; then
    ok no-sandbox.write_file
else
    fail no-sandbox.write_file "rc $rc; $(cat err)"
fi
t "$SLUICE" run "$P/hostile.so" -j2 --no-sandbox -P action=socket in.txt \
    >out 2>err
rc=$?
if [ $rc -eq 1 ] && grep -q 'hostile: socket done' err && ! grep -q sandbox err
then
    ok no-sandbox.socket
else
    fail no-sandbox.socket "rc $rc; $(cat err)"
fi
t "$SLUICE" run "$P/hostile.so" -j2 -P action=allowed -P path=in.txt in.txt \
    >out 2>err
rc=$?
if [ $rc -eq 0 ]; then ok allowed; else fail allowed "rc $rc; $(cat err)"; fi

# ------------------------------------- every command works sandboxed
mkdir -p tree/sub
seq 1 300000 >tree/big
for i in $(seq 1 40); do printf 'line %d foo\nbar\n' "$i" >"tree/sub/f$i.txt"; done
printf 'foo\n' >tree/a
tar czf tree.tar.gz tree
big=tree/big

# same NAME COMMAND ARG... -- `sluice COMMAND ARG...` gives the same
# stdout and exit status sandboxed and with --no-sandbox, and succeeds
same() {
    local name=$1 cmd=$2
    shift 2
    t "$SLUICE" "$cmd" "$@" <"$big" >sb.out 2>sb.err
    local rc1=$?
    t "$SLUICE" "$cmd" --no-sandbox "$@" <"$big" >nosb.out 2>nosb.err
    local rc2=$?
    if [ $rc1 -eq 0 ] && [ $rc1 -eq $rc2 ] && cmp -s sb.out nosb.out &&
        ! grep -q sandbox sb.err; then
        ok "$name"
    else
        fail "$name" "rc $rc1/$rc2; $(head -c 2000 sb.err)"
    fi
}

same wc.file wc -j2 --chunk-size=256k "$big"
same wc.tree wc -j2 tree
same wc.archive wc -j2 -z tree.tar.gz
"$SLUICE" wc -j2 <"$big" >sb.out 2>sb.err
"${GNU[@]}" <"$big" >gnu.out
if cmp -s sb.out gnu.out; then ok wc.stdin; else fail wc.stdin "$(cat sb.err)"; fi
"$SLUICE" wc -j2 "$big" >sb.out 2>sb.err
"${GNU[@]}" "$big" >gnu.out
if cmp -s sb.out gnu.out; then ok wc.gnu; else fail wc.gnu "$(cat sb.err)"; fi

same grep.file grep -j2 -n 99 "$big"
same grep.tree grep -j2 foo tree
same grep.stdin grep -j2 -c 7
if t "$SLUICE" grep -j2 -n 99 "$big" | cmp -s - <(grep -n 99 "$big"); then
    ok grep.gnu
else
    fail grep.gnu "differs from grep"
fi

same replace.file replace -j2 1 one "$big"
same replace.tree replace -j2 foo baz tree
same wc.stdin-same wc -j2
same gzip.stdin-same gzip -j2
if t "$SLUICE" replace -j2 1 one <"$big" | cmp -s - <(sed 's/1/one/g' "$big"); then
    ok replace.stdin
else
    fail replace.stdin "differs from sed"
fi

t "$SLUICE" gzip -j2 -c "$big" >big.gz 2>err
rc=$?
if [ $rc -eq 0 ] && gzip -dc big.gz | cmp -s - "$big"; then
    ok gzip.file
else
    fail gzip.file "rc $rc; $(cat err)"
fi
if t "$SLUICE" gzip -j2 <"$big" | gzip -dc | cmp -s - "$big"; then
    ok gzip.stdin
else
    fail gzip.stdin "round trip differs"
fi
if t "$SLUICE" gunzip -j2 -c big.gz | cmp -s - "$big"; then
    ok gunzip.file
else
    fail gunzip.file "differs"
fi
gzip -c "$big" >gnu.gz
if t "$SLUICE" zcat -j2 <gnu.gz | cmp -s - "$big"; then
    ok zcat.stdin
else
    fail zcat.stdin "differs"
fi
cp big.gz copy.gz
t "$SLUICE" gunzip -j2 copy.gz 2>err
rc=$?
if [ $rc -eq 0 ] && cmp -s copy "$big" && [ ! -e copy.gz ]; then
    ok gunzip.in-place
else
    fail gunzip.in-place "rc $rc; $(cat err)"
fi

finish

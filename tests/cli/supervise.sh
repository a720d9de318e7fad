#!/bin/bash
# tests/cli/supervise.sh -- supervision through the commands: a unit that
# kills its worker, --keep-going, --timeout, --worker-memory, exit status 5
# (docs/exit-codes.md).  Faults come from tests/plugins/faulty.c: a line
# holding CRASH, HANG, ALLOC or QUIT misbehaves in its worker.  Every
# command runs under `timeout`, so a hang fails its case.
#
# Prints "ok NAME" or "FAIL NAME" per case; exits 1 if any failed.
# Environment: SLUICE_BUILD_ROOT, SLUICE_TEST_PLUGIN_DIR.
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh disable=SC1091
. "$(dirname "$0")/lib.sh"

export LC_ALL=C
P=${SLUICE_TEST_PLUGIN_DIR:?}
F="$P/faulty.so"
cd "$T" || exit 1

# text FILE SEED [WORD LINE]: 20000 lines, WORD replacing line LINE
text() {
    awk -v seed="$2" -v word="${3:-}" -v at="${4:-0}" 'BEGIN {
        srand(seed)
        for (i = 1; i <= 20000; i++) {
            if (i == at) { print word; continue }
            n = 5 + int(rand() * 40); s = ""
            for (k = 0; k < n; k++) s = s sprintf("%c", 97 + int(rand() * 26))
            print s
        }
    }' >"$1"
}
text good 1
text bad 2 CRASH 12345
text hang 3 HANG 5000
text alloc 4 ALLOC 7000
bad_off=$(grep -b -m1 CRASH bad | cut -d: -f1)

# sx CMD...: runs a command under timeout; stdout in out, stderr in err,
# exit status in rc.
sx() {
    timeout 60 "$@" >out 2>err
    rc=$?
}

# Sanitizer builds reserve terabytes of shadow address space: no
# --worker-memory there (docs/engine.md).
asan=0
if ldd "$SLUICE" 2>/dev/null | grep -q libasan; then asan=1; fi
mem_opt=(--worker-memory=1G)
[ "$asan" -eq 1 ] && mem_opt=()

# The reference: the inline run of the good file.
sx "$SLUICE" run "$F" -j0 good
cp out want_good
[ "$rc" -eq 0 ] && [ -s want_good ] || fail reference "exit $rc: $(cat err)"

sx "$SLUICE" run "$F" -j2 --chunk-size=64k good
if [ "$rc" -eq 0 ] && cmp -s want_good out; then ok clean-parallel-run
else fail clean-parallel-run "exit $rc; $(diff want_good out); $(cat err)"; fi

# A poisoned unit fails the job: exit 5, the report names the file, its
# byte range and first line, the signal and the plugin.
sx "$SLUICE" run "$F" -j2 --chunk-size=64k bad
if [ "$rc" -eq 5 ] &&
    grep -Eq "^sluice run: bad: bytes [0-9]+-[0-9]+, line [0-9]+: worker process died twice \(signal 11, SIGSEGV\) while plugin faulty processed it$" err; then
    ok poison-fails-the-job
else fail poison-fails-the-job "exit $rc; $(cat err)"; fi
# ... and the range holds the CRASH line, the line number is that of the
# range's first byte.
read -r lo hi line < <(sed -nE 's/.*bytes ([0-9]+)-([0-9]+), line ([0-9]+).*/\1 \2 \3/p' err)
want_line=$(( $(head -c "${lo:-0}" bad | wc -l) + 1 ))
if [ -n "${lo:-}" ] && [ "$lo" -le "$bad_off" ] && [ "$bad_off" -lt "$hi" ] &&
    [ "$line" -eq "$want_line" ]; then ok poison-range-and-line
else fail poison-range-and-line "lo=${lo:-} hi=${hi:-} line=${line:-} crash at $bad_off, want line $want_line"; fi

# --keep-going: the other input is counted, the poisoned one reported,
# exit 5 at the end.
sx "$SLUICE" run "$F" -j2 --chunk-size=64k --keep-going good bad
if [ "$rc" -eq 5 ] && head -n 1 out | cmp -s want_good - &&
    is_message err "sluice run: bad: bytes ${lo:-}-${hi:-}, line ${line:-}: worker process died twice (signal 11, SIGSEGV) while plugin faulty processed it"; then
    ok keep-going-counts-the-rest
else fail keep-going-counts-the-rest "exit $rc; $(cat out); $(cat err)"; fi

# A crash that happens once costs nothing: same output as the clean run.
cp bad once
sx "$SLUICE" run "$F" -j2 --chunk-size=64k -P "once=$T/fired" once
cp out got_once
once_rc=$rc
# inline, with the marker already there: no fault at all
sx "$SLUICE" run "$F" -j0 -P "once=$T/fired" once
if [ "$once_rc" -eq 0 ] && [ "$(head -c 1 "$T/fired")" = 1 ] && [ "$rc" -eq 0 ] &&
    cmp -s out got_once; then ok crash-once-is-retried
else fail crash-once-is-retried "exit $once_rc; $(diff out got_once)"; fi

# --timeout: a hanging unit is killed and reported.
sx "$SLUICE" run "$F" -j2 --chunk-size=64k --timeout=0.5 hang
if [ "$rc" -eq 5 ] &&
    one_message err '^sluice run: hang: bytes [0-9]+-[0-9]+, line [0-9]+: worker process died twice \(signal 15, SIGTERM; timed out after 0\.5 s\) while plugin faulty processed it$' err; then
    ok timeout-kills-a-hang
else fail timeout-kills-a-hang "exit $rc; $(cat err)"; fi

for bad_arg in abc 0 -1 1e99x; do
    sx "$SLUICE" run "$F" --timeout="$bad_arg" good
    if [ "$rc" -eq 2 ] && grep -q "invalid timeout" err; then ok "timeout-refuses-$bad_arg"
    else fail "timeout-refuses-$bad_arg" "exit $rc; $(cat err)"; fi
done
sx "$SLUICE" run "$F" -j2 --timeout=none --worker-memory=none good
if [ "$rc" -eq 0 ] && cmp -s want_good out; then ok timeout-none
else fail timeout-none "exit $rc; $(cat err)"; fi

# --worker-memory: an allocation without bound ends as a poisoned unit.
if [ "$asan" -eq 1 ]; then
    echo "skip worker-memory (sanitizer shadow memory defeats RLIMIT_AS)"
else
    sx "$SLUICE" run "$F" -j2 --chunk-size=64k --worker-memory=256M alloc
    if [ "$rc" -eq 5 ] && grep -q "^sluice run: alloc: bytes .*SIGABRT; worker memory limit 256 MiB" err; then
        ok worker-memory-limit
    else fail worker-memory-limit "exit $rc; $(cat err)"; fi
fi
sx "$SLUICE" run "$F" --worker-memory=1k good
if [ "$rc" -eq 2 ] && grep -q "invalid worker memory" err; then ok worker-memory-refuses-tiny
else fail worker-memory-refuses-tiny "exit $rc; $(cat err)"; fi

# --joblog: a line per unit, in unit order; bytes add up to the input.
sx "$SLUICE" run "$F" -j2 --chunk-size=64k --joblog=log good
size=$(wc -c <good)
if [ "$rc" -eq 0 ] && cmp -s want_good out &&
    head -n 1 log | grep -qx '# sluice job log 2' &&
    sed -n 2p log | grep -q "^# job$(printf '\t')[0-9a-f]\{16\}$" &&
    sed -n 3p log | grep -qx "$(printf 'seq\tinput\tfiles\toffset\tbytes\tworker\tattempts\tresult\tfingerprint\tpartials')" &&
    [ "$(grep -c '^# input' log)" -eq 1 ] &&
    awk -F'\t' -v size="$size" '/^[0-9]/ {
        if ($1 != n++ || $2 != "good" || $7 != 1 || $8 != "ok" || $6 <= 0) bad = 1
        if ($9 !~ /^[0-9a-f]+$/ || $10 !~ /^[0-9a-fyz]+\.[0-9a-f]+$/) bad = 1
        if ($4 != sum) bad = 1
        sum += $5
    } END { exit (bad || sum != size || n < 2) }' log; then
    ok joblog-lists-every-unit
else fail joblog-lists-every-unit "exit $rc; $(cat log)"; fi

# ... a unit whose worker died once says attempts 2; a poisoned one poison.
rm -f "$T/fired"
sx "$SLUICE" run "$F" -j2 --chunk-size=64k --joblog=log -P "once=$T/fired" once
if [ "$rc" -eq 0 ] && [ "$(awk -F'\t' '/^[0-9]/ && $7 >= 2' log | wc -l)" -ge 1 ] &&
    [ "$(awk -F'\t' '/^[0-9]/ && $8 != "ok"' log | wc -l)" -eq 0 ]; then
    ok joblog-counts-attempts
else fail joblog-counts-attempts "exit $rc; $(cat log)"; fi
sx "$SLUICE" wc -j2 --chunk-size=64k --joblog=log good
wc_rc=$rc
sx "$SLUICE" run "$F" -j2 --chunk-size=64k --keep-going --joblog=log bad
if [ "$wc_rc" -eq 0 ] && [ "$rc" -eq 5 ] &&
    [ "$(awk -F'\t' -v at="$bad_off" '/^[0-9]/ && $8 == "poison" && $4 <= at && $7 >= 2 && $9 == "-"' log | wc -l)" -eq 1 ] &&
    [ "$(awk -F'\t' '/^[0-9]/ && $8 == "poison"' log | wc -l)" -eq 1 ]; then
    ok joblog-marks-the-poison
else fail joblog-marks-the-poison "exit $wc_rc/$rc; $(cat log)"; fi
sx "$SLUICE" run "$F" --joblog=/nonexistent/dir/log good
if [ "$rc" -eq 2 ] && grep -q "/nonexistent/dir/log" err; then ok joblog-unwritable
else fail joblog-unwritable "exit $rc; $(cat err)"; fi

# The other commands take the options and behave as without them.
sx "$SLUICE" wc good bad
cp out want_wc
sx "$SLUICE" wc -j2 --timeout=30 --keep-going "${mem_opt[@]}" good bad
if [ "$rc" -eq 0 ] && cmp -s want_wc out; then ok wc-takes-the-options
else fail wc-takes-the-options "exit $rc; $(cat err)"; fi
sx "$SLUICE" grep --timeout=30 CRASH bad
if [ "$rc" -eq 0 ] && [ "$(cat out)" = CRASH ]; then ok grep-takes-timeout
else fail grep-takes-timeout "exit $rc; $(cat err)"; fi
sx "$SLUICE" grep --keep-going CRASH bad
if [ "$rc" -eq 2 ]; then ok grep-has-no-keep-going
else fail grep-has-no-keep-going "exit $rc; $(cat err)"; fi

# ---------------------------------------------------------------- --resume
# units LOG: the seq numbers of its unit lines, in file order.
units() { awk -F'\t' '/^[0-9]/ { printf "%s ", $1 }' "$1"; }
mkdir -p tree/sub
for i in 1 2 3 4 5; do text "tree/sub/f$i" $((10 + i)); done
text tree/g 20

# A log cut short (as a killed run leaves it): --resume runs only the
# units it lacks, appends their lines, and prints what a fresh run prints;
# with workers and inline, and for `sluice run`.
sx "$SLUICE" wc -j2 --chunk-size=64k --joblog=log good tree
cp out want_resume
cp log full_log
n=$(grep -c '^[0-9]' full_log)
all=$(units full_log)
for cmd in "wc -j2" "wc -j0" "run $F -j2"; do
    if [ "${cmd%% *}" = run ]; then
        sx "$SLUICE" $cmd --chunk-size=64k --joblog=log good tree
        cp out want_run
        cp log full_run
        src=full_run want=want_run
    else
        src=full_log want=want_resume
    fi
    head -n 9 "$src" >log
    kept=$(units log)
    sx "$SLUICE" $cmd --chunk-size=64k --joblog=log --resume good tree
    new=$(($(grep -c '^[0-9]' log) - $(echo "$kept" | wc -w)))
    if [ "$rc" -eq 0 ] && cmp -s "$want" out && [ -n "$kept" ] &&
        [ "$(units log | tr ' ' '\n' | sort -n | tr '\n' ' ')" = "$(units "$src" | tr ' ' '\n' | sort -n | tr '\n' ' ')" ] &&
        [ "$(units log | tr ' ' '\n' | sort | uniq -d)" = "" ] &&
        [ "$(units log)" = "$(units "$src")" ] && [ "$new" -gt 3 ]; then
        ok "resume.runs-the-rest ($cmd)"
    else
        fail "resume.runs-the-rest ($cmd)" "exit $rc; kept: $kept; now: $(units log); $(cat err)"
    fi
done

# A run killed with SIGKILL: its log holds what it finished.  A HANG that
# fires once (-P once=FILE, shared by both runs) holds the job at one unit
# of the last file until the kill; the resumed run goes past it.
text hangf 40 HANG 15000
hang_off=$(grep -b -m1 HANG hangf | cut -d: -f1)
printf 1 >ref_once # a marker already fired: the reference never hangs
sx "$SLUICE" run "$F" -j2 --chunk-size=64k -P "once=$T/ref_once" \
    --joblog=reflog good tree hangf
cp out want_hang
k=$(awk -F'\t' -v at="$hang_off" '/^[0-9]/ && $2 == "hangf" && $4 <= at && at < $4 + $5 { print $1 }' reflog)
rm -f log hang_once
timeout 60 "$SLUICE" run "$F" -j2 --chunk-size=64k -P "once=$T/hang_once" \
    --joblog=log good tree hangf >out 2>err &
pid=$!
for _ in $(seq 1 300); do
    c=$(grep -c '^[0-9]' log 2>/dev/null)
    [ "${c:-0}" -ge "${k:-1}" ] && break
    sleep 0.1
done
sleep 0.3
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
got=$(grep -c '^[0-9]' log)
sx "$SLUICE" run "$F" -j2 --chunk-size=64k -P "once=$T/hang_once" \
    --joblog=log --resume good tree hangf
if [ -n "$k" ] && [ "$got" -eq "$k" ] && [ "$rc" -eq 0 ] &&
    cmp -s want_hang out && [ "$(units log)" = "$(units reflog)" ]; then
    ok "resume.after-sigkill ($got of $(grep -c '^[0-9]' reflog) units logged)"
else
    fail resume.after-sigkill "unit $k hangs; logged $got; exit $rc; $(cat out err); $(units log)"
fi

# What it refuses, before it prints anything (exit 2, nothing on stdout).
refuse() { # NAME MESSAGE CMD...
    local name=$1 msg=$2
    shift 2
    cp full_log log
    sx "$@"
    if [ "$rc" -eq 2 ] && [ ! -s out ] && grep -q "$msg" err; then
        ok "resume.refuses-$name"
    else
        fail "resume.refuses-$name" "exit $rc; $(cat out err)"
    fi
}
refuse other-unit-size 'log: written by another job' \
    "$SLUICE" wc -j2 --chunk-size=128k --joblog=log --resume good tree
refuse other-options 'log: written by another job' \
    "$SLUICE" wc -l -j2 --chunk-size=64k --joblog=log --resume good tree
refuse other-plugin 'log: written by another job' \
    "$SLUICE" run "$F" -j2 --chunk-size=64k --joblog=log --resume good tree
cp "$F" myplug.so
sx "$SLUICE" run ./myplug.so -j2 --chunk-size=64k --joblog=plog good
touch -d '2001-01-01' myplug.so
sx "$SLUICE" run ./myplug.so -j2 --chunk-size=64k --joblog=plog --resume good
if [ "$rc" -eq 2 ] && [ ! -s out ] && grep -q 'plog: written by another job' err; then
    ok resume.refuses-a-rebuilt-plugin
else fail resume.refuses-a-rebuilt-plugin "exit $rc; $(cat out err)"; fi
refuse no-joblog 'needs --joblog' \
    "$SLUICE" wc -j2 --chunk-size=64k --resume good tree
cp -p tree/g g.saved
touch -d '2001-01-01' tree/g
refuse changed-input 'tree/g: changed since log was written' \
    "$SLUICE" wc -j2 --chunk-size=64k --joblog=log --resume good tree
cp -p g.saved tree/g
printf 'not a log\n' >notlog
sx "$SLUICE" wc -j2 --chunk-size=64k --joblog=notlog --resume good
if [ "$rc" -eq 2 ] && grep -q 'notlog: not a job log' err && [ "$(cat notlog)" = "not a log" ]; then
    ok resume.refuses-not-a-log
else fail resume.refuses-not-a-log "exit $rc; $(cat err)"; fi
cp full_log log
sed -i '5s/^\([0-9]*\)\t/\1x\t/' log
sx "$SLUICE" wc -j2 --chunk-size=64k --joblog=log --resume good tree
if [ "$rc" -eq 2 ] && grep -q 'log: line 5: not a job log line' err; then
    ok resume.refuses-a-bad-line
else fail resume.refuses-a-bad-line "exit $rc; $(cat err)"; fi
# A log cut in the middle of a line (a run killed while writing it): the
# fragment is dropped before the resumed run appends, so the log stays
# readable; an empty log (killed before its first unit) gets a header.
head -n 9 full_log >log
printf '5\tgood\t1\t3276' >>log
sx "$SLUICE" wc -j2 --chunk-size=64k --joblog=log --resume good tree
rc1=$rc
cp out out1
sx "$SLUICE" wc -j2 --chunk-size=64k --joblog=log --resume good tree
if [ "$rc1" -eq 0 ] && [ "$rc" -eq 0 ] && cmp -s want_resume out1 &&
    cmp -s want_resume out &&
    [ "$(awk -F'\t' '/^[0-9]/ && NF != 10' log | wc -l)" -eq 0 ] &&
    [ "$(units log | tr ' ' '\n' | sort -n | tr '\n' ' ')" = "$(units full_log | tr ' ' '\n' | sort -n | tr '\n' ' ')" ]; then
    ok resume.after-a-cut-line
else fail resume.after-a-cut-line "exit $rc1/$rc; $(cat err)"; fi
: >log
sx "$SLUICE" wc -j2 --chunk-size=64k --joblog=log --resume good tree
if [ "$rc" -eq 0 ] && cmp -s want_resume out && head -n 1 log | grep -qx '# sluice job log 2'; then
    ok resume.from-an-empty-log
else fail resume.from-an-empty-log "exit $rc; $(cat err)"; fi

# A partial changed on disk fails the line's check.
cp full_log log
awk -F'\t' 'BEGIN { OFS = "\t" } /^[0-9]/ && !done { sub(/^0/, "1", $10); done = 1 } { print }' full_log >log
sx "$SLUICE" wc -j2 --chunk-size=64k --joblog=log --resume good tree
if [ "$rc" -eq 2 ] && grep -q 'log: line [0-9]*: not a job log line' err && ! cmp -s log full_log; then
    ok resume.refuses-a-damaged-partial
else fail resume.refuses-a-damaged-partial "exit $rc; $(cat err)"; fi

# A file added among the logged ones shifts the plan: the engine finds the
# unit changed as it plans it (exit 2, naming it).
cp full_log log
text tree/sub/f0 30
sx "$SLUICE" wc -j2 --chunk-size=64k --joblog=log --resume good tree
if [ "$rc" -eq 2 ] && grep -q 'tree/.*: unit [0-9]* is not the unit that was done before' err; then
    ok resume.refuses-a-new-file-before-logged-units
else fail resume.refuses-a-new-file-before-logged-units "exit $rc; $(cat err)"; fi
rm tree/sub/f0

# An archive rebuilt with the same member names, sizes and times: its
# members are not the ones counted before (the archive's own identity is
# part of each member's fingerprint).
mkdir -p arc
printf 'aaaa aaaa\n' >arc/m1
printf 'bb\n' >arc/m2
tar --mtime=@0 -cf a.tar -C arc m1 m2
sx "$SLUICE" wc -z -j2 --joblog=alog a.tar
cp out want_tar
printf 'cccc\ncccc\n' >arc/m1
sleep 1
tar --mtime=@0 -cf a.tar -C arc m1 m2
sx "$SLUICE" wc -z -j2 --joblog=alog --resume a.tar
if [ "$rc" -eq 2 ] && grep -q 'a.tar:m1: unit 0 is not the unit that was done before' err &&
    ! cmp -s want_tar out; then
    ok resume.refuses-a-rebuilt-archive
else fail resume.refuses-a-rebuilt-archive "exit $rc; $(cat out err)"; fi

# No log yet: a fresh run that writes one.
rm -f log
sx "$SLUICE" wc -j2 --chunk-size=64k --joblog=log --resume good tree
if [ "$rc" -eq 0 ] && cmp -s want_resume out && [ "$(units log)" = "$all" ]; then
    ok resume.without-a-log-starts-afresh
else fail resume.without-a-log-starts-afresh "exit $rc; $(cat err)"; fi

# Ordered output is not logged: every unit runs again, same output.
O="$P/faulty_ordered.so"
sx "$SLUICE" run "$O" -j2 --chunk-size=64k --joblog=log good
cp out want_ordered
head -n 6 log >log2 && mv log2 log
sx "$SLUICE" run "$O" -j2 --chunk-size=64k --joblog=log --resume good
if [ "$rc" -eq 0 ] && cmp -s want_ordered out &&
    [ "$(awk -F'\t' '/^[0-9]/ && $9 != "-"' log | wc -l)" -eq 0 ]; then
    ok resume.ordered-output-runs-again
else fail resume.ordered-output-runs-again "exit $rc; $(cat err)"; fi

finish

#!/bin/bash
# tests/cli/faults.sh -- I/O faults and huge lines (docs/exit-codes.md).
#
#  - EIO on read, ENOSPC on write, EIO on fsync, EACCES on open, injected
#    by tests/faultinj.c (LD_PRELOAD) into the Nth call for N = 1, 2, ...
#    until a run goes past the last call: every run that meets the fault
#    ends with the documented status and a message naming the file, the
#    old output intact (or the new one complete), no temporary file left;
#    the run past the end succeeds with the right output.  Each run has a
#    timeout: a hang fails.  Under sanitizers the preloaded shim cannot
#    come before the sanitizer runtime: those cases are skipped, visibly.
#  - A full device: /dev/full as stdout; a 1 MiB tmpfs for `replace -o`
#    (root only).
#  - A 10 GB line: counting it stays in constant memory (peak RSS of a
#    1 GB and a 10 GB one-line sparse file about equal).
#
# Environment: SLUICE_BUILD_ROOT.
. "$(dirname "$0")/lib.sh"

SHIM="$SLUICE_BUILD_ROOT/tests/faultinj.so"
W="$T/faults"
mkdir -p "$W/d"
cd "$W" || exit 1

sanitized=0
if sanitized "$SLUICE"; then sanitized=1; fi

seq 1 30000 | sed 's/$/ some words here/' >orig
gzip -c orig >orig.gz
printf OLD >old
(cd "$W" && mkdir -p d && cp orig d/in && wc d/in >want.wc)

no_temp() { ! ls -A d | grep -q '^\.'; }

# Each case: prep (fresh files in d/), then the command, then ok_out
# STATUS (0 when the run went past the fault) checks what is left.
prep_plain() {
    rm -rf d && mkdir d && cp orig d/in
}
prep_gz() {
    prep_plain
    printf 'OLD' >d/in.gz
}
prep_gunzip() {
    rm -rf d && mkdir d && cp orig.gz d/z.gz && printf 'OLD' >d/z
}
out_wc() { # stdout of the run is in $W/out
    [ "$1" -ne 0 ] || [ "$(tr -s ' ' <out)" = "$(tr -s ' ' <want.wc)" ]
}
out_grep() {
    [ "$1" -ne 0 ] || [ "$(wc -l <out)" = 30000 ]
}
out_any() { true; }
out_replace() { # d/in: the old file, or (all done) the new one
    local new
    new=$(sed 's/some/SOME/g' orig)
    if [ "$1" -eq 0 ]; then
        [ "$(cat d/in)" = "$new" ]
    else
        cmp -s d/in orig || [ "$(cat d/in)" = "$new" ]
    fi
}
out_gzip() { # d/in.gz: "OLD", or (all done) the whole input compressed
    cmp -s d/in orig || return 1
    if [ "$1" -eq 0 ]; then
        gzip -dc d/in.gz | cmp -s - orig
    else
        cmp -s d/in.gz old || gzip -dc d/in.gz | cmp -s - orig
    fi
}
out_gunzip() {
    cmp -s d/z.gz orig.gz || return 1
    if [ "$1" -eq 0 ]; then
        cmp -s d/z orig
    else
        cmp -s d/z old || cmp -s d/z orig
    fi
}

# fault_case NAME CALL ERRNO STATUS PREP CHECK FILE CMD...
fault_case() {
    local name=$1 call=$2 errno=$3 want=$4 prep=$5 check=$6 file=$7
    shift 7
    if [ $sanitized -eq 1 ]; then
        skip "$name" "LD_PRELOAD shim under sanitizers"
        return
    fi
    local n r="" rc met=0 past=0
    for n in $(seq 1 100); do
        $prep
        rm -f rep out err
        env LD_PRELOAD="$SHIM" FAULT_CALL="$call" FAULT_N="$n" \
            FAULT_ERRNO="$errno" FAULT_PATH="$W/d" FAULT_REPORT="$W/rep" \
            timeout 60 "$@" >out 2>err
        rc=$?
        [ $rc -eq 124 ] && r+=" N=$n: timed out;"
        if [ -s rep ]; then
            met=$((met + 1))
            [ $rc -eq "$want" ] || r+=" N=$n: status $rc, want $want;"
            grep -q "$file" err || r+=" N=$n: no message naming $file: $(cat err);"
        else
            [ $rc -eq 0 ] || r+=" N=$n: no fault, status $rc: $(cat err);"
        fi
        $check "$( [ -s rep ] && echo 1 || echo 0)" || r+=" N=$n: output wrong;"
        no_temp || r+=" N=$n: temporary file left: $(ls -A d);"
        if [ ! -s rep ]; then
            past=1
            break
        fi
    done
    [ $met -gt 0 ] || r+=" the fault never fired;"
    [ $past -eq 1 ] || r+=" never ran past the fault;"
    if [ -z "$r" ]; then ok "$name ($met faults)"; else fail "$name" "$r"; fi
}

for j in 0 2; do
    fault_case "faults.wc.read-eio.j$j" pread64 EIO 1 prep_plain out_wc d/in \
        "$SLUICE" wc -j$j d/in
    fault_case "faults.wc.open-eacces.j$j" open EACCES 1 prep_plain out_wc \
        d/in "$SLUICE" wc -j$j d/in
    fault_case "faults.grep.read-eio.j$j" pread64 EIO 2 prep_plain out_grep \
        d/in "$SLUICE" grep -j$j some d/in
    fault_case "faults.replace.read-eio.j$j" pread64 EIO 1 prep_plain \
        out_replace d/in "$SLUICE" replace -j$j --in-place some SOME d/in
    fault_case "faults.replace.write-enospc.j$j" write ENOSPC 3 prep_plain \
        out_replace d/in "$SLUICE" replace -j$j --in-place some SOME d/in
    fault_case "faults.replace.fsync-eio.j$j" fsync EIO 3 prep_plain \
        out_replace d/in "$SLUICE" replace -j$j --in-place some SOME d/in
    fault_case "faults.gzip.read-eio.j$j" pread64 EIO 1 prep_gz out_gzip \
        d/in "$SLUICE" gzip -j$j -f -k d/in
    fault_case "faults.gzip.write-enospc.j$j" write ENOSPC 1 prep_gz out_gzip \
        d/in "$SLUICE" gzip -j$j -f -k d/in
    fault_case "faults.gzip.fsync-eio.j$j" fsync EIO 1 prep_gz out_gzip \
        d/in "$SLUICE" gzip -j$j -f -k d/in
    fault_case "faults.run.read-eio.j$j" pread64 EIO 1 prep_plain out_any \
        d/in "$SLUICE" run "$SLUICE_BUILD_ROOT/tests/ordered.so" -j$j d/in
    fault_case "faults.gunzip.read-eio.j$j" pread64 EIO 1 prep_gunzip \
        out_gunzip d/z "$SLUICE" gunzip -j$j -f -k d/z.gz
    fault_case "faults.gunzip.write-enospc.j$j" write ENOSPC 1 prep_gunzip \
        out_gunzip d/z "$SLUICE" gunzip -j$j -f -k d/z.gz
    fault_case "faults.gunzip.fsync-eio.j$j" fsync EIO 1 prep_gunzip \
        out_gunzip d/z "$SLUICE" gunzip -j$j -f -k d/z.gz
done

# ------------------------------------------------- allocation failures

# alloc_case NAME PREP CHECK CMD... -- fails the Nth allocation (malloc,
# calloc, realloc, aligned) of the command and its workers, for N from 1
# to one past the number a clean run makes.  A run that meets the
# failure either gets over it (a worker that died is replaced) with the
# right output, or ends with a message and a documented status (1, 2, 3
# or 5): never a crash, a hang, a partial file under the final name or a
# temporary file left.
alloc_case() {
    local name=$1 prep=$2 check=$3
    shift 3
    if [ $sanitized -eq 1 ]; then
        skip "$name" "LD_PRELOAD shim under sanitizers"
        return
    fi
    $prep
    rm -f cnt
    timeout 60 env LD_PRELOAD="$SHIM" FAULT_CALL=malloc FAULT_N=999999999 \
        FAULT_COUNT="$W/cnt" "$@" >out 2>err
    local total n rc r="" errs=0 overcome=0
    total=$(cat cnt 2>/dev/null)
    if [ -z "$total" ] || [ "$total" -lt 10 ]; then
        fail "$name" "counting run: status $?, count '$total': $(cat err)"
        return
    fi
    # Every N up to 400 calls; past that (grep's regexec allocates per
    # candidate line) 400 evenly spread, the last one and one past it.
    local step=$(((total + 399) / 400))
    for n in $(seq 1 "$step" "$total") "$total" $((total + 1)); do
        $prep
        rm -f rep out err
        timeout 60 env LD_PRELOAD="$SHIM" FAULT_CALL=malloc FAULT_N="$n" \
            FAULT_REPORT="$W/rep" "$@" >out 2>err
        rc=$?
        if [ $rc -ge 124 ]; then
            r+=" N=$n: status $rc (timeout or signal): $(head -c 300 err);"
        elif [ $rc -eq 0 ]; then
            $check 0 || r+=" N=$n: status 0, wrong output;"
            [ -s rep ] && overcome=$((overcome + 1))
        else
            errs=$((errs + 1))
            [ -s rep ] || r+=" N=$n: no fault, status $rc: $(cat err);"
            case $rc in 1 | 2 | 3 | 5) ;; *) r+=" N=$n: status $rc;" ;; esac
            grep -q '^sluice [a-z]*: ' err ||
                r+=" N=$n: status $rc without a message: $(head -c 300 err);"
            $check 1 || r+=" N=$n: output wrong;"
        fi
        no_temp || r+=" N=$n: temporary file left: $(ls -A d);"
    done
    [ -s rep ] && r+=" N=$((total + 1)) still met a failure;"
    [ $errs -gt 0 ] || r+=" no run failed;"
    if [ -z "$r" ]; then
        ok "$name ($total allocations: $errs errors, $overcome overcome)"
    else
        fail "$name" "$r"
    fi
}

prep_tree() {
    prep_plain
    for i in 1 2 3 4 5 6; do head -n $((i * 500)) orig >"d/t$i"; done
}
out_tree() {
    [ "$1" -ne 0 ] || [ "$(tail -n 1 out | tr -s ' ')" = "$(cd d && wc t1 t2 t3 t4 t5 t6 in | tail -n 1 | tr -s ' ')" ]
}
alloc_case alloc.wc.j0 prep_plain out_wc "$SLUICE" wc -j0 d/in
alloc_case alloc.wc.j2 prep_plain out_wc "$SLUICE" wc -j2 d/in
alloc_case alloc.wc-tree.j2 prep_tree out_tree "$SLUICE" wc -j2 d
alloc_case alloc.grep.j2 prep_plain out_grep "$SLUICE" grep -j2 some d/in
alloc_case alloc.replace.j2 prep_plain out_replace \
    "$SLUICE" replace -j2 --in-place some SOME d/in
alloc_case alloc.gzip.j2 prep_gz out_gzip "$SLUICE" gzip -j2 -f -k d/in
alloc_case alloc.gunzip.j2 prep_gunzip out_gunzip \
    "$SLUICE" gunzip -j2 -f -k d/z.gz
alloc_case alloc.run.j2 prep_plain out_any \
    "$SLUICE" run "$SLUICE_BUILD_ROOT/tests/ordered.so" -j2 d/in

# ------------------------------------------------------- a full device

# full_case NAME STATUS MESSAGE CMD... -- CMD's stdout is /dev/full
full_case() {
    local name=$1 want=$2 msg=$3
    shift 3
    timeout 60 "$@" >/dev/full 2>err
    local rc=$? r=""
    [ $rc -eq "$want" ] || r+=" status $rc, want $want;"
    grep -q "$msg" err || r+=" stderr: $(cat err);"
    if [ -z "$r" ]; then ok "$name"; else fail "$name" "$r"; fi
}
prep_plain
# GNU wc's own status and message for a failed write: 1, "write error".
full_case full.wc 1 '^sluice wc: write error' "$SLUICE" wc d/in
full_case full.replace 3 '^sluice replace: write error: No space left' \
    "$SLUICE" replace some SOME d/in
full_case full.grep 2 '^sluice grep: write error: No space left' \
    "$SLUICE" grep some d/in
full_case full.gzip 1 '^sluice gzip: stdout: No space left' \
    "$SLUICE" gzip -c d/in
full_case full.run 3 '^sluice run: write error: No space left' \
    "$SLUICE" run "$SLUICE_BUILD_ROOT/tests/ordered.so" d/in

M="$T/small"
mkdir -p "$M"
if [ "$(id -u)" -eq 0 ] && mount -t tmpfs -o size=1m tmpfs "$M" 2>/dev/null; then
    head -c 3000000 /dev/urandom | base64 >d/big
    timeout 60 "$SLUICE" replace -o "$M" a b d/big d/in 2>err
    rc=$?
    r=""
    [ $rc -eq 3 ] || r+=" status $rc, want 3;"
    grep -q "d/big" err || r+=" stderr: $(cat err);"
    [ -e "$M/d/big" ] && r+=" partial file under the final name;"
    [ -n "$(find "$M" -name '.*' -type f)" ] && r+=" temporary file left;"
    if [ -z "$r" ]; then ok full.replace-o-tmpfs; else fail full.replace-o-tmpfs "$r"; fi
    umount "$M"
else
    skip full.replace-o-tmpfs "needs root to mount a small tmpfs"
fi

# ------------------------------------------------------- a 10 GB line

# Peak RSS (KiB) of `sluice wc` on a one-line sparse file of SIZE.
peak() {
    truncate -s "$1" line
    /usr/bin/time -f %M -o rss "$SLUICE" wc -j2 line >out 2>err || return 1
    rm -f line
    tail -n 1 rss
}
if [ -x /usr/bin/time ]; then
    m1=$(peak 1G)
    m10=$(peak 10G)
    if [ -n "$m1" ] && [ -n "$m10" ] &&
        [ "$m10" -le $((m1 * 2 + 32768)) ]; then
        ok "memory.wc-10g-line (1G: $m1 KiB, 10G: $m10 KiB)"
    else
        fail memory.wc-10g-line "peak RSS 1G: $m1 KiB, 10G: $m10 KiB; $(cat err)"
    fi
else
    skip memory.wc-10g-line "no /usr/bin/time"
fi

# --max-line: `sluice replace` fails an input with a longer line, at the
# line's offset, and writes nothing of that input.
r=""
line_of() { head -c "$1" /dev/zero | tr '\0' a; }
{ echo one; line_of 100; echo; echo two; } >ml
{ echo one; line_of 101; echo; echo two; } >ml2
"$SLUICE" replace --max-line 100 a b ml >out 2>err ||
    r+=" 100-byte line refused: $(cat err);"
cmp -s out <(sed 's/a/b/g' ml) || r+=" 100-byte line: wrong output;"
"$SLUICE" replace --max-line 100 a b ml2 >out 2>err
rc=$?
[ $rc -eq 1 ] || r+=" 101-byte line: status $rc;"
[ "$(cat err)" = "sluice replace: ml2: offset 4: line longer than --max-line (100 bytes)" ] ||
    r+=" 101-byte line: stderr $(cat err);"
[ -s out ] && r+=" 101-byte line: output $(head -c 100 out);"
"$SLUICE" replace --max-line 100 a b <ml2 >out 2>err
[ $? -eq 1 ] && grep -q 'offset 4: line longer' err || r+=" stdin: $(cat err);"
# In the middle of a file read in ranges, with workers.
{ seq 1 200000; line_of 5000; echo; seq 1 200000; } >mlbig
off=$(seq 1 200000 | wc -c)
for j in 0 2; do
    "$SLUICE" replace -j$j --chunk-size 64k --max-line 4k 1 X mlbig >out 2>err
    rc=$?
    [ $rc -eq 1 ] || r+=" ranges j$j: status $rc;"
    grep -q "mlbig: offset $off: line longer than --max-line (4096 bytes)" err ||
        r+=" ranges j$j: stderr $(cat err);"
    # Lines before the long one may be out already; none from it on.
    n=$(stat -c %s out)
    [ "$n" -le "$off" ] || r+=" ranges j$j: output past the long line;"
    cmp -s out <(sed 's/1/X/g' mlbig | head -c "$n") ||
        r+=" ranges j$j: wrong output;"
done
"$SLUICE" replace -j2 --chunk-size 64k --max-line 5000 1 X mlbig >out 2>err ||
    r+=" 5000-byte line refused with --max-line 5000: $(cat err);"
cmp -s out <(sed 's/1/X/g' mlbig) || r+=" --max-line 5000: wrong output;"
if [ -z "$r" ]; then ok max-line.replace; else fail max-line.replace "$r"; fi

# --max-line: `sluice grep` (status 2, as for any input error), the long
# line in a file read in ranges, on stdin, and exactly at the limit.
r=""
for j in 0 2; do
    "$SLUICE" grep -j$j --max-line 100 a ml >out 2>err ||
        r+=" j$j: 100-byte line refused: $(cat err);"
    cmp -s out <(grep a ml) || r+=" j$j: 100-byte line: wrong output;"
    "$SLUICE" grep -j$j --max-line 100 a ml2 >out 2>err
    rc=$?
    [ $rc -eq 2 ] || r+=" j$j: 101-byte line: status $rc;"
    [ "$(cat err)" = "sluice grep: ml2: offset 4: line longer than --max-line (100 bytes)" ] ||
        r+=" j$j: 101-byte line: stderr $(cat err);"
    "$SLUICE" grep -j$j --max-line 100 a <ml2 >out 2>err
    [ $? -eq 2 ] && grep -q 'offset 4: line longer' err || r+=" j$j: stdin: $(cat err);"
    "$SLUICE" grep -j$j --chunk-size 64k --max-line 4k 1 mlbig >out 2>err
    rc=$?
    [ $rc -eq 2 ] || r+=" ranges j$j: status $rc;"
    grep -q "mlbig: offset $off: line longer than --max-line (4096 bytes)" err ||
        r+=" ranges j$j: stderr $(cat err);"
    n=$(stat -c %s out)
    cmp -s out <(grep 1 mlbig | head -c "$n") || r+=" ranges j$j: wrong output;"
    [ "$n" -le "$off" ] || r+=" ranges j$j: output past the long line;"
done
if [ -z "$r" ]; then ok max-line.grep; else fail max-line.grep "$r"; fi

# A 10 GB line (sparse): refused at offset 0, nothing written, the old
# file intact with --in-place, memory bounded (256 MiB: far below a line).
truncate -s 10G d/line
/usr/bin/time -f %M -o rss "$SLUICE" replace -j2 --in-place a b d/line 2>err
rc=$?
r=""
[ $rc -eq 1 ] || r+=" status $rc;"
grep -q 'd/line: offset 0: line longer than --max-line (4194304 bytes)' err ||
    r+=" stderr: $(cat err);"
[ "$(stat -c %s d/line)" = 10737418240 ] || r+=" d/line changed;"
no_temp || r+=" temporary file left;"
[ "$(tail -n 1 rss)" -le 262144 ] || r+=" peak RSS $(tail -n 1 rss) KiB;"
rm -f d/line
if [ -z "$r" ]; then ok max-line.replace-10g; else fail max-line.replace-10g "$r"; fi

truncate -s 10G d/line
/usr/bin/time -f %M -o rss "$SLUICE" grep -j2 --max-line 4M a d/line >out 2>err
rc=$?
r=""
[ $rc -eq 2 ] || r+=" status $rc;"
grep -q 'd/line: offset 0: line longer than --max-line (4194304 bytes)' err ||
    r+=" stderr: $(cat err);"
[ -s out ] && r+=" output;"
[ "$(tail -n 1 rss)" -le 262144 ] || r+=" peak RSS $(tail -n 1 rss) KiB;"
rm -f d/line
if [ -z "$r" ]; then ok max-line.grep-10g; else fail max-line.grep-10g "$r"; fi

finish

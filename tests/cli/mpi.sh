#!/bin/bash
# tests/cli/mpi.sh -- sluice-mpi under its MPI's launcher (Open MPI's
# mpirun, or MPICH's mpiexec.mpich for a build with -Dmpi_flavour=mpich),
# 1 to 3 ranks oversubscribed on this machine's cores (docs/distributed.md).
#
#  - The same stdout, stderr lines and exit status as the local `sluice`:
#    wc on a file, a tree, both with a missing file, with counter, format
#    and engine options, -j0; `run` with a merging and an ordered plugin;
#    grep, replace, gzip, gunzip, zcat to stdout and to files.
#  - Ordered output through the spool: in pieces, removed after; on a full
#    disk (a short count, or a short file), in a missing directory, and
#    with a full TMPDIR under a rank's spill, a write the file system
#    lost, a message and the command's write-error status, nothing on
#    stdout.
#  - What it refuses: a stream (stdin), a launch by another MPI's launcher
#    (the world size its environment announces is not MPI's), ranks that
#    see another job.
#  - A rank killed mid-job ends the job at once: non-zero status, nothing
#    on stdout; --resume with the ranks' job logs completes it.
# Every run has a timeout.  Exits 77 (skipped) when sluice-mpi was not
# built or its launcher is missing.
# Environment: SLUICE_BUILD_ROOT, SLUICE_TEST_PLUGIN_DIR, SLUICE_MPI_FLAVOUR.
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh disable=SC1091
. "$(dirname "$0")/lib.sh"

MPI_SLUICE="$SLUICE_BUILD_ROOT/cli/sluice-mpi"
P=${SLUICE_TEST_PLUGIN_DIR:?}
# The launcher, the name its ranks' parent goes by, and the variable by
# which another MPI's launcher announces the world size.
case ${SLUICE_MPI_FLAVOUR:-openmpi} in
mpich) MPIRUN=mpiexec.mpich RANK_PARENT=hydra_pmi_proxy FOREIGN=OMPI_COMM_WORLD_SIZE ;;
*) MPIRUN=mpirun RANK_PARENT=mpirun FOREIGN=PMI_SIZE ;;
esac
if [ ! -x "$MPI_SLUICE" ] || ! command -v "$MPIRUN" >/dev/null; then
    echo "SKIP: needs sluice-mpi (meson option mpi) and $MPIRUN"
    exit 77
fi
export LC_ALL=C
# Open MPI refuses root without these; the ranks share 2 cores.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1
# Its runtime keeps memory until exit: not sluice's leaks.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
cd "$T" || exit 1

mpi() { # NP ARGS... -- runs sluice-mpi; stdout out, stderr err, status rc
    local np=$1
    shift
    timeout 120 "$MPIRUN" -np "$np" "$MPI_SLUICE" "$@" >out 2>err
    rc=$?
}
loc() { # ARGS... -- the local sluice; lout, lerr, lrc
    timeout 120 "$SLUICE" "$@" >lout 2>lerr
    lrc=$?
}
# sluice's own messages, the command's name left out (mpirun adds lines of
# its own when a rank exits non-zero).
msgs() { grep '^sluice' "$1" | sed 's/^sluice\(-mpi\)\? [a-z]*: //'; }

# Inputs: a large file (many units), a tree of small files (batches).
awk 'BEGIN { srand(3); for (i = 0; i < 300000; i++) {
    n = int(rand() * 12); s = ""
    for (k = 0; k < n; k++) s = s sprintf("%c", 97 + int(rand() * 26)) " "
    print s } }' >big
mkdir -p tree/a tree/b
for i in $(seq 1 40); do
    head -c $((i * 997)) big >"tree/$([ $((i % 2)) -eq 0 ] && echo a || echo b)/f$i"
done
printf 'caf\xc3\xa9 na\xc3\xafve\n' >tree/utf8

same() { # NAME ARGS... -- sluice-mpi on 1, 2 and 3 ranks against sluice
    local name=$1
    shift
    loc "$@"
    local np r=""
    for np in 1 2 3; do
        mpi "$np" "$@"
        [ "$rc" -eq "$lrc" ] || r+=" np $np: status $rc, local $lrc;"
        cmp -s out lout || r+=" np $np: stdout differs: $(diff lout out | head -5);"
        [ "$(msgs err)" = "$(msgs lerr)" ] ||
            r+=" np $np: messages differ: $(msgs err) / $(msgs lerr);"
    done
    if [ -z "$r" ]; then ok "$name"; else fail "$name" "$r"; fi
}

same wc.file wc --chunk-size=64k big
same wc.tree wc tree
same wc.file-tree-missing wc --chunk-size=64k big missing tree
same wc.counters wc -l -w --chunk-size=64k big tree
LC_ALL=C.UTF-8
same wc.chars-max-line-utf8 wc -m -L tree
LC_ALL=C
same wc.json wc --json --chunk-size=128k big tree
same wc.inline wc -j0 --chunk-size=64k big tree
same wc.total-only wc --total=only --chunk-size=64k big tree
same run.summer run "$P/summer.so" --chunk-size=64k big tree

# A poisoned unit under --keep-going: its rank leaves it out, rank 0 runs
# it again and reports it as the local command does.
{ head -n 100000 big; echo CRASH; tail -n 100000 big; } >crash
same run.keep-going run "$P/faulty.so" --keep-going --chunk-size=64k big crash tree

# Ordered output: every rank writes its units' output into the spool (a
# temporary file in SLUICE_SPOOL_DIR, here the current directory) at its
# place; rank 0 hands it to the command's own code (stdout, or files
# committed as the local command commits them).  No spool is left.
same grep.file grep -n 'ab' --chunk-size=64k big
same grep.tree grep -c 'q' tree
same grep.files-with-matches grep -l 'zz' big tree
same grep.no-match grep 'no such words here' --chunk-size=64k big tree
same replace.stdout replace --chunk-size=64k ab AB big
same gzip.stdout gzip -c big
gzip -c big >big.gz
same zcat.members zcat big.gz
same gunzip.stdout gunzip -c big.gz
# Output larger than one collective write (64 MiB a rank and a call).
head -c 200000000 /dev/zero | gzip -1 >zeros.gz
same gunzip.spool-in-pieces gunzip -c zeros.gz
rm -f zeros.gz
if [ -z "$(find . -maxdepth 1 -name '.sluice-mpi-*')" ]; then
    ok spool.removed
else fail spool.removed "$(find . -maxdepth 1 -name '.sluice-mpi-*')"; fi
# Files: FILE.gz written and committed by rank 0, the input removed after
# it, as locally.
r=""
for np in 1 2 3; do
    rm -rf fl fm && mkdir fl fm && cp big fl/in && cp big fm/in
    loc gzip fl/in
    mpi "$np" gzip fm/in
    [ "$rc" -eq "$lrc" ] || r+=" np $np: status $rc, local $lrc;"
    cmp -s fl/in.gz fm/in.gz || r+=" np $np: in.gz differs;"
    [ ! -e fm/in ] || r+=" np $np: input kept;"
    loc gunzip fl/in.gz
    mpi "$np" gunzip fm/in.gz
    cmp -s fm/in big || r+=" np $np: gunzip output differs;"
    [ ! -e fm/in.gz ] || r+=" np $np: gunzip input kept;"
done
if [ -z "$r" ]; then ok gzip-gunzip.files; else fail gzip-gunzip.files "$r"; fi

# A full disk: a small tmpfs, root only.  gzip's message and status, the
# input kept, no FILE.gz and no temporary file left.
M="$T/small"
mkdir -p "$M"
if [ "$(id -u)" -eq 0 ] && mount -t tmpfs -o size=4m tmpfs "$M" 2>/dev/null; then
    head -c 3000000 /dev/urandom >"$M/rand"
    mpi 2 gzip "$M/rand"
    r=""
    [ "$rc" -eq 1 ] || r+=" status $rc;"
    grep -q "No space left on device" err || r+=" stderr: $(grep sluice err);"
    [ -e "$M/rand" ] || r+=" input removed;"
    [ ! -e "$M/rand.gz" ] || r+=" rand.gz left;"
    [ -z "$(find "$M" -name '.*' -type f)" ] || r+=" temporary file left;"
    umount "$M"
    if [ -z "$r" ]; then ok fault.full-disk; else fail fault.full-disk "$r"; fi
    # The spool on a full disk: a rank's write comes back short, or (when
    # another rank wrote for it, collective buffering) rank 0 finds the
    # file short.  The command's write-error status, nothing on stdout, no
    # spool left.
    mount -t tmpfs -o size=1m tmpfs "$M"
    head -c 3000000 /dev/urandom >rand
    r=""
    for np in 1 2 3; do
        SLUICE_SPOOL_DIR=$M mpi "$np" gzip -c rand
        [ "$rc" -eq 1 ] || r+=" np $np: gzip status $rc;"
        [ ! -s out ] || r+=" np $np: gzip wrote stdout;"
        grep -qi "^sluice-mpi gzip: .*$M/.sluice-mpi-.*no space left on device" err ||
            r+=" np $np: gzip: $(grep sluice err);"
        SLUICE_SPOOL_DIR=$M mpi "$np" grep -n " " --chunk-size=64k big
        [ "$rc" -eq 2 ] || r+=" np $np: grep status $rc;"
        [ ! -s out ] || r+=" np $np: grep wrote stdout;"
        [ -z "$(ls -A "$M")" ] || r+=" np $np: left $(ls -A "$M");"
    done
    umount "$M"
    if [ -z "$r" ]; then ok fault.spool-full-disk; else fail fault.spool-full-disk "$r"; fi
    # A full TMPDIR under a rank's spill (its output kept until the spool
    # is written): its message, the write-error status, nothing on stdout.
    # (16 MiB: MPI keeps its own session files in TMPDIR.)
    mount -t tmpfs -o size=16m tmpfs "$M"
    head -c 60000000 /dev/zero | gzip -1 >zeros.gz
    r=""
    for np in 1 2; do
        TMPDIR=$M mpi "$np" gunzip -c zeros.gz
        [ "$rc" -eq 1 ] || r+=" np $np: status $rc;"
        [ ! -s out ] || r+=" np $np: wrote stdout;"
        grep -q "^sluice-mpi gunzip: .*cannot keep the output of units [0-9]*-[0-9]* in $M: No space left on device" err ||
            r+=" np $np: $(grep sluice err);"
        [ -z "$(find . -maxdepth 1 -name '.sluice-mpi-*')" ] || r+=" np $np: spool left;"
    done
    rm -f zeros.gz
    umount "$M"
    if [ -z "$r" ]; then ok fault.spill-full-tmpdir; else fail fault.spill-full-tmpdir "$r"; fi
else
    skip fault.full-disk "needs root to mount a small tmpfs"
    skip fault.spool-full-disk "needs root to mount a small tmpfs"
    skip fault.spill-full-tmpdir "needs root to mount a small tmpfs"
fi
# A write the file system lost (it said it wrote every byte and wrote
# none; later writes keep the file's size): rank 0's check of each rank's
# bytes finds it.  The write-error status, nothing on stdout, no spool.
# (The shim is preloaded: under sanitizers it cannot come before their
# runtime, and the case is skipped.)
if sanitized "$MPI_SLUICE"; then
    skip fault.spool-lost-write "LD_PRELOAD shim under sanitizers"
else
    seq 1 12000000 >seqs
    timeout 120 "$MPIRUN" -np 1 env LD_PRELOAD="$SLUICE_BUILD_ROOT/tests/faultinj.so" \
        FAULT_CALL=pwrite64 FAULT_PATH=.sluice-mpi FAULT_N=1 FAULT_ERRNO=LOST \
        FAULT_REPORT="$T/lost.rep" "$MPI_SLUICE" replace 1 X seqs >out 2>err
    rc=$?
    if [ "$rc" -eq 3 ] && [ ! -s out ] && grep -q '^pwrite64 1 ' lost.rep &&
        grep -q "^sluice-mpi replace: ./.sluice-mpi-.*: bytes 0-[0-9]* are not what rank 0 wrote: a write was lost" err &&
        [ -z "$(find . -maxdepth 1 -name '.sluice-mpi-*')" ]; then
        ok fault.spool-lost-write
    else fail fault.spool-lost-write "status $rc; $(cat lost.rep 2>/dev/null); $(grep sluice err)"; fi
    rm -f seqs lost.rep
fi

# A spool directory that is not there: a message that says what to set.
SLUICE_SPOOL_DIR=$T/no-such-dir mpi 2 grep -n a big
if [ "$rc" -eq 2 ] && [ ! -s out ] &&
    grep -q "cannot create the output spool in $T/no-such-dir (No such file or directory): SLUICE_SPOOL_DIR" err; then
    ok fault.spool-dir-missing
else fail fault.spool-dir-missing "status $rc; $(grep sluice err)"; fi

# More ranks than units: the extra ranks get no share.
same wc.more-ranks-than-units wc tree/utf8

# ------------------------------------------------------------ refusals
# (A few bytes: MPICH's launcher ends the job when rank 0 leaves much of
# its stdin unread.)
mpi 2 wc - < <(printf 'one two\n')
if [ "$rc" -ne 0 ] && grep -q '^sluice-mpi wc: .*-: not a regular file: a stream cannot be shared' err && [ ! -s out ]; then
    ok refuses.stdin
else fail refuses.stdin "status $rc; $(cat out err)"; fi
same run.ordered-plugin run "$P/ordered.so" --chunk-size=64k big tree
# Another MPI's launcher starts each process as a world of one, telling it
# the real size in its environment (MPICH's hydra: PMI_SIZE; Open MPI's
# mpirun: OMPI_COMM_WORLD_SIZE).
timeout 60 env "$FOREIGN=3" "$MPI_SLUICE" wc big >out 2>err
rc=$?
if [ "$rc" -eq 2 ] && grep -q "started as one of 3 processes ($FOREIGN) but MPI sees a world of 1" err && [ ! -s out ]; then
    ok refuses.foreign-launcher
else fail refuses.foreign-launcher "status $rc; $(cat err)"; fi

# Ranks that do not run the same job (here: another locale on one rank).
timeout 120 "$MPIRUN" -np 1 env LC_ALL=C "$MPI_SLUICE" wc big : \
    -np 1 env LC_ALL=C.UTF-8 "$MPI_SLUICE" wc big >out 2>err
rc=$?
if [ "$rc" -ne 0 ] && grep -q '^sluice-mpi wc: rank 0 of 2: the ranks do not see the same job' err && [ ! -s out ]; then
    ok refuses.ranks-running-another-job
else fail refuses.ranks-running-another-job "status $rc; $(cat out err)"; fi

# ------------------------------------------------------------- faults
# What a rank printed to stdout: all of it but the banner MPICH's launcher
# prints there when a rank dies.
ranks_stdout() {
    grep -v -e '^ *=' -e '^YOUR APPLICATION TERMINATED' -e '^This typically' \
        -e '^Please see the FAQ' -e '^ *$' "$1"
}
# A rank killed mid-job: the launcher ends the others; nothing is printed.
timeout 120 "$MPIRUN" -np 2 "$MPI_SLUICE" run "$P/faulty.so" -P slow_us=200000 \
    --chunk-size=16k big >out 2>err &
mp=$!
ranks=""
# The ranks: sluice-mpi processes whose parent is the launcher (their
# workers' parent is a rank).
ranks_of_mpirun() {
    local pid
    for pid in $(pgrep -f "^$MPI_SLUICE run"); do
        [ "$(ps -o comm= -p "$(ps -o ppid= -p "$pid" | tr -d ' ')")" = "$RANK_PARENT" ] &&
            echo "$pid"
    done
}
for _ in $(seq 1 100); do
    ranks=$(ranks_of_mpirun)
    [ "$(echo "$ranks" | wc -w)" -ge 2 ] && break
    sleep 0.1
done
sleep 1
start=$(date +%s)
kill -9 "$(echo "$ranks" | sed -n 2p)" 2>/dev/null
wait "$mp"
rc=$?
took=$(($(date +%s) - start))
sleep 0.5
left=$(pgrep -f "$MPI_SLUICE run" | wc -l)
if [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && [ -z "$(ranks_stdout out)" ] && [ "$took" -lt 30 ] &&
    [ "$left" -eq 0 ]; then
    ok "fault.rank-killed (status $rc after ${took}s)"
else fail fault.rank-killed "status $rc after ${took}s; $left processes left; $(cat out err | head -20)"; fi

# --joblog: rank 0 writes FILE, rank N FILE.rank-N.  A rank killed
# mid-job, then --resume: the units any rank finished are taken from the
# logs, the rest runs, the output is the uninterrupted run's.  The local
# sluice resumes from the same logs.
slow=(run "$P/faulty.so" -P slow_us=100000 --chunk-size=16k)
loc "${slow[@]}" big
cp lout want_slow
rm -f log log.rank-*
timeout 120 "$MPIRUN" -np 2 "$MPI_SLUICE" "${slow[@]}" --joblog=log big >out 2>err &
for _ in $(seq 1 200); do
    a=$(grep -c '^[0-9]' log 2>/dev/null)
    b=$(grep -c '^[0-9]' log.rank-1 2>/dev/null)
    [ "${a:-0}" -ge 3 ] && [ "${b:-0}" -ge 3 ] && break
    sleep 0.1
done
ranks=""
for _ in $(seq 1 50); do
    ranks=$(ranks_of_mpirun)
    [ "$(echo "$ranks" | wc -w)" -ge 2 ] && break
    sleep 0.1
done
kill -9 "$(echo "$ranks" | sed -n 2p)" 2>/dev/null
wait
before=$(cat log log.rank-1 | grep -c '^[0-9]')
timeout 120 "$SLUICE" run "$P/faulty.so" --chunk-size=16k --joblog=full.log big >/dev/null 2>&1
total=$(grep -c '^[0-9]' full.log)
mpi 2 "${slow[@]}" --joblog=log --resume big
after=$(cat log log.rank-1 | grep -c '^[0-9]')
seqs=$(cat log log.rank-1 | awk -F'\t' '/^[0-9]/ { print $1 }' | sort -n | uniq | wc -l)
if [ "$rc" -eq 0 ] && cmp -s want_slow out && [ "$before" -ge 6 ] &&
    [ "$before" -lt "$total" ] && [ "$after" -eq "$total" ] && [ "$seqs" -eq "$total" ]; then
    ok "joblog.resume-after-a-rank-died ($before of $total units kept)"
else
    fail joblog.resume-after-a-rank-died "status $rc; units $before before, $after after, $seqs distinct, $total in all; $(cat err | head -5)"
fi
timeout 120 "$SLUICE" "${slow[@]}" --joblog=log --resume big >lout 2>lerr
lrc=$?
if [ "$lrc" -eq 0 ] && cmp -s want_slow lout &&
    [ "$(cat log log.rank-1 | grep -c '^[0-9]')" -eq "$total" ]; then
    ok joblog.local-resume-from-rank-logs
else fail joblog.local-resume-from-rank-logs "status $lrc; $(cat lerr)"; fi

finish

#!/bin/bash
# tests/cli/commit.sh -- no command that writes files replaces one it was
# not asked to (cli/commit.c).  For gzip, gunzip, replace -o, replace
# --in-place and sluice-mpi's gunzip:
#
#  - two inputs of one run whose outputs take one name: the first output
#    stays, the second input is kept, with gzip's message and status
#    (GNU gzip is the oracle where it has the same case), replace's own
#    otherwise; -f replaces, as in gzip;
#  - a file made under the output name by another process while the job
#    runs: the job is held just before its commit (the fault shim's HOLD:
#    the temporary file's fsync waits on a FIFO), the test makes the file,
#    then lets the job go on.  The other file stays, the input is kept;
#  - --in-place: the input replaced by another file, or written to, while
#    it was read: the other file (or the other write) stays; through a
#    symbolic link the file it names is rewritten.
# The held cases preload the shim: under sanitizers they are skipped.
# Environment: SLUICE_BUILD_ROOT, SLUICE_MPI_FLAVOUR.
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh disable=SC1091
. "$(dirname "$0")/lib.sh"

GZIP_BIN=${GZIP_BIN:-/usr/bin/gzip}
SHIM="$SLUICE_BUILD_ROOT/tests/faultinj.so"
export GZIP= LC_ALL=C
HOLD_OK=true
if sanitized "$SLUICE"; then
    HOLD_OK=false
fi

# fresh NAME -- an empty directory $T/NAME, made the current one
fresh() {
    rm -rf "${T:?}/$1"
    mkdir -p "$T/$1"
    cd "$T/$1" || exit 1
}

# listing -- the files here with their contents (a .gz's decompressed:
# sluice's members differ from gzip's), one line each
listing() {
    local f
    for f in $(find . -type f | sort); do
        case $f in
        *.gz) printf '%s %s\n' "$f" "$("$GZIP_BIN" -dc "$f" | od -An -c | tr -s ' ')" ;;
        *) printf '%s %s\n' "$f" "$(od -An -c "$f" | tr -s ' ' | head -c 200)" ;;
        esac
    done
}

# same_as_gzip NAME SETUP ARGS... -- runs SETUP then `gzip ARGS` in two
# fresh directories, once with GNU gzip, once with sluice: the same status,
# stdout, stderr (prefix aside) and files.
same_as_gzip() {
    local name=$1 setup=$2
    shift 2
    fresh "$name.gnu"
    eval "$setup"
    "$GZIP_BIN" "$@" >../out.gnu 2>../err.gnu
    local grc=$?
    local gfiles
    gfiles=$(listing)
    fresh "$name.sl"
    eval "$setup"
    timeout "$RUN_TIMEOUT" "$SLUICE" gzip "$@" >../out.sl 2>../err.sl
    local src=$?
    local sfiles
    sfiles=$(listing)
    cd "$T" || exit 1
    sed 's/^gzip:/sluice gzip:/' err.gnu >err.gnu.s
    if [ $grc -eq $src ] && cmp -s out.gnu out.sl && cmp -s err.gnu.s err.sl &&
        [ "$gfiles" = "$sfiles" ]; then
        ok "$name"
    else
        fail "$name" "status $src (gzip $grc); stderr: $(cat err.sl) (gzip: $(cat err.gnu)); files: $sfiles (gzip: $gfiles)"
    fi
}

# ---------------------------------------------- two inputs, one output

same_as_gzip gunzip.two-inputs-one-name \
    'echo 1 | gzip >d.gz; echo 2 | gzip >d.z' -d d.gz d.z
same_as_gzip gunzip.two-inputs-one-name.tgz \
    'echo 1 | gzip >t.tar.gz; echo 2 | gzip >t.tgz' -d t.tgz t.tar.gz
same_as_gzip gunzip.two-inputs-one-name.upper \
    'echo 1 | gzip >u.gz; echo 2 | gzip >u.GZ' -d u.gz u.GZ
same_as_gzip gunzip.two-inputs-one-name.force \
    'echo 1 | gzip >d.gz; echo 2 | gzip >d.z' -d -f d.gz d.z
same_as_gzip gunzip.two-inputs-one-name.keep \
    'echo 1 | gzip >d.gz; echo 2 | gzip >d-gz' -d -k d.gz d-gz
same_as_gzip gzip.two-inputs-one-name \
    'echo 1 >a' -k a ./a
same_as_gzip gunzip.same-input-twice \
    'echo 1 | gzip >d.gz' -d -k d.gz ./d.gz

# The MPI build commits through the same code (rank 0).
MPI_SLUICE="$SLUICE_BUILD_ROOT/cli/sluice-mpi"
case ${SLUICE_MPI_FLAVOUR:-openmpi} in
mpich) MPIRUN=mpiexec.mpich ;;
*) MPIRUN=mpirun ;;
esac
HAVE_MPI=false
if [ -x "$MPI_SLUICE" ] && command -v "$MPIRUN" >/dev/null; then
    HAVE_MPI=true
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
    export OMPI_MCA_rmaps_base_oversubscribe=1
fi
if $HAVE_MPI; then
    fresh mpi
    echo 1 | gzip >d.gz
    echo 2 | gzip >d.z
    ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
        timeout 120 "$MPIRUN" -np 2 "$MPI_SLUICE" gunzip d.gz d.z >out 2>err
    rc=$?
    if [ $rc -eq 2 ] && [ "$(cat d)" = 1 ] && [ -f d.z ] && [ ! -e d.gz ] &&
        grep -q "^sluice-mpi gunzip: d already exists;	not overwritten$" err; then
        ok mpi.gunzip.two-inputs-one-name
    else
        fail mpi.gunzip.two-inputs-one-name "status $rc; $(cat err); $(listing)"
    fi
else
    skip mpi.gunzip.two-inputs-one-name "sluice-mpi not built"
fi

# replace -o: two operands naming one file, a file already there
fresh replace.two-inputs-one-name
mkdir tree
echo foo >tree/a
timeout "$RUN_TIMEOUT" "$SLUICE" replace -o out foo X tree/a ./tree/a >o 2>e
rc=$?
if [ $rc -eq 1 ] && [ "$(cat out/tree/a)" = X ] &&
    [ "$(cat e)" = "sluice replace: out/./tree/a: exists; not overwritten (--force replaces it)" ] &&
    ! has_temp out/tree; then
    ok replace.two-inputs-one-name
else
    fail replace.two-inputs-one-name "status $rc; $(cat e); $(listing)"
fi
echo old >out/tree/b
echo foo >tree/b
timeout "$RUN_TIMEOUT" "$SLUICE" replace -o out foo Y tree/b >o 2>e
rc=$?
timeout "$RUN_TIMEOUT" "$SLUICE" replace -f -o out foo Z tree/b >o2 2>e2
rc2=$?
if [ $rc -eq 1 ] && grep -q 'out/tree/b: exists; not overwritten' e &&
    [ $rc2 -eq 0 ] && [ ! -s e2 ] && [ "$(cat out/tree/b)" = Z ]; then
    ok replace.existing-kept-force-replaces
else
    fail replace.existing-kept-force-replaces "status $rc $rc2; $(cat e e2); $(cat out/tree/b)"
fi

# --in-place, one file named twice: the second pass read the file the
# first one replaced, and must not overwrite the new one.
fresh replace.in-place-twice
echo foo >f
timeout "$RUN_TIMEOUT" "$SLUICE" replace --in-place foo X f ./f >o 2>e
rc=$?
if [ $rc -eq 1 ] && [ "$(cat f)" = X ] && grep -q '^sluice replace: ./f: replaced by another file while being read; not rewritten$' e &&
    ! has_temp .; then
    ok replace.in-place-twice
else
    fail replace.in-place-twice "status $rc; $(cat e); $(listing)"
fi

# --in-place through a symbolic link rewrites the file it names; the link
# stays a link
fresh replace.in-place.symlink
echo foo >target
ln -s target link
timeout "$RUN_TIMEOUT" "$SLUICE" replace --in-place foo X link >o 2>e
rc=$?
if [ $rc -eq 0 ] && [ -L link ] && [ "$(cat target)" = X ] && [ ! -s e ]; then
    ok replace.in-place.symlink
else
    fail replace.in-place.symlink "status $rc; $(cat e); $(ls -l)"
fi

# ------------------------------------------------ another process races

# held NAME PATTERN DO-MEANWHILE CMD... -- runs CMD with its first fsync of
# a file whose path holds PATTERN held, runs DO-MEANWHILE, lets CMD go on;
# status in rc, stdout o, stderr e.
held() {
    local pattern=$2 meanwhile=$3
    shift 3
    rm -f hold.fifo hold.rep
    mkfifo hold.fifo
    timeout "$RUN_TIMEOUT" env LD_PRELOAD="$SHIM" FAULT_CALL=fsync FAULT_N=1 \
        FAULT_PATH="$pattern" FAULT_ERRNO=HOLD FAULT_HOLD="$PWD/hold.fifo" \
        FAULT_REPORT="$PWD/hold.rep" "$@" >o 2>e &
    local pid=$!
    # Opening the FIFO for writing waits until the command is held.
    timeout "$RUN_TIMEOUT" bash -c 'exec 9>hold.fifo; eval "$1"' _ "$meanwhile"
    wait $pid
    rc=$?
    rm -f hold.fifo
}

if $HOLD_OK; then
    fresh gunzip.race
    echo mine | gzip >d.gz
    held gunzip.race /.d. 'echo theirs >d' "$SLUICE" gunzip d.gz
    if [ $rc -eq 2 ] && [ "$(cat d)" = theirs ] && [ -f d.gz ] &&
        grep -q '^fsync 1 ' hold.rep &&
        [ "$(cat e)" = "sluice gunzip: d already exists;	not overwritten" ] &&
        ! has_temp .; then
        ok gunzip.race
    else
        fail gunzip.race "status $rc; $(cat e); $(cat hold.rep 2>/dev/null); $(listing)"
    fi

    fresh gunzip.race.force
    echo mine | gzip >d.gz
    held gunzip.race.force /.d. 'echo theirs >d' "$SLUICE" gunzip -f d.gz
    if [ $rc -eq 0 ] && [ "$(cat d)" = mine ] && [ ! -e d.gz ]; then
        ok gunzip.race.force
    else
        fail gunzip.race.force "status $rc; $(cat e); $(listing)"
    fi

    fresh gzip.race
    echo mine >a
    held gzip.race /.a.gz. 'echo theirs >a.gz' "$SLUICE" gzip a
    if [ $rc -eq 2 ] && [ "$(cat a.gz)" = theirs ] && [ "$(cat a)" = mine ] &&
        [ "$(cat e)" = "sluice gzip: a.gz already exists;	not overwritten" ] &&
        ! has_temp .; then
        ok gzip.race
    else
        fail gzip.race "status $rc; $(cat e); $(listing)"
    fi

    fresh replace.race
    mkdir tree
    echo foo >tree/a
    held replace.race /.a. 'mkdir -p out/tree; echo theirs >out/tree/a' \
        "$SLUICE" replace -o out foo X tree
    if [ $rc -eq 1 ] && [ "$(cat out/tree/a)" = theirs ] &&
        grep -q 'out/tree/a: exists; not overwritten' e && ! has_temp out/tree; then
        ok replace.race
    else
        fail replace.race "status $rc; $(cat e); $(listing)"
    fi

    fresh replace.in-place.race
    echo foo >f
    held replace.in-place.race /.f. 'echo theirs >f.new; mv f.new f' \
        "$SLUICE" replace --in-place foo X f
    if [ $rc -eq 1 ] && [ "$(cat f)" = theirs ] &&
        grep -q '^sluice replace: f: replaced by another file while being read; not rewritten$' e &&
        ! has_temp .; then
        ok replace.in-place.race
    else
        fail replace.in-place.race "status $rc; $(cat e); $(listing)"
    fi

    # Where renameat2 has no RENAME_NOREPLACE (EINVAL), link(2) then
    # unlink(2): a free name is taken, a taken one refused as before.
    fresh gunzip.no-renameat2
    echo 1 | gzip >d.gz
    echo 2 | gzip >d.z
    echo 3 | gzip >g.gz
    timeout "$RUN_TIMEOUT" env LD_PRELOAD="$SHIM" FAULT_CALL=renameat2 \
        FAULT_N=2 FAULT_ERRNO=EINVAL FAULT_REPORT="$PWD/rep" \
        "$SLUICE" gunzip d.gz d.z g.gz >o 2>e
    rc=$?
    if [ $rc -eq 2 ] && [ "$(cat d)" = 1 ] && [ -f d.z ] && [ "$(cat g)" = 3 ] &&
        [ ! -e d.gz ] && [ ! -e g.gz ] && grep -q '^renameat2 2 ' rep &&
        grep -q "^sluice gunzip: d already exists;	not overwritten$" e &&
        ! has_temp .; then
        ok gunzip.no-renameat2
    else
        fail gunzip.no-renameat2 "status $rc; $(cat e); $(cat rep 2>/dev/null); $(listing)"
    fi

    # sluice-mpi: rank 0 commits; another process makes the file while
    # the two ranks' run is held there.
    if $HAVE_MPI; then
        fresh mpi.gunzip.race
        echo mine | gzip >d.gz
        held mpi.gunzip.race /.d. 'echo theirs >d' \
            timeout 120 "$MPIRUN" -np 2 -x LD_PRELOAD -x FAULT_CALL -x FAULT_N \
            -x FAULT_PATH -x FAULT_ERRNO -x FAULT_HOLD -x FAULT_REPORT \
            "$MPI_SLUICE" gunzip d.gz
        if [ $rc -eq 2 ] && [ "$(cat d)" = theirs ] && [ -f d.gz ] &&
            grep -q "^sluice-mpi gunzip: d already exists;	not overwritten$" e &&
            ! has_temp .; then
            ok mpi.gunzip.race
        else
            fail mpi.gunzip.race "status $rc; $(cat e); $(listing)"
        fi
    else
        skip mpi.gunzip.race "sluice-mpi not built"
    fi

    # Written to in place while the job ran (an editor saving, an append):
    # the same inode, but not the file that was read.
    fresh replace.in-place.written
    echo foo >f
    held replace.in-place.written /.f. 'sleep 0.01; echo more >>f' \
        "$SLUICE" replace --in-place foo X f
    if [ $rc -eq 1 ] && [ "$(cat f)" = "foo
more" ] && grep -q 'f: replaced by another file while being read' e &&
        ! has_temp .; then
        ok replace.in-place.written
    else
        fail replace.in-place.written "status $rc; $(cat e); $(listing)"
    fi

    # Nothing raced: the held run commits as usual (the hold is no fault).
    fresh replace.in-place.held
    echo foo >f
    held replace.in-place.held /.f. ':' "$SLUICE" replace --in-place foo X f
    if [ $rc -eq 0 ] && [ "$(cat f)" = X ] && [ ! -s e ]; then
        ok replace.in-place.held
    else
        fail replace.in-place.held "status $rc; $(cat e); $(listing)"
    fi
else
    for c in gunzip.race gunzip.race.force gzip.race replace.race \
        gunzip.no-renameat2 \
        mpi.gunzip.race replace.in-place.race replace.in-place.written \
        replace.in-place.held; do
        skip "$c" "LD_PRELOAD shim under sanitizers"
    done
fi

finish

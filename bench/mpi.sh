#!/usr/bin/env bash
# mpi.sh -- `sluice-mpi` against the local `sluice`, side by side in one
# hyperfine run per case (docs/distributed.md, "What scales").
#
# Usage: [SLUICE=build/cli/sluice] bench/mpi.sh [CORPUS_DIR]
#
# CORPUS_DIR (default bench/corpus) is what bench/corpus.sh builds.  Each
# case times the local command with -j N (N = online CPUs) against
# `mpirun -np 1 sluice-mpi ... -j N` and `mpirun -np R sluice-mpi ... -j 1`
# for R = 2 and 3 (on one machine the ranks share its cores: the figures
# are the cost of going through MPI, not a speed-up).  Cases:
#   launch       sluice-mpi --version (mpirun, MPI_Init, MPI_Finalize)
#   wc-file      wc on text-1g.txt (an aggregation: a few hundred bytes of
#                records per unit go to rank 0)
#   wc-tree      wc on tree/ (walked by every rank; a record per file)
#   gunzip-c     gunzip -c of text-1g.txt compressed by sluice gzip, to
#                /dev/null (ordered output, 1 GB through the spool, then
#                through the launcher's forwarding of rank 0's stdout)
#   gunzip-file  the same into a file (gunzip -k -f: 1 GB through the
#                spool, written and synced by rank 0)
#   gzip-c       gzip -c of text.tar to /dev/null (ordered output)
# Before timing, each command's output is compared with the local one
# (gunzip-file: the file it writes).
# The spool is written in SLUICE_SPOOL_DIR (default: the results
# directory).  The tables give medians and the ratio local time / this
# time (< 1: slower than local).
#
# Environment:
#   SLUICE   the sluice binary (default build/cli/sluice); sluice-mpi is
#            next to it
#   MPIRUN   the launcher (default mpirun)
#   RUNS     timed runs per command (default 5); WARMUP (default 1)
#   CASES    which cases (default "launch wc-file wc-tree gunzip-c
#            gunzip-file gzip-c")
#   RESULTS  directory for hyperfine's JSON and the outputs (default: a new
#            temporary one)
set -euo pipefail

corpus=${1:-bench/corpus}
sluice=${SLUICE:-build/cli/sluice}
smpi=$(dirname "$sluice")/sluice-mpi
mpirun=${MPIRUN:-mpirun}
runs=${RUNS:-5}
warmup=${WARMUP:-1}
cases=${CASES:-launch wc-file wc-tree gunzip-c gunzip-file gzip-c}

die() { echo "mpi.sh: $*" >&2; exit 2; }

big=$corpus/text-1g.txt
tree=$corpus/tree
tar=$corpus/text.tar
if [ ! -f "$big" ] || [ ! -d "$tree" ] || [ ! -f "$tar" ]; then
    die "$corpus: no corpus (build it with bench/corpus.sh $corpus)"
fi
[ -x "$sluice" ] || die "$sluice: not an executable (set SLUICE)"
[ -x "$smpi" ] || die "$smpi: not built (meson option mpi)"
command -v "$mpirun" > /dev/null || die "$mpirun: not found (set MPIRUN)"
command -v hyperfine > /dev/null || die "hyperfine is not installed"
results=${RESULTS:-$(mktemp -d "${TMPDIR:-/tmp}/sluice-mpi-bench.XXXXXX")}
mkdir -p "$results"
export SLUICE_SPOOL_DIR=${SLUICE_SPOOL_DIR:-$results}
# Open MPI: allowed as root, more ranks than cores.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

ncpu=$(getconf _NPROCESSORS_ONLN)
status=0
table=()
checks=()

# One case: $1 title, $2 unit (bytes N | files N), $3 the file the
# command writes ("": standard output), then the command's arguments.
# Checks that each sluice-mpi run gives what the local run gives, then
# times them.
run_case() {
    local title=$1 unit=$2 file=$3 json="$results/$1.json"
    shift 3
    local -a args=("$@") names=() lines=()
    local loc np
    loc=$(shell_line "$sluice" "${args[0]}" -j "$ncpu" "${args[@]:1}")
    names+=(local)
    lines+=("$loc > /dev/null")
    bash -c "$loc" > "$results/want" 2> /dev/null || true
    [ -z "$file" ] || mv "$file" "$results/want"
    for np in 1 2 3; do
        local j=1 line got=$file
        [ "$np" -gt 1 ] || j=$ncpu
        line="$(shell_line "$mpirun" -np "$np" "$smpi" "${args[0]}" -j "$j" "${args[@]:1}")"
        [ -n "$got" ] || got=$results/got
        if [ -n "$file" ]; then
            bash -c "$line" > /dev/null 2>&1
        else
            bash -c "$line" > "$got" 2> /dev/null
        fi
        if cmp -s "$got" "$results/want"; then
            checks+=("$title, $np rank(s): the local output")
        else
            checks+=("$title, $np rank(s): OUTPUT DIFFERS from the local command")
            status=1
        fi
        names+=("np $np -j $j")
        lines+=("$line > /dev/null")
    done
    echo "== $title"
    local -a pairs=()
    local i
    for i in "${!names[@]}"; do
        pairs+=("${names[$i]}" "${lines[$i]}")
    done
    time_case "$json" "$title" "$unit" local "${pairs[@]}" || status=1
}

gz=$results/text-1g.txt.gz
for c in $cases; do
    case $c in
    launch)
        echo "== launch"
        time_case "$results/launch.json" launch - "np 1" \
            "np 1" "$(shell_line "$mpirun" -np 1 "$smpi" --version) > /dev/null" \
            "np 2" "$(shell_line "$mpirun" -np 2 "$smpi" --version) > /dev/null" \
            "np 3" "$(shell_line "$mpirun" -np 3 "$smpi" --version) > /dev/null" ||
            status=1
        ;;
    wc-file) run_case wc-file "bytes $(stat -c %s "$big")" "" wc "$big" ;;
    wc-tree) run_case wc-tree "files $(find "$tree" -type f | wc -l)" "" wc "$tree" ;;
    gunzip-c | gunzip-file)
        [ -f "$gz" ] || "$sluice" gzip -c "$big" > "$gz"
        if [ "$c" = gunzip-c ]; then
            run_case gunzip-c "bytes $(stat -c %s "$big")" "" gunzip -c "$gz"
        else
            run_case gunzip-file "bytes $(stat -c %s "$big")" "${gz%.gz}" \
                gunzip -k -f "$gz"
        fi
        ;;
    gzip-c) run_case gzip-c "bytes $(stat -c %s "$tar")" "" gzip -c "$tar" ;;
    *) die "unknown case $c" ;;
    esac
done
rm -f "$gz" "${gz%.gz}" "$results/want" "$results/got"

print_table 12 "local/this"
echo "results: $results"
exit $status

#!/bin/bash
# bench/grep.sh -- `sluice grep` against GNU grep, side by side, with
# hyperfine.
#
# Usage: bench/grep.sh [CORPUS_DIR]      (default bench/corpus; build it
#                                          with bench/corpus.sh CORPUS_DIR)
#
# Each case first runs every command once and checks that sluice prints
# exactly what GNU grep prints (stdout and exit status; for the tree, the
# same lines in any order, since GNU's -r walks in directory order and
# sluice in sorted order), then times all of the case's commands in one
# hyperfine run (output to a pipe: GNU grep stops at the first match when
# its output is /dev/null), and prints a table of medians and the ratio
# GNU/sluice (above 1: sluice is faster).  The page cache is warmed first.
#
# Environment:
#   SLUICE   the sluice binary (default build/cli/sluice)
#   GREP     GNU grep (default grep)
#   RUNS     minimum timed runs per command (default 5); WARMUP (default 1)
#   CASES    which cases to run (default "1 2 3 4 5")
#   LOCALE   LC_ALL for every command (default C.UTF-8)
#   RESULTS  directory for hyperfine's JSON (default: a new temporary one)
set -euo pipefail

corpus=${1:-bench/corpus}
sluice=${SLUICE:-build/cli/sluice}
gnu_grep=${GREP:-grep}
runs=${RUNS:-5}
warmup=${WARMUP:-1}
cases=${CASES:-1 2 3 4 5}
locale=${LOCALE:-C.UTF-8}

die() { echo "grep.sh: $*" >&2; exit 2; }

big=$corpus/text-1g.txt
tree=$corpus/tree
[ -f "$big" ] || die "$corpus: no corpus (build it with bench/corpus.sh $corpus)"
[ -x "$sluice" ] || die "$sluice: not an executable (set SLUICE)"
command -v hyperfine > /dev/null || die "hyperfine is not installed"
results=${RESULTS:-$(mktemp -d "${TMPDIR:-/tmp}/sluice-grep-bench.XXXXXX")}
mkdir -p "$results"
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
export LC_ALL=$locale

# A digest of what a command line prints on stdout (as sorted lines when
# $2 is "sorted"), and its exit status.
digest() {
    local rc=0 sum
    bash -c "$1" > "$results/out" 2> /dev/null || rc=$?
    if [ "$2" = sorted ]; then
        sum=$(LC_ALL=C sort "$results/out" | md5sum)
    else
        sum=$(md5sum < "$results/out")
    fi
    rm -f "$results/out"
    printf '%s rc=%s' "${sum%% *}" "$rc"
}

status=0
table=()  # rows: case|command|median|throughput|ratio
checks=()

# run_case ID TITLE UNIT ORDER GNU_LINE SLUICE_ARGS...: UNIT is "bytes N"
# or "files N"; ORDER "sorted" compares outputs as sorted lines.
run_case() {
    local id=$1 title=$2 unit=$3 order=$4 gnu_line=$5
    shift 5
    local -a names=("sluice" "sluice -j 1" "GNU grep")
    local -a lines=("$(shell_line "$sluice" grep "$@")"
                    "$(shell_line "$sluice" grep -j 1 "$@")"
                    "$gnu_line")
    local json="$results/case$id.json" want got i

    echo "== ($id) $title"
    want=$(digest "$gnu_line" "$order")
    for i in 0 1; do
        got=$(digest "${lines[$i]}" "$order")
        if [ "$got" = "$want" ]; then
            checks+=("($id) ${names[$i]}: same output as GNU grep ($want)")
        else
            checks+=("($id) ${names[$i]}: MISMATCH: sluice $got, GNU grep $want")
            status=1
        fi
        echo "   ${checks[-1]}"
    done
    echo "   lines printed: $(bash -c "$gnu_line" 2> /dev/null | wc -l)"

    time_case "$json" "($id) $title" "$unit" "GNU grep" \
        "${names[0]}" "${lines[0]}" "${names[1]}" "${lines[1]}" \
        "${names[2]}" "${lines[2]}" || status=1
}

echo "sluice: $sluice"
echo "GNU grep: $("$gnu_grep" --version | head -n 1); $(nproc) CPUs; $(uname -r); LC_ALL=$locale"
echo "corpus: $corpus; hyperfine JSON in $results"
echo "warming the page cache..."
cat "$big" > /dev/null
[ -d "$tree" ] && find "$tree" -type f -print0 | xargs -0 cat > /dev/null
big_bytes=$(stat -c %s "$big")

for c in $cases; do
    case $c in
        1) run_case 1 "1 GB, -F, few matches" "bytes $big_bytes" plain \
               "$(shell_line "$gnu_grep" -F qwertyuiop "$big")" -F qwertyuiop "$big" ;;
        2) run_case 2 "1 GB, -F, common word" "bytes $big_bytes" plain \
               "$(shell_line "$gnu_grep" -F the "$big")" -F the "$big" ;;
        3) run_case 3 "1 GB, -F -i, few matches" "bytes $big_bytes" plain \
               "$(shell_line "$gnu_grep" -F -i QWERTYUIOP "$big")" -F -i QWERTYUIOP "$big" ;;
        4) run_case 4 "1 GB, -E with a literal" "bytes $big_bytes" plain \
               "$(shell_line "$gnu_grep" -E 'qwerty[a-z]+' "$big")" \
               -E 'qwerty[a-z]+' "$big" ;;
        5) if [ ! -d "$tree" ]; then
               echo "case 5: no $tree"
               continue
           fi
           tree_files=$(find "$tree" -type f -printf . | wc -c)
           run_case 5 "tree ($tree_files files), -F -n" "files $tree_files" sorted \
               "$(shell_line "$gnu_grep" -r -n -F include "$tree")" -n -F include "$tree" ;;
        *) die "unknown case '$c' in CASES" ;;
    esac
done

print_table 34 "GNU/sluice"
[ "$status" -eq 0 ] || echo "grep.sh: some checks or runs FAILED" >&2
exit "$status"

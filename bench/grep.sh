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
if command -v jq > /dev/null; then
    json_tool=jq
elif command -v python3 > /dev/null; then
    json_tool=python3
else
    die "need jq or python3 to read hyperfine's JSON"
fi
results=${RESULTS:-$(mktemp -d "${TMPDIR:-/tmp}/sluice-grep-bench.XXXXXX")}
mkdir -p "$results"
export LC_ALL=$locale

shell_line() {
    local line
    printf -v line '%q ' "$@"
    printf '%s' "${line% }"
}

# Median of the run times of the command named $2 in hyperfine JSON $1.
median() {
    if [ "$json_tool" = jq ]; then
        jq -r --arg n "$2" '.results[] | select(.command == $n) | .times | sort
            | if length % 2 == 1 then .[(length - 1) / 2]
              else (.[length / 2 - 1] + .[length / 2]) / 2 end' "$1"
    else
        python3 - "$1" "$2" <<'PY'
import json, statistics, sys
for r in json.load(open(sys.argv[1]))["results"]:
    if r["command"] == sys.argv[2]:
        print(statistics.median(r["times"]))
PY
    fi
}

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
    local json="$results/case$id.json" want got i med gmed tp ratio

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

    local -a hf=(hyperfine --style basic --output pipe --warmup "$warmup"
                 --min-runs "$runs" --export-json "$json")
    for i in "${!lines[@]}"; do
        hf+=(--command-name "${names[$i]}" "${lines[$i]}")
    done
    if ! "${hf[@]}" > "$results/case$id.txt" 2>&1; then
        echo "   hyperfine failed (see $results/case$id.txt)"
        status=1
        return
    fi
    gmed=$(median "$json" "GNU grep")
    for i in "${!names[@]}"; do
        med=$(median "$json" "${names[$i]}")
        read -r tp ratio < <(awk -v u="${unit%% *}" -v n="${unit##* }" \
            -v m="$med" -v g="$gmed" 'BEGIN {
                if (u == "bytes") printf "%.3f_GB/s", n / m / 1e9
                else printf "%.0f_files/s", n / m
                printf " %.2f\n", g / m }')
        [ "${names[$i]}" = "GNU grep" ] && ratio=-
        table+=("($id) $title|${names[$i]}|$med|${tp/_/ }|$ratio")
    done
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

echo
printf '%-34s %-12s %10s %18s %11s\n' case command median throughput "GNU/sluice"
last=
for row in "${table[@]}"; do
    IFS='|' read -r title name med tp ratio <<< "$row"
    if [ "$title" = "$last" ]; then shown=; else shown=$title; fi
    last=$title
    printf '%-34s %-12s %8.3f s %18s %11s\n' "$shown" "$name" "$med" "$tp" \
        "$([ "$ratio" = - ] && echo - || echo "${ratio}x")"
done
echo
for line in "${checks[@]}"; do
    echo "$line"
done
[ "$status" -eq 0 ] || echo "grep.sh: some checks or runs FAILED" >&2
exit "$status"

#!/usr/bin/env bash
# wc.sh -- `sluice wc` against GNU wc, side by side in one hyperfine run.
#
# Usage: [SLUICE=build/cli/sluice] bench/wc.sh [CORPUS_DIR]
#
# CORPUS_DIR (default bench/corpus) is what bench/corpus.sh builds.  Cases:
#   1  1 GB file, default counts (-lwc), LC_ALL=C.UTF-8
#   2  1 GB file, -l
#   3  1 GB file, -w, LC_ALL=C
#   5  the source tree against cloc (when installed; no number check: cloc
#      counts code lines per language)
#   4  source tree, default counts, LC_ALL=C.UTF-8:
#      `sluice wc DIR` against `find DIR -type f -print0 | wc --files0-from=-`
#   6  the source tree as a .tar.gz: `sluice wc -z TREE.tar.gz` against
#      `tar xzf - -O < TREE.tar.gz | wc` (lines and bytes checked)
# Cases 1, 2 and 4 also time `sluice wc -j 1` (one worker: single-core
# figures).  Before timing, each sluice command is run once and its numbers
# compared with GNU wc's (the tree: the total line); a mismatch is reported
# and makes the script exit 1.  The table gives medians, throughput and the
# ratio GNU time / sluice time (> 1: sluice is faster).
#
# Environment:
#   SLUICE   the sluice binary (default build/cli/sluice).  If its name is
#            `wc` (e.g. SLUICE=/usr/bin/wc), it is run as is, without the
#            `wc` subcommand or -j: a dry run of this script whose ratios
#            must all be close to 1.
#   WC       GNU wc (default wc)
#   RUNS     minimum timed runs per command (default 5; hyperfine does more
#            for fast commands); WARMUP: untimed runs first (default 1)
#   CASES    which cases to run (default "1 2 3 4")
#   RESULTS  directory for hyperfine's JSON (default: a new temporary one)
set -euo pipefail

corpus=${1:-bench/corpus}
sluice=${SLUICE:-build/cli/sluice}
gnu_wc=${WC:-wc}
runs=${RUNS:-5}
warmup=${WARMUP:-1}
cases=${CASES:-1 2 3 4}

die() { echo "wc.sh: $*" >&2; exit 2; }

big=$corpus/text-1g.txt
tree=$corpus/tree
if [ ! -f "$big" ] || [ ! -d "$tree" ]; then
    die "$corpus: no corpus (build it with bench/corpus.sh $corpus)"
fi
[ -x "$sluice" ] || die "$sluice: not an executable (set SLUICE)"
command -v hyperfine > /dev/null || die "hyperfine is not installed"
results=${RESULTS:-$(mktemp -d "${TMPDIR:-/tmp}/sluice-wc-bench.XXXXXX")}
mkdir -p "$results"
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

# The sluice command words, and the -j 1 flag (none in a dry run).
if [ "$(basename "$sluice")" = wc ]; then
    sluice_cmd=("$sluice")
    j1=()
    dry=1
else
    sluice_cmd=("$sluice" wc)
    j1=(-j 1)
    dry=0
fi

# The numbers of a wc output: its last line (a file's, or the total) without
# the name in the last field, spaces squeezed.
numbers() {
    tail -n 1 | awk '{ $NF = ""; sub(/ +$/, ""); print }'
}

# GNU wc before 9.5 counts words by an older rule (docs/wc.md): there, a
# difference in the word count alone is expected and reported as such.
gnu_version=$("$gnu_wc" --version | head -n 1 | grep -oE '[0-9]+\.[0-9]+' | head -n 1)
old_word_rule=0
if [ "$(printf '%s\n9.5\n' "$gnu_version" | sort -V | head -n 1)" != 9.5 ]; then
    old_word_rule=1
fi
wordfield=0  # which number of a case's output is the word count (0: none)

# True when $1 and $2 (space-separated numbers) differ only in field $3.
only_words_differ() {
    awk -v a="$1" -v b="$2" -v f="$3" 'BEGIN {
        na = split(a, x, " "); nb = split(b, y, " ")
        if (na != nb) exit 1
        for (i = 1; i <= na; i++) if (i != f && x[i] != y[i]) exit 1
        exit 0 }'
}

status=0
table=()     # rows: case|command|median|throughput|ratio
checks=()    # one line per verified command

# Runs one case: $1 id, $2 title, $3 locale, $4 unit (bytes N | files N),
# $5 whether to add -j 1, $6 the GNU command line, then the sluice
# arguments after the subcommand.
run_case() {
    local id=$1 title=$2 locale=$3 unit=$4 with_j1=$5 gnu_line=$6
    shift 6
    local -a names=(sluice) lines=() args=("$@")
    local json="$results/case$id.json" want got name i

    if [ "$dry" = 1 ] && [ -d "${args[-1]}" ]; then
        # GNU wc takes no directory: the dry run times the pipeline twice.
        lines+=("$gnu_line")
        [ "$with_j1" = 0 ] || lines+=("$gnu_line")
    else
        lines+=("$(shell_line "${sluice_cmd[@]}" "${args[@]}")")
        [ "$with_j1" = 0 ] ||
            lines+=("$(shell_line "${sluice_cmd[@]}" "${j1[@]}" "${args[@]}")")
    fi
    [ "$with_j1" = 0 ] || names+=("sluice -j 1")
    names+=("GNU wc")
    lines+=("$gnu_line")

    echo "== ($id) $title"
    # Same numbers?  GNU wc's output is the reference.
    if ! want=$(LC_ALL=$locale bash -c "$gnu_line" | numbers); then
        echo "   GNU wc failed: $gnu_line"
        status=1
        return
    fi
    for i in $(seq 0 $((${#lines[@]} - 2))); do
        name=${names[$i]}
        if got=$(LC_ALL=$locale bash -c "${lines[$i]}" | numbers) &&
           [ "$got" = "$want" ]; then
            checks+=("($id) $name: same numbers as GNU wc: $want")
        elif [ "$old_word_rule" = 1 ] && [ "$wordfield" -gt 0 ] &&
             only_words_differ "$got" "$want" "$wordfield"; then
            checks+=("($id) $name: same lines/bytes as GNU wc; words differ as documented for wc < 9.5 (docs/wc.md): sluice '$got', GNU wc '$want'")
        else
            checks+=("($id) $name: MISMATCH: sluice '$got', GNU wc '$want'")
            status=1
        fi
        echo "   ${checks[-1]}"
    done

    local -a pairs=()
    for i in "${!lines[@]}"; do
        pairs+=("${names[$i]}" "${lines[$i]}")
    done
    LC_ALL=$locale time_case "$json" "($id) $title" "$unit" "GNU wc" "${pairs[@]}" ||
        status=1
}

# -------------------------------------------------------------- the cases
echo "sluice: $sluice$([ "$dry" = 1 ] && echo ' (dry run: GNU wc against itself)')"
echo "GNU wc: $("$gnu_wc" --version | head -n 1); $(nproc) CPUs; $(uname -r)"
echo "corpus: $corpus; hyperfine JSON in $results"
echo "warming the page cache..."
cat "$big" > /dev/null
find "$tree" -type f -print0 | xargs -0 cat > /dev/null
big_bytes=$(stat -c %s "$big")
tree_files=$(find "$tree" -type f -printf . | wc -c)

for c in $cases; do
    case $c in
        1) wordfield=2; run_case 1 "1 GB, default counts, C.UTF-8" C.UTF-8 "bytes $big_bytes" 1 \
               "$(shell_line "$gnu_wc" "$big")" "$big" ;;
        2) wordfield=0; run_case 2 "1 GB, -l" C.UTF-8 "bytes $big_bytes" 1 \
               "$(shell_line "$gnu_wc" -l "$big")" -l "$big" ;;
        3) wordfield=1; run_case 3 "1 GB, -w, C locale" C "bytes $big_bytes" 0 \
               "$(shell_line "$gnu_wc" -w "$big")" -w "$big" ;;
        4) wordfield=2; run_case 4 "tree ($tree_files files), C.UTF-8" C.UTF-8 "files $tree_files" 1 \
               "$(shell_line find "$tree" -type f -print0) | $(shell_line "$gnu_wc" --files0-from=-)" \
               "$tree" ;;
        5) # cloc counts code, comment and blank lines per language: not
           # the same numbers, so no check; for scale, as the issue asks.
           if ! command -v cloc > /dev/null; then
               echo "case 5: cloc is not installed (apt-get install cloc)"
               continue
           fi
           json="$results/case5.json"
           if hyperfine -N -w "$warmup" -r 3 --export-json "$json" \
                  -n cloc "cloc --quiet $(printf '%q' "$tree")" \
                  -n sluice "$(shell_line "${sluice_cmd[@]}" "$tree")" \
                  > "$results/case5.txt" 2>&1; then
               med=$(median "$json" sluice)
               cmed=$(median "$json" cloc)
               title="tree ($tree_files files) vs cloc"
               table+=("$title|cloc|$cmed|$(awk -v n="$tree_files" -v t="$cmed" 'BEGIN { printf "%.0f files/s", n / t }')|-")
               table+=("$title|sluice|$med|$(awk -v n="$tree_files" -v t="$med" 'BEGIN { printf "%.0f files/s", n / t }')|$(awk -v a="$cmed" -v b="$med" 'BEGIN { printf "%.1f", a / b }')")
           else
               echo "   hyperfine failed (see $results/case5.txt)"
               status=1
           fi ;;
        6) # The tree as a .tar.gz (made with tar czf, gzip -6): `sluice wc
           # -z` reads it as a directory; GNU counts the stream of all
           # members.  Words may differ (a word can span two members in the
           # stream): lines and bytes of the total must agree.
           tgz="$results/tree.tar.gz"
           [ -f "$tgz" ] || tar czf "$tgz" -C "$(dirname "$tree")" "$(basename "$tree")"
           gline="tar xzf - -O < $(printf '%q' "$tgz") | $(shell_line "$gnu_wc")"
           sline="$(shell_line "${sluice_cmd[@]}" -z "$tgz")"
           want=$(bash -c "$gline" | awk '{print $1, $3}')
           got=$(bash -c "$sline" | tail -n 1 | awk '{print $1, $3}')
           if [ "$got" = "$want" ]; then
               checks+=("(6) sluice -z: same lines and bytes as GNU wc of the stream: $want")
           else
               checks+=("(6) sluice -z: MISMATCH: sluice '$got', GNU wc '$want'")
               status=1
           fi
           echo "   ${checks[-1]}"
           time_case "$results/case6.json" "tree .tar.gz ($tree_files files)" \
               "files $tree_files" "tar xzf, wc" "tar xzf, wc" "$gline" \
               "sluice -z" "$sline" || status=1 ;;
        *) die "unknown case '$c' in CASES" ;;
    esac
done

# -------------------------------------------------------------- the table
print_table 38 "GNU/sluice"
if [ "$status" -ne 0 ]; then
    echo "wc.sh: some checks or runs FAILED" >&2
fi
exit "$status"

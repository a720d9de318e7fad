# bench/lib.sh -- helpers shared by the side-by-side benchmark scripts
# (sourced, not run).  The caller sets `results` (a directory) and may set
# `table` and `checks` (arrays) before using them.

# The tool that reads hyperfine's JSON: jq, else python3.
if command -v jq > /dev/null; then
    json_tool=jq
elif command -v python3 > /dev/null; then
    json_tool=python3
else
    echo "${0##*/}: need jq or python3 to read hyperfine's JSON" >&2
    exit 2
fi

# Quotes words into one shell command line for hyperfine.
shell_line() {
    local line
    printf -v line '%q ' "$@"
    printf '%s' "${line% }"
}

# Median of the run times of the command named $2 in hyperfine JSON file $1.
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

# Throughput and ratio of one timed command: $1 unit ("bytes N",
# "files N", or "-" for none), $2 its median, $3 the reference's median.
# Prints "RATE RATIO" with the rate's words joined by "_" ("1.234_GB/s").
rate_ratio() {
    awk -v u="${1%% *}" -v n="${1##* }" -v m="$2" -v g="$3" 'BEGIN {
        if (u == "bytes") printf "%.3f_GB/s", n / m / 1e9
        else if (u == "-") printf "-"
        else printf "%.0f_files/s", n / m
        printf " %.2f\n", g / m }'
}

# Times the commands of one case in one hyperfine run and adds their rows
# to `table` (case|command|median|throughput|ratio).  $1 JSON path, $2 case
# title, $3 unit (as rate_ratio), $4 the reference command's name, then
# NAME LINE pairs.  Returns 1 (and says so) when hyperfine fails.
time_case() {
    local json=$1 title=$2 unit=$3 ref=$4
    shift 4
    local -a hf=(hyperfine --style basic --output pipe --warmup "$warmup"
                 --min-runs "$runs" --export-json "$json")
    local -a names=()
    while [ $# -gt 0 ]; do
        names+=("$1")
        hf+=(--command-name "$1" "$2")
        shift 2
    done
    if ! "${hf[@]}" > "${json%.json}.txt" 2>&1; then
        echo "   hyperfine failed (see ${json%.json}.txt)"
        return 1
    fi
    local name med gmed tp ratio
    gmed=$(median "$json" "$ref")
    for name in "${names[@]}"; do
        med=$(median "$json" "$name")
        read -r tp ratio < <(rate_ratio "$unit" "$med" "$gmed")
        [ "$name" = "$ref" ] && ratio=-
        table+=("$title|$name|$med|${tp/_/ }|$ratio")
    done
}

# Prints `table` with the case title shown once per case ($1: the title
# column's width, $2: the ratio column's heading), then `checks`.
print_table() {
    local width=$1 heading=$2 row title name med tp ratio shown last=
    echo
    printf "%-${width}s %-12s %10s %18s %11s\n" case command median throughput "$heading"
    for row in "${table[@]}"; do
        IFS='|' read -r title name med tp ratio <<< "$row"
        if [ "$title" = "$last" ]; then shown=; else shown=$title; fi
        last=$title
        printf "%-${width}s %-12s %8.3f s %18s %11s\n" "$shown" "$name" "$med" \
            "$tp" "$([ "$ratio" = - ] && echo - || echo "${ratio}x")"
    done
    echo
    local line
    for line in "${checks[@]}"; do
        echo "$line"
    done
}

#!/usr/bin/env bash
# bench/ab.sh -- one build of sluice against another, side by side in the
# same hyperfine run: wc, grep, gzip and gunzip on the corpora, then the
# engine's per-unit overhead (bench/overhead.c) of each build, alternated.
# For a change meant to keep performance as it is (a refactor), every
# ratio should be 1 within noise.
#
#   bench/ab.sh BUILD_BEFORE BUILD_AFTER [CORPUS_DIR]
#
# BUILD_*: meson build directories (cli/sluice, bench/overhead, plugins).
# CORPUS_DIR defaults to bench/corpus (bench/corpus.sh builds it).  RUNS
# sets hyperfine's runs (default 11).  Outputs go to real files, checked
# equal between the two builds before timing.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
a=$(cd "$1" && pwd)
b=$(cd "$2" && pwd)
corpus=${3:-$here/corpus}
runs=${RUNS:-11}
results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT
. "$here/lib.sh"

for f in text.tar text-1g.txt tree; do
    [ -e "$corpus/$f" ] || { echo "ab.sh: no $corpus/$f (run bench/corpus.sh)" >&2; exit 2; }
done
gzip -c < "$corpus/text.tar" > "$results/text.tar.gz"

# name | command with @ for the sluice binary and > @OUT for its output
cases=(
    "wc 1 GB|@ wc $corpus/text-1g.txt"
    "wc tree|@ wc $corpus/tree"
    "grep -F tree|@ grep -n -F include $corpus/tree"
    "grep -E 1 GB|@ grep -E 'foo|ba[rz]' $corpus/text-1g.txt"
    "gzip|@ gzip -c $corpus/text.tar"
    "gunzip|@ gunzip -c $results/text.tar.gz"
)

printf '%-14s %12s %12s %8s\n' case before_ms after_ms ratio
# (ms: the mean of the two runs' medians; ratio: the geometric mean of
# the two runs' after/before)
for c in "${cases[@]}"; do
    name=${c%%|*}
    cmd=${c#*|}
    ca="${cmd//@/$a/cli/sluice} > $results/out.a"
    cb="${cmd//@/$b/cli/sluice} > $results/out.b"
    bash -c "$ca" && bash -c "$cb" || { echo "ab.sh: $name failed" >&2; exit 1; }
    cmp -s "$results/out.a" "$results/out.b" || { echo "ab.sh: $name: outputs differ" >&2; exit 1; }
    # Two runs, in both orders, so that drift on a busy machine cancels.
    hyperfine --warmup 2 --runs "$runs" --export-json "$results/h1.json" \
        -n before "$ca" -n after "$cb" > /dev/null
    hyperfine --warmup 2 --runs "$runs" --export-json "$results/h2.json" \
        -n after "$cb" -n before "$ca" > /dev/null
    ma=$(median "$results/h1.json" before)" "$(median "$results/h2.json" before)
    mb=$(median "$results/h1.json" after)" "$(median "$results/h2.json" after)
    awk -v n="$name" -v x="$ma" -v y="$mb" 'BEGIN {
        split(x, a, " "); split(y, b, " ")
        printf "%-14s %12.1f %12.1f %8.3f\n", n, (a[1] + a[2]) * 500,
            (b[1] + b[2]) * 500, sqrt(b[1] / a[1] * b[2] / a[2]) }'
done

# The engine's overhead: both builds' overhead binaries on one file,
# alternated, each printing its median per-unit cost.
head -c $((128 << 20)) "$corpus/text-1g.txt" > "$results/ov"
for round in 1 2; do
    for x in before after; do
        d=$a; [ "$x" = after ] && d=$b
        echo "overhead $x (round $round):"
        "$d/bench/overhead" -r 5 -c 4k,64k -j 0,2 "$results/ov" | sed 's/^/  /'
    done
done

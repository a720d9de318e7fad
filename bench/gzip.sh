#!/usr/bin/env bash
# gzip.sh -- `sluice gzip` / `sluice gunzip` against the other gzip tools,
# side by side in one hyperfine run per case.
#
# Usage: [SLUICE=build/cli/sluice] bench/gzip.sh [CORPUS_DIR]
#
# CORPUS_DIR (default bench/corpus) is what bench/corpus.sh builds; the
# input is its text.tar.  Every tool reads the file and writes to
# /dev/null (-c), page cache warm.  Cases:
#   fast      level 1: sluice -1 against igzip -1, pigz -1, gzip -1
#   default   level 6 class: sluice -6 against pigz -6, gzip -6,
#             libdeflate-gzip -6, bgzip, zstd -3 (zstd is another format:
#             for scale only)
#   best      level 9: sluice -9 against pigz -9, gzip -9
#   dsluice   decompressing sluice's own -6 output: sluice, igzip -d,
#             pigz -d, gzip -d, libdeflate-gunzip
#   dforeign  decompressing gzip -6's single member: sluice, igzip -d,
#             pigz -d, gzip -d
#   scaling   sluice -6 and gunzip with -j 1 and -j N (N = online CPUs)
#   memory    peak RSS of sluice gzip -6 / gunzip on the input and on a
#             file four times as large
# Tools that are not installed are left out (listed at the end).  Before
# timing, every compressed output is checked to decompress to the input.
# The tables give medians, MB/s of uncompressed data, compressed size
# ratio (input/output), and the ratio other time / sluice time (> 1:
# sluice is faster).
#
# Environment:
#   SLUICE   the sluice binary (default build/cli/sluice)
#   RUNS     timed runs per command (default 5); WARMUP (default 1)
#   CASES    which cases (default "fast default best dsluice dforeign
#            scaling memory")
#   RESULTS  directory for hyperfine's JSON and the outputs (default: a new
#            temporary one)
set -euo pipefail

corpus=${1:-bench/corpus}
sluice=${SLUICE:-build/cli/sluice}
runs=${RUNS:-5}
warmup=${WARMUP:-1}
cases=${CASES:-fast default best dsluice dforeign scaling memory}

die() { echo "gzip.sh: $*" >&2; exit 2; }

input=$corpus/text.tar
[ -f "$input" ] || die "$corpus: no corpus (build it with bench/corpus.sh $corpus)"
[ -x "$sluice" ] || die "$sluice: not an executable (set SLUICE)"
command -v hyperfine >/dev/null || die "hyperfine is not installed"
command -v python3 >/dev/null || die "python3 is needed to read hyperfine's JSON"
results=${RESULTS:-$(mktemp -d "${TMPDIR:-/tmp}/sluice-gzip-bench.XXXXXX")}
mkdir -p "$results"
size=$(stat -c %s "$input")
ncpu=$(nproc)
missing=()

have() { command -v "$1" >/dev/null 2>&1 || { missing+=("$1"); return 1; }; }

# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

rows=()
status=0

# run_case ID TITLE KIND -- then pairs of NAME and COMMAND LINE; the first
# pair is sluice's.  KIND "c": compression (sizes and a check that the
# output decompresses to the input); "d": decompression (output checked).
run_case() {
    local id=$1 title=$2 kind=$3
    shift 3
    local names=() lines=()
    while [ $# -gt 0 ]; do
        names+=("$1")
        lines+=("$2")
        shift 2
    done
    local args=() i
    for i in "${!lines[@]}"; do
        # verify once, outside the timing
        if [ "$kind" = c ]; then
            bash -c "${lines[$i]}" >"$results/$id.$i.gz"
            if ! gzip -dc <"$results/$id.$i.gz" 2>/dev/null | cmp -s - "$input" &&
                ! zstd -dc <"$results/$id.$i.gz" 2>/dev/null | cmp -s - "$input"; then
                echo "gzip.sh: ${names[$i]}: output does not decompress to the input" >&2
                status=1
            fi
        else
            if ! bash -c "${lines[$i]}" | cmp -s - "$input"; then
                echo "gzip.sh: ${names[$i]}: output differs from the input" >&2
                status=1
            fi
        fi
        args+=(-n "${names[$i]}" "${lines[$i]} >/dev/null")
    done
    hyperfine -w "$warmup" -r "$runs" --export-json "$results/$id.json" \
        "${args[@]}" >"$results/$id.log" 2>&1 || die "hyperfine failed, see $results/$id.log"
    local base
    base=$(median "$results/$id.json" "${names[0]}")
    for i in "${!names[@]}"; do
        local t mbs ratio vs
        t=$(median "$results/$id.json" "${names[$i]}")
        mbs=$(python3 -c "print(f'{$size / $t / 1e6:.0f}')")
        vs=$(python3 -c "print(f'{$t / $base:.2f}x')")
        ratio=-
        if [ "$kind" = c ]; then
            ratio=$(python3 -c "print(f'{$size / $(stat -c %s "$results/$id.$i.gz"):.3f}')")
        fi
        rows+=("$title|${names[$i]}|$(python3 -c "print(f'{$t:.3f}')")|$mbs|$ratio|$vs")
    done
}

sl() { printf '%q gzip' "$sluice"; }
su() { printf '%q gunzip' "$sluice"; }
q=$(printf '%q' "$input")

for c in $cases; do
    case $c in
    fast)
        set -- sluice-1 "$(sl) -c -1 $q"
        have igzip && set -- "$@" "igzip -1" "igzip -c -1 $q"
        have pigz && set -- "$@" "pigz -p$ncpu -1" "pigz -p$ncpu -c -1 $q"
        set -- "$@" "gzip -1" "gzip -c -1 $q"
        run_case fast "level 1" c "$@"
        ;;
    default)
        set -- sluice-6 "$(sl) -c -6 $q"
        have pigz && set -- "$@" "pigz -p$ncpu -6" "pigz -p$ncpu -c -6 $q"
        set -- "$@" "gzip -6" "gzip -c -6 $q"
        have libdeflate-gzip && set -- "$@" "libdeflate-gzip -6" "libdeflate-gzip -c -6 $q"
        have bgzip && set -- "$@" "bgzip -@$ncpu" "bgzip -@$ncpu -c $q"
        have zstd && set -- "$@" "zstd -T$ncpu -3 (not gzip)" "zstd -q -T$ncpu -3 -c $q"
        run_case default "level 6" c "$@"
        ;;
    best)
        set -- sluice-9 "$(sl) -c -9 $q"
        have pigz && set -- "$@" "pigz -p$ncpu -9" "pigz -p$ncpu -c -9 $q"
        set -- "$@" "gzip -9" "gzip -c -9 $q"
        run_case best "level 9" c "$@"
        ;;
    dsluice)
        "$sluice" gzip -c -6 "$input" >"$results/own.gz"
        o=$(printf '%q' "$results/own.gz")
        set -- "sluice gunzip" "$(su) -c $o"
        have igzip && set -- "$@" "igzip -d" "igzip -d -c $o"
        have pigz && set -- "$@" "pigz -d" "pigz -d -c $o"
        set -- "$@" "gzip -d" "gzip -d -c $o"
        have libdeflate-gunzip && set -- "$@" "libdeflate-gunzip" "libdeflate-gunzip -c $o"
        run_case dsluice "gunzip sluice's" d "$@"
        ;;
    dforeign)
        gzip -c -6 "$input" >"$results/gnu.gz"
        o=$(printf '%q' "$results/gnu.gz")
        set -- "sluice gunzip" "$(su) -c $o"
        have igzip && set -- "$@" "igzip -d" "igzip -d -c $o"
        have pigz && set -- "$@" "pigz -d" "pigz -d -c $o"
        set -- "$@" "gzip -d" "gzip -d -c $o"
        run_case dforeign "gunzip gzip's" d "$@"
        ;;
    scaling)
        "$sluice" gzip -c -6 "$input" >"$results/own.gz"
        o=$(printf '%q' "$results/own.gz")
        run_case scale-c "scaling gzip -6" c \
            "gzip -j $ncpu" "$(sl) -j $ncpu -c -6 $q" "gzip -j 1" "$(sl) -j 1 -c -6 $q"
        run_case scale-d "scaling gunzip" d \
            "gunzip -j $ncpu" "$(su) -j $ncpu -c $o" "gunzip -j 1" "$(su) -j 1 -c $o"
        ;;
    memory)
        big=$results/big.tar
        for _ in 1 2 3 4; do cat "$input"; done >"$big"
        "$sluice" gzip -c -6 "$input" >"$results/m1.gz"
        "$sluice" gzip -c -6 "$big" >"$results/m4.gz"
        for pair in "gzip -6|$input|$big" "gunzip|$results/m1.gz|$results/m4.gz"; do
            IFS='|' read -r what a b <<<"$pair"
            if [ "$what" = gunzip ]; then cmd=(gunzip -c); else cmd=(gzip -c -6); fi
            ra=$( { /usr/bin/time -f %M "$sluice" "${cmd[@]}" "$a" >/dev/null; } 2>&1 | tail -1)
            rb=$( { /usr/bin/time -f %M "$sluice" "${cmd[@]}" "$b" >/dev/null; } 2>&1 | tail -1)
            rows+=("peak RSS $what|1x input / 4x input|${ra} KiB|${rb} KiB|-|-")
        done
        rm -f "$big"
        ;;
    *) die "unknown case $c" ;;
    esac
done

printf '\n%-18s %-26s %9s %8s %7s %8s\n' case command "median s" "MB/s" ratio "vs sluice"
for r in "${rows[@]}"; do
    IFS='|' read -r a b c d e f <<<"$r"
    printf '%-18s %-26s %9s %8s %7s %8s\n' "$a" "$b" "$c" "$d" "$e" "$f"
done
echo
echo "input: $input ($size bytes), $ncpu CPUs; JSON in $results"
[ ${#missing[@]} -eq 0 ] || echo "not installed: $(printf '%s\n' "${missing[@]}" | sort -u | tr '\n' ' ')"
exit $status

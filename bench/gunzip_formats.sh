#!/usr/bin/env bash
# gunzip_formats.sh -- `sluice zcat` on the other formats gzip -d reads
# (.Z, pack, zip of one entry) against GNU gzip -dc, and libarchive's
# bsdcat where it reads the format (.Z), side by side in one hyperfine run
# per input.
#
# Usage: [SLUICE=build/cli/sluice] [MKPACK=build/tests/mkpack]
#        bench/gunzip_formats.sh [WORKDIR]
#
# Inputs, 100 MB each, made in WORKDIR (default: a new temporary one):
# text (the system's C headers, repeated) and random bytes, each
# compressed with compress(1), with mkpack (pack's format; no Debian
# package writes it) and into a zip with python3's zipfile (deflated).
# Every decoder writes a real file in WORKDIR (not /dev/null), page cache
# warm; each output is checked against the input first.  The table gives
# medians and the ratio other time / sluice time (> 1: sluice is faster).
#
# Environment: SLUICE, MKPACK, RUNS (default 5), WARMUP (default 1).
set -euo pipefail

sluice=${SLUICE:-build/cli/sluice}
mkpack=${MKPACK:-build/tests/mkpack}
runs=${RUNS:-5}
warmup=${WARMUP:-1}
work=${1:-$(mktemp -d)}
mkdir -p "$work"
for t in hyperfine compress python3 gzip; do
    command -v "$t" >/dev/null || { echo "needs $t" >&2; exit 1; }
done
[ -x "$mkpack" ] || { echo "needs $mkpack (ninja -C build)" >&2; exit 1; }
sluice=$(realpath "$sluice")
mkpack=$(realpath "$mkpack")
cd "$work"

size=100000000
if [ ! -s text ]; then
    find /usr/include -type f -name '*.h' -print0 | sort -z | xargs -0 cat >headers
    [ -s headers ] || { echo "no headers in /usr/include" >&2; exit 1; }
    : >text
    while [ "$(stat -c %s text)" -lt $size ]; do
        cat headers >>text
    done
    truncate -s $size text
    rm -f headers
fi
[ -s random ] || head -c $size /dev/urandom >random
for f in text random; do
    [ -s "$f.Z" ] || compress -c "$f" >"$f.Z" || true
    [ -s "$f.z" ] || "$mkpack" <"$f" >"$f.z"
    [ -s "$f.zip" ] || python3 -c 'import sys, zipfile
zipfile.ZipFile(sys.argv[1] + ".zip", "w", zipfile.ZIP_DEFLATED).write(sys.argv[1])' "$f"
done

median() { # hyperfine JSON, command index
    python3 -c 'import json, sys
r = json.load(open(sys.argv[1]))["results"][int(sys.argv[2])]
print(sorted(r["times"])[len(r["times"]) // 2])' "$1" "$2"
}

printf '%-12s %10s %10s %10s %8s %8s\n' input sluice gzip bsdcat gzip/sl bsd/sl
for f in text.Z random.Z text.z random.z text.zip random.zip; do
    plain=${f%.*}
    "$sluice" zcat "$f" | cmp -s - "$plain" || { echo "$f: sluice output differs" >&2; exit 1; }
    gzip -dc "$f" | cmp -s - "$plain" || { echo "$f: gzip output differs" >&2; exit 1; }
    cmds=("$sluice zcat $f >out.sluice" "gzip -dc $f >out.gzip")
    bsd=false
    if [ "${f##*.}" = Z ] && command -v bsdcat >/dev/null &&
        bsdcat "$f" | cmp -s - "$plain"; then
        cmds+=("bsdcat $f >out.bsdcat")
        bsd=true
    fi
    hyperfine -w "$warmup" -r "$runs" --export-json "$f.json" "${cmds[@]}" >/dev/null
    s=$(median "$f.json" 0)
    g=$(median "$f.json" 1)
    b=- rb=-
    if $bsd; then
        b=$(median "$f.json" 2)
        rb=$(python3 -c "print(f'{$b / $s:.2f}')")
        b=$(python3 -c "print(f'{$b:.3f}')")
    fi
    printf '%-12s %10.3f %10.3f %10s %8.2f %8s\n' "$f" "$s" "$g" "$b" \
        "$(python3 -c "print($g / $s)")" "$rb"
done
rm -f out.sluice out.gzip out.bsdcat

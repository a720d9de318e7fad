#!/usr/bin/env bash
# replace.sh -- `sluice replace` against GNU sed, side by side in one
# hyperfine run.
#
# Usage: [SLUICE=build/cli/sluice] bench/replace.sh [CORPUS_DIR]
#
# CORPUS_DIR (default bench/corpus, made by bench/corpus.sh) holds
# text-1g.txt.  Cases, each output to a file on the same filesystem:
#   literal  `sluice replace the THE`  vs  `sed 's/the/THE/g'`
#   regex    `sluice replace -E '([a-z]+)ing' '\1ed'`  vs  `sed -E ...`
# Outputs are compared (cmp) before timing; a mismatch exits 1.  The table
# gives medians and the ratio sed time / sluice time (> 1: sluice faster).
# Environment: SLUICE, SED (default sed), RUNS (default 3), CASES.
set -euo pipefail
corpus=${1:-bench/corpus}
sluice=${SLUICE:-build/cli/sluice}
sed=${SED:-sed}
runs=${RUNS:-3}
cases=${CASES:-literal regex}
big=$corpus/text-1g.txt
[ -f "$big" ] || { echo "replace.sh: $big is missing (bench/corpus.sh)" >&2; exit 2; }
command -v hyperfine >/dev/null || { echo "replace.sh: hyperfine is not installed" >&2; exit 2; }
out=$(mktemp -d "${TMPDIR:-/tmp}/sluice-replace-bench.XXXXXX")
trap 'rm -rf "$out"' EXIT
echo "sluice: $sluice; sed: $("$sed" --version | head -n 1); $(nproc) CPUs"
cat "$big" >/dev/null
status=0
for c in $cases; do
    case $c in
        literal) sl=("$sluice" replace the THE "$big"); se=("$sed" 's/the/THE/g' "$big") ;;
        regex) sl=("$sluice" replace -E '([a-z]+)ing' '\1ed' "$big"); se=("$sed" -E 's/([a-z]+)ing/\1ed/g' "$big") ;;
        *) echo "unknown case $c" >&2; exit 2 ;;
    esac
    "${sl[@]}" >"$out/a"
    "${se[@]}" >"$out/b"
    if cmp -s "$out/a" "$out/b"; then echo "($c) same output as sed"; else echo "($c) MISMATCH"; status=1; fi
    rm -f "$out/a" "$out/b"
    hyperfine --style basic -w 1 -r "$runs" --export-json "$out/$c.json" \
        -n sluice "$(printf '%q ' "${sl[@]}") > $out/a" \
        -n sed "$(printf '%q ' "${se[@]}") > $out/b" >/dev/null
    python3 - "$out/$c.json" "$c" <<'PY'
import json, statistics, sys
d = {r["command"]: statistics.median(r["times"]) for r in json.load(open(sys.argv[1]))["results"]}
print(f"({sys.argv[2]}) sluice {d['sluice']:.3f} s, sed {d['sed']:.3f} s: {d['sed'] / d['sluice']:.2f}x")
PY
done
exit $status

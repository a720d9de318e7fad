#!/usr/bin/env bash
# Quick start, step 1: set up, build, and count lines, words and bytes of a
# real source tree with `sluice wc` (default: /usr/include).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh build
tree=${1:-/usr/include}
build/cli/sluice wc "$tree" | tail -n 5
echo "(sluice wc counted $(build/cli/sluice wc --total=only -l "$tree") lines in $tree," \
     "$(find "$tree" -type f | wc -l) files)"

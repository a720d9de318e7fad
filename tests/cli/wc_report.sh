#!/bin/bash
# tests/cli/wc_report.sh -- `sluice wc --json --csv --summary --by` and the
# progress line.
#
# The oracle for the numbers is sluice wc's own text output (checked against
# GNU wc by the other wc suites); JSON goes through python3's json parser,
# CSV through its csv module, groups are summed again in python.
#
# Prints "ok NAME" or "FAIL NAME" per case; exits 1 if any failed.
# Environment: SLUICE_BUILD_ROOT.
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh disable=SC1091
. "$(dirname "$0")/lib.sh"

export LC_ALL=C
R="$T/tree"
mkdir -p "$R/src/lib" "$R/doc"
printf 'int main(void)\n{\n    return 0;\n}\n' >"$R/src/main.c"
printf 'int f(int);\n' >"$R/src/lib/f.h"
printf 'int f(int x) { return x; }\n' >"$R/src/lib/f.c"
printf 'Read me\nplease.\n' >"$R/doc/README"
printf 'a,b "q"\n' >"$R/doc/we,ird \"name\".txt"
printf 'line\n\tx\n' >"$R/doc/$(printf 'bad\xffname').md"
printf 'no newline' >"$R/Makefile"

if ! command -v python3 >/dev/null 2>&1; then
    skip all "python3 is not installed"
    finish
fi

# check_report NAME PYTHON COUNT_OPTS REPORT_OPTS... -- runs `sluice wc
# COUNT_OPTS REPORT_OPTS TREE` and feeds its stdout to the python check,
# whose argv[1] is the text output of `sluice wc COUNT_OPTS TREE`
check_report() {
    local name=$1 py=$2 counts=$3
    shift 3
    # shellcheck disable=SC2086 # COUNT_OPTS is a word list
    "$SLUICE" wc $counts "$@" "$R" >"$T/out" 2>"$T/err"
    local rc=$?
    # shellcheck disable=SC2086
    "$SLUICE" wc $counts "$R" >"$T/text" 2>/dev/null
    if [ $rc -ne 0 ]; then
        fail "$name" "rc $rc: $(cat "$T/err")"
        return
    fi
    if python3 -c "$py" "$T/text" <"$T/out" 2>"$T/pyerr"; then
        ok "$name"
    else
        fail "$name" "$(cat "$T/pyerr") -- output: $(head -c 600 "$T/out")"
    fi
}

# The text output's rows as {name: [numbers]} (names are the rest of the
# line after the numbers; bytes that are not UTF-8 as U+FFFD).
read_text='
import sys, json, csv, io, collections
def rows(path):
    out = {}
    for line in open(path, "rb").read().decode("utf-8", "replace").splitlines():
        parts = line.split()
        nums = []
        while parts and parts[0].isdigit():
            nums.append(int(parts.pop(0)))
        name = line.split(None, len(nums))[len(nums)] if len(line.split()) > len(nums) else ""
        out[name] = nums
    return out
text = rows(sys.argv[1])
'

check_report json.per-file "$read_text"'
d = json.load(sys.stdin)
assert set(d) == {"files", "total"}, d.keys()
assert len(d["files"]) == len(text) - 1, (len(d["files"]), text)
for f in d["files"]:
    assert [f["lines"], f["words"], f["bytes"]] == text[f["name"]], f
t = d["total"]
assert [t["lines"], t["words"], t["bytes"]] == text["total"], t
assert t["files"] == len(d["files"])
' "" --json

check_report json.selected-counts "$read_text"'
d = json.load(sys.stdin)
for f in d["files"]:
    assert set(f) == {"name", "lines", "max_line_length"}, f
    assert [f["lines"], f["max_line_length"]] == text[f["name"]], f
' -lL --json

check_report csv.per-file "$read_text"'
r = list(csv.reader(io.StringIO(sys.stdin.buffer.read().decode("utf-8", "replace"))))
assert r[0] == ["name", "lines", "words", "bytes"], r[0]
body = {row[0]: [int(x) for x in row[1:]] for row in r[1:-1]}
assert r[-1][0] == "total" and [int(x) for x in r[-1][1:]] == text["total"], r[-1]
for name, nums in body.items():
    assert nums == text[name], (name, nums, text.get(name))
assert len(body) == len(text) - 1
' "" --csv

check_report summary.text "$read_text"'
out = sys.stdin.read().split()
assert [int(x) for x in out[:3]] == text["total"] and out[3] == "total", out
' "" --summary

check_report summary.json "$read_text"'
d = json.load(sys.stdin)
assert list(d) == ["total"], d
assert [d["total"]["lines"], d["total"]["words"], d["total"]["bytes"]] == text["total"]
' "" --summary --json

check_report by-ext.json "$read_text"'
d = json.load(sys.stdin)
want = collections.defaultdict(lambda: [0, 0, 0, 0])
for name, nums in text.items():
    if name == "total":
        continue
    base = name.rsplit("/", 1)[-1]
    ext = base.rsplit(".", 1)[1] if "." in base[1:] else ""
    w = want[ext]
    w[0] += 1
    for i in range(3):
        w[i + 1] += nums[i]
got = {g["group"]: [g["files"], g["lines"], g["words"], g["bytes"]] for g in d["groups"]}
assert got == dict(want), (got, dict(want))
assert [g["group"] for g in d["groups"]] == sorted(got), "not sorted"
' "" --json --by ext

check_report by-dir.csv "$read_text"'
r = list(csv.reader(io.StringIO(sys.stdin.read())))
assert r[0][:2] == ["group", "files"], r[0]
want = collections.Counter()
for name in text:
    if name != "total":
        want[name.rsplit("/", 1)[0]] += 1
got = {row[0]: int(row[1]) for row in r[1:-1]}
assert got == dict(want), (got, want)
assert r[-1][0] == "total" and int(r[-1][1]) == sum(want.values())
' "" --csv --by dir

# text --by: wc-style rows, one per group, then the total
"$SLUICE" wc --by ext "$R" >"$T/out"
if tail -1 "$T/out" | grep -q ' total$' && grep -q ' c$' "$T/out" && grep -q ' h$' "$T/out" &&
    grep -q ' (none)$' "$T/out" && [ "$(wc -l <"$T/out")" -eq 6 ]; then
    ok by-ext.text
else
    fail by-ext.text "$(cat "$T/out")"
fi

# GNU wc's output is untouched without the new options
"$SLUICE" wc "$R/src/main.c" "$R/Makefile" >"$T/a"
/usr/bin/wc "$R/src/main.c" "$R/Makefile" >"$T/b"
check_same() { if cmp -s "$1" "$2"; then ok "$3"; else fail "$3" "$(diff "$1" "$2")"; fi; }
check_same "$T/a" "$T/b" text.unchanged

"$SLUICE" wc --by=size "$R" >/dev/null 2>"$T/err"
rc=$?
if [ $rc -eq 2 ] && grep -q "invalid argument 'size' for '--by'" "$T/err"; then
    ok by.invalid
else
    fail by.invalid "rc $rc: $(cat "$T/err")"
fi

# ------------------------------------------------------- walk filters

# names sluice wc visits for OPTS on the tree, one per line, sorted
visits() {
    "$SLUICE" wc -c "$@" "$R" | sed '$d' | sed 's/^ *[0-9]* //' | LC_ALL=C sort
}
walk_case() {
    local name=$1 want=$2
    shift 2
    local got
    got=$(visits "$@")
    # a single file prints no total line: put its name back
    [ "$(echo "$want" | grep -c .)" -eq 1 ] && got=$("$SLUICE" wc -c "$@" "$R" | sed 's/^ *[0-9]* //')
    if [ "$got" = "$want" ]; then ok "walk.$name"; else fail "walk.$name" "got: $got
want: $want"; fi
}
walk_case include-name "$(find "$R" -type f -name '*.c' | LC_ALL=C sort)" --include '*.c'
walk_case include-two "$(find "$R" -type f \( -name '*.c' -o -name '*.h' \) | LC_ALL=C sort)" --include '*.c' --include '*.h'
walk_case include-path "$R/src/main.c" --include 'src/*.c'
walk_case exclude-dir "$(find "$R" -type f -not -path '*/lib/*' | LC_ALL=C sort)" --exclude lib
walk_case exclude-name "$(find "$R" -type f -not -name '*.c' | LC_ALL=C sort)" --exclude '*.c'
walk_case max-depth-1 "$(find "$R" -maxdepth 1 -type f | LC_ALL=C sort)" --max-depth 1
walk_case max-depth-2 "$(find "$R" -maxdepth 2 -type f | LC_ALL=C sort)" --max-depth 2
"$SLUICE" wc --max-depth 0 "$R" >"$T/out" 2>&1
if [ ! -s "$T/out" ]; then ok walk.max-depth-0; else fail walk.max-depth-0 "$(cat "$T/out")"; fi
# file operands are GNU wc's: no filter applies to them
"$SLUICE" wc --include '*.h' "$R/src/main.c" >"$T/out"
if grep -q 'main.c$' "$T/out"; then ok walk.file-operand-unfiltered; else fail walk.file-operand-unfiltered "$(cat "$T/out")"; fi

# --skip-binary: a NUL in the first 8 KiB leaves the file out, whatever its
# size (a big one is cut into several units) and the worker count
B="$T/bin"
mkdir -p "$B"
printf 'text\n' >"$B/a.txt"
printf 'x\0y\n' >"$B/small.bin"
{ printf 'late\n'; head -c 9000 /dev/zero | tr '\0' 'z'; printf '\0\n'; } >"$B/late-nul.txt"
{ head -c 100 /dev/zero; yes 'more text' | head -c 9000000; } >"$B/big.bin"
r=""
for j in 0 2; do
    got=$("$SLUICE" wc -l -j "$j" --skip-binary "$B" | sed 's/^ *[0-9]* //' | tr '\n' ' ')
    [ "$got" = "$B/a.txt $B/late-nul.txt total " ] || r+=" -j$j:[$got]"
done
"$SLUICE" wc --skip-binary "$B/small.bin" >"$T/out" 2>&1
[ ! -s "$T/out" ] || r+=" operand:$(cat "$T/out")"
if [ -z "$r" ]; then ok skip-binary; else fail skip-binary "$r"; fi

# ------------------------------------------------------------- progress
truncate -s 600M "$T/big"
"$SLUICE" wc -j1 -L "$T/big" >/dev/null 2>"$T/plain.err"
"$SLUICE" wc -j1 -L --progress "$T/big" >"$T/forced.out" 2>"$T/forced.err"
r=""
[ -s "$T/plain.err" ] && r+=" shown-without-terminal"
grep -q 'sluice wc: 0/1 files, .* of 600.0 MiB, .*/s, ETA' "$T/forced.err" || r+=" not-forced:$(head -c 200 "$T/forced.err")"
grep -q $'\r' "$T/forced.out" && r+=" progress-on-stdout"
if command -v script >/dev/null 2>&1; then
    script -qec "'$SLUICE' wc -j1 -L '$T/big'" /dev/null >"$T/tty.out" 2>&1 </dev/null
    grep -q 'files, .* of 600.0 MiB' "$T/tty.out" || r+=" not-on-terminal"
    # what the terminal shows in the end: wc's count line alone
    python3 -c '
import re, sys
screen = []
for line in open(sys.argv[1], "rb").read().decode("utf-8", "replace").split("\n"):
    shown = re.sub(r"\x1b\[K", "", line.rstrip("\r").split("\r")[-1])
    if shown:
        screen.append(shown)
sys.exit(0 if screen == ["0 " + sys.argv[2]] else 1)' "$T/tty.out" "$T/big" || r+=" screen:$(od -c "$T/tty.out" | tail -4)"
    script -qec "'$SLUICE' wc -j1 -L --no-progress '$T/big'" /dev/null >"$T/tty2.out" 2>&1 </dev/null
    grep -q 'files,' "$T/tty2.out" && r+=" shown-with-no-progress"
else
    skip progress.terminal "no usable script(1)"
fi
if [ -z "$r" ]; then ok progress.line; else fail progress.line "$r"; fi

finish

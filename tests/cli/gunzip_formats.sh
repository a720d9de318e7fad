#!/bin/bash
# tests/cli/gunzip_formats.sh -- `sluice gzip -d` (gunzip, zcat) on what
# gzip 1.12 reads besides gzip: compress's LZW (.Z), pack (.z), zip
# archives of one member, and -f pass-through of data that is not
# compressed; suffixes, name clashes and gzip's own regression inputs.
#
# Oracle: gzip.  Each case runs one command line under gzip (gunzip as
# gzip -d, zcat as gzip -dc) and under sluice, each in its own copy of the
# case's directory; stdout, the exit status, stderr ("gzip:" read as the
# name sluice was called by, blank lines dropped, sluice's " (at byte N)"
# left out) and the directory afterwards (names, modes, sizes, mtimes,
# contents) must be the same.  Valid zip archives that gzip fails on
# (Zip64 sizes, a stored member with a data descriptor) are checked
# against the original bytes instead, and where gzip loses the input (-d
# of a .Z of 17-bit codes) the directory must stay as it was.
#
# Fixtures: compress(1) (ncompress), the mkpack test program, python3's
# zipfile and zlib, zip(1) when installed; cases whose tool is missing
# are skipped.
#
# Prints "ok NAME" or "FAIL NAME" per case; exits 1 if any failed.
# Environment: SLUICE_BUILD_ROOT, MKPACK (the mkpack program), GZIP_BIN;
# SLUICE_GZIP_CMD, a gzip binary to run in sluice's place, checks the
# suite itself: then every case passes but those checked against the
# original bytes and Z.maxbits-17-d.
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh disable=SC1091
. "$(dirname "$0")/lib.sh"

GZIP_BIN=${GZIP_BIN:-/usr/bin/gzip}
MKPACK=${MKPACK:-}
SLUICE_GZIP_CMD=${SLUICE_GZIP_CMD:-}
export GZIP='' LC_ALL=C
if [ ! -x "$GZIP_BIN" ]; then
    fail setup "missing $GZIP_BIN"
    finish
fi
F="$T/fx"     # fixtures
CASES="$T/cs" # one directory per case
mkdir -p "$F" "$CASES"

HAVE_COMPRESS=false
command -v compress >/dev/null 2>&1 && HAVE_COMPRESS=true
HAVE_MKPACK=false
[ -n "$MKPACK" ] && [ -x "$MKPACK" ] && HAVE_MKPACK=true
HAVE_ZIP=false
command -v zip >/dev/null 2>&1 && HAVE_ZIP=true

# ------------------------------------------------------------ harness

# in_dir DIR PREFIX STDIN CMD... -- CMD in DIR under `timeout`, stdin from
# STDIN ("-": /dev/null; "|FILE": a pipe fed from FILE; else a file; FILE
# relative to DIR); PREFIX.out .err .rc
in_dir() {
    local d=$1 p=$2 in=$3
    shift 3
    (
        cd "$d" || exit 99
        if [ "$in" = - ]; then
            timeout "$RUN_TIMEOUT" "$@" </dev/null
        elif [ "${in#|}" != "$in" ]; then
            cat -- "${in#|}" | timeout "$RUN_TIMEOUT" "$@"
        else
            timeout "$RUN_TIMEOUT" "$@" <"$in"
        fi >"$p.out" 2>"$p.err"
        echo $? >"$p.rc"
    )
}

# setup NAME -- a fresh, empty input directory $C for case NAME
setup() {
    rm -rf "${CASES:?}/$1"
    C="$CASES/$1/src"
    mkdir -p "$C"
}

# put FIXTURE [NAME] -- a copy of $F/FIXTURE in $C, as NAME
put() {
    cp -p "$F/$1" "$C/${2:-$1}"
}

# tree DIR -- DIR's entries: name, type, mode, size, mtime in seconds
tree() {
    (cd "$1" && find . -mindepth 1 -printf '%P %y %m %s %T@\n') |
        sed 's/\.[0-9]*$//' | sort
}

# sluice_cmd MODE -- the command line under test for MODE into SL
sluice_cmd() {
    if [ -n "$SLUICE_GZIP_CMD" ]; then
        case $1 in
        gzip) SL=("$SLUICE_GZIP_CMD") ;;
        gunzip) SL=("$SLUICE_GZIP_CMD" -d) ;;
        zcat) SL=("$SLUICE_GZIP_CMD" -dc) ;;
        esac
    else
        SL=("$SLUICE" "$1")
    fi
}

# messages FILE [PREFIX] -- FILE's lines without blank ones and without
# the " (at byte N)" sluice adds; with PREFIX, "gzip:" read as PREFIX
messages() {
    if [ $# -gt 1 ]; then
        sed -e "s/^gzip: /$2: /" -e 's/ (at byte [0-9]*)$//' "$1"
    else
        sed -e 's/ (at byte [0-9]*)$//' "$1"
    fi | grep -v '^$'
}

# same NAME MODE STDIN ARGS... -- gzip and `sluice MODE ARGS` (MODE gzip,
# gunzip or zcat) each in a copy of $CASES/NAME/src: one ok or FAIL.  With
# REF=src, sluice's directory afterwards is checked against the input
# directory instead of gzip's.
same() {
    local name=$1 mode=$2 in=$3
    shift 3
    local dir="$CASES/$name" opt=() as=() d="" ref=${REF:-gnu}
    case $mode in
    gunzip) opt=(-d) ;;
    zcat) opt=(-dc) ;;
    esac
    # gzip in sluice's place speaks as gzip too
    [ -n "$SLUICE_GZIP_CMD" ] && as=("sluice $mode")
    if ! { cp -a "$dir/src" "$dir/gnu" && cp -a "$dir/src" "$dir/sl"; }; then
        fail "$name" "cannot copy the input directory"
        return
    fi
    in_dir "$dir/gnu" "$dir/exp" "$in" "$GZIP_BIN" "${opt[@]}" "$@"
    sluice_cmd "$mode"
    in_dir "$dir/sl" "$dir/got" "$in" "${SL[@]}" "$@"
    messages "$dir/exp.err" "sluice $mode" >"$dir/exp.msg"
    messages "$dir/got.err" "${as[@]}" >"$dir/got.msg"
    if ! cmp -s "$dir/exp.out" "$dir/got.out"; then
        d+="stdout: $(cmp "$dir/exp.out" "$dir/got.out" 2>&1)"$'\n'
        d+=$(diff <(od -An -c "$dir/exp.out" | head -n 2000) \
            <(od -An -c "$dir/got.out" | head -n 2000) | head -n 12)$'\n'
    fi
    if ! cmp -s "$dir/exp.msg" "$dir/got.msg"; then
        d+="stderr:"$'\n'$(diff "$dir/exp.msg" "$dir/got.msg")$'\n'
    fi
    if ! cmp -s "$dir/exp.rc" "$dir/got.rc"; then
        d+="exit status: gzip $(cat "$dir/exp.rc"), sluice $(cat "$dir/got.rc")"$'\n'
    fi
    if ! diff -q <(tree "$dir/$ref") <(tree "$dir/sl") >/dev/null; then
        d+="directory (< $ref, > sluice):"$'\n'$(diff <(tree "$dir/$ref") <(tree "$dir/sl"))$'\n'
    elif ! diff -rq "$dir/$ref" "$dir/sl" >/dev/null 2>&1; then
        d+="contents: $(diff -rq "$dir/$ref" "$dir/sl" 2>&1)"$'\n'
    fi
    if [ -z "$d" ]; then
        ok "$name"
    else
        fail "$name" "[$mode ${opt[*]} $*]"$'\n'"$d"
    fi
    rm -rf "$dir"
}

# same_bytes NAME MODE STDIN WANT ARGS... -- `sluice MODE ARGS` in a copy
# of $CASES/NAME/src writes $F/WANT on stdout, nothing on stderr, exits 0
# and leaves the directory as it was: for inputs gzip fails on
same_bytes() {
    local name=$1 mode=$2 in=$3 want=$4
    shift 4
    local dir="$CASES/$name" d=""
    if ! cp -a "$dir/src" "$dir/sl"; then
        fail "$name" "cannot copy the input directory"
        return
    fi
    sluice_cmd "$mode"
    in_dir "$dir/sl" "$dir/got" "$in" "${SL[@]}" "$@"
    cmp -s "$F/$want" "$dir/got.out" ||
        d+="stdout: $(cmp "$F/$want" "$dir/got.out" 2>&1)"$'\n'
    [ -s "$dir/got.err" ] && d+="stderr: $(head -c 2000 "$dir/got.err")"$'\n'
    [ "$(cat "$dir/got.rc")" = 0 ] || d+="exit status $(cat "$dir/got.rc")"$'\n'
    diff -q <(tree "$dir/src") <(tree "$dir/sl") >/dev/null ||
        d+="directory changed: $(diff <(tree "$dir/src") <(tree "$dir/sl"))"$'\n'
    if [ -z "$d" ]; then ok "$name"; else fail "$name" "[$mode $*]"$'\n'"$d"; fi
    rm -rf "$dir"
}

# ------------------------------------------------------------ fixtures

: >"$F/empty"
printf 'x' >"$F/one"
printf 'hello, world\n' >"$F/hello"
find /usr/include -type f -name '*.h' -print0 2>/dev/null | sort -z |
    xargs -0 cat 2>/dev/null | head -c 3000000 >"$F/text"
[ -s "$F/text" ] || yes 'compressible text line 0123456789' | head -c 3000000 >"$F/text"
head -c 300000 /dev/urandom >"$F/random"
python3 -c 'import sys; sys.stdout.buffer.write(bytes(range(256)) * 64)' >"$F/bytes"
# text and random data in turns: compress's ratio drops in the random
# parts, and it resets its table (CLEAR codes)
{
    head -c 600000 "$F/text"
    head -c 400000 /dev/urandom
    tail -c 900000 "$F/text"
    head -c 400000 /dev/urandom
    head -c 700000 "$F/text" | tail -c 300000
} >"$F/mix"
head -c 1048576 "$F/mix" >"$F/mib1"
{ head -c 1572864 /dev/urandom && head -c 1572864 "$F/text"; } >"$F/mib3"
printf 'plain data, not compressed\n' >"$F/plain"
echo in | "$GZIP_BIN" -c >"$F/in.gz"
echo stdin | "$GZIP_BIN" -c >"$F/stdin.gz"
"$GZIP_BIN" -c "$F/text" >"$F/text.gz"
"$GZIP_BIN" -c "$F/hello" >"$F/hello.gz"

# ----------------------------------------------------- compress (.Z)

# lzw_clears FILE -- how many CLEAR codes compress's output FILE
# holds (codes are read as gzip's unlzw.c reads them: in groups of 8 codes
# that restart when the code width changes)
lzw_clears() {
    python3 - "$1" <<'EOF'
import sys
z = open(sys.argv[1], "rb").read()
maxbits, block = z[2] & 31, z[2] & 0x80
data, maxmax = z[3:], 1 << (z[2] & 31)
n, maxcode, free = 9, 511, 257 if block else 256
base = pos = 0
old, clears = -1, 0
while True:
    if free > maxcode:
        g = n * 8
        pos = base = base + -(-(pos - base) // g) * g
        n += 1
        maxcode = maxmax if n == maxbits else (1 << n) - 1
        continue
    if pos + n > len(data) * 8:
        break
    i = pos >> 3
    code = (int.from_bytes(data[i:i + 3].ljust(3, b"\0"), "little") >> (pos & 7)) & ((1 << n) - 1)
    pos += n
    if old < 0:
        old = code
        continue
    if code == 256 and block:
        clears += 1
        g = n * 8
        pos = base = base + -(-(pos - base) // g) * g
        n, maxcode, free = 9, 511, 256
        continue
    if free < maxmax:
        free += 1
    old = code
print(clears)
EOF
}

# LZW streams written by hand: codes of 9 bits, low bits first; and
# streams without block mode (compress -C's output is read neither by
# gzip nor by compress -d), written as gzip's unlzw.c reads them
python3 - "$F" <<'EOF'
import os, sys
d = sys.argv[1]
def lzw(data, maxbits):
    """compress's LZW without block mode (no CLEAR code)."""
    maxmax = 1 << maxbits
    out = bytearray()
    st = {"acc": 0, "nacc": 0, "pos": 0, "base": 0, "n": 9, "max": 511, "j": 0}
    def put(v, k):
        st["acc"] |= v << st["nacc"]
        st["nacc"] += k
        st["pos"] += k
        while st["nacc"] >= 8:
            out.append(st["acc"] & 255)
            st["acc"] >>= 8
            st["nacc"] -= 8
    def emit(code):
        # the reader's next free entry when it reads this code: it widens
        # the codes first, from a group of 8 codes' boundary
        free = min(256 + max(0, st["j"] - 1), maxmax)
        while free > st["max"]:
            put(0, -(st["pos"] - st["base"]) % (st["n"] * 8))
            st["base"] = st["pos"]
            st["n"] += 1
            st["max"] = maxmax if st["n"] == maxbits else (1 << st["n"]) - 1
        put(code, st["n"])
        st["j"] += 1
    table = {bytes([i]): i for i in range(256)}
    nxt, w = 256, b""
    for c in data:
        wc = w + bytes([c])
        if wc in table:
            w = wc
            continue
        emit(table[w])
        if nxt < maxmax:
            table[wc] = nxt
            nxt += 1
        w = bytes([c])
    if w:
        emit(table[w])
    put(0, -st["nacc"] % 8)
    return b"\x1f\x9d" + bytes([maxbits]) + bytes(out)
def codes(*cs):
    v = 0
    for i, c in enumerate(cs):
        v |= c << (9 * i)
    return v.to_bytes((9 * len(cs) + 7) // 8, "little")
def w(name, data):
    open(os.path.join(d, name), "wb").write(data)
w("past.Z", b"\x1f\x9d\x90" + codes(0x61, 0x62, 300))       # code past the table
w("first256.Z", b"\x1f\x9d\x90" + codes(0x161, 0x62))      # first code not a byte
# no block mode: 256 is an ordinary code ("ab")
w("noblock.Z", b"\x1f\x9d\x10" + codes(0x61, 0x62, 256, 257, 0x63))
w("bits17.Z", b"\x1f\x9d\x91" + codes(0x61, 0x62))
w("cut.Z", b"\x1f\x9d")
w("gnu.Z", b"\x1f\x9d\x90\0\0\0\xc4")                      # gzip's own test: two NULs
text = open(os.path.join(d, "text"), "rb").read(300000)
w("text300k", text)
w("noblock-12.Z", lzw(text, 12))                               # the table fills
w("noblock-16.Z", lzw(text, 16))
EOF

if $HAVE_COMPRESS; then
    for f in empty one text random mib3 mix; do
        compress -c <"$F/$f" >"$F/$f.Z"
    done
    for b in 9 10 11 12 13 14 15 16; do
        compress -c -b "$b" <"$F/mix" >"$F/mix.$b.Z"
    done
    head -c 200 "$F/text" | compress -c -b 9 >"$F/small.9.Z"
    python3 -c 'import sys; b = bytearray(open(sys.argv[1], "rb").read()); b[2] |= 0x60
sys.stdout.buffer.write(b)' "$F/text.Z" >"$F/reserved.Z"
    cat "$F/text.Z" - >"$F/garbage.Z" <<<"this is not LZW data"

    for f in empty one text random mib3; do
        setup "Z.$f"
        put "$f.Z" F.Z
        same "Z.$f" zcat - F.Z
    done
    # every code width.  Once its table is full, compress -b 9's output is
    # read wrongly by gzip, which widens the codes to 10 bits (and by
    # compress -d): "corrupt input."
    for b in 9 10 11 12 13 14 15 16; do
        setup "Z.bits-$b"
        put "mix.$b.Z" F.Z
        same "Z.bits-$b" zcat - F.Z
    done
    setup Z.bits-9-small
    put small.9.Z F.Z
    same Z.bits-9-small zcat - F.Z

    r=""
    for b in 12 16; do
        n=$(lzw_clears "$F/mix.$b.Z")
        [ "${n:-0}" -gt 0 ] || r+=" -b $b: no CLEAR code in the fixture"
    done
    if [ -z "$r" ]; then
        setup Z.clear-codes
        put mix.16.Z F.Z
        put mix.12.Z G.Z
        same Z.clear-codes zcat - F.Z G.Z
    else
        fail Z.clear-codes "$r"
    fi

    # the ways in
    setup Z.gzip-dc
    put text.Z F.Z
    same Z.gzip-dc gzip - -dc F.Z
    setup Z.gunzip
    put text.Z F.Z
    same Z.gunzip gunzip - F.Z
    setup Z.gzip-d
    put text.Z F.Z
    same Z.gzip-d gzip - -d F.Z
    setup Z.keep
    put text.Z F.Z
    same Z.keep gzip - -dk F.Z
    setup Z.stdin
    put text.Z F.Z
    same Z.stdin zcat F.Z
    setup Z.stdin-pipe
    put text.Z F.Z
    same Z.stdin-pipe gunzip '|F.Z' -c
    setup Z.test
    put text.Z F.Z
    put one.Z G.Z
    same Z.test gzip - -t F.Z G.Z
    setup Z.test-verbose
    put text.Z F.Z
    same Z.test-verbose gzip - -tv F.Z
    setup Z.list
    put text.Z F.Z
    put empty.Z E.Z
    same Z.list gzip - -l F.Z E.Z
    setup Z.list-verbose
    put text.Z F.Z
    same Z.list-verbose gzip - -lv F.Z
    setup Z.reserved-flags
    put reserved.Z F.Z
    same Z.reserved-flags zcat - F.Z
    setup Z.trailing-garbage
    put garbage.Z F.Z
    same Z.trailing-garbage zcat - F.Z
    setup Z.trailing-garbage-d
    put garbage.Z F.Z
    same Z.trailing-garbage-d gunzip - F.Z
else
    skip Z.compress "compress (ncompress) not installed"
fi

# hand-written streams
for b in 12 16; do
    setup "Z.no-block-mode-$b"
    put "noblock-$b.Z" F.Z
    same "Z.no-block-mode-$b" zcat - F.Z
done
# (the writer above is right: gzip reads back what it was given)
cmp -s <("$GZIP_BIN" -dc "$F/noblock-12.Z" 2>/dev/null) "$F/text300k" &&
    cmp -s <("$GZIP_BIN" -dc "$F/noblock-16.Z" 2>/dev/null) "$F/text300k"
check_rc Z.no-block-mode-fixture $?
setup Z.no-block-code-256
put noblock.Z F.Z
same Z.no-block-code-256 zcat - F.Z
setup Z.gnu-two-nuls
put gnu.Z F.Z
same Z.gnu-two-nuls zcat - F.Z
setup Z.code-past-table-c
put past.Z F.Z
same Z.code-past-table-c zcat - F.Z
setup Z.code-past-table-d
put past.Z F.Z
same Z.code-past-table-d gunzip - F.Z
setup Z.first-code-not-byte
put first256.Z F.Z
same Z.first-code-not-byte gunzip - F.Z
setup Z.maxbits-17
put bits17.Z F.Z
same Z.maxbits-17 zcat - F.Z
# gzip's message and status, but gzip 1.12 then removes F.Z and leaves an
# empty F: the input is to be kept, with no output
setup Z.maxbits-17-d
put bits17.Z F.Z
REF=src same Z.maxbits-17-d gunzip - F.Z
setup Z.cut-after-magic
put cut.Z F.Z
same Z.cut-after-magic gunzip - F.Z

# --------------------------------------------------------- pack (.z)

# hand-written pack streams: a header, its leaf counts and literals
python3 - "$F" <<'EOF'
import os, sys
d = sys.argv[1]
def w(name, data):
    open(os.path.join(d, name), "wb").write(data)
def pack(n, max_len, counts, literals, bits):
    bits += "0" * (-len(bits) % 8)
    body = int(bits, 2).to_bytes(len(bits) // 8, "big") if bits else b""
    return (b"\x1f\x1e" + n.to_bytes(4, "big") + bytes([max_len] + counts)
            + bytes(literals) + body)
w("many.z", pack(1, 2, [2, 2], b"ab", "1"))          # 2 leaves of length 1 and more
w("few.z", pack(1, 2, [0, 0], b"a", "11"))           # the tree is not complete
w("len0.z", pack(1, 0, [], b"", ""))                 # max_len 0
w("len26.z", pack(1, 26, [1] * 25 + [0], bytes(range(65, 91)), "1"))
# the longest codes gzip reads: one leaf per length 1..24 (i zeros and a
# one), then a literal of 25 zeros and EOB, 24 zeros and a one
lits = bytes(range(97, 97 + 25))
code = {c: "0" * i + "1" for i, c in enumerate(lits[:24])}
code[lits[24]] = "0" * 25
data = bytes([lits[0], lits[24], lits[23], lits[24], lits[1]])
w("len25.z", pack(len(data), 25, [1] * 24 + [0], lits,
                  "".join(code[c] for c in data) + "0" * 24 + "1"))
w("len25.exp", data)
# gzip's unpack-valid input ("banana": EOB is the longest code) and its
# unpack-invalid ones
w("banana.z", b"\x1f\x1e\x00\x00\x00\x06\x03\x01\x01\x00\x61\x6e\x62\x16\xc8")
w("gnu1.z", b"\037\036\000\000\037\213\010\000\000\000\000\000\002\003\036\000\000\000\002\003\037\213\010\000\000\000\000\000\002\003\355\301\001\015\000\000\000\302\240\037\000\302\240\037\213\010\000\000\000\000\000\002\003\355\301")
w("gnu2.gz", b"\037\213\010\000\000\000\000\000\002\003\355\301\001\015\000\000\000\302\240\076\366\017\370\036\016\030\000\000\000\000\000\000\000\000\000\034\010\105\140\104\025\020\047\000\000\037\036\016\030\000\000\000")
EOF

if $HAVE_MKPACK; then
    for f in empty one hello text bytes random mib1; do
        "$MKPACK" <"$F/$f" >"$F/$f.z"
    done
    head -c 100000 /dev/zero >"$F/zeros"
    "$MKPACK" <"$F/zeros" >"$F/zeros.z"
    python3 - "$F" <<'EOF'
import os, sys
d = sys.argv[1]
good = open(os.path.join(d, "text.z"), "rb").read()
def w(name, data):
    open(os.path.join(d, name), "wb").write(data)
b = bytearray(good); b[5] ^= 1                    # the stored length is wrong
w("lenerr.z", bytes(b))
w("trunc.z", good[: len(good) // 2])              # cut in the codes
w("trunc-tree.z", good[:9])                       # cut in the leaf counts
w("trunc-len.z", good[:4])                        # cut in the length
w("garbage.z", good + b"trailing bytes\n")
EOF
    for f in empty one hello text bytes random mib1 zeros; do
        setup "z.$f"
        put "$f.z" F.z
        same "z.$f" zcat - F.z
    done
    setup z.gunzip-dot-z
    put hello.z F.z
    same z.gunzip-dot-z gunzip - F.z
    setup z.gunzip-dash-z
    put hello.z F-z
    same z.gunzip-dash-z gunzip - F-z
    setup z.gunzip-underscore-z
    put hello.z F_z
    same z.gunzip-underscore-z gunzip - F_z
    setup z.stdin
    put text.z F.z
    same z.stdin zcat '|F.z'
    setup z.test
    put text.z F.z
    same z.test gzip - -t F.z
    setup z.list
    put text.z F.z
    same z.list gzip - -l F.z
    setup z.list-verbose
    put text.z F.z
    same z.list-verbose gzip - -lv F.z
    for c in lenerr trunc trunc-tree trunc-len garbage; do
        setup "z.$c"
        put "$c.z" F.z
        same "z.$c" zcat - F.z
        setup "z.$c-d"
        put "$c.z" F.z
        same "z.$c-d" gunzip - F.z
    done
else
    skip z.mkpack "MKPACK does not name the mkpack program"
fi

for c in many few len0 len26 len25 banana gnu1; do
    setup "z.$c"
    put "$c.z" F.z
    same "z.$c" gunzip - F.z
done
setup z.gnu2
put gnu2.gz F.gz
same z.gnu2 gunzip - F.gz
# gzip 1.12 reads the 25-bit codes: what it wrote is what was packed
cmp -s <("$GZIP_BIN" -dc "$F/len25.z" 2>/dev/null) "$F/len25.exp"
check_rc z.len25-fixture $?

# ---------------------------------------------------------------- zip

# mkzip SRC OUT KIND -- a zip of SRC (member "member"); KIND
# words: stored (else deflated), dd (a data descriptor: written to a pipe,
# which cannot seek), zip64 (force_zip64), two (a second member)
mkzip() {
    python3 - "$@" <<'EOF'
import io, sys, zipfile
src, out, kind = sys.argv[1], sys.argv[2], sys.argv[3]
class Pipe(io.RawIOBase):
    def __init__(self, f): self.f = f
    def writable(self): return True
    def write(self, b): return self.f.write(b)
method = zipfile.ZIP_STORED if "stored" in kind else zipfile.ZIP_DEFLATED
with open(out, "wb") as f:
    with zipfile.ZipFile(Pipe(f) if "dd" in kind else f, "w") as z:
        zi = zipfile.ZipInfo("member", (2020, 1, 2, 3, 4, 6))
        zi.compress_type = method
        with z.open(zi, "w", force_zip64="zip64" in kind) as m:
            m.write(open(src, "rb").read())
        if "two" in kind:
            z.writestr("second", b"second member\n")
EOF
}

# zip_patch IN OUT WHAT -- IN with WHAT changed in the local and
# the central header: encrypted (flag bit 0), bzip2 (method 12), crc
# (flipped), ddcrc (the data descriptor's CRC and the central one flipped)
zip_patch() {
    python3 - "$@" <<'EOF'
import struct, sys
b = bytearray(open(sys.argv[1], "rb").read())
what = sys.argv[3]
loc, cen = 0, b.find(b"PK\x01\x02")
if what == "encrypted":
    b[loc + 6] |= 1; b[cen + 8] |= 1
elif what == "bzip2":
    b[loc + 8] = 12; b[cen + 10] = 12
elif what == "crc":
    b[loc + 14] ^= 0x5a; b[cen + 16] ^= 0x5a
elif what == "ddcrc":
    dd = b.find(b"PK\x07\x08")
    b[dd + 4] ^= 0x5a; b[cen + 16] ^= 0x5a
open(sys.argv[2], "wb").write(b)
EOF
}

for k in deflated stored deflated-dd stored-dd deflated-zip64 stored-zip64 \
    deflated-dd-zip64 stored-dd-zip64 deflated-two; do
    mkzip "$F/text" "$F/$k.zip" "$k"
done
mkzip "$F/empty" "$F/empty-deflated.zip" deflated
mkzip "$F/empty" "$F/empty-stored.zip" stored
zip_patch "$F/deflated.zip" "$F/encrypted.zip" encrypted
zip_patch "$F/deflated.zip" "$F/bzip2.zip" bzip2
zip_patch "$F/deflated.zip" "$F/crc.zip" crc
zip_patch "$F/stored.zip" "$F/crc-stored.zip" crc
zip_patch "$F/deflated-dd.zip" "$F/ddcrc.zip" ddcrc
head -c $(($(stat -c %s "$F/deflated.zip") / 2)) "$F/deflated.zip" >"$F/cut.zip"
head -c 20 "$F/deflated.zip" >"$F/cut-header.zip"

for k in deflated stored deflated-dd empty-deflated empty-stored encrypted \
    bzip2 crc crc-stored ddcrc cut cut-header; do
    setup "zip.$k"
    put "$k.zip" F.zip
    same "zip.$k" zcat - F.zip
done
# two members: a warning with -c, refused when writing a file
setup zip.two-members-c
put deflated-two.zip F.zip
same zip.two-members-c zcat - F.zip
setup zip.two-members-d
put deflated-two.zip F.zip
same zip.two-members-d gunzip - -S .zip F.zip
setup zip.gunzip
put deflated.zip F.zip
same zip.gunzip gunzip - -S .zip F.zip
setup zip.unknown-suffix
put deflated.zip F.zip
same zip.unknown-suffix gunzip - F.zip
setup zip.stdin
put deflated.zip F.zip
same zip.stdin zcat '|F.zip'
setup zip.test
put deflated.zip F.zip
same zip.test gzip - -t F.zip
setup zip.list
put deflated.zip F.zip
same zip.list gzip - -l F.zip

# Valid archives gzip 1.12 does not read, against the original bytes.
# gzip takes a stored member's length from the local header (0 when a
# data descriptor follows: "crc error", "length error", exit 1), and
# reads neither the Zip64 extra field nor Zip64 descriptors: a deflated
# member comes out whole, then "length error" and exit 1; a stored one
# comes out with the rest of the archive after it, then "unexpected end
# of file".
for k in stored-dd deflated-zip64 stored-zip64 deflated-dd-zip64 stored-dd-zip64; do
    setup "zip.$k"
    put "$k.zip" F.zip
    same_bytes "zip.$k" zcat - text F.zip
done

if $HAVE_ZIP; then
    (cd "$F" && cp text member && zip -q z-deflated.zip member &&
        zip -q -0 z-stored.zip member && zip -q - member | cat >z-stream.zip &&
        zip -q -0 - member | cat >z-stream-stored.zip &&
        zip -q -fz- - - <member | cat >z-stdin32.zip &&
        zip -q -fz z-zip64.zip member && zip -q - - <member | cat >z-stdin.zip)
    for k in deflated stored stream stream-stored stdin32; do
        setup "infozip.$k"
        put "z-$k.zip" F.zip
        same "infozip.$k" zcat - F.zip
    done
    # Zip64 (-fz; from a pipe, a Zip64 data descriptor): gzip fails
    for k in zip64 stdin; do
        setup "infozip.$k"
        put "z-$k.zip" F.zip
        same_bytes "infozip.$k" zcat - text F.zip
    done
else
    skip infozip "zip not installed"
fi

# ------------------------------------------------------- pass-through

(cat "$F/hello.gz" "$F/plain") >"$F/gzplain.gz"
(cat "$F/hello.gz" && head -c 1000 /dev/zero) >"$F/gzzeros.gz"

setup pass.zcat-f
put plain
same pass.zcat-f zcat - -f plain
setup pass.cdf
put plain
same pass.cdf gzip - -cdf plain
setup pass.gzip-then-plain
put gzplain.gz F.gz
same pass.gzip-then-plain gzip - -dcf F.gz
setup pass.gzip-then-plain-no-f
put gzplain.gz F.gz
same pass.gzip-then-plain-no-f gzip - -dc F.gz
setup pass.gzip-then-zeros
put gzzeros.gz F.gz
same pass.gzip-then-zeros gzip - -cdf F.gz
setup pass.stdin-pipe
put plain
same pass.stdin-pipe gzip '|plain' -cdf
setup pass.stdin-file
put plain
same pass.stdin-file gzip plain -cdf
setup pass.stdin-between-files
put in.gz
put stdin.gz
same pass.stdin-between-files gzip stdin.gz -dc in.gz - in.gz
setup pass.empty
put empty
same pass.empty gzip - -cdf empty
setup pass.test-f
put plain
same pass.test-f gzip - -tf plain
setup pass.df-not-gzip
put plain x.gz
same pass.df-not-gzip gzip - -df x.gz
# (below, a .gz stands in for a .Z or .z fixture that could not be made)
setup pass.mixed
put plain
put hello.gz a.gz
put text.z b.z 2>/dev/null || put hello.gz b.z
put text.Z c.Z 2>/dev/null || put hello.gz c.Z
put deflated.zip d.zip
same pass.mixed zcat - -f a.gz plain b.z c.Z d.zip plain

# -------------------------------------------------- gzip's scenarios

# trailing bytes after a member (gzip's trailing-nul test)
(cat "$F/hello.gz" && printf '\0') >"$F/nul1.gz"
(cat "$F/hello.gz" && printf '\0\0') >"$F/nul2.gz"
(cat "$F/hello.gz" && printf '\1') >"$F/one1.gz"
for c in nul1 nul2 one1; do
    setup "trailing.$c"
    put "$c.gz" F.gz
    same "trailing.$c" gunzip - F.gz
done

# bad Huffman tables in a dynamic block (gzip's hufts test and more): the
# code length code, the literal/length code, the distance code; each
# over-subscribed or incomplete.  One distance code, or none, is allowed.
python3 - "$F" <<'EOF'
import os, struct, sys
d = sys.argv[1]
class Bits:
    def __init__(self): self.v, self.n = 0, 0
    def put(self, value, n):                  # low bits first
        self.v |= value << self.n; self.n += n
    def code(self, value, n):                 # Huffman codes: high bit first
        self.put(int(format(value, "0%db" % n)[::-1], 2), n)
    def bytes(self): return self.v.to_bytes((self.n + 7) // 8, "little")
def canonical(lengths):
    count = [0] * 16
    for x in lengths:
        count[x] += 1
    count[0], nxt, code = 0, [0] * 16, 0
    for b in range(1, 16):
        code = (code + count[b - 1]) << 1
        nxt[b] = code
    codes = {}
    for s, x in enumerate(lengths):
        if x:
            codes[s] = (nxt[x], x); nxt[x] += 1
    return codes
ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]
# one final dynamic block holding only EOB; the code lengths are sent
# with a code length code of 4 bits for 0..15 (unless cl says otherwise)
def member(lit, dist, cl=[4] * 16 + [0] * 3):
    b = Bits()
    b.put(1, 1); b.put(2, 2)
    b.put(len(lit) - 257, 5); b.put(len(dist) - 1, 5); b.put(15, 4)
    for s in ORDER:
        b.put(cl[s], 3)
    for x in lit + dist:
        b.code(x, 4)
    codes = canonical(lit)
    if 256 in codes:
        b.code(*codes[256])
    return b"\x1f\x8b\x08\0\0\0\0\0\0\3" + b.bytes() + struct.pack("<II", 0, 0)
def w(name, data):
    open(os.path.join(d, name), "wb").write(data)
lit = [8] * 255 + [0, 9, 9]                   # complete: 255 of 8 bits, 2 of 9
w("cl-over.gz", member(lit, [1], cl=[1] * 19))
w("cl-incomplete.gz", member(lit, [1], cl=[2] + [0] * 18))
w("lit-over.gz", member([1] * 257, [1, 1]))
w("lit-incomplete.gz", member([1] + [0] * 255 + [2], [1, 1]))
w("dist-over.gz", member(lit, [1, 1, 1]))
w("dist-one.gz", member(lit, [1]))
w("dist-none.gz", member(lit, [0]))
w("dynamic.gz", member(lit, [1, 1]))
w("hufts.gz", b"\037\213\010\000\060\060\060\060\060\060\144\000\000\000")
EOF
for c in cl-over cl-incomplete lit-over dist-over dist-one dist-none \
    dynamic hufts; do
    setup "huffman.$c"
    put "$c.gz" F.gz
    same "huffman.$c" gunzip - F.gz
done
# An incomplete literal/length code whose one code used (EOB) is
# unambiguous: gzip refuses it; sluice's inflaters decode it, and the
# output stands because its CRC-32 and length match the trailer
# (docs/gzip.md, "Where sluice differs").
setup huffman.lit-incomplete
put lit-incomplete.gz F.gz
same_bytes huffman.lit-incomplete zcat - empty F.gz

# several files in one run
setup files.two
put hello.gz a.gz
put text.gz b.gz
same files.two gzip - -d a.gz b.gz
setup files.formats
put hello.gz a.gz
put text.Z b.Z 2>/dev/null || put hello.gz b.Z
put text.z c.z 2>/dev/null || put hello.gz c.z
put in.gz d-z
same files.formats gunzip - a.gz b.Z c.z d-z
setup files.keep
put hello.gz a.gz
put text.Z b.Z 2>/dev/null || put hello.gz b.Z
same files.keep gunzip - -k a.gz b.Z

# suffixes
setup suffix.empty-d
put hello.gz F.gz
same suffix.empty-d gzip - -d -S '' F.gz
setup suffix.empty
put hello F
same suffix.empty gzip - -S '' F
setup suffix.upper-gz
put hello.gz F.GZ
same suffix.upper-gz gunzip - F.GZ
setup suffix.mixed-case-gz
put hello.gz F.Gz
same suffix.mixed-case-gz gunzip - F.Gz
setup suffix.upper-tgz
put hello.gz F.TGZ
same suffix.upper-tgz gunzip - F.TGZ
setup suffix.tgz
put hello.gz F.tgz
same suffix.tgz gunzip - F.tgz
setup suffix.taz
put text.Z F.taz 2>/dev/null || put hello.gz F.taz
same suffix.taz gunzip - F.taz
setup suffix.upper-taz
put hello.gz F.TAZ
same suffix.upper-taz gunzip - F.TAZ
setup suffix.upper-z
put hello.gz F.Z
same suffix.upper-z gunzip - F.Z
setup suffix.lower-z-gzip
put hello.gz F.z
same suffix.lower-z-gzip gunzip - F.z
setup suffix.option
put hello.gz F.foo
same suffix.option gunzip - -S .foo F.foo
setup suffix.option-and-gz
put hello.gz F.gz
same suffix.option-and-gz gunzip - -S .foo F.gz
# gzip's upper-suffix and z-suffix tests: -S T on kT, -Sz on F (Fz)
setup suffix.option-upper
: | "$GZIP_BIN" -c >"$C/kT"
same suffix.option-upper gunzip - -S T kT
setup suffix.option-z
put hello.gz Fz
same suffix.option-z gunzip - -Sz F
setup suffix.unknown
put hello.gz F.bar
same suffix.unknown gunzip - F.bar
setup suffix.already-z
put hello F.Z
same suffix.already-z gzip - F.Z

# two inputs that decompress to one name: the first wins, the second is
# kept with "already exists; not overwritten"
echo 1 | "$GZIP_BIN" -c >"$F/d1.gz"
echo 2 | "$GZIP_BIN" -c >"$F/d2.gz"
setup clash.gz-z
put d1.gz d.gz
put d2.gz d.z
same clash.gz-z gunzip - d.gz d.z
setup clash.three
put d1.gz d.gz
put text.Z d.Z 2>/dev/null || put d2.gz d.Z
put text.z d.z 2>/dev/null || put d2.gz d.z
same clash.three gunzip - d.Z d.z d.gz
setup clash.zip
put d1.gz d.gz
put deflated.zip d.zip
same clash.zip gunzip - -S .zip d.zip d.gz
setup clash.existing
put d1.gz d.gz
put plain d
same clash.existing gunzip - d.gz

# -l of a member of 4.5 GiB + 1 byte of zeros: its ISIZE wraps, and gzip
# 1.12 decompresses it to count.  Built from one 64 MiB piece compressed
# after a full flush, repeated
python3 - "$F/big.gz" <<'EOF'
import struct, sys, zlib
chunk, pieces = 1 << 26, 72
zero = bytes(chunk)
c = zlib.compressobj(1, zlib.DEFLATED, -15)
piece = c.compress(zero) + c.flush(zlib.Z_FULL_FLUSH)
crc = 0
for _ in range(pieces):
    crc = zlib.crc32(zero, crc)
crc = zlib.crc32(b"\0", crc)
size = chunk * pieces + 1
with open(sys.argv[1], "wb") as f:
    f.write(b"\x1f\x8b\x08\0\0\0\0\0\0\3")
    for _ in range(pieces):
        f.write(piece)
    f.write(c.compress(b"\0") + c.flush(zlib.Z_FINISH))
    f.write(struct.pack("<II", crc, size & 0xffffffff))
EOF
setup list.4g
put big.gz
same list.4g gzip - -l big.gz

finish

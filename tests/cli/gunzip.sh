#!/bin/bash
# tests/cli/gunzip.sh -- `sluice gunzip` / `sluice gzip -d -t -l` against
# gzip 1.12.
#
# Oracles: the original bytes, and gzip itself (its messages, exit codes
# and -l output on the same files, "gzip:" read as "sluice gunzip:").
# Round trips go both ways: sluice's own output (members with size hints,
# decoded in parallel) and gzip's, pigz's and zlib's output (one member or
# concatenated members without hints, decoded as a stream), 1 and N
# workers.  Bad inputs: each gets gzip's message, the byte offset, gzip's
# exit status, no output file and the input kept.  Also: -N, times, -r,
# suffixes, stdin streams, --max-output, SIGINT and ENOSPC leave no partial
# file, a multi-GB sparse round trip.
#
# Prints "ok NAME" or "FAIL NAME" per case; exits 1 if any failed.
# Environment: SLUICE_BUILD_ROOT.
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh disable=SC1091
. "$(dirname "$0")/lib.sh"

GZIP_BIN=${GZIP_BIN:-/usr/bin/gzip}
export GZIP=
if [ ! -x "$GZIP_BIN" ]; then
    fail setup "missing $GZIP_BIN"
    finish
fi
D="$T/d"
mkdir -p "$D"
SG=("$SLUICE" gzip)
SU=("$SLUICE" gunzip)

# ------------------------------------------------------------ fixtures

: >"$D/empty"
printf 'x' >"$D/one"
head -c 1048577 /dev/urandom >"$D/mib1"
head -c 3145728 /dev/urandom >"$D/rand3m"
find /usr/include -type f -name '*.h' -print0 2>/dev/null | sort -z |
    xargs -0 cat 2>/dev/null | head -c 20000000 >"$D/text"
[ -s "$D/text" ] || yes 'compressible text line 0123456789' | head -c 20000000 >"$D/text"
head -c 9000000 /dev/zero >"$D/zeros"
FIXTURES=(empty one mib1 rand3m text zeros)

HAVE_PIGZ=false
command -v pigz >/dev/null 2>&1 && HAVE_PIGZ=true
$HAVE_PIGZ || skip roundtrip.pigz "pigz not installed"

# ---------------------------------------------------------- round trips

# sluice's own members (size hints): parallel decoding, every job count
for f in "${FIXTURES[@]}"; do
    "${SG[@]}" -c "$D/$f" >"$T/$f.sl.gz"
    r=""
    for j in 0 1 2 3; do
        "${SU[@]}" -c -j "$j" "$T/$f.sl.gz" 2>"$T/err" | cmp -s - "$D/$f" || r+=" -j$j:$(cat "$T/err")"
    done
    if [ -z "$r" ]; then ok "roundtrip.sluice.$f"; else fail "roundtrip.sluice.$f" "$r"; fi
done

# foreign gzip: one member (gzip, pigz), streamed through one worker
for f in "${FIXTURES[@]}"; do
    "$GZIP_BIN" -c "$D/$f" >"$T/$f.gnu.gz"
    r=""
    for j in 0 1 2; do
        "${SU[@]}" -c -j "$j" "$T/$f.gnu.gz" 2>"$T/err" | cmp -s - "$D/$f" || r+=" gzip/-j$j:$(cat "$T/err")"
    done
    if $HAVE_PIGZ; then
        pigz -c "$D/$f" >"$T/$f.pigz.gz"
        "${SU[@]}" -c "$T/$f.pigz.gz" | cmp -s - "$D/$f" || r+=" pigz"
    fi
    if [ -z "$r" ]; then ok "roundtrip.foreign.$f"; else fail "roundtrip.foreign.$f" "$r"; fi
done

# every level of sluice's compressor, decoded by sluice and by zcat
r=""
STRONG="10 11 12"
"${SG[@]}" -c -12 /dev/null >/dev/null 2>&1 || STRONG= # needs libdeflate
for lv in 1 2 3 4 5 6 7 8 9 $STRONG; do
    "${SG[@]}" -c "-$lv" "$D/mib1" "$D/text" >"$T/lv.gz"
    "${SU[@]}" -c "$T/lv.gz" | cmp -s - <(cat "$D/mib1" "$D/text") || r+=" sluice-$lv"
    zcat "$T/lv.gz" | cmp -s - <(cat "$D/mib1" "$D/text") || r+=" zcat-$lv"
done
if [ -z "$r" ]; then ok roundtrip.every-level; else fail roundtrip.every-level "$r"; fi

# gzip -1..-9 decoded by sluice
r=""
for lv in 1 5 9; do
    "$GZIP_BIN" -c "-$lv" "$D/text" | "${SU[@]}" -c | cmp -s - "$D/text" || r+=" $lv"
done
if [ -z "$r" ]; then ok roundtrip.gzip-levels; else fail roundtrip.gzip-levels "$r"; fi

# concatenated members: foreign + sluice's + foreign decode completely
{
    "$GZIP_BIN" -c "$D/one"
    "${SG[@]}" -c "$D/text"
    "$GZIP_BIN" -c "$D/mib1"
    "${SG[@]}" -c "$D/empty"
    "$GZIP_BIN" -c "$D/zeros"
} >"$T/mixed.gz"
cat "$D/one" "$D/text" "$D/mib1" "$D/empty" "$D/zeros" >"$T/mixed.exp"
r=""
for j in 0 1 2; do
    "${SU[@]}" -c -j "$j" "$T/mixed.gz" | cmp -s - "$T/mixed.exp" || r+=" -j$j"
done
# shellcheck disable=SC2002 # a pipe on stdin
cat "$T/mixed.gz" | "${SU[@]}" | cmp -s - "$T/mixed.exp" || r+=" stdin"
if [ -z "$r" ]; then ok roundtrip.concatenated; else fail roundtrip.concatenated "$r"; fi

# BGZF (size hints in a 'BC' subfield), written by bgzip when installed
if command -v bgzip >/dev/null 2>&1; then
    bgzip -c "$D/text" >"$T/text.bgz"
    "${SU[@]}" -c -j2 "$T/text.bgz" | cmp -s - "$D/text"
    check_rc roundtrip.bgzf $?
else
    skip roundtrip.bgzf "bgzip not installed"
fi

# stdin streams, sluice's and gzip's, bigger than a pipe and a unit
# shellcheck disable=SC2002
cat "$T/text.sl.gz" | "${SU[@]}" -j2 | cmp -s - "$D/text"
check_rc stdin.sluice-members $?
# shellcheck disable=SC2002
cat "$T/text.gnu.gz" | "${SU[@]}" -j2 | cmp -s - "$D/text"
check_rc stdin.gzip-member $?
"${SG[@]}" -c <"$D/text" | "$SLUICE" zcat | cmp -s - "$D/text"
check_rc stdin.zcat $?
# a pipe written in odd-sized pieces: output records that end exactly at
# the end of a worker's output arena (an engine bug once)
"$GZIP_BIN" -1 -c "$D/text" >"$T/text1.gnu.gz"
r=""
for j in 0 2; do
    dd if="$T/text1.gnu.gz" bs=1000000 status=none | "${SU[@]}" -c -j$j 2>"$T/err" |
        cmp -s - "$D/text" || r+=" -j$j:$(cat "$T/err")"
done
if [ -z "$r" ]; then ok stdin.odd-pieces; else fail stdin.odd-pieces "$r"; fi

# sluice's output through gzip, pigz and python, and sluice's decoder on
# python's and pigz's output (both directions)
py_gzip='import gzip,sys; sys.stdout.buffer.write(gzip.compress(sys.stdin.buffer.read(), 6))'
python3 -c "$py_gzip" <"$D/text" | "${SU[@]}" -c | cmp -s - "$D/text"
check_rc roundtrip.python-to-sluice $?
if $HAVE_PIGZ; then
    "${SG[@]}" -c "$D/text" | pigz -dc | cmp -s - "$D/text"
    check_rc roundtrip.sluice-to-pigz $?
fi

# a sparse multi-GB file: through both directions without a temporary
truncate -s 2G "$T/sparse"
"${SG[@]}" -c -1 "$T/sparse" | "${SU[@]}" -c | cmp -s - "$T/sparse"
check_rc roundtrip.sparse-2g $?

# peak memory does not grow with the input: 2 GiB against 128 MiB, both
# ways, sluice's members and a single gzip member (peak RSS in KiB of the
# whole process tree's largest process, as time(1) reports it)
if [ -x /usr/bin/time ]; then
    truncate -s 128M "$T/small"
    rss() { /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1; }
    r=""
    for lv in 1 6; do
        a=$(rss "${SG[@]}" -c "-$lv" "$T/small")
        b=$(rss "${SG[@]}" -c "-$lv" "$T/sparse")
        [ "$b" -le $((a + 16384)) ] || r+=" gzip-$lv:${a}K/${b}K"
    done
    "${SG[@]}" -c -1 "$T/small" >"$T/small.gz"
    "${SG[@]}" -c -1 "$T/sparse" >"$T/sparse.gz"
    a=$(rss "${SU[@]}" -c "$T/small.gz")
    b=$(rss "${SU[@]}" -c "$T/sparse.gz")
    [ "$b" -le $((a + 16384)) ] || r+=" gunzip:${a}K/${b}K"
    "$GZIP_BIN" -1 -c "$T/small" >"$T/small.gnu.gz"
    "$GZIP_BIN" -1 -c "$T/sparse" >"$T/sparse.gnu.gz"
    a=$(rss "${SU[@]}" -c "$T/small.gnu.gz")
    b=$(rss "${SU[@]}" -c "$T/sparse.gnu.gz")
    [ "$b" -le $((a + 16384)) ] || r+=" gunzip-stream:${a}K/${b}K"
    if [ -z "$r" ]; then ok memory.independent-of-size; else fail memory.independent-of-size "$r"; fi
    rm -f "$T/small" "$T"/small*.gz "$T"/sparse*.gz
else
    skip memory.independent-of-size "no /usr/bin/time"
fi
rm -f "$T/sparse"

# --------------------------------------------------------------- files

W="$T/w"
mkdir -p "$W"
cp "$D/text" "$W/a"
touch -d '2020-01-02 03:04:05' "$W/a"
"${SG[@]}" "$W/a"
cp "$W/a.gz" "$W/keep.gz"
touch -d '2021-05-05 00:00:00' "$W/a.gz"
chmod 640 "$W/a.gz"
"${SU[@]}" "$W/a.gz"
rc=$?
r=""
[ $rc -eq 0 ] || r+=" rc=$rc"
[ -e "$W/a.gz" ] && r+=" input-not-removed"
cmp -s "$W/a" "$D/text" || r+=" content"
[ "$(stat -c %Y "$W/a")" = "$(date -d '2021-05-05 00:00:00' +%s)" ] || r+=" mtime-not-copied"
[ "$(stat -c %a "$W/a")" = 640 ] || r+=" mode"
has_temp "$W" && r+=" temp-left"
if [ -z "$r" ]; then ok file.replaces-input; else fail file.replaces-input "$r"; fi

# -N: the stored name and time
mv "$W/keep.gz" "$W/renamed.gz"
rm -f "$W/a"
"${SU[@]}" -N "$W/renamed.gz"
if [ -f "$W/a" ] && [ ! -e "$W/renamed" ] &&
    [ "$(stat -c %Y "$W/a")" = "$(date -d '2020-01-02 03:04:05' +%s)" ]; then
    ok file.name-restores-name-and-time
else
    fail file.name-restores-name-and-time "$(ls -l --time-style=+%s "$W")"
fi

# -k keeps, existing output refused like gzip, .tgz -> .tar, -S
cp "$W/a" "$W/b" && "${SG[@]}" "$W/b" && "${SU[@]}" -k "$W/b.gz"
[ -f "$W/b.gz" ] && cmp -s "$W/b" "$D/text"
check_rc file.keep $?
"${SU[@]}" "$W/b.gz" 2>"$T/e1"
rc1=$?
cp "$W/b.gz" "$T/b.gz" && cp "$W/b" "$T/b"
(cd "$T" && "$GZIP_BIN" -d b.gz 2>"$T/e2")
rc2=$?
sed 's/^gzip:/sluice gunzip:/' "$T/e2" >"$T/e2s"
if [ $rc1 -eq $rc2 ] && diff -q <(sed "s#$W/##" "$T/e1") "$T/e2s" >/dev/null && [ -f "$W/b.gz" ]; then
    ok file.exists-not-overwritten
else
    fail file.exists-not-overwritten "rc $rc1/$rc2: $(cat "$T/e1") / $(cat "$T/e2s")"
fi
cp "$W/b.gz" "$W/c.tgz" && "${SU[@]}" "$W/c.tgz" && cmp -s "$W/c.tar" "$D/text"
check_rc file.tgz-to-tar $?
cp "$W/b.gz" "$W/d.zz" && "${SU[@]}" -S .zz "$W/d.zz" && cmp -s "$W/d" "$D/text"
check_rc file.suffix-option $?
cp "$D/one" "$W/plain"
"${SU[@]}" "$W/plain" 2>"$T/e1"
rc=$?
[ $rc -eq 2 ] && grep -qF "sluice gunzip: $W/plain: unknown suffix -- ignored" "$T/e1" && [ -f "$W/plain" ]
check_rc file.unknown-suffix $?

# -r: compress a tree, then decompress it
R="$T/r"
mkdir -p "$R/sub/deeper"
cp "$D/one" "$R/x"
cp "$D/mib1" "$R/sub/y"
cp "$D/text" "$R/sub/deeper/z"
"${SG[@]}" -r "$R" && [ -f "$R/x.gz" ] && [ -f "$R/sub/y.gz" ] && [ -f "$R/sub/deeper/z.gz" ] &&
    [ ! -e "$R/x" ] && "${SU[@]}" -r "$R" && cmp -s "$R/sub/deeper/z" "$D/text" &&
    cmp -s "$R/sub/y" "$D/mib1" && cmp -s "$R/x" "$D/one" && [ ! -e "$R/x.gz" ]
check_rc file.recursive $?

# ---------------------------------------------------------- -t and -l

"${SG[@]}" -t "$T/text.sl.gz" "$T/text.gnu.gz"
check_rc test.good $?
"${SG[@]}" -tv "$T/text.gnu.gz" 2>&1 | grep -qF "$T/text.gnu.gz:	 OK"
check_rc test.verbose $?

# -l on gzip's single-member files reads exactly like gzip -l
cp "$T/one.gnu.gz" "$T/l1.gz"
cp "$T/text.gnu.gz" "$T/l2.gz"
(cd "$T" && "$GZIP_BIN" -l l1.gz l2.gz >"$T/l.exp")
(cd "$T" && "${SG[@]}" -l l1.gz l2.gz >"$T/l.out")
if head -3 "$T/l.exp" | diff -q - <(head -3 "$T/l.out") >/dev/null; then
    ok list.like-gzip
else
    fail list.like-gzip "$(diff "$T/l.exp" "$T/l.out")"
fi
# ... and exact for multi-member files, where gzip shows the last member
"${SG[@]}" -l "$T/mixed.gz" >"$T/l.out"
want=$(stat -c %s "$T/mixed.exp")
if awk -v w="$want" 'NR==2 { exit ($2 == w) ? 0 : 1 }' "$T/l.out"; then
    ok list.multi-member-exact
else
    fail list.multi-member-exact "$(cat "$T/l.out") (want $want)"
fi

# ----------------------------------------------------------- bad input

B="$T/bad"
mkdir -p "$B"
"$GZIP_BIN" -c "$D/text" >"$B/good.gz"
size=$(stat -c %s "$B/good.gz")
python3 - "$B" "$size" <<'EOF'
import sys, os
d, n = sys.argv[1], int(sys.argv[2])
g = open(os.path.join(d, "good.gz"), "rb").read()
def w(name, data):
    open(os.path.join(d, name), "wb").write(data)
w("trunc.gz", g[: n // 2])
w("trunc-hdr.gz", g[:5])
w("trunc-trailer.gz", g[:-3])
b = bytearray(g); b[n // 3] ^= 0xff; b[n // 3 + 1] ^= 0x55; w("corrupt.gz", bytes(b))
b = bytearray(g); b[-8] ^= 1; w("crc.gz", bytes(b))
b = bytearray(g); b[-1] ^= 1; w("isize.gz", bytes(b))
b = bytearray(g); b[3] |= 0x20; w("flags.gz", bytes(b))
b = bytearray(g); b[2] = 7; w("method.gz", bytes(b))
w("garbage.gz", g + b"this is not gzip\n")
w("zeros.gz", g + bytes(1000))
w("empty.gz", b"")
w("notgz.gz", b"hello, world\n" * 100)
EOF
for c in trunc trunc-hdr trunc-trailer corrupt crc isize flags method garbage zeros empty notgz; do
    cp "$B/$c.gz" "$B/$c.orig"
    (cd "$B" && "$GZIP_BIN" -dc "$c.gz" >/dev/null 2>"$B/$c.gnu.err")
    rc2=$?
    (cd "$B" && "${SU[@]}" "$c.gz" 2>"$B/$c.err")
    rc1=$?
    r=""
    [ $rc1 -eq $rc2 ] || r+=" rc=$rc1 (gzip $rc2)"
    # gzip's message, with the byte offset added
    exp=$(sed 's/^gzip:/sluice gunzip:/' "$B/$c.gnu.err" | grep -v '^$' | head -1)
    got=$(sed 's/ (at byte [0-9]*)$//' "$B/$c.err" | grep -v '^$' | head -1)
    [ "$exp" = "$got" ] || r+=" message '$got' (gzip '$exp')"
    if [ $rc2 -eq 1 ]; then
        grep -q ' (at byte [0-9]*)$' "$B/$c.err" || r+=" no-offset"
        [ -e "$B/$c" ] && r+=" output-committed"
        cmp -s "$B/$c.gz" "$B/$c.orig" || r+=" input-lost"
    else
        # a warning (trailing garbage): the output is there and complete
        cmp -s "$B/$c" "$D/text" || r+=" output-wrong"
    fi
    has_temp "$B" && r+=" temp-left"
    if [ -z "$r" ]; then ok "bad.$c"; else fail "bad.$c" "$r"; fi
done
# the offset of a truncation is the end of the data
"${SU[@]}" -c "$B/trunc.gz" 2>&1 >/dev/null | grep -q "(at byte $((size / 2)))"
check_rc bad.truncation-offset $?
# the same through the parallel path: a sluice file with a flipped byte
"${SG[@]}" -c "$D/text" >"$B/sl.gz"
python3 - "$B/sl.gz" <<'EOF'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read()); b[len(b) * 2 // 3] ^= 0xff
open(p, "wb").write(bytes(b))
EOF
cp "$B/sl.gz" "$B/sl.orig"
"${SU[@]}" -j2 "$B/sl.gz" 2>"$B/sl.err"
rc=$?
[ $rc -eq 1 ] && grep -q 'invalid compressed data.* (at byte [0-9]*)$' "$B/sl.err" &&
    [ ! -e "$B/sl" ] && cmp -s "$B/sl.gz" "$B/sl.orig" && ! has_temp "$B"
check_rc bad.parallel-corrupt $?

# --max-output: a bomb stops at the limit, nothing written, input kept
head -c 200000000 /dev/zero | "$GZIP_BIN" -c >"$B/bomb.gz"
cp "$B/bomb.gz" "$B/bomb.orig"
"${SU[@]}" --max-output=1M "$B/bomb.gz" 2>"$B/bomb.err"
rc=$?
[ $rc -eq 1 ] && grep -q 'max-output' "$B/bomb.err" && [ ! -e "$B/bomb" ] &&
    cmp -s "$B/bomb.gz" "$B/bomb.orig" && ! has_temp "$B"
check_rc bad.max-output $?
"${SU[@]}" -c --max-output=300M "$B/bomb.gz" | cmp -s - <(head -c 200000000 /dev/zero)
check_rc bad.max-output-above $?

# ------------------------------------------------- signals and ENOSPC

S="$T/sig"
mkdir -p "$S"
truncate -s 3G "$S/big"
"${SG[@]}" -c -1 "$S/big" >"$S/big.gz"
rm -f "$S/big"
set -m
"${SU[@]}" -j1 "$S/big.gz" 2>"$T/sig.err" &
pid=$!
set +m
sleep 0.5
kill -INT $pid
wait $pid
rc=$?
r=""
[ $rc -eq 130 ] || r+=" rc=$rc"
[ -e "$S/big" ] && r+=" output-exists"
has_temp "$S" && r+=" temp-left:$(ls -A "$S")"
[ -f "$S/big.gz" ] || r+=" input-removed"
if [ -z "$r" ]; then ok signal.sigint-cleans-up; else fail signal.sigint-cleans-up "$r"; fi
rm -f "$S/big.gz"

M="$T/full"
mkdir -p "$M"
if [ "$(id -u)" -eq 0 ] && mount -t tmpfs -o size=1m tmpfs "$M" 2>/dev/null; then
    head -c 3000000 /dev/zero | "$GZIP_BIN" -c >"$M/in.gz"
    cp "$M/in.gz" "$T/in.copy"
    "${SU[@]}" "$M/in.gz" 2>"$T/full.err"
    rc=$?
    r=""
    [ $rc -eq 1 ] || r+=" rc=$rc"
    grep -q "No space left on device" "$T/full.err" || r+=" message:$(cat "$T/full.err")"
    [ -e "$M/in" ] && r+=" output-exists"
    has_temp "$M" && r+=" temp-left"
    cmp -s "$M/in.gz" "$T/in.copy" || r+=" input-changed"
    if [ -z "$r" ]; then ok enospc.no-partial-file; else fail enospc.no-partial-file "$r"; fi
    umount "$M"
else
    skip enospc.no-partial-file "not root or cannot mount a tmpfs"
fi

# stdin from a terminal is refused, as gzip
if command -v script >/dev/null 2>&1; then
    script -qec "'$SLUICE' gunzip" /dev/null >"$T/tty.out" 2>&1 </dev/null
    grep -qF 'sluice gunzip: compressed data not read from a terminal. Use -f to force decompression.' "$T/tty.out"
    check_rc tty.refused $?
else
    skip tty.refused "no usable script(1)"
fi

finish

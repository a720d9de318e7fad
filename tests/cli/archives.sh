#!/bin/bash
# tests/cli/archives.sh -- `sluice wc -z`: archives read as directories.
#
# Fixtures are made here from a small tree: tar (plain, gzip by gzip and
# by sluice gzip, bzip2, xz, zstd), zip, 7z, cpio, ar, iso, one compressed
# file, nested archives, and corrupt ones.  The oracle for each member is
# GNU wc reading the same file from the tree; the set of members must be
# exactly the tree's files; the output must not depend on the worker count.
# Without -z an archive is a file, exactly as GNU wc counts it.
#
# Prints "ok NAME" or "FAIL NAME" per case; exits 1 if any failed.
# Environment: SLUICE_BUILD_ROOT.
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh disable=SC1091
. "$(dirname "$0")/lib.sh"

export LC_ALL=C
cd "$T" || exit 1
mkdir -p src/lib src/doc
printf 'int main(void)\n{\n    return 0;\n}\n' >src/main.c
printf 'int f(int);\n' >src/lib/f.h
seq 1 60000 | sed 's/$/ word/' >src/lib/big.txt # > 256 KiB: streamed
printf 'Read me\nplease.\n' >"src/doc/read me"
: >src/doc/empty
printf 'no newline' >src/Makefile
# The expected rows: "COUNTS PATH" for every file, sorted by path.
(cd src && find . -type f | sed 's|^\./||' | LC_ALL=C sort) >files
while IFS= read -r f; do
    printf '%s %s\n' "$(wc <"src/$f" | awk '{$1=$1};1')" "src/$f"
done <files >expect

have() { command -v "$1" >/dev/null 2>&1; }

# rows ARCHIVE OUT -- the member rows of OUT, archive prefix removed,
# numbers' padding squeezed, sorted
rows() {
    grep -v ' total$' "$2" | sed "s|^\\( *[0-9][0-9 ]*\\) $1:|\\1 |" |
        awk '{$1=$1};1' | LC_ALL=C sort -k4
}

# member_check NAME ARCHIVE -- members and counts equal the tree's, for
# 0, 1 and 2 workers, byte-identical between them
member_check() {
    local name=$1 a=$2 j first=""
    for j in 0 1 2; do
        "$SLUICE" wc -z -j "$j" "$a" >"out.$j" 2>"err.$j"
        local rc=$?
        if [ "$rc" -ne 0 ] || [ -s "err.$j" ]; then
            fail "$name.j$j" "exit $rc: $(cat "err.$j")"
            return
        fi
        if [ -z "$first" ]; then
            first=out.$j
        elif ! cmp -s "$first" "out.$j"; then
            fail "$name.j$j" "$(diff "$first" "out.$j")"
            return
        fi
    done
    local got
    got=$(rows "$a" out.0)
    if [ "$got" = "$(LC_ALL=C sort -k4 expect)" ]; then
        ok "$name"
    else
        fail "$name" "$(diff <(LC_ALL=C sort -k4 expect) <(printf '%s\n' "$got"))"
    fi
}

tar cf t.tar src && member_check tar t.tar
tar czf t.tar.gz src && member_check tar.gz t.tar.gz
cp t.tar.gz t.tgz && member_check tgz t.tgz
"$SLUICE" gzip -c t.tar >ts.tar.gz && member_check tar.gz-multi-member ts.tar.gz
tar cjf t.tar.bz2 src && member_check tar.bz2 t.tar.bz2
tar cJf t.tar.xz src && member_check tar.xz t.tar.xz
if have zstd; then
    tar --zstd -cf t.tar.zst src && member_check tar.zst t.tar.zst
else
    skip tar.zst "zstd is not installed"
fi
if have bsdtar; then
    bsdtar --format zip -cf t.zip src && member_check zip t.zip
    bsdtar --format 7zip -cf t.7z src && member_check 7z t.7z
    bsdtar --format cpio -cf t.cpio src && member_check cpio t.cpio
    bsdtar --format iso9660 -cf t.iso src && member_check iso t.iso
else
    for f in zip 7z cpio iso; do skip "$f" "bsdtar is not installed"; done
fi
if have python3; then
    python3 - <<'EOF' && member_check zip-deflate-python t2.zip
import os, zipfile
with zipfile.ZipFile("t2.zip", "w", zipfile.ZIP_DEFLATED) as z:
    for root, dirs, files in os.walk("src"):
        for f in files:
            z.write(os.path.join(root, f))
EOF
fi

# ---------------------------------------------------------------- ar/deb
if have ar; then
    (cd src/lib && ar rc ../../t.ar f.h big.txt)
    "$SLUICE" wc -z t.ar >out 2>err
    want=$(printf '%s t.ar:f.h\n%s t.ar:big.txt' \
        "$(wc <src/lib/f.h | awk '{$1=$1};1')" \
        "$(wc <src/lib/big.txt | awk '{$1=$1};1')")
    got=$(grep -v ' total$' out | awk '{$1=$1};1')
    if [ "$got" = "$want" ]; then ok ar; else fail ar "$(diff <(echo "$want") <(echo "$got"))"; fi
else
    skip ar "ar is not installed"
fi

# ------------------------------------------------- one compressed file
gzip -c src/lib/big.txt >big.txt.gz
xz -c src/lib/big.txt >big.txt.xz
for f in big.txt.gz big.txt.xz; do
    "$SLUICE" wc -z "$f" >out 2>err
    want="$(wc <src/lib/big.txt) $f:big.txt"
    if [ "$(awk '{$1=$1};1' out)" = "$(echo "$want" | awk '{$1=$1};1')" ] && [ ! -s err ]; then
        ok "compressed-file.$f"
    else
        fail "compressed-file.$f" "$(cat out err)"
    fi
done

# --------------------------------- without -z: a file, as GNU wc says
# (-lc: the installed wc may predate 9.5's word rule for binary bytes)
"$SLUICE" wc -lc t.tar.gz t.tar big.txt.gz >out 2>&1
"${GNU[@]}" -lc t.tar.gz t.tar big.txt.gz >want 2>&1
if cmp -s out want; then ok no-z-is-gnu; else fail no-z-is-gnu "$(diff want out)"; fi

# ------------------------------------------ in a walk, in its place
mkdir -p w/a w/c
cp t.tar.gz w/b.tar.gz
printf 'one\n' >w/a/x
printf 'two\n' >w/c/y
"$SLUICE" wc -z w >out 2>err
names() { sed 's/^ *[0-9]* *[0-9]* *[0-9]* //' "$1"; }
n_members=$(wc -l <files)
if [ "$(names out | head -n 1)" = w/a/x ] &&
    [ "$(names out | sed -n "2,$((n_members + 1))p" | grep -c '^w/b.tar.gz:src/')" -eq "$n_members" ] &&
    [ "$(names out | sed -n "$((n_members + 2))p")" = w/c/y ] && [ ! -s err ]; then
    ok walk-order
else
    fail walk-order "$(cat out err)"
fi
"$SLUICE" wc w >out 2>&1
if grep -q ' w/b.tar.gz$' out; then ok walk-no-z; else fail walk-no-z "$(cat out)"; fi

# ------------------------------------------------------------- nested
mkdir -p n
cp t.tar.gz n/inner.tar.gz
printf 'outer\n' >n/note
tar cf nest.tar -C n note inner.tar.gz
"$SLUICE" wc -z nest.tar >out 2>err
if grep -q ' nest.tar:inner.tar.gz$' out && ! grep -q 'inner.tar.gz:' out; then
    ok nested-not-opened
else
    fail nested-not-opened "$(cat out err)"
fi
"$SLUICE" wc --archives=nested nest.tar >out 2>err
got=$(grep -c ' nest.tar:inner.tar.gz:src/' out)
if [ "$got" -eq "$(wc -l <files)" ] && grep -q ' nest.tar:note$' out && [ ! -s err ]; then
    ok nested-opened
else
    fail nested-opened "$(cat out err)"
fi

# ------------------------------------------- walk filters on members
"$SLUICE" wc -z --include '*.c' --exclude doc t.tar.gz >out 2>err
want="$(wc <src/main.c | awk '{$1=$1};1') t.tar.gz:src/main.c"
if [ "$(awk '{$1=$1};1' out)" = "$want" ] && [ ! -s err ]; then
    ok member-filters
else
    fail member-filters "$(cat out err)"
fi
"$SLUICE" wc -z --exclude doc t.tar.gz >out 2>err
if ! grep -q ':src/doc/' out && grep -q ':src/lib/f.h$' out; then
    ok member-exclude-directory
else
    fail member-exclude-directory "$(cat out err)"
fi

# ------------------------------------------------------ JSON is JSON
if have python3 && [ -f t.zip ]; then
    "$SLUICE" wc -z --json t.tar.gz t.zip >out 2>err
    if python3 -c '
import json, sys
d = json.load(open("out"))
names = [f["name"] for f in d["files"]]
assert all(n.startswith(("t.tar.gz:src/", "t.zip:src/")) for n in names), names
assert len(names) == 2 * int(sys.argv[1]), names
' "$(wc -l <files)" 2>"$T/pyerr"; then
        ok json
    else
        fail json "$(cat out "$T/pyerr")"
    fi
else
    skip json "needs python3 and t.zip (bsdtar)"
fi

# ------------------------------------------------------- bad archives
# bad_check NAME FILE PATTERN -- exit 1, a message naming FILE with an
# offset and PATTERN, and the good operand after it still counted
bad_check() {
    local name=$1 f=$2 pat=$3
    "$SLUICE" wc -z "$f" src/main.c >out 2>err
    local rc=$?
    if [ "$rc" -eq 1 ] && grep -q "^sluice wc: '\\?$f[:']*.*offset [0-9]*: .*$pat" err &&
        grep -q ' src/main.c$' out; then
        ok "$name"
    else
        fail "$name" "exit $rc; stdout: $(cat out); stderr: $(cat err)"
    fi
}
cp t.tar.gz crc.tar.gz
size=$(stat -c %s crc.tar.gz)
printf '\0\0\0\0' | dd of=crc.tar.gz bs=1 seek=$((size - 8)) conv=notrunc 2>/dev/null
bad_check corrupt-crc crc.tar.gz 'crc error'
cp t.tar.gz len.tar.gz
printf '\1' | dd of=len.tar.gz bs=1 seek=$((size - 4)) conv=notrunc 2>/dev/null
bad_check corrupt-length len.tar.gz 'length error'
head -c $((size / 2)) t.tar.gz >trunc.tar.gz
bad_check truncated trunc.tar.gz 'unexpected end of file'
cp t.tar.gz mid.tar.gz
printf '\377\377\377\377' | dd of=mid.tar.gz bs=1 seek=$((size / 3)) conv=notrunc 2>/dev/null
bad_check corrupt-deflate mid.tar.gz 'invalid compressed data'
echo 'not an archive' >fake.tar
bad_check not-an-archive fake.tar 'Unrecognized archive format'
head -c 100000 /dev/urandom | gzip >noise.tar.gz
bad_check gzip-of-noise noise.tar.gz 'Unrecognized archive format'
cp t.tar.bz2 b.tar.bz2
printf 'XXXX' | dd of=b.tar.bz2 bs=1 seek=200 conv=notrunc 2>/dev/null
"$SLUICE" wc -z b.tar.bz2 >out 2>err
if [ $? -eq 1 ] && grep -q 'b.tar.bz2' err; then ok corrupt-bzip2; else fail corrupt-bzip2 "$(cat out err)"; fi

# -------------------------------------------------------- bomb limits
"$SLUICE" wc -z --archive-max-entries 2 t.tar.gz >out 2>err
if [ $? -eq 1 ] && one_message err "^sluice wc: t\.tar\.gz: offset [0-9]+: more than 2 entries \(archive limit\)$"; then
    ok limit-entries-option
else
    fail limit-entries-option "$(cat out err)"
fi
"$SLUICE" wc -z --archive-max-bytes 100k t.tar.gz >out 2>err
if [ $? -eq 1 ] && one_message err "^sluice wc: 't\.tar\.gz:src/lib/big\.txt': offset [0-9]+: more than 102400 bytes decompressed \(archive limit\)$"; then
    ok limit-bytes
else
    fail limit-bytes "$(cat out err)"
fi
head -c 80M /dev/zero | gzip -1 >zeros.gz
"$SLUICE" wc -z --archive-max-ratio 50 zeros.gz >out 2>err
if [ $? -eq 1 ] && one_message err "^sluice wc: 'zeros\.gz:zeros': offset [0-9]+: decompresses more than 50 times its size \(archive limit\)$"; then
    ok limit-ratio
else
    fail limit-ratio "$(cat out err)"
fi
"$SLUICE" wc -z zeros.gz >out 2>err
if [ $? -eq 0 ] && [ "$(awk '{print $3}' out)" = 83886080 ]; then
    ok limit-ratio-default-lets-it-through
else
    fail limit-ratio-default-lets-it-through "$(cat out err)"
fi

finish

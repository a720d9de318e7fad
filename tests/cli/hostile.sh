#!/usr/bin/env bash
# tests/cli/hostile.sh -- hostile inputs: decompression bombs, gzip of gzip,
# archives whose member names try to leave (`..`, absolute names, symlink
# and hardlink members), output names that try to leave `replace -o DIR`,
# binary data and invalid UTF-8.  Every run is under `timeout`.
#
# Covered elsewhere, not repeated here: `sluice wc -z` on a .gz bomb
# stopped by --archive-max-ratio, and the entry and byte limits
# (archives.sh, limit-*); symbolic-link loops in a walk with --follow
# (walk_edge.sh, loop.*); truncated and corrupt gzip members, message and
# offset (gunzip.sh, test_gunzip_plugin.c, and the fuzz suite).
#
# Oracles: GNU wc, GNU grep, GNU sed, gzip, and python3's tarfile module
# (to write archives with names tar(1) itself would refuse to write).
# Prints "ok NAME" or "FAIL NAME" per case; exits 1 if any failed.
# Environment: SLUICE_BUILD_ROOT.

# shellcheck source-path=SCRIPTDIR source=lib.sh disable=SC1091
. "$(dirname "$0")/lib.sh"

cd "$IN" || exit 1
TO=(timeout 120)

# A listing of everything under $T but $IN, where the commands run:
# nothing may appear outside the directories a command was given.  (The
# absolute names tried are checked one by one.)
outside() {
    find "$T" -path "$IN" -prune -o -print | sort
}

# ------------------------------------------------------- gzip of gzip
head -c 300000 /dev/urandom | base64 >plain
gzip -c plain >plain.gz
gzip -c plain.gz >plain.gz.gz
"${TO[@]}" "$SLUICE" gunzip -c plain.gz.gz >one 2>err
if [ $? -eq 0 ] && cmp -s one plain.gz; then
    ok gunzip-decodes-one-layer
else
    fail gunzip-decodes-one-layer "$(cat err)"
fi

# ------------------------------------------------- 1000:1 bombs
head -c 20M /dev/zero | gzip -9 >bomb.gz
ratio=$(($(stat -c %s bomb.gz) * 900))
if [ "$ratio" -lt $((20 << 20)) ]; then
    ok bomb-is-1000-to-1
else
    fail bomb-is-1000-to-1 "bomb.gz is $(stat -c %s bomb.gz) bytes"
fi
# Without a limit it is just data.
"${TO[@]}" "$SLUICE" gunzip -c bomb.gz | wc -c >n 2>err
if [ "$(cat n)" -eq $((20 << 20)) ]; then
    ok bomb-member-decodes
else
    fail bomb-member-decodes "$(cat n err)"
fi
# --max-output stops it: exit 1, gzip-style message, no file committed.
"${TO[@]}" "$SLUICE" gunzip -k --max-output=1M bomb.gz 2>err
rc=$?
if [ $rc -eq 1 ] && [ ! -e bomb ] &&
    one_message err '^sluice gunzip: bomb\.gz: decompressed data exceeds the --max-output limit \(at byte [0-9]+\)$' &&
    ! has_temp .; then
    ok max-output-stops-bomb
else
    fail max-output-stops-bomb "rc=$rc $(cat err; ls -a)"
fi
"${TO[@]}" "$SLUICE" gunzip -c --max-output=1M bomb.gz >out 2>err
rc=$?
if [ $rc -eq 1 ] && [ "$(stat -c %s out)" -le $((2 << 20)) ]; then
    ok max-output-stops-bomb-on-stdout
else
    fail max-output-stops-bomb-on-stdout "rc=$rc $(stat -c %s out) $(cat err)"
fi
# A bomb of bombs: the layers are counted one at a time.
gzip -c bomb.gz >bomb.gz.gz
"${TO[@]}" "$SLUICE" gunzip -c --max-output=1M bomb.gz.gz >out 2>err
if [ $? -eq 0 ] && cmp -s out bomb.gz; then
    ok bomb-of-bombs-one-layer
else
    fail bomb-of-bombs-one-layer "$(cat err)"
fi

# ---------------------------------------- archives with escaping names
mkdir -p work
python3 - <<'PY'
import io, tarfile
def add(t, name, kind, data=b''):
    ti = tarfile.TarInfo(name)
    ti.mtime = 0
    if kind == 'f':
        ti.size = len(data)
        t.addfile(ti, io.BytesIO(data))
        return
    ti.type = tarfile.SYMTYPE if kind == 'l' else tarfile.LNKTYPE
    ti.linkname = data
    t.addfile(ti)
with tarfile.open('evil.tar', 'w', format=tarfile.GNU_FORMAT) as t:
    add(t, 'ok.txt', 'f', b'one two\n')
    add(t, '../x', 'f', b'up up\n')
    add(t, '../../../../../../tmp/x', 'f', b'far up\n')
    add(t, '/etc/x', 'f', b'abs\n')
    add(t, 'link', 'l', '../../outside')
    add(t, 'hard', 'h', '../x')
    add(t, 'link/through', 'f', b'via the link\n')
PY
before=$(outside)
absent=()
for f in /etc/x /tmp/x; do
    [ -e "$f" ] || absent+=("$f")
done
none_of_absent() {
    local f
    for f in "${absent[@]}"; do
        [ -e "$f" ] && return 1
    done
    return 0
}
"${TO[@]}" "$SLUICE" wc -z evil.tar >out 2>err
rc=$?
cat >want <<'W'
 1  2  8 evil.tar:ok.txt
 1  2  6 evil.tar:../x
 1  2  7 evil.tar:../../../../../../tmp/x
 1  1  4 evil.tar:/etc/x
 1  3 13 evil.tar:link/through
 5 10 38 total
W
if [ $rc -eq 0 ] && diff want out >/dev/null && [ "$before" = "$(outside)" ] &&
    none_of_absent; then
    ok wc-z-reports-escaping-names-writes-nothing
else
    fail wc-z-reports-escaping-names-writes-nothing "rc=$rc $(diff want out; cat err)"
fi
# The same with workers and nested: the names come out the same.
tar -cf outer.tar evil.tar
"${TO[@]}" "$SLUICE" wc --archives=nested -j2 outer.tar >out 2>err
if [ $? -eq 0 ] && sed 's/outer.tar:evil.tar:/evil.tar:/' out | diff want - >/dev/null &&
    [ "$before" = "$(outside)" ] && none_of_absent; then
    ok wc-z-nested-escaping-names
else
    fail wc-z-nested-escaping-names "$(cat out err)"
fi

# --------------------------- replace -o DIR: no output outside DIR
# replace reads no archives; its per-input outputs are DIR/PATH, so the
# names to try are operands and walked paths.
mkdir -p work/tree/sub work/out
printf 'a b a\n' >work/tree/sub/f
printf 'a\n' >work/tree/..x
printf 'a\n' >work/tree/...
ln -s ../.. work/tree/sub/up
before=$(outside)
cd work || exit 1
for name in ../work/tree/sub/f tree/../tree/sub/f tree/sub/.. ./tree/sub/../sub/f; do
    "${TO[@]}" "$SLUICE" replace -o out a X "$name" 2>err
    rc=$?
    # (tree/sub/.. is walked: the message names the file found in it)
    if [ $rc -eq 1 ] && grep -qF "replace: $name" err &&
        grep -qF ": a '..' in the path would leave the output directory" err &&
        [ -z "$(find out -mindepth 1)" ]; then
        ok "replace-o-refuses $name"
    else
        fail "replace-o-refuses $name" "rc=$rc $(cat err; find out)"
    fi
done
# An absolute name goes under DIR.
"${TO[@]}" "$SLUICE" replace -o out a X "$IN/work/tree/sub/f" 2>err
if [ $? -eq 0 ] && [ "$(cat "out$IN/work/tree/sub/f")" = 'X b X' ]; then
    ok replace-o-absolute-name-under-dir
else
    fail replace-o-absolute-name-under-dir "$(cat err; find out)"
fi
rm -rf out && mkdir out
# Names like '..x' and '...' are plain names, not a way up.
"${TO[@]}" "$SLUICE" replace -o out a X tree/..x tree/... 2>err
if [ $? -eq 0 ] && [ "$(cat out/tree/...)" = X ] && [ "$(cat out/tree/..x)" = X ]; then
    ok replace-o-dotted-names-are-names
else
    fail replace-o-dotted-names-are-names "$(cat err; find out)"
fi
rm -rf out && mkdir out
# A walk: the symlink to outside is not followed, nothing is written
# through it.
"${TO[@]}" "$SLUICE" replace -o out a X tree 2>err
rc=$?
got=$(cd out && find . | sort | tr '\n' ' ')
if [ $rc -eq 0 ] && [ "$got" = ". ./tree ./tree/sub ./tree/sub/f " ]; then
    ok replace-o-walk-stays-in-dir
else
    fail replace-o-walk-stays-in-dir "rc=$rc $got $(cat err)"
fi
cd "$IN" || exit 1
if [ "$before" = "$(outside)" ]; then
    ok nothing-written-outside
else
    fail nothing-written-outside "$(diff <(echo "$before") <(outside))"
fi

# -------------------------------------------- binary and invalid UTF-8
python3 - <<'PY'
import random
r = random.Random(7)
b = bytearray()
for i in range(200000):
    k = r.random()
    if k < 0.05: b += b'\n'
    elif k < 0.15: b += b' '
    elif k < 0.25: b += bytes([r.randrange(256)])
    elif k < 0.30: b += bytes([0])
    elif k < 0.35: b += r.choice([b'\xc3', b'\xe2\x82', b'\xf0\x9f\x98', b'\xed\xa0\x80', b'\xc0\xaf', b'\xff\xfe', b'\xe2\x80\x83', b'\xc2\xa0'])
    elif k < 0.40: b += 'é☃日'.encode()
    else: b += bytes([r.randrange(97, 123)])
open('binary', 'wb').write(bytes(b))
open('badutf8', 'wb').write(bytes(b).replace(b'\0', b'x'))
PY
# (-lc -m -L: the installed wc may predate 9.5's word rule for binary
# bytes, which sluice follows; test_wc_count.c checks words on them)
for loc in "${LOCALES[@]}"; do
    for f in binary badutf8; do
        for opts in -lc -m -L; do
            # shellcheck disable=SC2086
            want=$(LC_ALL=$loc "${GNU[@]}" $opts <"$f")
            # shellcheck disable=SC2086
            got=$(LC_ALL=$loc "${TO[@]}" "$SLUICE" wc $opts --chunk-size=4k -j2 <"$f")
            if [ "$want" = "$got" ]; then
                ok "wc $loc $f $opts"
            else
                fail "wc $loc $f $opts" "want '$want' got '$got'"
            fi
        done
    done
done
# GNU grep's default binary handling ("binary file matches"); sluice grep
# has no -a to compare with (it refuses the option).
for loc in "${LOCALES[@]}"; do
    for f in binary badutf8; do
        for opts in "-c a" "-n ab" "b" "-i -E é|x." "-c -v a" "-l zz"; do
            # shellcheck disable=SC2086
            want=$(LC_ALL=$loc grep $opts "$f" 2>&1; echo "rc=$?")
            # shellcheck disable=SC2086
            got=$(LC_ALL=$loc "${TO[@]}" "$SLUICE" grep -j2 $opts "$f" 2>&1 |
                sed 's/^sluice grep:/grep:/'; echo "rc=${PIPESTATUS[0]}")
            if [ "$want" = "$got" ]; then
                ok "grep $loc $f $opts"
            else
                fail "grep $loc $f $opts" "$(diff <(echo "$want") <(echo "$got") | head)"
            fi
        done
    done
done
for loc in "${LOCALES[@]}"; do
    LC_ALL=$loc "${TO[@]}" "$SLUICE" replace a "$(printf '\377')" binary >got1 2>err
    LC_ALL=C sed 's/a/\xff/g' binary >want1
    if cmp -s want1 got1; then
        ok "replace $loc binary byte-exact"
    else
        fail "replace $loc binary byte-exact" "$(cat err; cmp want1 got1)"
    fi
done
# -E in the C locale, byte by byte.  (In C.UTF-8, GNU sed's own matching of
# '.' against invalid sequences depends on what precedes them on the line,
# so it is no oracle there.)
LC_ALL=C "${TO[@]}" "$SLUICE" replace -E 'x(.)' '\1\1' badutf8 >got2 2>err
LC_ALL=C sed -E 's/x(.)/\1\1/g' badutf8 >want2
if cmp -s want2 got2; then
    ok "replace -E C invalid UTF-8"
else
    fail "replace -E C invalid UTF-8" "$(cat err; cmp want2 got2)"
fi

finish

#!/bin/bash
# tests/cli/gzip.sh -- `sluice gzip` (compression) against gzip 1.12.
#
# The oracles are someone else's decoders: gzip -dc, zcat, python3's gzip
# module and pigz -dc (when installed).  Messages and exit codes of the
# file-handling cases are compared with /usr/bin/gzip run on the same
# files ("gzip:" read as "sluice gzip:").  Also: levels, worker counts give
# byte-identical output, atomic commit (no temporary file left behind by
# SIGINT or ENOSPC), modes and times preserved.
#
# Prints "ok NAME" or "FAIL NAME" per case; exits 1 if any failed.
# Environment: SLUICE_BUILD_ROOT.
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh disable=SC1091
. "$(dirname "$0")/lib.sh"

GZIP_BIN=${GZIP_BIN:-/usr/bin/gzip}
export GZIP= # no options from the environment for the oracle
if [ ! -x "$GZIP_BIN" ]; then
    fail setup "missing $GZIP_BIN"
    finish
fi
D="$T/d"
mkdir -p "$D"
SG=("$SLUICE" gzip)

# ------------------------------------------------------------ fixtures

: >"$D/empty"
printf 'x' >"$D/one"
head -c 1048576 /dev/urandom >"$D/mib"
head -c 1048577 /dev/urandom >"$D/mib1"
head -c 3145728 /dev/urandom >"$D/rand3m"
# 20 MB of compressible text
find /usr/include -type f -name '*.h' -print0 2>/dev/null | sort -z |
    xargs -0 cat 2>/dev/null | head -c 20000000 >"$D/text"
[ -s "$D/text" ] || yes 'compressible text line 0123456789' | head -c 20000000 >"$D/text"
head -c 5000000 /dev/zero >"$D/zeros"
FIXTURES=(empty one mib mib1 rand3m text zeros)

py_gunzip='import gzip,sys; sys.stdout.buffer.write(gzip.decompress(sys.stdin.buffer.read()))'
HAVE_PIGZ=false
command -v pigz >/dev/null 2>&1 && HAVE_PIGZ=true
$HAVE_PIGZ || skip roundtrip.pigz "pigz not installed"

# ---------------------------------------------------------- round trips

for f in "${FIXTURES[@]}"; do
    if ! "${SG[@]}" -c "$D/$f" >"$T/$f.gz" 2>"$T/err"; then
        fail "roundtrip.$f" "sluice gzip failed: $(cat "$T/err")"
        continue
    fi
    r=""
    "$GZIP_BIN" -dc <"$T/$f.gz" | cmp -s - "$D/$f" || r+=" gzip-dc"
    zcat <"$T/$f.gz" | cmp -s - "$D/$f" || r+=" zcat"
    python3 -c "$py_gunzip" <"$T/$f.gz" | cmp -s - "$D/$f" || r+=" python"
    if $HAVE_PIGZ; then pigz -dc <"$T/$f.gz" | cmp -s - "$D/$f" || r+=" pigz"; fi
    "$GZIP_BIN" -t "$T/$f.gz" 2>/dev/null || r+=" gzip-t"
    if [ -z "$r" ]; then ok "roundtrip.$f"; else fail "roundtrip.$f" "mismatch:$r"; fi
done

# stdin to stdout (no name), through a pipe
# shellcheck disable=SC2002 # a pipe, not a regular file, on stdin
cat "$D/text" | "${SG[@]}" >"$T/pipe.gz"
if "$GZIP_BIN" -dc "$T/pipe.gz" | cmp -s - "$D/text" &&
    python3 -c 'import sys; d=open(sys.argv[1],"rb").read(12); sys.exit(0 if d[3] & 8 == 0 else 1)' "$T/pipe.gz"; then
    ok roundtrip.stdin-pipe
else
    fail roundtrip.stdin-pipe "bad output or a name stored for stdin"
fi
# several files with -c: one concatenated stream
"${SG[@]}" -c "$D/one" "$D/empty" "$D/mib1" >"$T/cat.gz"
cat "$D/one" "$D/empty" "$D/mib1" >"$T/cat.exp"
check_true roundtrip.concatenated-c cmp -s <("$GZIP_BIN" -dc "$T/cat.gz") "$T/cat.exp"

# ----------------------------------------------------- levels and jobs

# Levels 10-12 need libdeflate: a build without it refuses them.
if "${SG[@]}" -c -12 /dev/null >/dev/null 2>&1; then
    STRONG=12
else
    STRONG=
    skip level.12 "this build refuses -10..-12 (no libdeflate)"
fi
for lv in 1 6 9 $STRONG; do
    for j in 0 1 2 4; do
        "${SG[@]}" -c "-$lv" -j "$j" "$D/text" >"$T/l$lv.j$j.gz"
    done
    r=""
    for j in 1 2 4; do
        cmp -s "$T/l$lv.j0.gz" "$T/l$lv.j$j.gz" || r+=" -j$j"
    done
    "$GZIP_BIN" -dc "$T/l$lv.j0.gz" | cmp -s - "$D/text" || r+=" roundtrip"
    if [ -z "$r" ]; then ok "level.$lv.jobs-identical"; else fail "level.$lv.jobs-identical" "differs:$r"; fi
done
s1=$(stat -c %s "$T/l1.j0.gz") s9=$(stat -c %s "$T/l9.j0.gz") s12=$s9
[ -z "$STRONG" ] || s12=$(stat -c %s "$T/l12.j0.gz")
if [ "$s9" -lt "$s1" ] && [ "$s12" -le "$s9" ]; then ok level.sizes-ordered; else fail level.sizes-ordered "-1 $s1, -9 $s9, -12 $s12"; fi
"${SG[@]}" -c --best "$D/text" | cmp -s - "$T/l9.j0.gz" && "${SG[@]}" -c --fast "$D/text" | cmp -s - "$T/l1.j0.gz"
check_rc level.best-fast-aliases $?

# ------------------------------------------------------------ --single

# One member (gzip -l's length is the whole input), readable by every
# decoder, the same bytes for any number of workers, and the size of
# gzip's own at the same level (pigz's scheme costs well under 0.1%).
r=""
for lv in 1 6 9; do
    for j in 0 1 2; do
        "${SG[@]}" -c --single "-$lv" -j "$j" "$D/text" >"$T/s$lv.j$j.gz"
    done
    cmp -s "$T/s$lv.j0.gz" "$T/s$lv.j1.gz" && cmp -s "$T/s$lv.j0.gz" "$T/s$lv.j2.gz" || r+=" jobs-differ-$lv"
    "$GZIP_BIN" -dc "$T/s$lv.j0.gz" | cmp -s - "$D/text" || r+=" gzip-$lv"
    python3 -c "$py_gunzip" <"$T/s$lv.j0.gz" | cmp -s - "$D/text" || r+=" python-$lv"
    if $HAVE_PIGZ; then pigz -dc "$T/s$lv.j0.gz" | cmp -s - "$D/text" || r+=" pigz-$lv"; fi
    len=$("$GZIP_BIN" -l "$T/s$lv.j0.gz" | awk 'NR == 2 { print $2 }')
    [ "$len" = "$(stat -c %s "$D/text")" ] || r+=" not-one-member-$lv"
    ours=$(stat -c %s "$T/s$lv.j0.gz")
    theirs=$("$GZIP_BIN" -c "-$lv" "$D/text" | wc -c)
    [ $((ours * 1000)) -le $((theirs * 1001)) ] || r+=" size-$lv:$ours/$theirs"
done
if [ -z "$r" ]; then ok single.one-member-like-gzip; else fail single.one-member-like-gzip "$r"; fi
r=""
for f in "${FIXTURES[@]}"; do
    "${SG[@]}" -c --single "$D/$f" | "$GZIP_BIN" -dc | cmp -s - "$D/$f" || r+=" $f"
done
# shellcheck disable=SC2002 # a pipe on stdin
cat "$D/text" | "${SG[@]}" --single | "$GZIP_BIN" -dc | cmp -s - "$D/text" || r+=" stdin"
if [ -z "$r" ]; then ok single.roundtrips; else fail single.roundtrips "$r"; fi
"${SG[@]}" -c --single -11 "$D/one" >/dev/null 2>"$T/err"
rc=$?
[ $rc -eq 2 ] && is_message "$T/err" 'sluice gzip: --single compresses at levels 1 to 9 only'
check_rc single.refuses-strong-levels $?

# ------------------------------------------------------------ file mode

W="$T/w"
mkdir -p "$W"
cp "$D/mib1" "$W/f"
chmod 640 "$W/f"
touch -d '2001-02-03 04:05:06' "$W/f"
before=$(stat -c '%a %Y' "$W/f")
(cd "$W" && "${SG[@]}" f 2>"$T/err")
rc=$?
r=""
[ $rc -eq 0 ] || r+=" rc=$rc"
[ -e "$W/f" ] && r+=" input-kept"
[ -f "$W/f.gz" ] || r+=" no-f.gz"
[ "$(stat -c '%a %Y' "$W/f.gz" 2>/dev/null)" = "$before" ] || r+=" mode/mtime $(stat -c '%a %Y' "$W/f.gz") vs $before"
"$GZIP_BIN" -dc "$W/f.gz" | cmp -s - "$D/mib1" || r+=" content"
"$GZIP_BIN" -l "$W/f.gz" >/dev/null 2>&1 || r+=" gzip-l"
has_temp "$W" && r+=" temp-left"
[ -s "$T/err" ] && r+=" stderr:$(cat "$T/err")"
if [ -z "$r" ]; then ok file.replace; else fail file.replace "$r"; fi

stored=$(python3 -c 'import sys
d=open(sys.argv[1],"rb").read(300)
flg=d[3]; p=10
if flg & 4: p += 2 + d[10] + 256*d[11]
print(d[p:d.index(b"\0",p)].decode() if flg & 8 else "", int.from_bytes(d[4:8],"little"))' "$W/f.gz")
check_true file.header-name-mtime [ "$stored" = "f $(stat -c %Y "$W/f.gz")" ]
mkdir -p "$W/n" && cp "$W/f.gz" "$W/n/renamed.gz" && (cd "$W/n" && "$GZIP_BIN" -dN renamed.gz 2>/dev/null)
check_true file.gunzip-N-restores-name cmp -s "$W/n/f" "$D/mib1"

cp "$D/one" "$W/k"
(cd "$W" && "${SG[@]}" -k k)
[ -f "$W/k" ] && [ -f "$W/k.gz" ]
check_rc file.keep $?
cp "$D/one" "$W/nn"
(cd "$W" && "${SG[@]}" -n nn)
check_true file.no-name python3 -c 'import sys
d=open(sys.argv[1],"rb").read(12); sys.exit(0 if d[3] & 8 == 0 and d[4:8] == bytes(4) else 1)' "$W/nn.gz"
cp "$D/one" "$W/suf"
(cd "$W" && "${SG[@]}" -S .zz suf)
check_true file.suffix-option cmp -s <("$GZIP_BIN" -dc <"$W/suf.zz") "$D/one"
cp "$D/empty" "$W/em"
(cd "$W" && "${SG[@]}" em)
[ -f "$W/em.gz" ] && "$GZIP_BIN" -t "$W/em.gz" && [ ! -e "$W/em" ] && [ ! -s "$(cd "$W" && "$GZIP_BIN" -dc em.gz)" ]
check_rc file.empty $?

# ------------------------------------ messages and exit codes vs gzip

# cmp_gzip NAME SETUP ARGS... -- run SETUP (a function) in two fresh
# directories, gzip ARGS in one, sluice gzip ARGS in the other; compare
# stderr (prefix rewritten), exit status and the resulting files
cmp_gzip() {
    local name=$1 setup=$2
    shift 2
    rm -rf "$T/ga" "$T/sa"
    mkdir -p "$T/ga" "$T/sa"
    (cd "$T/ga" && $setup)
    (cd "$T/sa" && $setup)
    (cd "$T/ga" && "$GZIP_BIN" "$@" </dev/null >"$T/g.out" 2>"$T/g.err"; echo $? >"$T/g.rc")
    (cd "$T/sa" && "${SG[@]}" "$@" </dev/null >"$T/s.out" 2>"$T/s.err"; echo $? >"$T/s.rc")
    sed -i 's/^gzip: /sluice gzip: /' "$T/g.err"
    local r=""
    cmp -s "$T/g.err" "$T/s.err" || r+="stderr:"$'\n'"$(diff "$T/g.err" "$T/s.err")"$'\n'
    cmp -s "$T/g.rc" "$T/s.rc" || r+="exit: gzip $(cat "$T/g.rc"), sluice $(cat "$T/s.rc")"$'\n'
    local gl sl
    gl=$(cd "$T/ga" && find . | sort) sl=$(cd "$T/sa" && find . | sort)
    [ "$gl" = "$sl" ] || r+="files:"$'\n'"$(diff <(echo "$gl") <(echo "$sl"))"$'\n'
    if [ -z "$r" ]; then ok "gzip-compat.$name"; else fail "gzip-compat.$name" "[$*]"$'\n'"$r"; fi
}

# shellcheck disable=SC2317 # called through cmp_gzip
setup_basic() {
    printf 'hello\n' >a
    printf 'old\n' >a.gz
    printf 'b\n' >b
    printf 'z\n' >c.gz
    printf 'T\n' >d.tgz
    mkdir dir
    mkfifo fifo
    ln -s b link
    printf 'h\n' >h1 && ln h1 h2
    printf 's\n' >suid && chmod u+s suid
}

cmp_gzip exists setup_basic a
cmp_gzip exists-quiet setup_basic -q a
cmp_gzip force-overwrites setup_basic -f a
cmp_gzip suffix-present setup_basic c.gz
cmp_gzip suffix-tgz setup_basic d.tgz
cmp_gzip suffix-quiet setup_basic -q c.gz
cmp_gzip directory setup_basic dir
cmp_gzip directory-quiet setup_basic -q dir
cmp_gzip missing setup_basic nosuch
cmp_gzip fifo setup_basic fifo
cmp_gzip symlink setup_basic link
cmp_gzip symlink-force setup_basic -f link
cmp_gzip hard-links setup_basic h1
cmp_gzip setuid setup_basic suid
cmp_gzip mixed setup_basic b nosuch dir c.gz a
cmp_gzip keep-mixed setup_basic -k b nosuch
cmp_gzip stdout-suffix setup_basic -c c.gz
cmp_gzip empty-suffix setup_basic -S '' b

# existing FILE.gz left byte-identical
rm -rf "$T/ex" && mkdir "$T/ex" && printf 'in\n' >"$T/ex/f" && printf 'precious\n' >"$T/ex/f.gz"
"${SG[@]}" "$T/ex/f" 2>/dev/null
[ "$(cat "$T/ex/f.gz")" = precious ] && [ -f "$T/ex/f" ]
check_rc exists.untouched $?

"${SG[@]}" -x >/dev/null 2>"$T/o.err"
rc=$?
[ $rc -eq 1 ] && grep -q "Try \`sluice gzip --help'" "$T/o.err"
check_rc usage.bad-option $?
check_true usage.help "${SG[@]}" --help >/dev/null
check_true usage.main-help-lists-gzip sh -c "'$SLUICE' --help | grep -q '^  gzip '"

# ------------------------------------------------------ terminal output

if command -v script >/dev/null 2>&1 && script -qec true /dev/null >/dev/null 2>&1; then
    printf 'data\n' >"$T/tty_in"
    script -qec "'$SLUICE' gzip <'$T/tty_in'" /dev/null >"$T/tty.out" 2>&1
    rc=$?
    exp='sluice gzip: compressed data not written to a terminal. Use -f to force compression.'
    if [ $rc -eq 1 ] && grep -qF "$exp" "$T/tty.out" && grep -qF 'For help, type: sluice gzip -h' "$T/tty.out"; then
        ok tty.refused
    else
        fail tty.refused "rc $rc: $(cat "$T/tty.out")"
    fi
else
    skip tty.refused "no usable script(1)"
fi

# ------------------------------------------------------------- progress

# A progress line on stderr when it is a terminal and the job takes more
# than a second; never otherwise; --progress / --no-progress force it.
P="$T/prog"
mkdir -p "$P"
truncate -s 1536M "$P/big"
"${SG[@]}" -c -6 "$P/big" 2>"$P/plain.err" >/dev/null
"${SG[@]}" -c -6 --progress "$P/big" 2>"$P/forced.err" >/dev/null
r=""
[ -s "$P/plain.err" ] && r+=" shown-without-terminal"
grep -q 'files, .* of .*/s' "$P/forced.err" || r+=" not-forced:$(head -c 200 "$P/forced.err")"
if command -v script >/dev/null 2>&1; then
    script -qec "'$SLUICE' gzip -c -6 '$P/big' >/dev/null" /dev/null >"$P/tty.out" 2>&1 </dev/null
    grep -q 'sluice gzip: 0/1 files, .* of 1.5 GiB, .*/s, ETA' "$P/tty.out" || r+=" not-on-terminal:$(head -c 200 "$P/tty.out")"
    script -qec "'$SLUICE' gzip -c -6 --no-progress '$P/big' >/dev/null" /dev/null >"$P/tty2.out" 2>&1 </dev/null
    grep -q 'files,' "$P/tty2.out" && r+=" shown-with-no-progress"
else
    skip progress.terminal "no usable script(1)"
fi
if [ -z "$r" ]; then ok progress.line; else fail progress.line "$r"; fi
rm -f "$P/big"

# --------------------------------------------------------------- SIGINT

S="$T/sig"
mkdir -p "$S"
truncate -s 300M "$S/big"
# A non-interactive shell starts background jobs with SIGINT ignored, and
# gzip (so sluice) leaves an ignored SIGINT ignored: job control on.
set -m
"${SG[@]}" -j1 "-${STRONG:-9}" "$S/big" 2>"$T/sig.err" &
pid=$!
set +m
sleep 0.2
kill -INT $pid
wait $pid
rc=$?
r=""
[ $rc -eq 130 ] || r+=" rc=$rc"
[ -e "$S/big.gz" ] && r+=" big.gz-exists"
has_temp "$S" && r+=" temp-left:$(ls -A "$S")"
[ "$(stat -c %s "$S/big")" = 314572800 ] || r+=" input-changed"
if [ -z "$r" ]; then ok signal.sigint-cleans-up; else fail signal.sigint-cleans-up "$r"; fi
set -m
"${SG[@]}" -j2 "-${STRONG:-9}" "$S/big" 2>/dev/null &
pid=$!
set +m
sleep 0.3
kill -TERM $pid
wait $pid
rc=$?
if [ $rc -eq 143 ] && [ ! -e "$S/big.gz" ] && ! has_temp "$S"; then
    ok signal.sigterm-cleans-up
else
    fail signal.sigterm-cleans-up "rc $rc; $(ls -A "$S")"
fi
rm -f "$S/big"

# --------------------------------------------------------------- ENOSPC

M="$T/full"
mkdir -p "$M"
if [ "$(id -u)" -eq 0 ] && mount -t tmpfs -o size=1m tmpfs "$M" 2>/dev/null; then
    head -c 600000 /dev/urandom >"$M/in" 2>/dev/null
    cp "$M/in" "$T/in.copy"
    "${SG[@]}" "$M/in" 2>"$T/full.err"
    rc=$?
    r=""
    [ $rc -eq 1 ] || r+=" rc=$rc"
    grep -q "No space left on device" "$T/full.err" || r+=" message:$(cat "$T/full.err")"
    [ -e "$M/in.gz" ] && r+=" in.gz-exists"
    has_temp "$M" && r+=" temp-left"
    cmp -s "$M/in" "$T/in.copy" || r+=" input-changed"
    if [ -z "$r" ]; then ok enospc.no-partial-file; else fail enospc.no-partial-file "$r"; fi
    umount "$M"
else
    skip enospc.no-partial-file "not root or cannot mount a tmpfs"
fi

# stdout to /dev/full: an error, exit 1
if [ -w /dev/full ]; then
    "${SG[@]}" -c "$D/one" >/dev/full 2>"$T/df.err"
    rc=$?
    [ $rc -eq 1 ] && grep -q 'No space left on device' "$T/df.err"
    check_rc output.dev-full $?
fi

finish

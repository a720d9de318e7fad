#!/bin/bash
# tests/cli/replace.sh -- `sluice replace`, with GNU sed as the oracle.
#
# Literal and -E substitutions must give exactly what `sed 's/FROM/TO/g'`
# (with FROM and TO escaped for sed) and `sed -E 's/FROM/TO/g'` give, to
# stdout, per file under -o DIR, and in place, with 0, 1 and 2 workers and
# small units (so big inputs are split on line boundaries).  Output files
# are committed atomically: an input that fails leaves the old file.  (Lines
# stay shorter than a unit: a longer line may be cut between units.)
#
# Prints "ok NAME" or "FAIL NAME" per case; exits 1 if any failed.
# Environment: SLUICE_BUILD_ROOT.
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh disable=SC1091
. "$(dirname "$0")/lib.sh"

export LC_ALL=C
cd "$T" || exit 1
mkdir -p tree/sub
printf 'foo bar foo\nfoofoo\n\nno match here\nfo o foo' >tree/a
printf 'aaa aaaa\n' >tree/sub/b
: >tree/sub/empty
seq 1 50000 | sed "s/$/ foo x0y1z2/" >tree/big
awk 'BEGIN { for (i = 0; i < 3; i++) { s = ""; for (j = 0; j < 10000; j++) s = s "foo "; print s } }' >tree/long

# A literal for sed's s///: FROM escaped as a BRE, TO's & \ and / escaped.
sed_from() { printf '%s' "$1" | sed 's/[][\.*^$/]/\\&/g'; }
sed_to() { printf '%s' "$1" | sed 's/[&\/]/\\&/g'; }

files=(tree/a tree/sub/b tree/sub/empty tree/big tree/long)

# literal FROM TO -- stdout of every file, against sed, 3 worker counts
literal() {
    local name=$1 from=$2 to=$3 j
    sed "s/$(sed_from "$from")/$(sed_to "$to")/g" "${files[@]}" >want
    for j in 0 1 2; do
        "$SLUICE" replace -j "$j" --chunk-size 64k "$from" "$to" "${files[@]}" >out 2>err
        local rc=$?
        if [ "$rc" -ne 0 ] || ! cmp -s want out; then
            fail "literal.$name.j$j" "exit $rc; $(cmp want out) $(cat err)"
            return
        fi
    done
    ok "literal.$name"
}
literal word foo FOO
literal overlapping aa b
literal to-empty foo ''
literal grows o 'OOOOOOOOOO'
literal specials '.*[x]' '&\/'
literal digits 'x0y1z2' ''

# regex FROM TO -- the same with -E, against sed -E
regex() {
    local name=$1 from=$2 to=$3 j
    sed -E "s/$from/$to/g" "${files[@]}" >want
    for j in 0 2; do
        "$SLUICE" replace -E -j "$j" --chunk-size 64k "$from" "$to" "${files[@]}" >out 2>err
        local rc=$?
        if [ "$rc" -ne 0 ] || ! cmp -s want out; then
            fail "regex.$name.j$j" "exit $rc; $(diff want out | head -n 10) $(cat err)"
            return
        fi
    done
    ok "regex.$name"
}
regex group '(o+)' '<\1>'
regex swap '([a-z]+) ([a-z]+)' '\2 \1'
regex whole 'fo+' '[&]'
regex empty-matches 'x*' '-'
regex line-start '^' 'S:'
regex line-end '$' ':E'
regex alternation 'foo|bar' '(&)'
regex brackets '[0-9]+' '#'
regex interval 'a{2,3}' 'X'
regex word-boundary '\bfoo\b' 'W'
regex escaped-amp 'foo' '\&'

printf 'a foo b\n' >want0
sed 's/foo/X/g' want0 >want
printf 'a foo b\n' | "$SLUICE" replace foo X >out 2>err
if cmp -s want out; then ok stdin; else fail stdin "$(cat out err)"; fi

# ------------------------------------------------------------ -o DIR
"$SLUICE" replace -j 2 -o outdir foo FOO tree >out 2>err
rc=$?
good=1
for f in a sub/b sub/empty big long; do
    sed 's/foo/FOO/g' "tree/$f" >want
    cmp -s want "outdir/tree/$f" || good=0
done
if [ "$rc" -eq 0 ] && [ "$good" = 1 ] && [ ! -s out ] && ! has_temp outdir/tree; then
    ok output-dir
else
    fail output-dir "exit $rc; $(cat err); $(find outdir | sort)"
fi
"$SLUICE" replace -o outdir foo FOO ../"$(basename "$T")"/tree/a >out 2>err
if [ $? -eq 1 ] && is_message err "sluice replace: ../$(basename "$T")/tree/a: a '..' in the path would leave the output directory"; then ok output-dir.dotdot-refused; else fail output-dir.dotdot-refused "$(cat err)"; fi
printf 'x\n' | "$SLUICE" replace -o outdir a b >out 2>err
if [ $? -eq 2 ] && is_message err 'sluice replace: -o needs file operands, not standard input'; then ok output-dir.no-stdin; else fail output-dir.no-stdin "$(cat err)"; fi

# ---------------------------------------------------------- --in-place
cp -r tree edit
chmod 640 edit/a
"$SLUICE" replace --in-place -E 'o+' '0' edit >out 2>err
rc=$?
good=1
for f in a sub/b sub/empty big long; do
    sed -E 's/o+/0/g' "tree/$f" >want
    cmp -s want "edit/$f" || good=0
done
if [ "$rc" -eq 0 ] && [ "$good" = 1 ] && [ "$(stat -c %a edit/a)" = 640 ] &&
    ! has_temp edit && ! has_temp edit/sub; then
    ok in-place
else
    fail in-place "exit $rc; $(cat err); mode $(stat -c %a edit/a)"
fi

# ------------------------------------------- a failing input keeps its file
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null &&
    setpriv --reuid=65534 --regid=65534 --clear-groups true 2>/dev/null; then
    chmod 755 "$T"
    mkdir -p perm && cp tree/a perm/ok && cp tree/a perm/secret
    chmod 777 perm && chmod 666 perm/ok && chmod 600 perm/secret
    mkdir -p pout/perm && chmod 777 pout pout/perm
    printf 'old\n' >pout/perm/secret && chmod 666 pout/perm/secret
    setpriv --reuid=65534 --regid=65534 --clear-groups \
        "$SLUICE" replace -o pout foo X perm/ok perm/secret >out 2>err
    rc=$?
    if [ "$rc" -eq 1 ] && grep -q "perm/secret: Permission denied" err &&
        [ "$(cat pout/perm/secret)" = old ] && [ -s pout/perm/ok ] && ! has_temp pout/perm; then
        ok failed-input-keeps-old-output
    else
        fail failed-input-keeps-old-output "exit $rc; $(cat err); $(cat pout/perm/secret)"
    fi
else
    skip failed-input-keeps-old-output "cannot run as another user here"
fi

# -------------------------------------------------------- bad patterns
# The plugin's messages name the plugin by its path (PLUGIN below).
plugin_named() {
    sed 's|^sluice replace: /.*/replace\.so: |sluice replace: PLUGIN: |' err >err.named
}
"$SLUICE" replace -E '(' x tree/a >out 2>err
rc=$?
plugin_named
if [ $rc -ne 0 ] && [ ! -s out ] && is_message err.named 'sluice replace: PLUGIN: plugin replace: Unmatched ( or \('; then ok bad-regex; else fail bad-regex "$(cat err)"; fi
"$SLUICE" replace -E 'a' '\2' tree/a >out 2>err
rc=$?
plugin_named
if [ $rc -ne 0 ] && [ ! -s out ] && is_message err.named 'sluice replace: PLUGIN: plugin replace: invalid reference \2 on the replacement: the pattern has 0 groups'; then ok bad-reference; else fail bad-reference "$(cat err)"; fi
"$SLUICE" replace '' x tree/a >out 2>err
if [ $? -eq 2 ] && is_message err 'sluice replace: FROM must be one non-empty line'; then ok empty-from; else fail empty-from "$(cat err)"; fi

finish

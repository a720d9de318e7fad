#!/bin/bash
# tests/cli/wc_tree.sh -- `sluice wc DIR` over a real source tree.
#
# A copy of a real tree (WC_TREE_SOURCE, default /usr/include: thousands of
# files, small and large; a synthetic tree when it is missing) plus planted
# oddities: .git/.hg/.svn directories (skipped), hidden files and
# directories (skipped by default; --hidden), symbolic links to files and
# to directories, and a loop (not followed), a FIFO (skipped, so no hang),
# names with spaces, newlines, quotes and non-ASCII bytes, a large file
# (split into units), empty files and directories.
#
# The oracle is GNU wc (GNU_WC, default /usr/bin/wc) reading the same files
# through --files0-from of a regular file, which lays out columns by the
# same rule as operands: the list is `find` of the regular files, pruning
# hidden names (VCS directories among them), in the walk's order (entries
# of each directory sorted by strcmp, depth first: sorting paths with '/'
# mapped below every other byte gives exactly that).  The tree lies in no
# git repository and holds no .ignore file, so nothing in it is ignored.  Output must be byte-identical, inline (-j0) and with
# 1 and 2 workers.
#
# sluice implements wc 9.5, whose word rule differs from an older installed
# wc on control characters and non-ASCII bytes; files holding such bytes
# are moved to a second tree that is compared only for -l, -c, -m and -L,
# where the versions agree (wc_compare.sh covers words on such input).
#
# Prints "ok NAME" or "FAIL NAME" plus a diff per case; exits 1 if any case
# failed.  Environment: SLUICE_BUILD_ROOT.
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh disable=SC1091 # -x follows it
. "$(dirname "$0")/lib.sh"
SRC=${WC_TREE_SOURCE:-/usr/include}
# The cases run in $T, where the trees and lists are; a walk of the whole
# tree may take a while.
IN="$T"
RUN_TIMEOUT=300

# ------------------------------------------------------------ the trees

cd "$T" || exit 1
mkdir tree nonascii
if [ -d "$SRC" ] && [ "$(find "$SRC" -type f 2>/dev/null | head -n 1000 | wc -l)" -ge 1000 ]; then
    cp -a "$SRC/." tree/ 2>/dev/null
    echo "# tree: a copy of $SRC"
else
    echo "# tree: synthetic ($SRC is missing or small)"
    awk -v root=tree 'BEGIN {
        srand(7)
        for (d = 0; d < 40; d++) {
            dir = root "/d" d "/s" (d % 5)
            system("mkdir -p " dir)
            for (f = 0; f < 100; f++) {
                file = dir "/f" f ".c"
                n = int(rand() * 200)
                for (i = 0; i < n; i++)
                    printf "line %d\tof %s  with words\n", i, file > file
                if (f % 9 == 0) printf "no newline at end" > file
                close(file)
            }
        }
    }'
fi

# Files with bytes where wc versions disagree on words: to the second tree.
(cd tree && LC_ALL=C grep -rlP '[^\t\n\v\f\r\x20-\x7e]' . 2>/dev/null) |
    while IFS= read -r f; do
        mkdir -p "nonascii/$(dirname "$f")"
        mv "tree/$f" "nonascii/$f"
    done
# ... but keep some text of that kind anyway (same in both versions).
printf 'caf\xc3\xa9 na\xc3\xafve\n\xe6\x97\xa5\xe6\x9c\xac\n' >nonascii/utf8.txt

# Oddities.
mkdir -p tree/.git/objects tree/sub/.hg tree/.svn tree/deep/a/b/c/d \
    tree/emptydir "tree/odd dir" tree/order tree/order/a
printf 'git object\n' >tree/.git/objects/x
printf 'git file\n' >tree/.git/HEAD
printf 'hg\n' >tree/sub/.hg/store
printf 'svn\n' >tree/.svn/entries
mkdir -p tree/sub/.hdir
printf 'hidden\n' >tree/.hidden
printf 'hidden too\n' >tree/sub/.hdir/f
printf 'deep\n' >tree/deep/a/b/c/d/file
printf 'sp\n' >"tree/odd dir/sp ace.h"
printf 'nl\n' >"tree/odd dir/new
line.txt"
printf 'q\n' >"tree/odd dir/it's.c"
printf 'dash\n' >tree/order/-
printf 'a\n' >tree/order/a/x
printf 'a-b\n' >tree/order/a-b
printf 'a.b\n' >tree/order/a.b
printf 'A\n' >tree/order/A
printf 'e\n' >"tree/order/$(printf '\xc3\xa9')"
: >tree/order/empty1
: >tree/order/empty2
ln -s ../order/a-b tree/sub/link-to-file
ln -s "$T/tree/deep" tree/sub/link-to-dir
ln -s . tree/sub/loop
ln -s /nonexistent tree/sub/dangling
mkfifo tree/sub/fifo 2>/dev/null
awk 'BEGIN { for (i = 0; i < 120000; i++) printf "%d some words here\t%d\n", i, i * 7 }' >tree/sub/large.txt

# The oracle's file lists, in walk order.
walk_list tree >list.tree
walk_list nonascii >list.nonascii
echo "# $(tr -cd '\0' <list.tree | wc -c) + $(tr -cd '\0' <list.nonascii | wc -c) files"

# ---------------------------------------------------------------- cases

CONFIGS=("-j0" "-j1" "-j2" "-j2 --chunk-size=65536")

# check_tree NAME LOCALE LIST DIR [OPTIONS...] -- GNU wc OPTIONS over the
# files in LIST against `sluice wc OPTIONS DIR` under every config (check
# and the rest are in lib.sh)
check_tree() {
    local name=$1 loc=$2 list=$3 dir=$4
    shift 4
    expect_gnu "$loc" /dev/null "$@" --files0-from="$list"
    check "$name" "$loc" /dev/null "$@" "$dir"
}

for loc in "${LOCALES[@]}"; do
    check_tree "tree.default.$loc" "$loc" list.tree tree
    check_tree "tree.-l.$loc" "$loc" list.tree tree -l
    check_tree "tree.-c.$loc" "$loc" list.tree tree -c
    check_tree "nonascii.-lcmL.$loc" "$loc" list.nonascii nonascii -lcmL
done
if [ "${#LOCALES[@]}" -gt 1 ]; then
    check_tree "tree.-lwmcL.C.UTF-8" C.UTF-8 list.tree tree -lwmcL
fi

# The planted rules, stated directly (the comparisons above imply them;
# these say which one broke).
LC_ALL=C "$SLUICE" wc -j2 -l tree >got.out 2>got.err
if grep -Eq '/\.(git|hg|svn)/' got.out; then
    fail tree.vcs-skipped "$(grep -E '/\.(git|hg|svn)/' got.out | head)"
else
    ok tree.vcs-skipped
fi
if grep -Eq 'tree/sub/(link-to|loop|dangling|fifo)' got.out; then
    fail tree.links-and-fifos-skipped "$(grep -E 'tree/sub/(link-to|loop|dangling|fifo)' got.out | head)"
else
    ok tree.links-and-fifos-skipped
fi
if grep -Eq 'tree/(\.hidden|sub/\.hdir)' got.out; then
    fail tree.hidden-skipped "$(grep -E 'tree/(\.hidden|sub/\.hdir)' got.out)"
else
    ok tree.hidden-skipped
fi
LC_ALL=C "$SLUICE" wc -j2 -l --hidden tree >got.hidden 2>&1
if [ "$(grep -cE 'tree/(\.hidden|sub/\.hdir/f)$' got.hidden)" = 2 ] &&
    ! grep -Eq '/\.(git|hg|svn)/' got.hidden; then
    ok tree.hidden-option
else
    fail tree.hidden-option "$(grep -E 'tree/(\.|sub/\.)' got.hidden)"
fi
order=$(grep -o 'tree/order/.*' got.out | tr '\n' ' ')
expected="tree/order/- tree/order/A tree/order/a/x tree/order/a-b tree/order/a.b tree/order/empty1 tree/order/empty2 tree/order/$(printf '\xc3\xa9') "
if [ "$order" = "$expected" ]; then
    ok tree.sorted-order
else
    fail tree.sorted-order "expected: $expected"$'\n'"got:      $order"
fi

# Two operands: a file, then a tree, then the same tree again.
printf '%s\0' tree/order/A >list.two
walk_list tree/order >>list.two
walk_list tree/deep >>list.two
LC_ALL=C "${GNU[@]}" --files0-from=list.two >exp.out 2>&1
LC_ALL=C "$SLUICE" wc -j2 tree/order/A tree/order tree/deep >got.out 2>&1
if cmp -s exp.out got.out; then
    ok tree.operands-in-order
else
    fail tree.operands-in-order "$(diff exp.out got.out | head -n 20)"
fi

finish

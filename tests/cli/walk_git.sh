#!/bin/bash
# tests/cli/walk_git.sh -- the walker's ignore rules against git itself.
#
# Generates trees from fixed seeds (bash's RANDOM, seeded, so every run
# builds the same trees): nested directories, names with spaces, brackets
# and leading dots, .gitignore files at several depths drawing on a pool of
# patterns (negations, anchored and unanchored, "**" forms, directory-only,
# escapes, trailing spaces, comments) and .git/info/exclude.  Each tree is
# made a repository with `git init`, and the set of files `sluice wc`
# visits must equal `git ls-files --others --cached --exclude-standard`:
#   - by default, with git's hidden paths (a component starting with '.')
#     taken out, since the walk skips them;
#   - with --hidden, all of git's list;
#   - for a subdirectory operand, git's list under it;
#   - with --no-ignore --hidden, every regular file outside .git (find).
# The visited files are the names of `sluice wc -l --total=never`, each
# line less its count.  Skipped (visibly) when git is missing.
#
# Environment: SLUICE_BUILD_ROOT.
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh disable=SC1091 # -x follows it
. "$(dirname "$0")/lib.sh"

if ! command -v git >/dev/null 2>&1; then
    skip walk_git "git is not installed"
    finish
fi
# No user or system git configuration (a global excludes file would change
# git's answers).
export HOME="$T/home" XDG_CONFIG_HOME="$T/home/.config" GIT_CONFIG_NOSYSTEM=1
mkdir -p "$HOME"

# The pools pick draws from (through a nameref, hence SC2034).
# shellcheck disable=SC2034
DIRS=(src build lib docs gen deep "a b" x node_modules .hid out)
# shellcheck disable=SC2034
FILES=(main.c x.o notes.txt a.log keep.log "file with space.txt" README
    "tmp~" .env b.tmp "data[1].csv" util.h "#hash" "!bang" core)
# shellcheck disable=SC2034
PATTERNS=('*.o' '!keep.log' '*.log' 'build/' '/build' '**/gen' 'src/**/x.o'
    'deep/**' 'doc*/' 'a b/' 'file with space.txt' '!*.txt' 'x/' '/lib/*.c'
    '**/deep/*.txt' '*.tmp' '[a-m]*.c' '?ain.c' '!src/' '# a comment' ''
    'README  ' '!/deep/keep.log' '*~' 'data\[1\].csv' '\#hash' '\!bang'
    '[!a-z]*' 'out/**/*.h' 'lib/**' '!lib/util.h' '*.[ch]' 'core' '!core/'
    'node_modules/' '/*.txt' 'src/*' '!src/main.c' 'gen/' '.env' '!*.log'
    'a\ b' '*.csv ' 'deep/*/' '**/x/**')

# pick ARRAY_NAME -- one element into PICKED, by RANDOM (not through $(...):
# a subshell's RANDOM does not follow the seed)
pick() {
    local -n arr=$1
    PICKED=${arr[RANDOM % ${#arr[@]}]}
}

# gen_dir DIR DEPTH -- files, subdirectories and maybe a .gitignore
gen_dir() {
    local dir=$1 depth=$2 i n
    n=$((RANDOM % 5 + 1))
    for ((i = 0; i < n; i++)); do
        pick FILES
        printf '%s\n' "$dir" >"$dir/$PICKED"
    done
    if ((RANDOM % 3 != 0)); then
        n=$((RANDOM % 5 + 1))
        for ((i = 0; i < n; i++)); do
            pick PATTERNS
            printf '%s\n' "$PICKED"
        done >>"$dir/.gitignore"
    fi
    if ((depth < 3)); then
        n=$((RANDOM % 4))
        for ((i = 0; i < n; i++)); do
            local sub
            pick DIRS
            sub="$dir/$PICKED"
            mkdir -p "$sub"
            gen_dir "$sub" $((depth + 1))
        done
    fi
}

# visited DIR OPTIONS... -- the files `sluice wc` visits, one a line, sorted
visited() {
    local dir=$1
    shift
    LC_ALL=C "$SLUICE" wc -j2 -l --total=never "$@" "$dir" |
        sed -E 's/^ *[0-9]+ //' | LC_ALL=C sort
}

# compare NAME EXPECTED_FILE GOT_FILE
compare() {
    if cmp -s "$2" "$3"; then
        ok "$1"
    else
        fail "$1" "$(diff "$2" "$3" | head -n 30)"
    fi
}

SEEDS=${WALK_GIT_SEEDS:-40}
nfiles=0 nall=0
for ((seed = 1; seed <= SEEDS; seed++)); do
    RANDOM=$seed
    r="$T/repo$seed"
    mkdir -p "$r"
    git init -q "$r" || {
        fail "walk_git.$seed.init" "git init failed"
        continue
    }
    gen_dir "$r" 0
    for ((i = 0; i < 2; i++)); do
        pick PATTERNS
        printf '%s\n' "$PICKED"
    done >>"$r/.git/info/exclude"

    # git's answer, as paths relative to the repository.
    (cd "$r" && git ls-files -z --others --cached --exclude-standard) |
        tr '\0' '\n' | LC_ALL=C sort >"$T/git.all"
    grep -Ev '(^|/)\.' "$T/git.all" >"$T/git.visible"
    nfiles=$((nfiles + $(wc -l <"$T/git.all")))
    nall=$((nall + $(cd "$r" && find . -name .git -prune -o -type f -print | wc -l)))

    (cd "$r" && visited .) | sed 's|^\./||' >"$T/got.visible"
    compare "walk_git.$seed.default" "$T/git.visible" "$T/got.visible"
    (cd "$r" && visited . --hidden) | sed 's|^\./||' >"$T/got.all"
    compare "walk_git.$seed.hidden" "$T/git.all" "$T/got.all"

    # A subdirectory operand: the first one git does not ignore.
    sub=$(cd "$r" && for d in */; do
        d=${d%/}
        [ -d "$d" ] && ! git check-ignore -q "$d/" && printf '%s' "$d" && break
    done)
    if [ -n "$sub" ]; then
        (cd "$r" && git ls-files -z --others --cached --exclude-standard -- "$sub/") |
            tr '\0' '\n' | grep -Ev '(^|/)\.' | LC_ALL=C sort >"$T/git.sub"
        (cd "$r" && visited "$sub") >"$T/got.sub"
        compare "walk_git.$seed.subdir" "$T/git.sub" "$T/got.sub"
    fi

    (cd "$r" && find . -name .git -prune -o -type f -print) |
        sed 's|^\./||' | LC_ALL=C sort >"$T/find.all"
    (cd "$r" && visited . --no-ignore --hidden) | sed 's|^\./||' >"$T/got.noig"
    compare "walk_git.$seed.no-ignore" "$T/find.all" "$T/got.noig"
done
echo "# $SEEDS trees, $nall files, $nfiles of them listed by git"

# A hidden or ignored operand named explicitly is still walked.
r="$T/explicit"
mkdir -p "$r/.hid" "$r/build"
git init -q "$r"
printf 'build/\n' >"$r/.gitignore"
printf 'h\n' >"$r/.hid/f"
printf 'b\n' >"$r/build/g"
printf '.hid/f\nbuild/g\n' >"$T/exp.explicit"
(cd "$r" && {
    visited .hid
    visited build
}) >"$T/got.explicit"
compare walk_git.explicit-operands "$T/exp.explicit" "$T/got.explicit"

finish

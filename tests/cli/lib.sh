# shellcheck shell=bash
# tests/cli/lib.sh -- what the tests/cli/wc_*.sh suites share.  Sourced
# (`. "$(dirname "$0")/lib.sh"`), not run.
#
# Sets up:
#   SLUICE   the binary under test, $SLUICE_BUILD_ROOT/cli/sluice
#   GNU_WC   the oracle (default /usr/bin/wc); GNU runs it as "wc", since
#            argv[0] is the name in its messages
#   T        a temporary directory, removed on exit
#   IN       $T/in, the directory run() runs commands in
#   LOCALES  C, and C.UTF-8 where the system has it
#   RUN_TIMEOUT  seconds one run() may take: 60
#   COMMAND  the sluice command check() runs: wc
# and the counters behind ok, fail and skip.  A suite may set IN,
# RUN_TIMEOUT and COMMAND anew after sourcing this file, and sets CONFIGS,
# the engine settings check() runs sluice under.  Each case prints "ok NAME" or
# "FAIL NAME" plus a diff; `finish` prints the summary and exits 1 if any
# case failed.
#
# Environment: SLUICE_BUILD_ROOT (required), GNU_WC.
set -u

: "${SLUICE_BUILD_ROOT:?SLUICE_BUILD_ROOT must name the build directory}"
SLUICE="$SLUICE_BUILD_ROOT/cli/sluice"
GNU_WC=${GNU_WC:-/usr/bin/wc}
RUN_TIMEOUT=60
COMMAND="wc"

T=$(mktemp -d "${TMPDIR:-/tmp}/$(basename "$0" .sh).XXXXXX") || exit 1
trap 'rm -rf "$T"' EXIT
# GNU wc runs as "wc" (argv[0] is the name in its messages).
mkdir -p "$T/bin"
ln -s "$GNU_WC" "$T/bin/wc"
GNU=(env "PATH=$T/bin:$PATH" wc)
IN="$T/in"
mkdir -p "$IN"

failures=0
cases=0

ok() {
    cases=$((cases + 1))
    echo "ok $1"
}

fail() {
    cases=$((cases + 1))
    failures=$((failures + 1))
    echo "FAIL $1"
    printf '%s\n' "$2" | head -n 60 | sed 's/^/    /'
}

skip() {
    echo "ok $1 # SKIP $2"
}

# sanitized BIN -- true when BIN is built with ASan or UBSan (a preloaded
# shim cannot come before their runtime).
sanitized() {
    ldd "$1" 2>/dev/null | grep -Eq 'lib(a|ub)san'
}

# check_true NAME CMD... -- ok when CMD succeeds
check_true() {
    local name=$1
    shift
    if "$@"; then ok "$name"; else fail "$name" "command failed: $*"; fi
}

# check_rc NAME STATUS -- ok when STATUS (of the test just run) is 0
check_rc() {
    if [ "$2" -eq 0 ]; then ok "$1"; else fail "$1" "condition failed"; fi
}

# is_message FILE TEXT -- FILE holds exactly the line TEXT (a message whose
# whole text is known, compared whole rather than searched for a part)
is_message() {
    printf '%s\n' "$2" | cmp -s - "$1"
}

# one_message FILE REGEX -- FILE holds one line, and REGEX (extended, with
# ^ and $ to take the whole line) matches it: a message with a part that is
# not fixed, such as an offset
one_message() {
    [ "$(wc -l <"$1")" -eq 1 ] && grep -Eq "$2" "$1"
}

# has_temp DIR -- DIR holds a dot file (a temporary file left behind)
has_temp() {
    local f
    for f in "$1"/.[!.]*; do
        [ -e "$f" ] && return 0
    done
    return 1
}

# finish -- the summary line; exit 1 if any case failed, else 0
finish() {
    echo "# $cases cases, $failures failed"
    [ "$failures" -eq 0 ] || exit 1
    exit 0
}

if [ ! -x "$SLUICE" ] || [ ! -x "$GNU_WC" ]; then
    fail setup "missing $SLUICE or $GNU_WC"
    exit 1
fi

LOCALES=(C)
if [ "$(LC_ALL=C.UTF-8 locale charmap 2>/dev/null)" = UTF-8 ]; then
    LOCALES+=(C.UTF-8)
else
    echo "# C.UTF-8 is not available: UTF-8 cases skipped"
fi

# --------------------------------------------------------------- running

# run PREFIX LOCALE STDIN CMD... -- CMD in $IN, killed after RUN_TIMEOUT
# seconds (exit status 124), with stdin from STDIN: a path, "|FILE" for a
# pipe fed from FILE, or "-" for a closed stdin.  PREFIX.out .err .rc
run() {
    local p=$1 loc=$2 in=$3
    shift 3
    (
        cd "$IN" || exit 99
        if [ "$in" = - ]; then
            LC_ALL=$loc timeout "$RUN_TIMEOUT" "$@" <&-
        elif [ "${in#|}" != "$in" ]; then
            cat -- "${in#|}" | LC_ALL=$loc timeout "$RUN_TIMEOUT" "$@"
        else
            LC_ALL=$loc timeout "$RUN_TIMEOUT" "$@" <"$in"
        fi >"$p.out" 2>"$p.err"
        echo $? >"$p.rc"
    )
}

# gnu_to_sluice FILE -- GNU's messages as sluice words them ("wc:" read
# as "sluice wc:")
gnu_to_sluice() {
    sed -i -e 's/^wc: /sluice wc: /' \
        -e "s/^Try 'wc --help'/Try 'sluice wc --help'/" "$1"
}

# expect_gnu LOCALE STDIN ARGS... -- the oracle's run into $T/exp.*
expect_gnu() {
    local loc=$1 in=$2
    shift 2
    run "$T/exp" "$loc" "$in" "${GNU[@]}" "$@"
    gnu_to_sluice "$T/exp.err"
}

# diff_run PREFIX -- differences between $T/exp.* and PREFIX.* (stdout as
# od -c, so that invisible bytes show); empty when they are equal
diff_run() {
    local p=$1 d=""
    if ! cmp -s "$T/exp.out" "$p.out"; then
        d+="stdout:"$'\n'$(diff <(od -c "$T/exp.out") <(od -c "$p.out") | head -n 20)$'\n'
    fi
    if ! cmp -s "$T/exp.err" "$p.err"; then
        d+="stderr:"$'\n'$(diff "$T/exp.err" "$p.err" | head -n 20)$'\n'
    fi
    if ! cmp -s "$T/exp.rc" "$p.rc"; then
        d+="exit status: expected $(cat "$T/exp.rc"), got $(cat "$p.rc")"$'\n'
    fi
    printf '%s' "$d"
}

# check NAME LOCALE STDIN ARGS... -- `sluice COMMAND CONFIG ARGS` under
# every config in CONFIGS against $T/exp.*; one ok or FAIL for all of them
check() {
    local name=$1 loc=$2 in=$3
    shift 3
    local cfg d all="" nl=$'\n'
    for cfg in "${CONFIGS[@]}"; do
        # shellcheck disable=SC2086 # cfg is a list of options
        run "$T/got" "$loc" "$in" "$SLUICE" "$COMMAND" $cfg "$@"
        d=$(diff_run "$T/got")
        # one config's report per paragraph
        [ -n "$d" ] && all+="${all:+$nl}[LC_ALL=$loc sluice $COMMAND $cfg $*]$nl$d"
    done
    if [ -z "$all" ]; then ok "$name"; else fail "$name" "$all"; fi
}

# ------------------------------------------------------------ the walk

# walk_list DIR -- DIR's regular files, NUL-separated, in the order the
# walk gives them: entries of each directory sorted by strcmp, depth first
# (sorting paths with '/' mapped below every byte gives it), hidden ones
# left out
walk_list() {
    find "$1" -name '.*' -prune -o -type f -print0 |
        tr '/' '\001' | LC_ALL=C sort -z | tr '\001' '/'
}

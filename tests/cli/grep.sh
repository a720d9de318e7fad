#!/bin/bash
# tests/cli/grep.sh -- `sluice grep` against GNU grep, byte for byte.
#
# The oracle is the installed GNU grep (GNU_GREP, default /usr/bin/grep;
# 3.8 on Debian 12), run as "grep" so that its messages read "grep: ...".
# Each case runs GNU grep and `sluice grep` with the same arguments, the
# same stdin and the same locale (C and C.UTF-8), and compares stdout,
# stderr (GNU's "grep:" read as "sluice grep:") and the exit status.
# sluice runs under several engine settings: inline (-j0), one and two
# workers, and units cut after every few bytes (--chunk-size=7, 100) so
# that every input is split into many units and line numbers, binary
# detection and long lines cross unit boundaries; every run must equal the
# oracle.
#
# A directory operand is walked by sluice; GNU grep would say "Is a
# directory", so trees are compared with `grep -H PATTERN FILES...` over
# the same files in the walk's order.
#
# Prints "ok NAME" or "FAIL NAME" plus a diff per case; exits 1 if any case
# failed.  Environment: SLUICE_BUILD_ROOT, GNU_GREP, GREP_TREE_SOURCE (the
# tree copied for the tree cases, default /usr/include).
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh disable=SC1091 # -x follows it
. "$(dirname "$0")/lib.sh"
COMMAND="grep" # check() runs `sluice grep`

GNU_GREP=${GNU_GREP:-/usr/bin/grep}
if [ ! -x "$GNU_GREP" ]; then
    fail setup "missing $GNU_GREP"
    finish
fi
ln -s "$GNU_GREP" "$T/bin/grep"
GREP=(env "PATH=$T/bin:$PATH" grep)

ALL_CONFIGS=(
    "-j0"
    "-j1"
    "-j2"
    "-j2 --chunk-size=7"
    "-j0 --chunk-size=7"
    "-j1 --chunk-size=100"
)
FEW_CONFIGS=("-j0" "-j2 --chunk-size=7")
# Whole 4 MiB units: where the result depends on GNU's 96 KiB buffers
# (a NUL after the first one) and is only exact inside one unit.
BIG_CONFIGS=("-j0" "-j1" "-j2")
CONFIGS=("${ALL_CONFIGS[@]}")

# --------------------------------------------------------------- running

# GNU's messages as sluice words them.
gnu_grep_to_sluice() {
    sed -i -e 's/^grep: /sluice grep: /' \
        -e 's/^Usage: grep /Usage: sluice grep /' \
        -e "s/^Try 'grep --help'/Try 'sluice grep --help'/" "$1"
}

# expect LOCALE STDIN ARGS... -- GNU grep's run into $T/exp.*
expect() {
    local loc=$1 in=$2
    shift 2
    run "$T/exp" "$loc" "$in" "${GREP[@]}" "$@"
    gnu_grep_to_sluice "$T/exp.err"
}

# same NAME LOCALE STDIN ARGS... -- expect, then check
same() {
    local name=$1 loc=$2 in=$3
    shift 3
    expect "$loc" "$in" "$@"
    check "$name" "$loc" "$in" "$@"
}

# words STRING -- splits a case into the array `args` at spaces (no
# quote or backslash processing); the word '' stands for an empty argument
words() {
    local w
    read -ra args <<<"$1"
    for w in "${!args[@]}"; do
        [ "${args[w]}" = "''" ] && args[w]=""
    done
}

same_few() {
    CONFIGS=("${FEW_CONFIGS[@]}")
    same "$@"
    CONFIGS=("${ALL_CONFIGS[@]}")
}

# ---------------------------------------------------------------- inputs

printf '' >"$IN/empty"
printf 'hello world' >"$IN/nonl"
printf 'abc\nxyz\nabd\nthe cat sat\nabcabc\n' >"$IN/simple"
printf '\n\n\nabc\n\n' >"$IN/emptylines"
printf 'abc\r\nfoo bar\r\n\r\nxyz abc' >"$IN/crlf"
printf 'abc at start\nends with abc\nabc\nmiddle abc here\n^$.*[x]\\\n' >"$IN/edges"
printf 'Hello World\nHELLO\nhello\nhElLo there\nbye\n' >"$IN/case"
printf 'f00 bar\nfoo  bar\nfooo\nfo\n12 345 6789\nx{2}\nxx\na+b\naab\n' >"$IN/re"
awk 'BEGIN {
    for (i = 0; i < 3; i++) {
        for (j = 0; j < 3000; j++) printf "%c", 97 + (i * 7 + j) % 26
        printf " abc %d\n", i
    }
    printf "short abc\n"
    for (j = 0; j < 5000; j++) printf "x"
    printf "tail without newline abc"
}' >"$IN/long"
awk 'BEGIN { for (i = 0; i < 6000; i++) printf "%d line%s\n", i, (i % 7 ? "" : " abc") }' >"$IN/manylines"
printf 'café\nnaïve\nÉcole\nstraße\nCAFÉ\nplain\n' >"$IN/utf8"
printf 'ok abc\nbad \xff abc\nok2 abc\n\xc3 abc\nfine abc\n' >"$IN/invalid"
# binary: a NUL in GNU's first 96 KiB buffer
printf 'a\0abc\nb\nabc\n' >"$IN/bin1"
printf 'abc\nabc\0' >"$IN/binend"
printf '\0\0\0' >"$IN/nulonly"
printf 'x\0\0abc\nabc\0y\n' >"$IN/binpieces"
{
    awk 'BEGIN { for (i = 0; i < 4000; i++) printf "line %d abc\n", i }'
    printf 'nul\0here abc\n'
    awk 'BEGIN { for (i = 0; i < 4000; i++) printf "more %d\n", i }'
} >"$IN/binearly"

# shellcheck disable=SC2016 # '$' is data
printf 'f00 bar\nfoo  bar\nfooo\nfo\n12 345\nx{2}\nxx\na+b\naab\n{1}a\n*star\n+plus\n^caret\n$dollar\n' >"$IN/odd"

INPUTS=(empty nonl simple emptylines crlf edges case re long manylines)

# Patterns and options for the matrix (each a word list).
FIXED_CASES=(
    "-F abc" "-F x" "-F -e abc -e xyz" "-F hello_world" "-F -e ''"
    "-F bar" "-F -i hello" "-F -i ABC" "-F -v abc" "-F -c abc"
    "-F -c -v abc" "-F -n abc" "-F -n -v abc" "-F -l abc" "-F -l -v abc"
    "-F -h abc" "-F -H abc" "-F -n -h abc" "-F -q abc" "-F -c -i HELLO"
    "-F -e abc -e ''" "-F -e ab -e bc" "-F -i -v -n hello" "-F ."
    "-F -e 12 -e 345 -e 6789 -n" "-F -l -c abc"
)
REGEX_CASES=(
    "a.c" "^abc" "abc$" "^$" "a*" "-v ^$" "\(ab\)\1" "abc\|xyz"
    "[[:digit:]]\+" "x\{2\}" "." "-i hello" "-c ^" "-n [0-9]"
    "-e ^a -e c$" "fo*" "[^a-z]" "-E ab|xy" "-E ^(a|b)" "-E [0-9]{2,3}"
    "-E a+b?" "-E (foo|bar)$" "-E x{2}" "-E -i HELLO|world" "-E -v -c a|e"
    "-E -n ^.{3}$" "-E (a)\1" "-E \<abc\>" "-E [[:space:]]b" "-E \w+ \w+"
    "-E -l line(1|2)" "-E -q ^hello$" "-G -n abc" "-E a{,2}b"
    "-E \`abc" "abc\'" "-E ab+c" "-E abc?d" "x\{0,1\}yz" "-E (ab)+c"
    "-E \.\*" "ab*c" "-E a{0}bc" "-i -E hel+o" "-i -E héllo|HELLO" "-E -i ^the"
    "-E (a|b)c" "a\(b\|x\)c" "-E [a-c]bc" "-E -c ab|^$" "-E th(e|is)"
)

# ----------------------------------------------- every input at once

for loc in "${LOCALES[@]}"; do
    for c in "${FIXED_CASES[@]}" "${REGEX_CASES[@]}"; do
        words "$c"
        same "all.${c// /_}.$loc" "$loc" /dev/null "${args[@]}" "${INPUTS[@]}"
    done
done

# ------------------------------------------------------- one file each

for loc in "${LOCALES[@]}"; do
    for f in "${INPUTS[@]}"; do
        for c in "-F abc" "-n abc" "-c -v abc" "-v -n ^" "-E -n (abc|world)$" "-F -n -e ''"; do
            words "$c"
            same_few "one.$f.${c// /_}.$loc" "$loc" /dev/null "${args[@]}" "$f"
        done
    done
done

# ----------------------------------------------- locale-sensitive text

for loc in "${LOCALES[@]}"; do
    for c in "-i café" "-F -i café" "-F -i école" "-i STRASSE" "-F é" \
        "caf." "-E ^.{5}$" "-c ." "-n abc" "-v -n xyz" "-F -c abc" \
        "-F -l abc" "-F -i ÉCOLE" "-E -i ^(é|c)"; do
        words "$c"
        same "text.${c// /_}.$loc" "$loc" /dev/null "${args[@]}" utf8 invalid simple
    done
done

# ------------------------------------------------------- binary files

for loc in "${LOCALES[@]}"; do
    for c in "abc" "-c abc" "-n abc" "-c ''" "-c -v x" "-v x" "-l abc" \
        "-q abc" "-c c$" "-F -c abc" "-E x.*y" "-c -E ^$" "-s abc" \
        "-h abc"; do
        words "$c"
        same "binary.${c// /_}.$loc" "$loc" /dev/null "${args[@]}" \
            bin1 binend nulonly binpieces binearly simple
    done
    same "binary.stdin.pipe.$loc" "$loc" "|$IN/bin1" abc
    same "binary.stdin.file.$loc" "$loc" "$IN/binearly" -n abc
done

# A NUL after GNU's first 96 KiB buffer: GNU prints the lines of the
# buffers before the one holding it (exact within one unit: BIG_CONFIGS).
{
    awk 'BEGIN { for (i = 0; i < 30000; i++) printf "line %d abc\n", i }'
    printf 'nul\0here abc\n'
    awk 'BEGIN { for (i = 0; i < 30000; i++) printf "more %d abc\n", i }'
} >"$IN/binlate"
CONFIGS=("${BIG_CONFIGS[@]}")
for loc in "${LOCALES[@]}"; do
    for c in "abc" "-n abc" "-c abc" "-v more"; do
        words "$c"
        same "binary.late.${c// /_}.$loc" "$loc" /dev/null "${args[@]}" binlate simple
    done
done
CONFIGS=("${ALL_CONFIGS[@]}")

# ------------------------------------------------------------ stdin

for loc in "${LOCALES[@]}"; do
    for f in simple manylines long nonl empty; do
        same "stdin.pipe.$f.$loc" "$loc" "|$IN/$f" -n abc
        same "stdin.file.$f.$loc" "$loc" "$IN/$f" -n abc
    done
    same "stdin.dash-among-files.$loc" "$loc" "|$IN/manylines" -c abc simple - long
    same "stdin.dash-H.$loc" "$loc" "|$IN/simple" -H abc
    same "stdin.dash-l.$loc" "$loc" "$IN/simple" -l abc -
done

# ---------------------------------------------------- errors and status

mkdir -p "$IN/adir"
printf 'abc\n' >"$IN/adir/f"
printf 'abc\n' >"$IN/unreadable"
chmod 000 "$IN/unreadable"
for loc in "${LOCALES[@]}"; do
    same "error.missing.$loc" "$loc" /dev/null abc nosuch
    same "error.missing-then-match.$loc" "$loc" /dev/null abc nosuch simple
    same "error.match-then-missing.$loc" "$loc" /dev/null abc simple nosuch
    same "error.missing-s.$loc" "$loc" /dev/null -s abc simple nosuch
    same "error.missing-q-after.$loc" "$loc" /dev/null -q abc simple nosuch
    same "error.missing-q-before.$loc" "$loc" /dev/null -q abc nosuch simple
    same "error.missing-q-nomatch.$loc" "$loc" /dev/null -q zzz nosuch simple
    same "error.missing-c.$loc" "$loc" /dev/null -c abc nosuch simple
    same "error.missing-l.$loc" "$loc" /dev/null -l abc nosuch simple
    same "error.unreadable.$loc" "$loc" /dev/null abc unreadable simple
    same "error.nomatch.$loc" "$loc" /dev/null zzz simple empty
    for c in "x" "-c x" "-s x" "-l x"; do
        words "$c"
        same_few "error.stdin-is-dir.${c// /_}.$loc" "$loc" / "${args[@]}"
    done
    # usage and pattern errors
    same_few "usage.none.$loc" "$loc" /dev/null
    same_few "usage.bad-option.$loc" "$loc" /dev/null -k abc simple
    same_few "usage.bad-long-option.$loc" "$loc" /dev/null --frobnicate abc simple
    same_few "usage.missing-argument.$loc" "$loc" /dev/null simple -e
    same_few "usage.conflicting.$loc" "$loc" /dev/null -E -F abc simple
    same_few "usage.conflicting-G.$loc" "$loc" /dev/null -G -E abc simple
    # shellcheck disable=SC1003 # 'x\' is a pattern ending in a backslash
    for p in '\(' 'a\{1' '[a' 'x\' '[[:foo:]]' '[b-a]' '[:alpha:]' \
        '[^:space:]x' '\(a\)\2'; do
        same_few "pattern.G.$p.$loc" "$loc" /dev/null -e "$p" simple
    done
    for p in '(' 'a{1' '[' '*a' '+a' 'a|?b' '{1}a' '(*a)|^+b' 'x|$*a' \
        '**a' 'a{2,1}' '[:digit:]' '()*' '\(*a' 'a{,}b' '{1'; do
        same_few "pattern.E.$p.$loc" "$loc" /dev/null -E -e "$p" simple re
    done
    same_few "pattern.E.two-lines.$loc" "$loc" /dev/null -E -e '*a' -e '+b' simple
    # Operators with nothing to repeat: GNU's dfa gives them a meaning
    # (unless a back reference, or in UTF-8 a word anchor or a bracket,
    # hands the whole set to regex).
    for p in '{1}a' 'x|$*a' '^*a' 'a$*b' '\<*f' '$+' 'b$?' 'a\<*b' 'a\>*' \
        'x\b*' '\b+f' 'x|\<*f' '(\<*f)' 'f\B*o' '[[:alpha:]]|$*a' \
        '[0-9]|$*a' '(a)\1|$*a' 'a|{,2}b'; do
        same_few "odd.E.$p.$loc" "$loc" /dev/null -E -e "$p" odd
    done
    for p in '\{1\}a' 'a\|*b' '^*' 'x\|^*a' '\(^*a\)' '\+a' 'a\|\?b' \
        'a\<*b' '^\{1\}' 'a^*' '\(*\)' '*' 'a**' 'x\b*' 'a$*b' \
        '\(a\)\1\|^*'; do
        same_few "odd.G.$p.$loc" "$loc" /dev/null -e "$p" odd
    done
    same_few "pattern.newline.$loc" "$loc" /dev/null -c $'abc\nxyz' simple
    same_few "pattern.trailing-newline.$loc" "$loc" /dev/null -c -e $'xyz\n' simple
done
if [ "$(id -u)" = 0 ]; then
    echo "# running as root: 'unreadable' is readable; that case checks little"
fi

# --------------------------------------------------------- many files

mkdir -p "$IN/many"
for i in $(seq 1 300); do
    if [ $((i % 3)) = 0 ]; then
        printf 'file %d abc\nother\n' "$i" >"$IN/many/f$i"
    else
        printf 'file %d\n' "$i" >"$IN/many/f$i"
    fi
done
mapfile -t MANY < <(cd "$IN" && printf '%s\n' many/f* | LC_ALL=C sort)
for loc in "${LOCALES[@]}"; do
    for c in "abc" "-c abc" "-l abc" "-n -v abc" "-h file"; do
        words "$c"
        same "many.${c// /_}.$loc" "$loc" /dev/null "${args[@]}" "${MANY[@]}"
    done
done

# ---------------------------------------------------- directory trees

# check_tree NAME LOCALE DIR ARGS... -- GNU grep -H ARGS over the walk's
# files against `sluice grep ARGS DIR`
check_tree() {
    local name=$1 loc=$2 dir=$3
    shift 3
    local -a files
    mapfile -d '' files < <(cd "$IN" && walk_list "$dir")
    expect "$loc" /dev/null -H "$@" "${files[@]}"
    check "$name" "$loc" /dev/null "$@" "$dir"
}

SRC=${GREP_TREE_SOURCE:-/usr/include}
mkdir -p "$IN/tree"
if [ -d "$SRC" ] && [ "$(find "$SRC" -type f 2>/dev/null | head -n 1000 | wc -l)" -ge 1000 ]; then
    cp -a "$SRC/." "$IN/tree/" 2>/dev/null
    echo "# tree: a copy of $SRC"
else
    echo "# tree: synthetic ($SRC is missing or small)"
    cp "$IN"/simple "$IN"/long "$IN"/manylines "$IN"/utf8 "$IN"/bin1 "$IN/tree/"
    cp -a "$IN/many" "$IN/tree/many"
fi
mkdir -p "$IN/tree/.hidden"
printf 'abc\n' >"$IN/tree/.hidden/x"
printf 'abc\n' >"$IN/tree/.dot"
RUN_TIMEOUT=300
CONFIGS=("-j0" "-j1" "-j2" "-j2 --chunk-size=65536")
for loc in "${LOCALES[@]}"; do
    for c in "-F define" "-F -c include" "-l -E ^#if(def)?" "-n -i -F STRUCT" \
        "-F -v -c a" "-E ^extern.*\(void\)" "-F -q zzzzzz_not_there" \
        "-F -l -i zlib"; do
        words "$c"
        check_tree "tree.${c// /_}.$loc" "$loc" tree "${args[@]}"
    done
done
CONFIGS=("${ALL_CONFIGS[@]}")
# A directory operand and a file: names are printed either way.
for loc in "${LOCALES[@]}"; do
    CONFIGS=("${FEW_CONFIGS[@]}")
    expect "$loc" /dev/null -n abc simple adir/f
    check "tree.dir-and-file.$loc" "$loc" /dev/null -n abc simple adir
    expect "$loc" /dev/null abc adir/f
    sed -i 's/^/adir\/f:/' "$T/exp.out"
    check "tree.single-dir-has-names.$loc" "$loc" /dev/null abc adir
    CONFIGS=("${ALL_CONFIGS[@]}")
done

# ---------------------------------------------------- a big generated file

awk 'BEGIN {
    srand(11)
    for (i = 0; i < 400000; i++) {
        n = int(rand() * 60)
        s = ""
        for (j = 0; j < n; j++) s = s sprintf("%c", 97 + int(rand() * 26))
        if (i % 9973 == 0) s = s " rare-marker " i
        if (i % 5 == 0) s = s " the common"
        print i ": " s
    }
}' >"$IN/big"
CONFIGS=("-j0" "-j1" "-j2" "-j2 --chunk-size=1M" "-j1 --chunk-size=300k")
for loc in "${LOCALES[@]}"; do
    for c in "-F rare-marker" "-F -n rare-marker" "-F -c the" "-F -n common" \
        "-F -v -c e" "-E -c ^1[0-9]*:" "-F -i -n RARE-MARKER" "-n -v [a-y]" \
        "-F common" "-F -v rare-marker" "-H -F the" "-E rare-m[a-z]+ [0-9]+$" \
        "-E -c -i ^[0-9]+:.*THE_COMMON"; do
        words "$c"
        same "big.${c// /_}.$loc" "$loc" /dev/null "${args[@]}" big
    done
    same "big.stdin.pipe.$loc" "$loc" "|$IN/big" -n rare-marker
done
CONFIGS=("${ALL_CONFIGS[@]}")

# A reader that goes away: with SIGPIPE as it comes, both die of it
# quietly; with SIGPIPE ignored both say "write error" and exit 2.
pipe_run() { # PREFIX IGNORE CMD... -- CMD | head -n 1: PREFIX.err, .rc
    local p=$1 ign=$2
    shift 2
    (
        cd "$IN" || exit 99
        if [ "$ign" = 1 ]; then trap '' PIPE; else trap - PIPE; fi
        "$@" 2>"$p.err" | head -n 1 >/dev/null
        echo "${PIPESTATUS[0]}" >"$p.rc"
    )
    : >"$p.out"
}
for ign in 0 1; do
    pipe_run "$T/exp" "$ign" "${GREP[@]}" -F e big
    gnu_grep_to_sluice "$T/exp.err"
    pipe_run "$T/got" "$ign" "$SLUICE" grep -j2 -F e big
    d=$(diff_run "$T/got")
    if [ -z "$d" ]; then ok "epipe.ignored=$ign"; else fail "epipe.ignored=$ign" "$d"; fi
done

# Output into one of the inputs: GNU skips that input.
# shellcheck disable=SC2094 # reading and appending to io is the point
for loc in "${LOCALES[@]}"; do
    for c in "abc" "-s abc" "-c abc"; do
        words "$c"
        cp "$IN/simple" "$IN/io"
        (cd "$IN" && LC_ALL=$loc "${GREP[@]}" "${args[@]}" simple io >>io 2>"$T/exp.err"
            echo $? >"$T/exp.rc")
        mv "$IN/io" "$T/exp.out"
        gnu_grep_to_sluice "$T/exp.err"
        all=""
        for cfg in "${FEW_CONFIGS[@]}"; do
            cp "$IN/simple" "$IN/io"
            # shellcheck disable=SC2086 # cfg is a list of options
            (cd "$IN" && LC_ALL=$loc "$SLUICE" grep $cfg "${args[@]}" simple io >>io 2>"$T/got.err"
                echo $? >"$T/got.rc")
            mv "$IN/io" "$T/got.out"
            d=$(diff_run "$T/got")
            [ -n "$d" ] && all+="[sluice grep $cfg $c simple io >>io]"$'\n'"$d"
        done
        if [ -z "$all" ]; then ok "output-is-input.${c// /_}.$loc"; else fail "output-is-input.${c// /_}.$loc" "$all"; fi
    done
done

# Lines longer than GNU's buffer and than a stream unit (1 MiB).
awk 'BEGIN {
    printf "start "; for (i = 0; i < 300000; i++) printf "abcdefg "
    printf "end\nnext line abc\nx"; for (i = 0; i < 300000; i++) printf "hij "
    printf "\nlast abc"
}' >"$IN/hugeline"
for loc in "${LOCALES[@]}"; do
    for c in "-n -F -e end -e next" "-c -E start.*end$" "-n -v zzz" "-c h" "-n abc"; do
        words "$c"
        same "hugeline.file.${c// /_}.$loc" "$loc" /dev/null "${args[@]}" hugeline
        same "hugeline.pipe.${c// /_}.$loc" "$loc" "|$IN/hugeline" "${args[@]}"
    done
done

finish

#!/bin/bash
# tests/cli/wc_compare.sh -- `sluice wc` against GNU wc, byte for byte.
#
# The oracle is the installed GNU wc (GNU_WC, default /usr/bin/wc), not our
# code.  Each case runs GNU wc and `sluice wc` with the same arguments, the
# same stdin and the same locale, and compares stdout, stderr (GNU's leading
# "wc:" read as "sluice wc:") and the exit status.  sluice runs under several
# engine settings (inline, 1, 2 and 4 workers, units of 4096 and of 7 bytes,
# so inputs are cut at odd places); every one must equal the oracle.
#
# sluice implements GNU wc 9.5+.  Where the installed wc is older and
# differs, the expected output is GNU's output with the documented
# difference applied (see "9.1 differences" below); each such place says
# why.  Prints "ok NAME" or "FAIL NAME" plus a diff per case; exits 1 if
# any case failed.
#
# Environment: SLUICE_BUILD_ROOT (the binary is $SLUICE_BUILD_ROOT/cli/sluice).
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh disable=SC1091 # -x follows it
. "$(dirname "$0")/lib.sh"

# Engine settings sluice runs are repeated under (word-split on purpose):
# every one for the runs over all inputs at once, a few for the rest.
ALL_CONFIGS=(
    "-j0"
    "-j1"
    "-j2"
    "-j4"
    "-j2 --chunk-size=4096"
    "-j4 --chunk-size=7"
    "-j0 --chunk-size=7"
    "-j1 --chunk-size=7"
)
SOME_CONFIGS=("-j0" "-j1 --chunk-size=4096" "-j2 --chunk-size=7" "-j4")
FEW_CONFIGS=("-j0" "-j2 --chunk-size=7")
CONFIGS=("${ALL_CONFIGS[@]}")

# --------------------------------------------------------------- running

# run, expect_gnu, diff_run and check are in lib.sh.
# check_few, check_some: like check, with fewer configs.
check_few() {
    CONFIGS=("${FEW_CONFIGS[@]}")
    check "$@"
    CONFIGS=("${ALL_CONFIGS[@]}")
}

check_some() {
    CONFIGS=("${SOME_CONFIGS[@]}")
    check "$@"
    CONFIGS=("${ALL_CONFIGS[@]}")
}

# ---------------------------------------------------------------- inputs

# Inputs on which GNU wc 9.1 and 9.5 agree for every option.
printf '' >"$IN/empty"
printf 'hello world' >"$IN/nonl"
printf 'one two three\nfour  five\n\n six\n' >"$IN/simple"
printf '   \n\t\n \v \f \r\n' >"$IN/spaces"
# -L: tabs stop at multiples of 8; \r and \f end a line's width, \v does not.
printf 'a\tb\n\t\tx\n12345678\tz\n1234567\ty\n\t\n' >"$IN/tabs"
printf 'abc\rde\n1234\fxy\nlong line here\r\nx\vyz\v\vw\n\r\f\n' >"$IN/crff"
awk 'BEGIN {
    for (i = 0; i < 4000; i++) printf "w%d ", i; printf "\n";
    for (i = 0; i < 300; i++) {
        for (j = 0; j < i % 23; j++) printf "ab\tcd  ";
        printf "x%d\n", i
    }
    for (i = 0; i < 3000; i++) printf "%c", 97 + i % 26; printf "\n"
    printf "tail without newline"
}' >"$IN/long"
awk 'BEGIN { for (i = 0; i < 6000; i++) printf "%d %s\n", i, (i % 7 ? "x" : "") }' >"$IN/manylines"
# UTF-8 text: wide CJK (width 2), U+3000 (a space), emoji, combining accent.
printf '日本語 テキスト\n中文字符\n全角　スペース\n' >"$IN/cjk"
printf 'café naïve résumé\nemoji 😀 ok\ne\xcc\x81 combining\nGrüße,Welt\n' >"$IN/mixed"
awk 'BEGIN { for (i = 0; i < 2000; i++) printf "%s語 ", (i % 3 ? "ü" : "x"); printf "\n" }' >"$IN/utf8long"

# Inputs where 9.5 counts words differently from 9.1 (the wc plugin
# implements 9.5): NUL and other control characters, encoding errors and
# bytes >= 0x80 in the C locale (9.5: every non-space byte is part of a word;
# 9.1: only printable ones), and U+00A0, U+2007, U+202F, U+2060 (9.5:
# separators unless POSIXLY_CORRECT; 9.1: word characters).
printf 'a\0b c\0\0 d\n\0\n' >"$IN/nul"
printf 'ab\xffcd ef\xc3 gh \xe2\x82\n\xff \xff\n' >"$IN/invalid"
printf 'a\xc2\xa0b c\xe2\x80\x87d e\xe2\x80\xafz f\xe2\x81\xa0g\n\xc2\xa0lead\n' >"$IN/nbsp"
printf '\x01 a\x02b \x7f \x1b[1m bold\n' >"$IN/controls"

# 9.1 differences: the 9.5 word count of each such input, by locale.  A
# word is a maximal run of units that are not white space; units are bytes
# in C, characters or single undecodable bytes in UTF-8.
#   nul       "a\0b" "c\0\0" "d" "\0"                         4 in both
#   invalid   "ab\xffcd" "ef\xc3" "gh" "\xe2\x82" "\xff" "\xff"  6 in both
#   nbsp      UTF-8: a b c d e z f g lead = 9.  C: 8, because coreutils
#             uses gnulib's mbrtoc32, which in the C locale maps bytes
#             0x80..0xFF to U+0080..U+00FF, so a 0xA0 byte is a no-break
#             space: "a\xc2" "b" "c\xe2\x80\x87d" "e\xe2\x80\xafz" "f\xe2\x81"
#             "g" "\xc2" "lead"
#   controls  "\x01" "a\x02b" "\x7f" "\x1b[1m" "bold"            5 in both
#   cjk, mixed in C only (bytes >= 0x80 are words in 9.5): 4 and 9 words
declare -A WORDS95=(
    [nul.C]=4 [nul.C.UTF-8]=4
    [invalid.C]=6 [invalid.C.UTF-8]=6
    [nbsp.C]=8 [nbsp.C.UTF-8]=9
    [controls.C]=5 [controls.C.UTF-8]=5
    [cjk.C]=4 [mixed.C]=9 [utf8long.C]=2000
)

INPUTS=(empty nonl simple spaces tabs crff long manylines cjk mixed utf8long
        nul invalid nbsp controls)
COMBOS=("" -l -w -c -m -L -lw -lwmcL -cl -Lw)

# set_words FILE COMBO LOCALE: in GNU's output FILE, put the 9.5 word
# count of every input that has one in WORDS95 (padded to the column's
# width), and make the total's words their sum, as 9.5 would print them.
set_words() {
    local file=$1 combo=$2 loc=$3 idx=0 count=0 c map="" key
    [ -z "$combo" ] && combo=-lwc
    for c in l w m c L; do
        if [[ $combo == *$c* ]]; then
            count=$((count + 1))
            [ "$c" = w ] && idx=$count
        fi
    done
    [ "$idx" -eq 0 ] && return
    for key in "${!WORDS95[@]}"; do
        [ "${key#*.}" = "$loc" ] && map+="${key%%.*}=${WORDS95[$key]} "
    done
    awk -v k="$idx" -v n="$count" -v map="$map" '
    BEGIN {
        m = split(map, kv, " ")
        for (i = 1; i <= m; i++) { split(kv[i], p, "="); w[p[1]] = p[2] }
    }
    {
        line = $0
        for (i = 1; i <= n; i++) {
            if (i > 1) line = substr(line, 2)
            match(line, /^ *[0-9]+/)
            f[i] = substr(line, 1, RLENGTH); line = substr(line, RLENGTH + 1)
        }
        name = substr(line, 2); v = f[k] + 0
        if (name == "total") v = sum
        else { if (name in w) v = w[name]; sum += v }
        f[k] = sprintf("%" length(f[k]) "d", v)
        out = f[1]
        for (i = 2; i <= n; i++) out = out " " f[i]
        print out line
    }' "$file" >"$file.tmp" && mv "$file.tmp" "$file"
}

# ------------------------------------------------- one file, every combo
# (the one-file layout: width 1 for a single count)

for loc in "${LOCALES[@]}"; do
    for f in "${INPUTS[@]}"; do
        for combo in "${COMBOS[@]}"; do
            args=()
            [ -n "$combo" ] && args+=("$combo")
            expect_gnu "$loc" /dev/null "${args[@]}" "$f"
            set_words "$T/exp.out" "$combo" "$loc"
            check_few "file.$f.${combo:-default}.$loc" "$loc" /dev/null "${args[@]}" "$f"
        done
    done
done

# ------------------------------- every file and a total, every combo, config

for loc in "${LOCALES[@]}"; do
    for combo in "${COMBOS[@]}"; do
        args=()
        [ -n "$combo" ] && args+=("$combo")
        expect_gnu "$loc" /dev/null "${args[@]}" "${INPUTS[@]}"
        set_words "$T/exp.out" "$combo" "$loc"
        check "files.${combo:-default}.$loc" "$loc" /dev/null "${args[@]}" "${INPUTS[@]}"
    done
done

# ------------------------------------------------------------------ stdin

for loc in "${LOCALES[@]}"; do
    for combo in "" -l -lwmcL -c; do
        args=()
        [ -n "$combo" ] && args+=("$combo")
        for f in simple long mixed empty; do
            [ -n "${WORDS95[$f.$loc]-}" ] && [[ ${combo:-w} == *w* ]] && continue
            expect_gnu "$loc" "|$f" "${args[@]}"
            check_some "stdin.pipe.$f.${combo:-default}.$loc" "$loc" "|$f" "${args[@]}"
            expect_gnu "$loc" "$f" "${args[@]}"
            check_some "stdin.file.$f.${combo:-default}.$loc" "$loc" "$f" "${args[@]}"
            expect_gnu "$loc" "$f" "${args[@]}" -
            check_few "stdin.dash.$f.${combo:-default}.$loc" "$loc" "$f" "${args[@]}" -
        done
    done
    expect_gnu "$loc" "|long" - -
    check_some "stdin.dash-twice.$loc" "$loc" "|long" - -
    expect_gnu "$loc" "|long" simple - tabs
    check "stdin.dash-among-files.pipe.$loc" "$loc" "|long" simple - tabs
    expect_gnu "$loc" "long" -l simple - tabs
    check "stdin.dash-among-files.file.$loc" "$loc" "long" -l simple - tabs
done

# ------------------------------------------------------------ odd names

printf 'x\n' >"$IN/sp ace"
printf 'x y\n' >"$IN/new
line"
printf 'xyz\n' >"$IN/it's"
printf '1\n2\n' >"$IN/tab	name"
printf 'c\n' >"$IN/c:colon"
printf 'q\n' >"$IN/\"dq\""
printf 'e\n' >"$IN/é.txt"
printf 'b\n' >"$IN/$(printf 'bin\xff')"
printf 'b\n' >"$IN/$(printf 'ctl\x01')"
printf 'n\n' >"$IN/$(printf '\nlead')"
printf 'h\n' >"$IN/#hash"
ODD=("sp ace" "new
line" "it's" "tab	name" "c:colon" '"dq"' "é.txt" "$(printf 'bin\xff')"
     "$(printf 'ctl\x01')" "$(printf '\nlead')" "#hash")
for loc in "${LOCALES[@]}"; do
    expect_gnu "$loc" /dev/null "${ODD[@]}"
    check_few "names.operands.$loc" "$loc" /dev/null "${ODD[@]}"
    for n in "${ODD[@]}"; do
        expect_gnu "$loc" /dev/null -l "$n"
        check_few "names.one.$(printf '%q' "$n").$loc" "$loc" /dev/null -l "$n"
    done
done

# 9.1 difference: gnulib's quotearg before 2023 kept the "$'" state of its
# first pass when it re-quoted a name holding a single quote, so a name
# like q's<newline> came out as '''q'\''s'$'\n'.  Current gnulib (and
# sluice) print 'q'\''s'$'\n'.
printf 'x\n' >"$IN/q's
"
for loc in "${LOCALES[@]}"; do
    printf '%s\n' "1 'q'\\''s'\$'\\n'" >"$T/exp.out"
    : >"$T/exp.err"
    echo 0 >"$T/exp.rc"
    check_few "names.quote-then-newline.$loc" "$loc" /dev/null -l "q's
"
done

# ---------------------------------------------------------- --files0-from

printf '%s\0' simple nonl "sp ace" "new
line" tabs >"$T/list"
printf '%s\0' simple "" nonl "" >"$T/list-empty"
printf 'simple\0tabs' >"$T/list-nonul"
printf '%s\0' simple - tabs >"$T/list-dash"
: >"$T/list-none"
for loc in "${LOCALES[@]}"; do
    for combo in "" -l -lwmcL; do
        args=()
        [ -n "$combo" ] && args+=("$combo")
        for l in list list-empty list-nonul list-none; do
            expect_gnu "$loc" /dev/null "${args[@]}" --files0-from="$T/$l"
            check_few "files0.file.$l.${combo:-default}.$loc" "$loc" /dev/null "${args[@]}" --files0-from="$T/$l"
            # from a pipe: GNU reads names one at a time; widths are 1
            expect_gnu "$loc" "|$T/$l" "${args[@]}" --files0-from=-
            check_few "files0.pipe.$l.${combo:-default}.$loc" "$loc" "|$T/$l" "${args[@]}" --files0-from=-
            # from stdin redirected from a regular file: like a file
            expect_gnu "$loc" "$T/$l" "${args[@]}" --files0-from=-
            check_few "files0.stdin-file.$l.${combo:-default}.$loc" "$loc" "$T/$l" "${args[@]}" --files0-from=-
        done
        # "-" in a list file means standard input
        expect_gnu "$loc" long "${args[@]}" --files0-from="$T/list-dash"
        check_few "files0.dash-is-stdin.${combo:-default}.$loc" "$loc" long "${args[@]}" --files0-from="$T/list-dash"
    done
    # 9.1 difference: 9.1 says "when reading file names from stdin, no file
    # name of '-' allowed"; 9.2+ says "standard input".
    expect_gnu "$loc" "|$T/list-dash" --files0-from=-
    sed -i 's/file names from stdin, no file name/file names from standard input, no file name/' "$T/exp.err"
    check_few "files0.dash-refused-on-stdin.$loc" "$loc" "|$T/list-dash" --files0-from=-
done

# ---------------------------------------------------------------- --total
# 9.1 has no --total (coreutils 9.2 added it), so the expected output is
# built from 9.1's output by the rules of 9.5's wc.c:
#   always: the total line even for one name (same width as the others);
#   never:  no total line;
#   only:   no per-file lines, and the total numbers alone with width 1;
#   auto:   the default.
# Abbreviations are argmatch's: "al" is always, "o" only, "n" never.

to_only() { # the numbers of the last line, width 1, no name
    tail -n 1 "$1" | awk '{ sub(/ [^ ]*$/, ""); $1 = $1; print }'
}

add_total_line() { # FILE: repeat its only line as the total line
    local line
    line=$(sed 's/ simple$//' "$1")
    printf '%s total\n' "$line" >>"$1"
}

for loc in "${LOCALES[@]}"; do
    for combo in "" -l -lwmcL; do
        args=()
        [ -n "$combo" ] && args+=("$combo")
        c=${combo:-default}

        expect_gnu "$loc" /dev/null "${args[@]}" simple
        add_total_line "$T/exp.out"
        check_few "total.always.one.$c.$loc" "$loc" /dev/null "${args[@]}" --total=always simple
        check_few "total.al.one.$c.$loc" "$loc" /dev/null "${args[@]}" --total=al simple

        expect_gnu "$loc" /dev/null "${args[@]}" simple tabs long
        check_few "total.auto.many.$c.$loc" "$loc" /dev/null "${args[@]}" --total=auto simple tabs long
        check_few "total.always.many.$c.$loc" "$loc" /dev/null "${args[@]}" --total=always simple tabs long
        to_only "$T/exp.out" >"$T/only"
        sed -i '$d' "$T/exp.out"
        check_few "total.never.many.$c.$loc" "$loc" /dev/null "${args[@]}" --total=never simple tabs long
        check_few "total.n.many.$c.$loc" "$loc" /dev/null "${args[@]}" --tot=n simple tabs long
        mv "$T/only" "$T/exp.out"
        check_few "total.only.many.$c.$loc" "$loc" /dev/null "${args[@]}" --total=only simple tabs long
        check_few "total.o.many.$c.$loc" "$loc" /dev/null "${args[@]}" --total o simple tabs long

        expect_gnu "$loc" /dev/null "${args[@]}" long
        to_only "$T/exp.out" >"$T/only"
        mv "$T/only" "$T/exp.out"
        check_few "total.only.one.$c.$loc" "$loc" /dev/null "${args[@]}" --total=only long

        expect_gnu "$loc" /dev/null "${args[@]}" simple nosuch tabs
        to_only "$T/exp.out" >"$T/only"
        mv "$T/only" "$T/exp.out"
        check_few "total.only.with-error.$c.$loc" "$loc" /dev/null "${args[@]}" --total=only simple nosuch tabs

        expect_gnu "$loc" /dev/null "${args[@]}" simple
        check_few "total.never.one.$c.$loc" "$loc" /dev/null "${args[@]}" --total=never simple
    done
    # stdin without a name, and a total line
    expect_gnu "$loc" simple
    add_total_line "$T/exp.out"
    check_few "total.always.stdin.$loc" "$loc" simple --total=always
done

# Bad --total values: argmatch's messages (quotes are curly in UTF-8).
total_error() { # LOCALE ADJECTIVE VALUE
    local lq="'" rq="'"
    if [ "$1" != C ]; then lq=$'\u2018' rq=$'\u2019'; fi
    {
        printf 'sluice wc: %s argument %s%s%s for %s--total%s\n' "$2" "$lq" "$3" "$rq" "$lq" "$rq"
        printf 'Valid arguments are:\n'
        for v in auto always only never; do printf '  - %s%s%s\n' "$lq" "$v" "$rq"; done
        printf "Try 'sluice wc --help' for more information.\n"
    } >"$T/exp.err"
    : >"$T/exp.out"
    echo 1 >"$T/exp.rc"
}
for loc in "${LOCALES[@]}"; do
    total_error "$loc" invalid bogus
    check_few "total.invalid.$loc" "$loc" /dev/null --total=bogus simple
    total_error "$loc" ambiguous a
    check_few "total.ambiguous.$loc" "$loc" /dev/null --total=a simple
    total_error "$loc" ambiguous ""
    check_few "total.empty.$loc" "$loc" /dev/null --total= simple
done

# ------------------------------------------------- options, spelled oddly

for loc in "${LOCALES[@]}"; do
    for spelling in "--lines" "--li" "--words --bytes" "--c" "--ch" "--chars" \
                    "--max-line-length" "--max" "-l -w" "-wl" "--bytes --lines"; do
        # shellcheck disable=SC2086 # spelling is a list of options
        expect_gnu "$loc" /dev/null $spelling simple tabs
        # shellcheck disable=SC2086
        check_few "options.$(printf '%s' "$spelling" | tr ' ' '_').$loc" "$loc" /dev/null $spelling simple tabs
    done
    # options after operands (GNU getopt permutes), and "--"
    expect_gnu "$loc" /dev/null simple -l tabs
    check_few "options.permuted.$loc" "$loc" /dev/null simple -l tabs
    printf 'dash\n' >"$IN/-l"
    expect_gnu "$loc" /dev/null -w -- -l simple
    check_few "options.double-dash.$loc" "$loc" /dev/null -w -- -l simple
done

finish

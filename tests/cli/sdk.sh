#!/bin/bash
# tests/cli/sdk.sh -- the plugin SDK as an outside author meets it.
#
# Installs the build into a DESTDIR under $T and points pkg-config
# (PKG_CONFIG_PATH, PKG_CONFIG_SYSROOT_DIR) and PATH at it; nothing of the
# source tree or the build tree is used after that.  Then:
#   - what is installed: the binary, both headers and no other, libsluice.a,
#     the two .pc files and their variables, the plugin directory;
#   - sluice.pc: a program that runs jobs itself (sdk_embed.c) builds and
#     links with its flags alone, and runs;
#   - every ```c block of docs/plugins.md and every examples/NAME/NAME.c
#     builds with `cc -shared -fPIC $(pkg-config --cflags sluice-plugin)`
#     and nothing else but this project's warnings (-Wall -Wextra
#     -Wpedantic ...) as errors;
#   - the console blocks of docs/plugins.md and of examples/*/README.md run,
#     and every command prints exactly what the page shows under it; every
#     C block of the page is run by one of them;
#   - `sluice plugin check` warns on stderr, status 0, about a field that a
#     plugin of the page sets but the host ignores (its declared ABI is
#     older), and not when the plugin declares the field's version;
#   - the examples against oracles: longest against awk, upper against tr,
#     over inputs cut in many ways, with any number of workers.
#
# Console blocks: a "$ CMD" line is a command, run by bash with stdout and
# stderr together, in one directory per page (files made by one command are
# there for the next), and the lines under it up to the next "$ " are its
# output.  A C block is saved as NAME.c (NAME from its `.name = "NAME"`)
# when the page reaches it.  A command must exit 0: a page shows a failure
# as `CMD || echo "exit status $?"`.  In an expected line "..." matches any
# text, and a line that is only "..." any number of lines; trailing blanks
# do not count.  The output is compared with the DESTDIR taken out of it,
# and the install prefix read as /usr/local, the default the page shows.
# The one shell block not run is the page's install block (```sh, starting
# with `meson setup`): step one here does that install.
#
# The DESTDIR stands for /: pkg-config sees it through its sysroot, and
# SLUICE_PLUGIN_PATH names the DESTDIR's plugin directory, which the
# installed binary would find by itself at its real place.
#
# Environment: SLUICE_BUILD_ROOT, SLUICE_SOURCE_ROOT (required); CC.

# shellcheck source-path=SCRIPTDIR source=lib.sh disable=SC1091
. "$(dirname "$0")/lib.sh"
: "${SLUICE_SOURCE_ROOT:?SLUICE_SOURCE_ROOT must name the source directory}"
SRC=$SLUICE_SOURCE_ROOT
CC=${CC:-cc}
export LC_ALL=C
umask 022 # group- or world-writable plugins are refused

# ------------------------------------------------------------- installing

R=$T/root
if ! command -v meson >/dev/null; then
    fail setup "meson is not on PATH: cannot install the build"
    finish
fi
if ! out=$(meson install -C "$SLUICE_BUILD_ROOT" --destdir "$R" \
    --no-rebuild --quiet 2>&1); then
    fail install "$out"
    finish
fi
PC=$(find "$R" -name sluice-plugin.pc -path '*/pkgconfig/*' | head -n 1)
if [ -z "$PC" ]; then
    fail install "no sluice-plugin.pc under $R"
    finish
fi
export PKG_CONFIG_PATH=${PC%/*}
export PKG_CONFIG_SYSROOT_DIR=$R
PREFIX=$(PKG_CONFIG_SYSROOT_DIR='' pkg-config --variable=prefix sluice-plugin)
PLUGINDIR=$(pkg-config --variable=plugindir sluice-plugin)
LIBDIR=$(pkg-config --variable=libdir sluice)
ABI=$(pkg-config --variable=abi_major sluice-plugin)
export PATH="$R$PREFIX/bin:$PATH"
export SLUICE_PLUGIN_PATH=$PLUGINDIR
unset SLUICE_JOBS

# The header's ABI major, as the installed header says it.
hdr_abi=$(sed -n 's/^#define SLUICE_PLUGIN_ABI_MAJOR \([0-9]*\)$/\1/p' \
    "$R$PREFIX/include/sluice/plugin.h" 2>/dev/null)
missing=""
for f in "$R$PREFIX/bin/sluice" "$R$PREFIX/include/sluice/plugin.h" \
    "$R$PREFIX/include/sluice/sluice.h" "$LIBDIR/libsluice.a" \
    "${PC%/*}/sluice.pc" "$PLUGINDIR/wc.so" "$PLUGINDIR/noop.so"; do
    [ -f "$f" ] || missing+="$f "
done
if [ -z "$missing" ] && [ "$(command -v sluice)" = "$R$PREFIX/bin/sluice" ]; then
    ok installed_files
else
    fail installed_files "missing: $missing; sluice is $(command -v sluice)"
fi
# The SDK's headers are these two; private ones (formats/) stay out.
got=$(cd "$R$PREFIX/include/sluice" 2>/dev/null && echo *)
if [ "$got" = "plugin.h sluice.h" ]; then ok installed_headers; else
    fail installed_headers "include/sluice holds: $got"
fi
d=""
[ "$ABI" = "$hdr_abi" ] || d+="abi_major $ABI, header $hdr_abi; "
[ "${PLUGINDIR#"$R"}" = "${LIBDIR#"$R"}/sluice/plugins-$hdr_abi" ] ||
    d+="plugindir $PLUGINDIR; "
got=$(pkg-config --cflags sluice-plugin | sed 's/ *$//')
[ "$got" = "-I$R$PREFIX/include" ] || d+="cflags '$got'; "
got=$(pkg-config --libs sluice-plugin | sed 's/ *$//')
[ -z "$got" ] || d+="a plugin links against '$got'; "
got=$(pkg-config --libs sluice)
case " $got " in *" -lsluice "*) ;; *) d+="sluice libs '$got'; " ;; esac
if [ -z "$d" ]; then ok pkg_config; else fail pkg_config "$d"; fi

# The warnings of this project's own build (warning_level=3 and more).
STRICT=(-std=c11 -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes
    -Wmissing-prototypes -Wvla -Wformat=2 -Werror)

# ------------------------------------------------------- embedding the engine

# libsluice.a of a sanitizer build needs the same runtime at link time.
san=()
if nm "$LIBDIR/libsluice.a" 2>/dev/null | grep -q ' U __asan_'; then
    san+=(-fsanitize=address)
fi
if nm "$LIBDIR/libsluice.a" 2>/dev/null | grep -q ' U __ubsan_'; then
    san+=(-fsanitize=undefined)
fi
mkdir -p "$T/embed"
# shellcheck disable=SC2046 # pkg-config's flags are lists
if out=$("$CC" "${STRICT[@]}" "${san[@]}" \
    $(pkg-config --cflags sluice) "$SRC/tests/cli/sdk_embed.c" \
    $(pkg-config --libs sluice) -o "$T/embed/embed" 2>&1); then
    printf 'a\nbb\n' >"$T/embed/two"
    printf 'x' >"$T/embed/one"
    got=$(cd "$T/embed" && ./embed noop two one 2>&1)
    exp=$'two bytes=5\none bytes=1'
    if [ "$got" = "$exp" ]; then ok embed_sluice_pc; else
        fail embed_sluice_pc "expected:"$'\n'"$exp"$'\n'"got:"$'\n'"$got"
    fi
else
    fail embed_sluice_pc "$out"
fi

# ---------------------------------------------------------- building C code

# strict_build NAME SOURCE -- the SDK's flags, and this project's warnings
# as errors, into $T/strict/NAME.so; the compiler's messages on failure
strict_build() {
    mkdir -p "$T/strict"
    # shellcheck disable=SC2046 # pkg-config's flags are a list
    "$CC" -shared -fPIC "${STRICT[@]}" $(pkg-config --cflags sluice-plugin) \
        "$2" -o "$T/strict/$1.so" 2>&1
}

# ---------------------------------------------------------- running pages

# The text of a command's output as the page shows it: DESTDIR out,
# prefix as /usr/local, no trailing blanks, a missing last newline marked.
normalize() {
    local s
    s=$(cat "$1"; echo x)
    s=${s%x}
    s=${s//"$R$PREFIX"//usr/local}
    s=${s//"$R"/}
    if [ -n "$s" ] && [ "${s: -1}" != $'\n' ]; then
        s+=$'\n[no newline at the end]\n'
    fi
    printf '%s' "$s" | sed 's/[[:blank:]]*$//'
}

# A line of expected output as a bash pattern: "..." matches anything.
line_pattern() {
    local p=$1
    p=${p//\\/\\\\}
    p=${p//\*/\\*}
    p=${p//\?/\\?}
    p=${p//\[/\\[}
    printf '%s' "${p//.../*}"
}

# match_lines I J -- GOT[I..] against EXP[J..]
match_lines() {
    local i=$1 j=$2 k p
    while [ "$j" -lt "${#EXP[@]}" ]; do
        if [ "${EXP[j]}" = ... ]; then
            for ((k = i; k <= ${#GOT[@]}; k++)); do
                match_lines "$k" $((j + 1)) && return 0
            done
            return 1
        fi
        [ "$i" -lt "${#GOT[@]}" ] || return 1
        p=$(line_pattern "${EXP[j]}")
        # shellcheck disable=SC2053 # the right side is a pattern
        [[ ${GOT[i]} == $p ]] || return 1
        i=$((i + 1))
        j=$((j + 1))
    done
    [ "$i" -eq "${#GOT[@]}" ]
}

# check_command PAGE DIR CMD -- runs CMD in DIR, compares with EXP[@]
check_command() {
    local page=$1 dir=$2 cmd=$3 rc
    (cd "$dir" && timeout 120 bash -c "$cmd" </dev/null >"$T/cmd.out" 2>&1)
    rc=$?
    mapfile -t GOT < <(normalize "$T/cmd.out")
    if [ "$rc" -ne 0 ]; then
        fail "$page: \$ $cmd" "exit status $rc; output:"$'\n'"$(cat "$T/cmd.out")"
    elif match_lines 0 0; then
        ok "$page: \$ $cmd"
    else
        fail "$page: \$ $cmd" "$(diff <(printf '%s\n' "${EXP[@]}") \
            <(printf '%s\n' "${GOT[@]}"))"
    fi
}

# run_page NAME FILE DIR -- builds FILE's C blocks, runs its console blocks
# in DIR; the plugin names of the C blocks go to PAGE_PLUGINS, the commands
# to PAGE_COMMANDS
run_page() {
    local page=$1 file=$2 dir=$3 line fence="" cmd="" name n=0 out
    local -a lines code
    PAGE_PLUGINS=()
    PAGE_COMMANDS=()
    mkdir -p "$dir"
    mapfile -t lines <"$file"
    for line in "${lines[@]}"; do
        if [ -z "$fence" ]; then
            case $line in
            '```c') fence=c code=() ;;
            '```console') fence=console cmd="" ;;
            '```sh' | '```bash' | '```shell') fence=sh code=() ;;
            '```' | '```text') fence=text ;;
            '```'*) fence=text
                fail "$page: block $line" "unknown block: use c, console or text" ;;
            esac
            continue
        fi
        if [ "$line" = '```' ]; then
            case $fence in
            c)
                n=$((n + 1))
                name=$(printf '%s\n' "${code[@]}" |
                    sed -n 's/^ *\.name = "\([a-z0-9_-]*\)",$/\1/p')
                if [ -z "$name" ]; then
                    fail "$page: C block $n" "no .name = \"NAME\", line"
                else
                    printf '%s\n' "${code[@]}" >"$dir/$name.c"
                    PAGE_PLUGINS+=("$name")
                    if out=$(strict_build "$name" "$dir/$name.c"); then
                        ok "$page: C block $name.c builds"
                    else
                        fail "$page: C block $name.c builds" "$out"
                    fi
                fi
                ;;
            console)
                [ -n "$cmd" ] && check_command "$page" "$dir" "$cmd"
                ;;
            sh)
                case ${code[0]-} in
                'meson setup'*) ;; # the install, done above
                *) fail "$page: shell block '${code[0]-}'" \
                    "not run: write commands to run as a console block" ;;
                esac
                ;;
            esac
            fence=""
            continue
        fi
        case $fence in
        c | sh) code+=("$line") ;;
        console)
            if [ "${line#\$ }" != "$line" ]; then
                [ -n "$cmd" ] && check_command "$page" "$dir" "$cmd"
                cmd=${line#\$ }
                PAGE_COMMANDS+=("$cmd")
                EXP=()
            elif [ -n "$cmd" ]; then
                EXP+=("${line%"${line##*[![:blank:]]}"}")
            else
                fail "$page: console block" "output before any command: $line"
            fi
            ;;
        esac
    done
    [ -z "$fence" ] || fail "$page: blocks" "a block is not closed"
}

# ------------------------------------------------------------ the tutorial

run_page plugins.md "$SRC/docs/plugins.md" "$T/doc"
n_c=${#PAGE_PLUGINS[@]}
for name in "${PAGE_PLUGINS[@]}"; do
    ran=""
    for cmd in "${PAGE_COMMANDS[@]}"; do
        case $cmd in *"sluice run ./$name.so"*) ran=1 ;; esac
    done
    if [ -n "$ran" ]; then ok "plugins.md: $name.so is run"; else
        fail "plugins.md: $name.so is run" "no \`sluice run ./$name.so\` on the page"
    fi
done
# A page that lost its code would pass the loop above.
if [ "$n_c" -ge 5 ]; then ok "plugins.md: C blocks"; else
    fail "plugins.md: C blocks" "$n_c C blocks found"
fi

# plugin check's warning about a field the host ignores (old.so declares
# 1.0 and sets lookbehind; new.so is the same declaring 1.1, both built by
# the page): on stderr alone, after a full report, with status 0; none
# for new.so.
for p in old new; do
    (cd "$T/doc" && sluice plugin check "./$p.so" >"$T/check.out" \
        2>"$T/check.err")
    rc=$?
    exp=""
    [ "$p" = old ] && exp="./old.so: warning: lookbehind is set but ignored: \
the plugin declares ABI 1.0"
    if [ "$rc" -eq 0 ] && [ "$(cat "$T/check.err")" = "$exp" ] &&
        [ "$(tail -n 1 "$T/check.out")" = "result: loads" ] &&
        ! grep -q warning "$T/check.out"; then
        ok "plugin check ./$p.so"
    else
        fail "plugin check ./$p.so" "exit status $rc; stdout:"$'\n'"$(cat \
            "$T/check.out")"$'\n'"stderr:"$'\n'"$(cat "$T/check.err")"
    fi
done

# -------------------------------------------------------------- examples/

for ex in longest upper; do
    mkdir -p "$T/ex/$ex"
    cp "$SRC/examples/$ex/$ex.c" "$T/ex/$ex/"
    if out=$(strict_build "$ex" "$SRC/examples/$ex/$ex.c"); then
        ok "examples/$ex builds"
    else
        fail "examples/$ex builds" "$out"
    fi
    run_page "examples/$ex" "$SRC/examples/$ex/README.md" "$T/ex/$ex"
    build="cc -shared -fPIC \$(pkg-config --cflags sluice-plugin) $ex.c -o $ex.so"
    case " ${PAGE_COMMANDS[*]} " in
    *" $build "*) ok "examples/$ex: README builds it" ;;
    *) fail "examples/$ex: README builds it" "no \`$build\` in README.md" ;;
    esac
done

# The ways a run may cut its inputs (the oracle does not care).
CUTS=("-j 0" "-j 1" "-j 4 --chunk-size=1" "-j 3 --chunk-size=7"
    "-j 4 --chunk-size=4099" "-j 2 --chunk-size=64k" "")

# longest: lines and longest line of each input, and of all of them one
# after the other (the total), with awk as the oracle
W=$T/longest
mkdir -p "$W"
printf '' >"$W/empty"
printf '\n' >"$W/nl"
printf 'abc' >"$W/nonl"
printf '\n\n\n' >"$W/nls"
printf 'tail\nof a line that the next input goes on with' >"$W/open"
awk 'BEGIN { s = "x"; while (length(s) < 300000) s = s s; print "short";
    print s; printf "%s", "end" }' >"$W/huge"
awk 'BEGIN { srand(11); for (i = 0; i < 40000; i++) {
    n = int(rand() * rand() * 400); s = "";
    for (k = 0; k < n; k++) s = s "y"; print s } }' >"$W/many"
awk 'BEGIN { srand(12); for (i = 0; i < 3000; i++) {
    n = int(rand() * 90); s = ""; for (k = 0; k < n; k++) s = s "z";
    printf "%s%s", s, (i % 3 ? "\n" : "") } }' >"$W/mixed"
oracle_longest() { # FILE... -- "lines,longest" of the files one after another
    local lines
    lines=$(cat "$@" | wc -l)
    cat "$@" | awk -v l="$lines" '{ if (length($0) > m) m = length($0) }
        END { printf "%d,%d\n", l, m }'
}
small=(empty nl nonl nls open)
big=(huge many mixed)
{
    echo "name,lines,longest"
    for f in "${small[@]}" "${big[@]}"; do
        echo "$f,$(oracle_longest "$W/$f")"
    done
    echo "total,$(cd "$W" && oracle_longest "${small[@]}" "${big[@]}")"
} >"$T/longest.exp"
for cut in "${CUTS[@]}"; do
    files=("${small[@]}" "${big[@]}")
    # one-byte units over megabytes would take long, and prove no more
    [ "$cut" = "-j 4 --chunk-size=1" ] && files=("${small[@]}" mixed)
    # shellcheck disable=SC2086 # cut is a list of options
    (cd "$W" && sluice run "$T/ex/longest/longest.so" --csv $cut \
        "${files[@]}") >"$T/longest.out" 2>&1
    if [ "${#files[@]}" -eq 8 ]; then
        exp=$T/longest.exp
    else
        {
            echo "name,lines,longest"
            for f in "${files[@]}"; do
                echo "$f,$(oracle_longest "$W/$f")"
            done
            echo "total,$(cd "$W" && oracle_longest "${files[@]}")"
        } >"$T/longest.exp1"
        exp=$T/longest.exp1
    fi
    if cmp -s "$exp" "$T/longest.out"; then ok "longest ${cut:-default}"; else
        fail "longest ${cut:-default}" "$(diff "$exp" "$T/longest.out")"
    fi
done
# A stream is cut as it arrives.
# shellcheck disable=SC2002 # a pipe, not a file on stdin
got=$(cat "$W/many" | sluice run "$T/ex/longest/longest.so" --csv -j 3 \
    --chunk-size=4099)
exp=$'name,lines,longest\n-,'$(oracle_longest "$W/many")
if [ "$got" = "$exp" ]; then ok "longest stdin"; else
    fail "longest stdin" "expected $exp, got $got"
fi

# upper: every byte value, text and binary, against tr in the C locale
W=$T/upper
mkdir -p "$W"
head -c 3000000 /dev/urandom >"$W/random"
awk 'BEGIN { for (i = 0; i < 50000; i++)
    printf "Line %d: the Quick brown fox, grüße, ÆØÅ æøå\n", i }' >"$W/text"
printf 'x' >"$W/one"
printf '' >"$W/empty"
# shellcheck disable=SC2018,SC2019 # ASCII letters only, as upper does
cat "$W/random" "$W/text" "$W/one" "$W/empty" "$W/text" | tr a-z A-Z \
    >"$T/upper.exp"
for cut in "${CUTS[@]}"; do
    [ "$cut" = "-j 4 --chunk-size=1" ] && continue
    # shellcheck disable=SC2086,SC2002 # cut is a list; stdin a pipe
    (cd "$W" && cat text | sluice run "$T/ex/upper/upper.so" $cut \
        random text one empty -) >"$T/upper.out" 2>"$T/upper.err"
    if cmp -s "$T/upper.exp" "$T/upper.out" && [ ! -s "$T/upper.err" ]; then
        ok "upper ${cut:-default}"
    else
        fail "upper ${cut:-default}" "$(cmp "$T/upper.exp" "$T/upper.out" 2>&1;
            head -c 2000 "$T/upper.err")"
    fi
done
got=$(printf 'ab\ncd' | sluice run "$T/ex/upper/upper.so" -j 4 --chunk-size=1 -)
if [ "$got" = $'AB\nCD' ]; then ok "upper -j 4 --chunk-size=1"; else
    fail "upper -j 4 --chunk-size=1" "got '$got'"
fi

finish

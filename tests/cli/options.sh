#!/bin/bash
# tests/cli/options.sh -- the options every command shares (docs/options.md)
# read alike by every command that takes them.
#
# One parser reads every number: the same bad value gets the same message
# ("sluice CMD: invalid WHAT: 'VALUE'"), exit status 2 and nothing on
# stdout from every command that takes the option, and a good value is
# taken by all of them, with the output of a run without it.  The expected
# messages are written out here: the oracle is docs/options.md.
#
# Prints "ok NAME" or "FAIL NAME" plus a diff per case; exits 1 if any
# case failed.  Environment: SLUICE_BUILD_ROOT.
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh disable=SC1091 # -x follows it
. "$(dirname "$0")/lib.sh"

printf 'alpha beta\ngamma\n' >"$IN/f"
mkdir -p "$IN/d/sub"
printf 'one alpha\n' >"$IN/d/a"
printf 'two alpha\n' >"$IN/d/sub/b"
gzip -c "$IN/f" >"$IN/f.gz" 2>/dev/null || true

# The commands, each as the words before the option and after it.
declare -A before after
before=([wc]="wc" [grep]="grep" [replace]="replace" [run]="run wc"
    [gzip]="gzip -c" [gunzip]="gunzip -c" [zcat]="zcat")
after=([wc]="f" [grep]="alpha f" [replace]="alpha omega f" [run]="f"
    [gzip]="f" [gunzip]="f.gz" [zcat]="f.gz")
# A command is left out when its plugin is not built.
have() {
    # shellcheck disable=SC2086 # the words split on purpose
    run "$T/have" C /dev/null "$SLUICE" ${before[$1]} ${after[$1]}
    [ "$(cat "$T/have.rc")" = 0 ]
}
all=()
for c in wc grep replace run gzip gunzip zcat; do
    # Its plugin: run wc's is wc's; zcat's is gunzip's.
    plug=${c/run/wc}
    plug=${plug/zcat/gunzip}
    if have "$c"; then
        all+=("$c")
    elif [ -e "$SLUICE_BUILD_ROOT/plugins/$plug/$plug.so" ]; then
        fail "have.$c" "a plain run failed: $(cat "$T/have.err" 2>/dev/null)"
    else
        skip "have.$c" "plugin not built"
    fi
done
takes() { # takes CMD CMD... -- those of the commands that ran above
    local c a
    for c in "$@"; do
        for a in "${all[@]}"; do [ "$a" = "$c" ] && printf '%s ' "$c"; done
    done
}
JOBS=$(takes wc grep replace run gzip gunzip zcat)
CHUNK=$(takes wc grep replace run)
SUPERVISE=$JOBS
DEPTH=$(takes wc replace run)
MAXLINE=$(takes grep replace)

# bad WHAT CMDS OPTION VALUE [FORMS] -- every CMD refuses OPTION VALUE with
# the same message and status 2, in each of FORMS (default: "split", the
# value as the next word; "joined": --opt=VALUE or -jVALUE).
bad() {
    local what=$1 cmds=$2 opt=$3 val=$4 forms=${5:-split} c form
    for c in $cmds; do
        for form in $forms; do
            local args=("$opt" "$val")
            if [ "$form" = joined ]; then
                if [ "${opt#--}" != "$opt" ]; then args=("$opt=$val"); else args=("$opt$val"); fi
                [ -z "$val" ] && continue # -j'' is -j with the next word
            fi
            # shellcheck disable=SC2086
            run "$T/got" C /dev/null "$SLUICE" ${before[$c]} "${args[@]}" ${after[$c]}
            local want="sluice $c: invalid $what: '$val'"
            if [ "$(cat "$T/got.rc")" = 2 ] && [ ! -s "$T/got.out" ] &&
                [ "$(cat "$T/got.err")" = "$want" ]; then
                ok "bad.$c.$opt=$val.$form"
            else
                fail "bad.$c.$opt=$val.$form" "want rc 2, '$want'; got rc $(cat "$T/got.rc"): $(cat "$T/got.err")"
            fi
        done
    done
}

# good CMDS OPTION VALUE -- every CMD takes it, and prints what it prints
# without it.
good() {
    local cmds=$1 opt=$2 val=$3 c
    for c in $cmds; do
        # shellcheck disable=SC2086
        run "$T/exp" C /dev/null "$SLUICE" ${before[$c]} ${after[$c]}
        # shellcheck disable=SC2086
        run "$T/got" C /dev/null "$SLUICE" ${before[$c]} "$opt" "$val" ${after[$c]}
        if [ "$(cat "$T/got.rc")" = 0 ] && [ ! -s "$T/got.err" ] &&
            cmp -s "$T/exp.out" "$T/got.out"; then
            ok "good.$c.$opt=$val"
        else
            fail "good.$c.$opt=$val" "rc $(cat "$T/got.rc"): $(cat "$T/got.err")"
        fi
    done
}

# -j: a count, 0 to 65536; no suffix, sign or blank.
for v in 65537 99999999999999999999999 -1 +1 " 1" x ""; do
    bad "number of jobs" "$(takes wc gzip)" -j "$v"
done
bad "number of jobs" "$JOBS" -j 4k "split joined"
bad "number of jobs" "$JOBS" --jobs 2K "split joined"
for v in 0 3; do good "$JOBS" -j "$v"; done
good "$(takes run)" -j 007

# --chunk-size: a size, 1 to 1T.
for v in 0 99999T; do bad "chunk size" "$CHUNK" --chunk-size "$v" "split joined"; done
for v in 0k 1025G 18446744073709551616 12q 1kk 1kB 1Ki -5 +5 " 5" 1.5k ""; do
    bad "chunk size" "$(takes replace)" --chunk-size "$v"
done
bad "chunk size" "$CHUNK" --chunk-size 2T
for v in 7 4k 1T; do good "$CHUNK" --chunk-size "$v"; done
for v in 4K 1m 1M 1g; do good "$(takes grep)" --chunk-size "$v"; done

# --max-depth: a count, 0 to 2^31 - 1.
bad "maximum depth" "$DEPTH" --max-depth 1k "split joined"
for v in 2147483648 -1 x; do bad "maximum depth" "$(takes run)" --max-depth "$v"; done
for v in 0 2147483647; do good "$DEPTH" --max-depth "$v"; done

# --worker-memory: a size, 16M or more, or none.
bad "worker memory" "$SUPERVISE" --worker-memory 1k "split joined"
for v in 16777215 15M 0 x 99999999999T; do
    bad "worker memory" "$(takes gzip)" --worker-memory "$v"
done
# A limit a worker really runs under (4G) only where the sanitizers'
# shadow memory does not defeat RLIMIT_AS (as in supervise.sh); the inline
# runs below take every value everywhere.
limits=(none 4G)
if ldd "$SLUICE" 2>/dev/null | grep -q libasan; then limits=(none); fi
for v in "${limits[@]}"; do good "$SUPERVISE" --worker-memory "$v"; done
for v in 16777216 16M 1t; do
    run "$T/got" C /dev/null "$SLUICE" wc -j0 --worker-memory "$v" f
    if [ "$(cat "$T/got.rc")" = 0 ]; then ok "good.wc.worker-memory=$v"
    else fail "good.wc.worker-memory=$v" "$(cat "$T/got.err")"; fi
done

# --max-line (grep, replace): a size, 1 to 1G.
for v in 0 2G 1073741825 1q; do bad "maximum line length" "$MAXLINE" --max-line "$v"; done
for v in 1k 1G; do good "$MAXLINE" --max-line "$v"; done

# --timeout: seconds or none, the same message everywhere.
for c in $SUPERVISE; do
    # shellcheck disable=SC2086
    run "$T/got" C /dev/null "$SLUICE" ${before[$c]} --timeout=abc ${after[$c]}
    want="sluice $c: invalid timeout: 'abc' (seconds > 0, or none)"
    if [ "$(cat "$T/got.rc")" = 2 ] && [ "$(cat "$T/got.err")" = "$want" ]; then
        ok "bad.$c.timeout"
    else
        fail "bad.$c.timeout" "rc $(cat "$T/got.rc"): $(cat "$T/got.err")"
    fi
done
for v in none 30; do good "$SUPERVISE" --timeout "$v"; done

# The archive limits (wc) and --max-output (gzip) read sizes the same way.
for opt in --archive-max-bytes --archive-max-ratio --archive-max-entries; do
    for v in 0 1q 99999999999T; do bad "archive limit" "$(takes wc)" "$opt" "$v"; done
    good "$(takes wc)" "$opt" 1k
done
for v in 0 1q 99999999999T; do bad "maximum output size" "$(takes gunzip zcat)" --max-output "$v"; done
good "$(takes gunzip zcat)" --max-output 1t

# --archives takes top or nested, with the same words from every command
# that takes it.
for c in $(takes wc run); do
    # shellcheck disable=SC2086
    run "$T/got" C /dev/null "$SLUICE" ${before[$c]} --archives=deep ${after[$c]}
    want="sluice $c: invalid argument 'deep' for '--archives'
Valid arguments are:
  - 'top'
  - 'nested'
Try 'sluice $c --help' for more information."
    if [ "$(cat "$T/got.rc")" = 2 ] && [ "$(cat "$T/got.err")" = "$want" ]; then
        ok "bad.$c.archives"
    else
        fail "bad.$c.archives" "rc $(cat "$T/got.rc"): $(cat "$T/got.err")"
    fi
done

# A walk option reads the tree the same way in every command that takes it.
for c in $(takes wc run); do
    # shellcheck disable=SC2086
    run "$T/got" C /dev/null "$SLUICE" ${before[$c]} --max-depth=1 --exclude=b d
    if [ "$(cat "$T/got.rc")" = 0 ] && grep -q ' d/a$' "$T/got.out" &&
        ! grep -q 'sub' "$T/got.out"; then
        ok "walk.$c.max-depth"
    else
        fail "walk.$c.max-depth" "rc $(cat "$T/got.rc"): $(cat "$T/got.out" "$T/got.err")"
    fi
done

# Every command's --help shows the shared options' lines from one text:
# the -j line is the same in each.
jline="  -j, --jobs=N           worker processes (default: the number of online CPUs;"
for c in "${all[@]}"; do
    case $c in run) h=(run --help) ;; *) h=("$c" --help) ;; esac
    run "$T/got" C /dev/null "$SLUICE" "${h[@]}"
    if [ "$(cat "$T/got.rc")" = 0 ] && grep -qxF -- "$jline" "$T/got.out" &&
        grep -qF "SIZE too, with an optional suffix k, M, G or T" "$T/got.out"; then
        ok "help.$c"
    else
        fail "help.$c" "$(cat "$T/got.out" "$T/got.err")"
    fi
done

finish

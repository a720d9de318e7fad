#!/bin/bash
# tests/cli/signals.sh -- SIGINT, SIGTERM, SIGHUP and SIGPIPE, for every
# command (docs/exit-codes.md).
#
# A job is held in the middle by a FIFO whose writer keeps it open: the
# coordinator waits in read(2) with its workers started.  The signal is
# sent only once the workers exist (they are forked after the handler is
# installed), so no case depends on how fast anything runs.  Each case
# checks: death by the signal (status 128+N), nothing on stderr or
# stdout, no worker left, no temporary file left, the input untouched.
# SIGPIPE: a reader that stops early ends the command quietly, as it ends
# the classic (killed by SIGPIPE, or done), with no worker left.
#
# Environment: SLUICE_BUILD_ROOT, SLUICE_TEST_PLUGIN_DIR.
. "$(dirname "$0")/lib.sh"

P=${SLUICE_TEST_PLUGIN_DIR:?}
W="$T/w"
mkdir -p "$W"
cd "$W" || exit 1

# wait_for SECONDS CMD... -- polls until CMD succeeds; 1 when it never does
wait_for() {
    local end=$((SECONDS + $1))
    shift
    until "$@"; do
        [ $SECONDS -lt "$end" ] || return 1
        sleep 0.05
    done
}

has_children() { [ "$(pgrep -P "$1" | wc -l)" -ge "$2" ]; }
all_gone() {
    local p
    for p in "$@"; do kill -0 "$p" 2>/dev/null && return 1; done
    return 0
}
no_temp() { ! ls -A "$1" | grep -q '^\.'; }
temp_in_d() { ! no_temp d; }

# The writer: BYTES bytes of "hello\n" into the FIFO, then holds it open
# until killed.
start_writer() {
    (
        exec 3>"$1"
        yes hello | head -c "$2" >&3
        exec sleep 600
    ) &
    writer=$!
}
stop_writer() {
    kill "$writer" 2>/dev/null
    wait "$writer" 2>/dev/null
}

# sig_case NAME SIGNAL CMD... -- CMD reads the FIFO "$W/fifo" on stdin
sig_case() {
    local name=$1 sig=$2
    shift 2
    rm -f fifo out err
    mkfifo fifo
    start_writer fifo 6
    # A non-interactive shell starts background jobs with SIGINT ignored:
    # give it back its default so that the command installs its handler.
    env --default-signal=INT timeout 120 "$@" <fifo >out 2>err &
    local t=$! p r="" rc
    if ! wait_for 60 has_children "$t" 1; then
        fail "$name" "no process started"
        stop_writer
        return
    fi
    p=$(pgrep -P "$t" | head -n 1)
    if ! wait_for 60 has_children "$p" 2; then
        fail "$name" "no workers started"
        kill "$t"
        stop_writer
        return
    fi
    local workers
    workers=$(pgrep -P "$p")
    kill "-$sig" "$p"
    wait "$t"
    rc=$?
    stop_writer
    local want=$((128 + $(kill -l "$sig")))
    [ "$rc" -eq "$want" ] || r+=" status $rc, want $want;"
    [ -s err ] && r+=" stderr: $(cat err);"
    [ -s out ] && r+=" stdout: $(head -c 200 out);"
    # shellcheck disable=SC2086
    wait_for 30 all_gone $workers || r+=" workers left: $workers;"
    if [ -z "$r" ]; then ok "$name"; else fail "$name" "$r"; fi
}

for sig in INT TERM HUP; do
    s=${sig,,}
    sig_case "signal.wc.$s" "$sig" "$SLUICE" wc -j2
    sig_case "signal.grep.$s" "$sig" "$SLUICE" grep -j2 hello
    sig_case "signal.run.$s" "$sig" "$SLUICE" run "$P/ordered.so" -j2
    sig_case "signal.replace.$s" "$sig" "$SLUICE" replace -j2 hello bye
    sig_case "signal.gzip.$s" "$sig" "$SLUICE" gzip -j2 -c
done

# An inherited ignored SIGINT stays ignored: the job ends normally.
# (timeout(1) catches SIGINT itself, so env ignores it after timeout.)
rm -f fifo out err
mkfifo fifo
start_writer fifo 12
timeout 120 env --ignore-signal=INT "$SLUICE" wc -j2 <fifo >out 2>err &
t=$!
if wait_for 60 has_children "$t" 1 &&
    wait_for 60 has_children "$(pgrep -P "$t" | head -n 1)" 2; then
    kill -INT "$(pgrep -P "$t" | head -n 1)"
    stop_writer
    wait "$t"
    rc=$?
    r=""
    [ "$rc" -eq 0 ] || r+=" status $rc;"
    [ "$(tr -s ' ' <out)" = " 2 2 12" ] || r+=" stdout: $(cat out);"
    [ -s err ] && r+=" stderr: $(cat err);"
    if [ -z "$r" ]; then ok signal.ignored-int; else fail signal.ignored-int "$r"; fi
else
    fail signal.ignored-int "no workers started"
    stop_writer
fi

# replace --in-place: the temporary file beside the input exists when the
# signal comes; it is removed, and nothing takes the input's name.  Small
# units (more of them than the workers take at once) make the coordinator
# hand results over before it waits on the FIFO again.
for sig in TERM INT; do
    name="signal.replace-in-place.${sig,,}"
    rm -rf d
    mkdir d
    mkfifo d/f
    start_writer d/f 20000000
    env --default-signal=INT timeout 120 "$SLUICE" replace -j2 --chunk-size 64k --max-line 32k \
        --in-place hello bye d/f 2>err &
    t=$!
    if ! wait_for 60 temp_in_d; then
        fail "$name" "no temporary file appeared"
        kill "$t"
        stop_writer
        continue
    fi
    p=$(pgrep -P "$t" | head -n 1)
    workers=$(pgrep -P "$p")
    kill "-$sig" "$p"
    wait "$t"
    rc=$?
    stop_writer
    r=""
    want=$((128 + $(kill -l "$sig")))
    [ "$rc" -eq "$want" ] || r+=" status $rc, want $want;"
    no_temp d || r+=" temporary file left: $(ls -A d);"
    [ -p d/f ] || r+=" d/f replaced;"
    [ -s err ] && r+=" stderr: $(cat err);"
    # shellcheck disable=SC2086
    wait_for 30 all_gone $workers || r+=" workers left;"
    if [ -z "$r" ]; then ok "$name"; else fail "$name" "$r"; fi
done

# ------------------------------------------------------------- SIGPIPE

yes xxxxxxxx | head -n 3000000 >big
mkdir -p many
for i in $(seq 1 3000); do echo "$i" >"many/$i"; done

# Workers are forks of the command: the same arguments, naming $W.
no_workers() { ! pgrep -f "^$SLUICE .*$W/" >/dev/null; }

# pipe_case NAME WANT-STATUSES HEAD-ARGS CMD... -- `CMD | head HEAD-ARGS`
pipe_case() {
    local name=$1 want=$2 hargs=$3
    shift 3
    rm -f err
    # shellcheck disable=SC2086
    timeout 120 "$@" 2>err | head $hargs >/dev/null
    local rc=${PIPESTATUS[0]} r=""
    [[ " $want " == *" $rc "* ]] || r+=" status $rc, want $want;"
    [ -s err ] && r+=" stderr: $(cat err);"
    wait_for 30 no_workers || r+=" workers left: $(pgrep -af "^$SLUICE .*$W/");"
    if [ -z "$r" ]; then ok "$name"; else fail "$name" "$r"; fi
}

# GNU wc writes one line per file: with 3000 of them it meets the closed
# pipe and dies by SIGPIPE; grep and gzip -c likewise.
pipe_case sigpipe.wc 141 -c1 "$SLUICE" wc -j2 "$W/many"/*
pipe_case sigpipe.grep 141 -1 "$SLUICE" grep -j2 x "$W/big"
pipe_case sigpipe.gzip 141 -c1 "$SLUICE" gzip -j2 -c "$W/big"
pipe_case sigpipe.run 141 -c1 "$SLUICE" run "$P/ordered.so" -j2 "$W/big"
# (a FROM found in no line: under AddressSanitizer each memmem call checks
# the whole rest of the unit, and 24M hits took minutes)
pipe_case sigpipe.replace 141 -c1 "$SLUICE" replace -j2 q y "$W/big"

finish

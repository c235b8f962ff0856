# lib.sh - sourced by the command-line tests: a work directory removed at
# exit (kept with KEEP=1), the processes to kill then, the pass/fail
# counters, and rdm-datamart-emulator on a loopback port.
#
#   t_begin NAME        T = a new /tmp/rdm-NAME-XXXXXX; at exit: on_exit (if
#                       the test defines it), kill -9 $PIDS, remove T
#   ok / bad MSG        count a check (bad prints "FAIL: MSG")
#   t_end               prints "N passed, N failed"; fails if any failed
#   store_pending DB    prints how many sources, collect or export sub-stages
#                       of the store DB still wait (0: all delivered and
#                       processed)
#   emu_start FLAG...   EMU with --state $T/emu.state --save-dir $T/saved
#                       --profile $PROF --prefix T, on 127.0.0.1:$PORT (any
#                       free port when PORT is empty or 0); sets EPID, PORT
#   emu_stop            stops it
pass=0 fail=0 PIDS="" EPID="" PORT=""
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
t_end() {
    echo "$pass passed, $fail failed"
    [ $fail = 0 ]
}
t_cleanup() {
    if declare -F on_exit >/dev/null; then on_exit; fi
    for p in $PIDS; do kill -9 "$p" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$T"
}
t_begin() {
    T=$(mktemp -d "/tmp/rdm-$1-XXXXXX")
    trap t_cleanup EXIT
    [ -n "${KEEP:-}" ] && trap - EXIT
    return 0
}
emu_start() {
    rm -f "$T/port"
    mkdir -p "$T/saved"
    "$EMU" --state "$T/emu.state" --save-dir "$T/saved" --port-file "$T/port" \
        --listen "127.0.0.1:${PORT:-0}" --profile "$PROF" --prefix T "$@" 2>>"$T/emu.log" &
    EPID=$!
    PIDS="$PIDS $EPID"
    for _ in $(seq 100); do [ -s "$T/port" ] && break; sleep 0.05; done
    PORT=$(cat "$T/port" 2>/dev/null)
    [ -n "$PORT" ] || { bad "the emulator did not start: $(tail -3 "$T/emu.log")"; return 1; }
}
emu_stop() {
    [ -n "$EPID" ] && kill "$EPID" 2>/dev/null
    wait "$EPID" 2>/dev/null
    EPID=""
}
store_pending() { # a FAILED export sub-stage waits until a later one retries it
    sqlite3 "$1" "SELECT (SELECT count(*) FROM import_source WHERE phase < 3)
         + (SELECT count(*) FROM collect_substage WHERE status IN ('CREATED', 'IN_PROGRESS'))
         + (SELECT count(*) FROM export_substage WHERE status <> 'FINISHED' AND (status <> 'FAILED'
            OR id NOT IN (SELECT retry_of FROM export_substage WHERE retry_of IS NOT NULL)))"
}

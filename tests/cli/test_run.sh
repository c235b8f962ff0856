#!/usr/bin/env bash
# test_run.sh AGENT EMULATOR HOLD_LOCK SOURCE_DIR - the agent at work:
# `rdm-agent run` against rdm-datamart-emulator with schedules of a second,
# dumps fed into its inbox while it runs, every record checked at the
# datamart (tests/tools/replay_emulator.py replays what the emulator
# accepted); SIGHUP with a broken and then a good configuration; SIGTERM and
# a clean exit within 10 s; two agents on one store (every file once);
# the clock set back an hour (libfaketime); a run missed while the agent
# was down, made up; transfer and its exit codes
# (lock held, unreachable); check-suspended;
# cleanup (never a file the datamart has not accepted); stages --json;
# status and its exit code; report --html rendered by headless Chromium.
# Prints "N passed, N failed".
set -u
AGENT=$1 EMU=$2 HOLD=$3 SRC=$4
T=$(mktemp -d /tmp/rdm-run-XXXXXX)
PIDS=""
cleanup() { for p in $PIDS; do kill -9 "$p" 2>/dev/null; done; wait 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
[ -n "${KEEP:-}" ] && trap - EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
PROF=$SRC/tests/data/profiles/export.json
REPLAY="python3 $SRC/tests/tools/replay_emulator.py"

gen() { # round persons dir: names change in round 2+, every 7th person leaves in round 3
    mkdir -p "$3"
    awk -v r="$1" -v n="$2" 'BEGIN { print "id;name;born;active;score;seen;team_id;snils"
        for (i = 1; i <= n; i++) {
            if (r >= 3 && i % 7 == 0) continue
            name = "Имя " i; if (r >= 2 && i % 3 == 0) name = name " (" r ")"
            printf "%d;%s;2010-01-%02d;%d;1.%02d;2024-01-01 10:00:00;%d;%03d-%03d-%03d %02d\n", i, name, i % 28 + 1, i % 2, i % 100, i % 5 + 1, i % 1000, i % 999, i % 998, i % 97 }
        if (r >= 2) for (i = n + 1; i <= n + 10; i++) printf "%d;Новый %d;;;;;;\n", i, i }' >"$3/person.csv"
    printf 'id;title\n1;A\n2;B\n3;C\n4;D\n5;E\n' >"$3/team.csv"
}
for r in 1 2 3; do gen $r 150 "$T/src/b$r"; done
feed() { # round dir: the bundle appears in the inbox at once (rename)
    local tmp=$T/stage-b$1-$(basename "$2")
    cp -r "$T/src/b$1" "$tmp" && mv "$tmp" "$2/inbox/b$1"
}

EPID="" PORT=""
emu() { # state-name
    rm -f "$T/port"; mkdir -p "$T/saved-$1"
    "$EMU" --state "$T/$1.state" --save-dir "$T/saved-$1" --port-file "$T/port" --profile "$PROF" \
        --prefix T --step-ms 0 2>>"$T/emu.log" &
    EPID=$!; PIDS="$PIDS $EPID"
    for _ in $(seq 100); do [ -s "$T/port" ] && break; sleep 0.05; done
    PORT=$(cat "$T/port")
}
emu_stop() { kill "$EPID" 2>/dev/null; wait "$EPID" 2>/dev/null; }
setup() { # dir
    mkdir -p "$1/inbox"
    printf '[rdm_general]\nEXPORT_ENTITY_ID_PREFIX = T\nEXPORT_CHUNK_SIZE = 40\n[agent]\nDATA_DIR = data\nPROFILE = %s\nLOG_LEVEL = info\n[source]\nDUMP_DIR = inbox\nINBOX_SETTLE_SECONDS = 0\n[uploader_client]\nURL = http://127.0.0.1:%s\nENABLE_REQUEST_EMULATION = False\nREQUEST_RETRIES = 2\nREQUEST_TIMEOUT = 2\nRETRY_BACKOFF_MS = 50\n' \
        "$PROF" "$PORT" >"$1/rdm-agent.ini"
    "$AGENT" --config "$1/rdm-agent.ini" init >/dev/null || bad "init $1"
}
ag() { local d=$1; shift; "$AGENT" --config "$d/rdm-agent.ini" "$@"; }
q() { sqlite3 "$1/data/rdm-agent.db" "$2"; }
arrived() { # state round -> 0 when the datamart holds exactly round's persons
    $REPLAY "$T/$1.state" "$T/saved-$1" person id "$T/src/b$2/person.csv" T name >"$T/replay.out" 2>&1
}
wait_arrived() { # state round seconds
    for _ in $(seq $(($3 * 5))); do arrived "$1" "$2" && return 0; sleep 0.2; done
    return 1
}

# ---- the service: dumps fed while it runs, every record arrives
emu one
D=$T/svc; setup "$D"
RDM_SCHEDULE_SECONDS=1 "$AGENT" --config "$D/rdm-agent.ini" run >"$T/run.out" 2>"$T/run.err" &
RUN=$!; PIDS="$PIDS $RUN"
for r in 1 2 3; do
    feed $r "$D"
    wait_arrived one $r 40 && ok || bad "round $r did not arrive: $(tail -3 "$T/replay.out") $(tail -5 "$T/run.err")"
done
[ -d "$D/inbox/done/b3" ] && ok || bad "bundles not moved to done/"
# every file once: what the emulator accepted is what the store registered
n=$(q "$D" "SELECT count(*) FROM attachment WHERE size > 0")
[ "$(wc -l <"$T/one.state")" = "$n" ] && ok || bad "emulator accepted $(wc -l <"$T/one.state") file(s), the store has $n"
[ "$(q "$D" "SELECT count(*) FROM export_substage WHERE status NOT IN ('FINISHED')")" = 0 ] && ok || bad "sub-stages not FINISHED"

# SIGHUP: a broken configuration is refused (the service goes on), a good one taken
cp "$D/rdm-agent.ini" "$T/good.ini"
echo "THIS IS NOT INI" >>"$D/rdm-agent.ini"
kill -HUP $RUN; sleep 1.5
grep -q "new configuration is refused and the running one kept" "$T/run.err" && ok || bad "broken configuration not refused loudly"
kill -0 $RUN 2>/dev/null && ok || bad "the service died on a broken configuration"
cp "$T/good.ini" "$D/rdm-agent.ini"
kill -HUP $RUN; sleep 1.5
grep -q "configuration and profiles re-read" "$T/run.err" && ok || bad "good configuration not re-read"
# SIGTERM: a clean exit within 10 s
t0=$(date +%s)
kill -TERM $RUN; wait $RUN; rc=$?
[ $rc = 0 ] && [ $(($(date +%s) - t0)) -le 10 ] && ok || bad "SIGTERM: exit $rc after $(($(date +%s) - t0)) s"
grep -q "run: stopped on request" "$T/run.err" && ok || bad "no stop message"
if grep " error: " "$T/run.err" | grep -v "expected 'KEY = value'\|new configuration" | grep -q .; then
    bad "errors in the service log: $(grep " error: " "$T/run.err" | head -3)"
else ok; fi

# ---- the clock set back an hour while the service runs (NTP on a server
# that booted ahead; libfaketime, the monotonic clock left alone): the
# tasks go on and the next round arrives. Not in the ASan build (its
# runtime must be the first library loaded)
FT=$(ls /usr/lib/*/faketime/libfaketimeMT.so.1 2>/dev/null | head -1)
if [ -z "$FT" ]; then
    bad "libfaketime is missing (scripts/deps.sh installs faketime)"
elif ldd "$AGENT" | grep -q libasan; then
    echo "SKIP: the clock set back (an ASan build)"
else
    emu_stop; emu clock
    D=$T/clock; setup "$D"
    echo "+0" >"$T/ft"
    FAKETIME_TIMESTAMP_FILE=$T/ft FAKETIME_NO_CACHE=1 DONT_FAKE_MONOTONIC=1 LD_PRELOAD=$FT \
        RDM_SCHEDULE_SECONDS=1 "$AGENT" --config "$D/rdm-agent.ini" run >"$T/clock.out" 2>"$T/clock.err" &
    CLK=$!; PIDS="$PIDS $CLK"
    feed 1 "$D"
    wait_arrived clock 1 40 && ok || bad "clock: round 1 did not arrive: $(tail -3 "$T/clock.err")"
    echo "-3600" >"$T/ft"
    sleep 2
    feed 2 "$D"
    wait_arrived clock 2 40 && ok || bad "clock: round 2 did not arrive after the clock went back: $(tail -3 "$T/clock.err")"
    grep -q "run: the clock went back" "$T/clock.err" && ok || bad "clock: the step back was not noticed"
    kill -TERM $CLK; wait $CLK
fi

# ---- a run missed while the agent was not running (a school server off at
# night misses the 03:15 cleanup): made up once at the start; a task that
# ran on time is not
D=$T/missed; setup "$D"
q "$D" "INSERT INTO task_run VALUES ('cleanup', strftime('%s','now') - 2 * 86400), ('check-suspended', strftime('%s','now'))"
"$AGENT" --config "$D/rdm-agent.ini" run >"$T/missed.out" 2>"$T/missed.err" &
MIS=$!; PIDS="$PIDS $MIS"
for _ in $(seq 100); do [ "$(q "$D" "SELECT last_at > strftime('%s','now') - 60 FROM task_run WHERE task = 'cleanup'")" = 1 ] && break; sleep 0.1; done
[ "$(q "$D" "SELECT last_at > strftime('%s','now') - 60 FROM task_run WHERE task = 'cleanup'")" = 1 ] && ok || bad "missed: the cleanup was not made up: $(tail -3 "$T/missed.err")"
grep -q "run: cleanup was due at .* while the agent was not running: it runs now" "$T/missed.err" && ok || bad "missed: not logged"
grep -q "run: check-suspended was due" "$T/missed.err" && bad "missed: a task that ran on time was made up" || ok
kill -TERM $MIS; wait $MIS

# ---- stop in the middle of work: SIGTERM while a big export runs
# (3,000 files: the signal comes once the first is written, with most of
# the work still to do, whatever the machine's speed)
gen 1 30000 "$T/src/big"
D=$T/stop; setup "$D"
ag "$D" import "$T/src/big" >/dev/null 2>&1 && ag "$D" collect >/dev/null 2>&1 || bad "stop: import/collect"
sed -i 's/^EXPORT_CHUNK_SIZE = 40/EXPORT_CHUNK_SIZE = 10/' "$D/rdm-agent.ini"
"$AGENT" --config "$D/rdm-agent.ini" export >"$T/stop.out" 2>"$T/stop.err" & XP=$!
for _ in $(seq 200); do
    ls "$D"/data/export/*/*/*.csv >/dev/null 2>&1 && break
    sleep 0.05
done
t0=$(date +%s%N); kill -TERM $XP; wait $XP; rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
[ $ms -lt 10000 ] && ok || bad "export took $ms ms to stop"
[ $rc = 1 ] && grep -q "stopped on request" "$T/stop.err" && ok || bad "stopped export: exit $rc after $ms ms $(tail -2 "$T/stop.err")"
ag "$D" export >/dev/null 2>&1 && ok || bad "export after a stop"
python3 "$SRC/tests/tools/export_check.py" "$PROF" "$D/data" T >"$T/check.out" 2>&1 && ok || bad "files after a stop: $(tail -3 "$T/check.out")"
emu_stop

# ---- two agents on one store: every file sent once, all records arrive
emu two
D=$T/two; setup "$D"
RDM_SCHEDULE_SECONDS=1 "$AGENT" --config "$D/rdm-agent.ini" run >"$T/a.out" 2>"$T/a.err" & A1=$!
RDM_SCHEDULE_SECONDS=1 "$AGENT" --config "$D/rdm-agent.ini" run >"$T/b.out" 2>"$T/b.err" & A2=$!
PIDS="$PIDS $A1 $A2"
feed 1 "$D"; wait_arrived two 1 40 && ok || bad "two agents: round 1 did not arrive: $(tail -2 "$T/replay.out")"
feed 2 "$D"; wait_arrived two 2 40 && ok || bad "two agents: round 2 did not arrive: $(tail -2 "$T/replay.out")"
sleep 2
n=$(q "$D" "SELECT count(*) FROM attachment WHERE size > 0")
[ "$(wc -l <"$T/two.state")" = "$n" ] && ok || bad "two agents: emulator accepted $(wc -l <"$T/two.state") file(s), the store has $n"
[ "$(q "$D" "SELECT count(*) FROM upload_log WHERE request_id IS NOT NULL")" = "$n" ] && ok || bad "two agents: a file was sent twice"
# they meet at a lock by chance (each runs every second): give it time
for _ in $(seq 100); do cat "$T/a.err" "$T/b.err" | grep -q "skipped: store is busy" && break; sleep 0.2; done
cat "$T/a.err" "$T/b.err" | grep -q "skipped: store is busy" && ok || bad "two agents never met a lock"
kill -TERM $A1 $A2; wait $A1; r1=$?; wait $A2; r2=$?
[ $r1 = 0 ] && [ $r2 = 0 ] && ok || bad "two agents: exits $r1 $r2"

# ---- transfer: a held lock (exit 3, who holds it), then the whole pass
mkfifo "$T/fifo"
"$HOLD" "$D/data/rdm-agent.db" export 3600 <"$T/fifo" >"$T/hold.out" & H=$!; PIDS="$PIDS $H"
exec 7>"$T/fifo"
for _ in $(seq 50); do grep -q locked "$T/hold.out" && break; sleep 0.1; done
feed 3 "$D"
ag "$D" transfer >"$T/t.out" 2>"$T/t.err"; rc=$?
[ $rc = 3 ] && grep -q "store is busy (pid $H on" "$T/t.err" && ok || bad "transfer under a held lock: exit $rc $(cat "$T/t.err")"
exec 7>&-; wait $H 2>/dev/null
ag "$D" transfer >"$T/t.out" 2>"$T/t.err" && ok || bad "transfer: $(cat "$T/t.err")"
arrived two 3 && ok || bad "transfer: round 3 did not arrive: $(tail -2 "$T/replay.out")"
grep -q "^upload: " "$T/t.out" && grep -q "^check-status: " "$T/t.out" && ok || bad "transfer output: $(cat "$T/t.out")"
emu_stop
gen 2 155 "$T/src/b4"
ag "$D" import "$T/src/b4" >/dev/null 2>&1 || bad "import b4"
ag "$D" transfer >"$T/t.out" 2>"$T/t.err"; rc=$?
[ $rc = 1 ] && grep -q "unreachable" "$T/t.err" && ok || bad "transfer with the datamart down: exit $rc $(tail -2 "$T/t.err")"
[ "$(q "$D" "SELECT count(*) FROM export_substage WHERE status = 'FAILED'")" = 0 ] && ok || bad "datamart down: sub-stages FAILED"

# ---- stages, status, report
out=$(ag "$D" stages --json) && echo "$out" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["version"] == 1
e = d["export"][0]
for k in ("id", "status", "title", "started_at", "ended_at", "substages", "records", "error"):
    assert k in e, k
for k in ("total", "finished", "ready", "process_error", "failed", "in_progress"):
    assert k in e["substages"], k
assert d["collect"][0]["title"] in ("Создан", "В процессе сбора", "Завершено", "Завершено с ошибками")
' && ok || bad "stages --json"
ag "$D" stages --export --limit 2 | grep -q "Завершено" && ok || bad "stages text"
out=$(ag "$D" status); rc=$?
[ $rc = 0 ] && echo "$out" | grep -q "waiting to be sent:      [1-9]" && echo "$out" | grep -q "UNREACHABLE" && ok || bad "status while down: exit $rc $out"
sub=$(q "$D" "SELECT max(id) FROM export_substage WHERE status = 'FINISHED' AND records > 0")
q "$D" "UPDATE export_substage SET status = 'PROCESS_ERROR' WHERE id = $sub"
out=$(ag "$D" status 2>&1); rc=$?
[ $rc = 1 ] && echo "$out" | grep -q "1 sub-stage(s) in PROCESS_ERROR" && ok || bad "status with a PROCESS_ERROR: exit $rc $out"
ag "$D" report --html "$T/report.html" >/dev/null && ok || bad "report"
# a report that cannot be written (the path is a folder): an error, no crash
# (it was a double free: rc 134)
mkdir -p "$T/rdir"
ag "$D" report --html "$T/rdir" >/dev/null 2>"$T/rdir.err"; rc=$?
[ $rc = 1 ] && ok || bad "report into a folder: exit $rc $(cat "$T/rdir.err")"
grep -q "<script src\|<link\|https\?://[a-z]" "$T/report.html" && grep -v "xmlns" "$T/report.html" | grep -q "https\?://" && bad "the report loads something from outside" || ok
if command -v chromium >/dev/null; then
    timeout 60 chromium --headless --no-sandbox --disable-gpu --enable-logging=stderr --v=0 \
        --user-data-dir="$T/chrome" --dump-dom "file://$T/report.html" >"$T/dom.html" 2>"$T/chrome.err"
    grep -q 'data-rendered="2"' "$T/dom.html" && ok || bad "report did not render: $(head -c 300 "$T/dom.html")"
    grep -q "CONSOLE" "$T/chrome.err" && bad "console messages: $(grep CONSOLE "$T/chrome.err" | head -3)" || ok
    grep -q "Записей отправлено в день" "$T/dom.html" && grep -q "PERSON" "$T/dom.html" && ok || bad "report content"
else
    bad "chromium is missing (scripts/deps.sh installs it)"
fi

# ---- check-suspended: a stage that stopped moving long ago
q "$D" "INSERT INTO export_stage(status, started_at) VALUES ('IN_PROGRESS', strftime('%s','now') - 3 * 3600)"
q "$D" "INSERT INTO export_substage(stage_id, entity, status, started_at) VALUES ((SELECT max(id) FROM export_stage), 'PERSON', 'IN_PROGRESS', strftime('%s','now') - 3 * 3600)"
out=$(ag "$D" check-suspended 2>&1) && echo "$out" | grep -q "1 stage(s) marked FAILED" && ok || bad "check-suspended: $out"
[ "$(q "$D" "SELECT status FROM export_substage WHERE id = (SELECT max(id) FROM export_substage)")" = FAILED ] && ok || bad "suspended sub-stage not FAILED"
q "$D" "INSERT INTO export_stage(status, started_at) VALUES ('IN_PROGRESS', strftime('%s','now') - 60)"
out=$(ag "$D" check-suspended 2>&1) && echo "$out" | grep -q "0 stage(s) marked" && ok || bad "check-suspended took a fresh stage: $out"

# ---- cleanup: files the datamart accepted, after FINISHED_DAYS; never the rest
kept=$(q "$D" "SELECT count(*) FROM attachment a JOIN export_substage s ON s.id = a.substage_id WHERE s.status <> 'FINISHED'")
q "$D" "UPDATE export_substage SET ended_at = ended_at - 8 * 86400"
q "$D" "UPDATE journal SET started_at = started_at - 31 * 86400 WHERE id <= 5"
out=$(ag "$D" cleanup) && echo "$out" | grep -q "cleanup: [1-9][0-9]* file(s) deleted" && echo "$out" | grep -q " 5 journal row(s)" && ok || bad "cleanup: $out"
left=$(find "$D/data/export" -name '*.csv' | wc -l)
[ "$left" = "$kept" ] && ok || bad "cleanup left $left file(s), want the $kept of sub-stages not FINISHED"
[ "$(q "$D" "SELECT count(*) FROM attachment a JOIN export_substage s ON s.id = a.substage_id WHERE s.status <> 'FINISHED' AND a.removed_at IS NOT NULL")" = 0 ] && ok || bad "cleanup removed a file not accepted"
out=$(ag "$D" cleanup) && echo "$out" | grep -q "cleanup: 0 file(s)" && ok || bad "second cleanup: $out"

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]

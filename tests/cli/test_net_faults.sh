#!/usr/bin/env bash
# test_net_faults.sh AGENT EMULATOR SOURCE_DIR - the service (`rdm-agent
# run`) delivers three rounds of dumps through a bad network:
# rdm-datamart-emulator answers 30% of all requests with 503, holds 5% past
# the client's timeout and drops 10% of uploads mid-body; and in the middle
# it is gone for OUTAGE seconds (default 60) while a round waits and the next
# one arrives in the inbox. Then:
#   - every record of every round arrives (replayed from what the emulator
#     accepted), and every file; a file arrives twice only after its whole
#     body left and no answer came (the emulator, held past the timeout,
#     may still take it, as a real datamart may: the protocol has no
#     idempotency key), and no more often than that happened;
#   - while the datamart is gone the service's CPU time stays under 5% of
#     the wall time (no busy loop);
#   - no retry waits longer than RETRY_BACKOFF_MAX_MS, and no offline pause
#     longer than OFFLINE_BACKOFF_MAX_MINUTES, as the service logs them;
#   - nothing is marked FAILED, and each fault really happened.
# Prints "N passed, N failed".
set -u
AGENT=$1 EMU=$2 SRC=$(cd "$3" && pwd) OUTAGE=${OUTAGE:-60}
. "$SRC/tests/cli/lib.sh"
t_begin netf
PROF=$SRC/tests/data/profiles/export.json
REPLAY="python3 $SRC/tests/tools/replay_emulator.py"
MAXMS=400

gen() { # round dir: names change each round, every 9th person leaves in
    # round 3; member.csv is what MEMBER should hold then
    mkdir -p "$2"
    awk -v r="$1" -v d="$2" 'BEGIN { print "id;name;born;active;score;seen;team_id;snils" >d "/person.csv"
        print "person_id;name;team" >d "/member.csv"
        for (i = 1; i <= 600 + 30 * r; i++) {
            if (r >= 3 && i % 9 == 0) continue
            name = "Имя " i; if (i % (r + 1) == 0) name = name " (" r ")"
            printf "%d;%s;2010-01-%02d;%d;1.%02d;2024-01-01 10:00:00;%d;%03d-%03d-%03d %02d\n", i, name, i % 28 + 1, i % 2, i % 100, i % 5 + 1, i % 1000, i % 999, i % 998, i % 97 >d "/person.csv"
            printf "%d;%s;%c\n", i, name, 65 + i % 5 >d "/member.csv" } }'
    printf 'id;title\n1;A\n2;B\n3;C\n4;D\n5;E\n' >"$2/team.csv"
}
for r in 1 2 3; do gen $r "$T/src/b$r"; done
feed() { # round: the bundle appears in the inbox at once (rename)
    mkdir "$T/stage-b$1" && cp "$T/src/b$1/person.csv" "$T/src/b$1/team.csv" "$T/stage-b$1/" &&
        mv "$T/stage-b$1" "$D/inbox/b$1"
}

emu() {
    emu_start --step-ms 300 --fail-rate 0.3 --fail-on all --fail-code 503 --delay-rate 0.05 \
        --delay-ms 1500 --drop-rate 0.1 --seed "${SEED:-$$}"
}
q() { sqlite3 "$D/data/rdm-agent.db" "$1"; }
unsent() { # files written and not yet answered by the datamart
    q "SELECT count(*) FROM attachment a WHERE size > 0 AND NOT EXISTS
         (SELECT 1 FROM upload_log u WHERE u.attachment_id = a.id AND u.request_id IS NOT NULL)"
}
arrived() { # round -> 0 when the store has nothing left to send and the
    # datamart holds exactly that round's persons and members
    [ "$(q "SELECT (SELECT count(*) FROM import_source WHERE phase < 3)
             + (SELECT count(*) FROM collect_substage WHERE status IN ('CREATED', 'IN_PROGRESS'))
             + (SELECT count(*) FROM export_substage WHERE status IN ('CREATED', 'IN_PROGRESS'))" 2>/dev/null)" = 0 ] &&
        [ "$(unsent 2>/dev/null)" = 0 ] &&
        $REPLAY "$T/emu.state" "$T/saved" person id "$T/src/b$1/person.csv" T name >"$T/replay.out" 2>&1 &&
        $REPLAY "$T/emu.state" "$T/saved" member person_id "$T/src/b$1/member.csv" T name team >"$T/replay.out" 2>&1
}
wait_arrived() { # round seconds
    for _ in $(seq $(($2 * 2))); do arrived "$1" && return 0; sleep 0.5; done
    return 1
}
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

emu
D=$T/svc; mkdir -p "$D/inbox"
printf '[rdm_general]\nEXPORT_ENTITY_ID_PREFIX = T\nEXPORT_CHUNK_SIZE = 50\n[agent]\nDATA_DIR = data\nPROFILE = %s\nLOG_LEVEL = debug\n[source]\nDUMP_DIR = inbox\nINBOX_SETTLE_SECONDS = 0\n[uploader_client]\nURL = http://127.0.0.1:%s\nENABLE_REQUEST_EMULATION = False\nREQUEST_RETRIES = 8\nREQUEST_TIMEOUT = 1\nRETRY_BACKOFF_MS = 50\nRETRY_BACKOFF_MAX_MS = %s\nOFFLINE_BACKOFF_MAX_MINUTES = 1\nMAX_CONNECTIONS = 2\nSTATUS_RECHECK_MINUTES = 1\n' \
    "$PROF" "$PORT" "$MAXMS" >"$D/rdm-agent.ini"
"$AGENT" --config "$D/rdm-agent.ini" init >/dev/null || bad "init"
RDM_SCHEDULE_SECONDS=1 "$AGENT" --config "$D/rdm-agent.ini" run >"$T/run.out" 2>"$T/run.err" &
RUN=$!; PIDS="$PIDS $RUN"

feed 1
wait_arrived 1 120 && ok || bad "round 1 did not arrive through the faults: $(tail -3 "$T/replay.out")"

# round 2 starts, then the datamart is gone for OUTAGE seconds; round 3
# arrives in the inbox meanwhile
feed 2
sleep 2
emu_stop
hz=$(getconf CLK_TCK)
c0=$(cpu_ticks $RUN) t0=$(date +%s%N)
sleep 5; feed 3
sleep $((OUTAGE - 5))
c1=$(cpu_ticks $RUN) t1=$(date +%s%N)
cpu_ms=$(((c1 - c0) * 1000 / hz)) wall_ms=$(((t1 - t0) / 1000000))
echo "outage: the service used $cpu_ms ms of CPU in $wall_ms ms"
[ $((cpu_ms * 20)) -lt $wall_ms ] && ok || bad "busy while the datamart was gone: $cpu_ms ms of CPU in $wall_ms ms"
grep -q "datamart: unreachable" "$T/run.err" && ok || bad "the outage was not noticed: $(grep -c . "$T/run.err") log lines"
emu
# back: within the offline pause (at most a minute) and the work, all arrives
wait_arrived 3 150 && ok || bad "round 3 did not arrive after the outage: $(tail -3 "$T/replay.out") $(grep -E "error|warning" "$T/run.err" | tail -3)"
kill -TERM $RUN; wait $RUN; rc=$?
[ $rc = 0 ] && ok || bad "service exit $rc"

# every file arrived; one arrives twice only when its whole body had left
# and no answer came (the datamart may have taken it: the protocol has no
# idempotency key), and never more often than that happened
n=$(q "SELECT count(*) FROM attachment WHERE size > 0")
acc=$(wc -l <"$T/emu.state")
distinct=$(for f in "$T"/saved/*.csv; do sha256sum "$f" | cut -d' ' -f1; done | sort -u | wc -l)
[ "$distinct" = "$n" ] && ok || bad "the datamart got $distinct distinct files, the store has $n"
unanswered=$(q "SELECT count(*) FROM journal WHERE method = 'POST' AND body_sha256 IS NOT NULL AND coalesce(http_status, 0) = 0 AND error IS NOT NULL")
[ $((acc - n)) -le "$unanswered" ] && ok || bad "$((acc - n)) files arrived twice, but only $unanswered whole bodies went unanswered"
[ "$(q "SELECT count(*) FROM export_substage WHERE status IN ('FAILED', 'PROCESS_ERROR')")" = 0 ] && ok || bad "sub-stages FAILED: $(q "SELECT id, status, error FROM export_substage WHERE status IN ('FAILED', 'PROCESS_ERROR') LIMIT 3")"
# backoffs as logged: "attempt N in X ms", "next attempt in S s", "tried again in S s"
worst=$(grep -o "attempt [0-9]* in [0-9]* ms" "$T/run.err" | awk '{ if ($4 > m) m = $4 } END { print m + 0 }')
retries=$(grep -c "attempt [0-9]* in [0-9]* ms" "$T/run.err")
[ "$retries" -gt 20 ] && [ "$worst" -le $MAXMS ] && ok || bad "retries: $retries, the longest wait $worst ms (cap $MAXMS)"
pause=$(grep -oE "(next attempt|tried again) in [0-9]+ s" "$T/run.err" | awk '{ if ($(NF-1) > m) m = $(NF-1) } END { print m + 0 }')
[ "$pause" -ge 1 ] && [ "$pause" -le 60 ] && ok || bad "offline pause $pause s (cap 60)"
echo "$acc files accepted for $n ($unanswered whole bodies unanswered); $retries retries, the longest $worst ms; the longest offline pause $pause s"
# the faults happened
inj=$(grep -c "(injected)" "$T/emu.log") late=$(grep -c "answering in" "$T/emu.log") drop=$(grep -c "dropping the connection" "$T/emu.log")
echo "faults: $inj answered 503, $late held past the timeout, $drop dropped mid-body"
[ "$inj" -gt 10 ] && [ "$late" -gt 0 ] && [ "$drop" -gt 0 ] && ok || bad "faults: $inj 503, $late late, $drop dropped"
if grep " error: " "$T/run.err" | grep -q .; then
    bad "errors in the service log: $(grep " error: " "$T/run.err" | head -3)"
else ok; fi

t_end

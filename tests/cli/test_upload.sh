#!/usr/bin/env bash
# test_upload.sh AGENT EMULATOR SOURCE_DIR - upload, check-status, resend and
# journal over real HTTP on loopback against rdm-datamart-emulator, one
# branch per scenario: success; 5xx then success; 400 not retried then
# resend; a connection dropped mid-body; 429 with Retry-After; a timeout;
# a run longer than its lock's life;
# a request taken late not overtaking the next file;
# offline then back online (nothing FAILED, backoff, no retry before it is
# due); FLC error -> PROCESS_ERROR -> resend -> success; proxy API token
# expiry (one re-authentication, no secret stored); the byte budget; a file
# altered on disk (never sent, re-exported); a later file of a sub-stage lost; TLS verification; emulation
# mode; status polling period and give-up. Prints "N passed, N failed".
set -u
AGENT=$1 EMU=$2 SRC=$3
T=$(mktemp -d /tmp/rdm-upload-XXXXXX)
EPID=""
cleanup() { [ -n "$EPID" ] && kill "$EPID" 2>/dev/null; wait 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT; [ -n "${KEEP:-}" ] && trap - EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
PROF=$SRC/tests/data/profiles/export.json
PORT=""

gen() { # persons dir
    mkdir -p "$2"
    awk -v n="$1" 'BEGIN { print "id;name;born;active;score;seen;team_id;snils"
        for (i = 1; i <= n; i++)
            printf "%d;Имя %d;2010-01-%02d;%d;1.%02d;2024-01-01 10:00:00;%d;%03d-%03d-%03d %02d\n", i, i, i % 28 + 1, i % 2, i % 100, i % 5 + 1, i % 1000, i % 999, i % 998, i % 97 }' >"$2/person.csv"
    printf 'id;title\n1;A\n2;B\n3;C\n4;D\n5;E\n' >"$2/team.csv"
}
gen 120 "$T/r1"

emu() { # start the emulator (extra flags...) on $PORT (a new one if empty)
    local listen=127.0.0.1:${PORT:-0}
    rm -f "$T/port"
    "$EMU" --state "$T/emu.state" --port-file "$T/port" --listen "$listen" --profile "$PROF" \
        --prefix T --save-dir "$T/saved" "$@" 2>>"$T/emu.log" &
    EPID=$!
    for _ in $(seq 100); do [ -s "$T/port" ] && break; sleep 0.05; done
    PORT=$(cat "$T/port" 2>/dev/null)
    [ -n "$PORT" ] || { bad "emulator did not start: $(tail -3 "$T/emu.log")"; return 1; }
}
emu_stop() { [ -n "$EPID" ] && kill "$EPID" 2>/dev/null; wait "$EPID" 2>/dev/null; EPID=""; }
mkdir -p "$T/saved"

setup() { # dir [extra [uploader_client] lines] -> a store with exported files
    mkdir -p "$1"
    printf '[rdm_general]\nEXPORT_ENTITY_ID_PREFIX = T\nEXPORT_CHUNK_SIZE = 40\n[agent]\nDATA_DIR = data\nPROFILE = %s\nLOG_LEVEL = warning\n[uploader_client]\nURL = %s\nENABLE_REQUEST_EMULATION = %s\nREQUEST_RETRIES = 3\nREQUEST_TIMEOUT = 2\nRETRY_BACKOFF_MS = 50\nRETRY_BACKOFF_MAX_MS = 200\n%s' \
        "$PROF" "${URL:-http://127.0.0.1:$PORT}" "${EMUL:-False}" "${2:-}" >"$1/rdm-agent.ini"
    ag "$1" init >/dev/null && ag "$1" import "$T/r1" >/dev/null 2>&1 && ag "$1" collect >/dev/null &&
        ag "$1" export >/dev/null || bad "setup $1"
}
ag() { local d=$1; shift; "$AGENT" --config "$d/rdm-agent.ini" "$@"; }
q() { sqlite3 "$1/data/rdm-agent.db" "$2"; }
accepted() { wc -l <"$T/emu.state" | tr -d ' '; }
# every body the emulator kept is byte for byte a registered attachment of $1
bodies_match() {
    local d=$1 f sha
    for f in "$T"/saved/*.csv; do
        [ -e "$f" ] || continue
        sha=$(sha256sum "$f" | cut -d' ' -f1)
        [ "$(q "$d" "SELECT count(*) FROM attachment WHERE sha256 = '$sha'")" -ge 1 ] || { echo "$f"; return 1; }
    done
}
files() { q "$1" "SELECT count(*) FROM attachment WHERE size > 0"; }

# ---- success: every file once, bytes as written, statuses asked, journal kept
emu --step-ms 0
D=$T/ok; setup "$D"
n=$(files "$D")
out=$(ag "$D" upload) && ok || bad "upload: $out"
echo "$out" | grep -q "$n file(s) sent" && ok || bad "upload sent: $out (want $n)"
[ "$(q "$D" "SELECT count(*) FROM export_substage WHERE status <> 'FINISHED'")" = 0 ] && ok || bad "not all sub-stages FINISHED"
[ "$(accepted)" = "$n" ] && ok || bad "emulator accepted $(accepted), want $n"
bodies_match "$D" >/dev/null && ok || bad "a body the emulator got is not an attachment's bytes"
[ "$(q "$D" "SELECT count(*) FROM upload_log WHERE request_id IS NOT NULL AND file_upload_status = 2 AND status_code = 3")" = "$n" ] && ok || bad "upload_log statuses"
[ "$(q "$D" "SELECT count(*) FROM journal WHERE method = 'POST' AND http_status = 200 AND body_sha256 IS NOT NULL")" = "$n" ] && ok || bad "journal of uploads"
[ "$(q "$D" "SELECT count(*) FROM status_request_log WHERE request_status = 3")" = "$n" ] && ok || bad "status_request_log"
q "$D" "SELECT request_headers FROM journal WHERE method = 'POST' LIMIT 1" | grep -qx "Content-Type: text/csv" && ok || bad "journal request headers"
out=$(ag "$D" upload) && echo "$out" | grep -q "0 file(s) sent" && ok || bad "second upload sent again: $out"
[ "$(accepted)" = "$n" ] && ok || bad "second upload reached the emulator"
out=$(ag "$D" journal --limit 3) && [ "$(echo "$out" | wc -l)" = 3 ] && echo "$out" | grep -q "GET http://127.0.0.1:$PORT/v2/requests/" && ok || bad "journal: $out"
out=$(ag "$D" journal --failed) && echo "$out" | grep -q "no failed exchanges" && ok || bad "journal --failed: $out"
out=$(ag "$D" journal --since 1h --limit 0) && [ "$(echo "$out" | wc -l)" = "$((2 * n))" ] && ok || bad "journal --since 1h"
ag "$D" journal --since yesterday >/dev/null 2>&1; [ $? = 2 ] && ok || bad "journal --since garbage is not a usage error"
emu_stop

# ---- a URL with a user and password: sent (curl makes it Basic
# authentication), never kept: the journal and the log show it masked
emu --step-ms 0
D=$T/cred; URL=http://rdm:S3crPw@127.0.0.1:$PORT setup "$D" 'MAX_CONNECTIONS = 1'
out=$(ag "$D" -v upload 2>"$T/cred.err") && ok || bad "URL with a password: $out $(tail -3 "$T/cred.err")"
[ "$(q "$D" "SELECT count(*) FROM journal WHERE url LIKE '%S3crPw%' OR request_headers LIKE '%S3crPw%'")" = 0 ] &&
    [ "$(q "$D" "SELECT count(*) FROM journal WHERE url LIKE 'http://rdm:********@127.0.0.1:%'")" -ge 1 ] && ok ||
    bad "the URL's password reached the journal: $(q "$D" "SELECT url FROM journal LIMIT 1")"
! grep -q S3crPw "$T/cred.err" && ok || bad "the URL's password reached the log"
out=$(ag "$D" journal --limit 0 2>&1) && ! echo "$out" | grep -q S3crPw && ok || bad "journal command shows the password"
emu_stop

# ---- 5xx then success; a dropped connection; 429 with Retry-After
emu --step-ms 0 --fail-first 2 --fail-code 503
D=$T/5xx; setup "$D" 'MAX_CONNECTIONS = 1'
n=$(files "$D"); before=$(accepted)
out=$(ag "$D" upload) && echo "$out" | grep -q "$n file(s) sent" && ok || bad "5xx then success: $out"
[ "$(q "$D" "SELECT count(*) FROM journal WHERE http_status = 503")" = 2 ] && ok || bad "two 503 in the journal"
[ "$(q "$D" "SELECT max(attempt) FROM journal")" = 3 ] && ok || bad "third attempt succeeded"
[ $(($(accepted) - before)) = "$n" ] && ok || bad "5xx: accepted $(($(accepted) - before)), want $n"
emu_stop
emu --step-ms 0 --drop-first 1
D=$T/drop; setup "$D"
n=$(files "$D"); before=$(accepted)
out=$(ag "$D" upload) && echo "$out" | grep -q "$n file(s) sent" && ok || bad "dropped connection: $out"
[ "$(q "$D" "SELECT count(*) FROM journal WHERE http_status IS NULL AND error IS NOT NULL")" -ge 1 ] && ok || bad "dropped connection not journaled"
[ $(($(accepted) - before)) = "$n" ] && ok || bad "drop: accepted $(($(accepted) - before)), want $n"
emu_stop
emu --step-ms 0 --fail-first 1 --fail-code 429 --retry-after 2
D=$T/429; setup "$D" 'MAX_CONNECTIONS = 1'
out=$(ag "$D" upload) && ok || bad "429: $out"
gap=$(q "$D" "SELECT (SELECT started_at FROM journal WHERE id = 2) - (SELECT started_at FROM journal WHERE id = 1)")
[ "$(q "$D" "SELECT http_status FROM journal WHERE id = 1")" = 429 ] && [ "$gap" -ge 1 ] && ok || bad "Retry-After not honoured (gap $gap s)"
emu_stop

# ---- 400 is not retried: FAILED with the answer; resend sends it again
emu --step-ms 0 --fail-first 1 --fail-code 400
D=$T/400; setup "$D" 'MAX_CONNECTIONS = 1'
out=$(ag "$D" upload 2>&1); rc=$?
[ $rc = 1 ] && ok || bad "400: exit $rc: $out"
[ "$(q "$D" "SELECT count(*) FROM journal WHERE http_status = 400")" = 1 ] && ok || bad "400 retried"
sub=$(q "$D" "SELECT id FROM export_substage WHERE status = 'FAILED'")
[ -n "$sub" ] && q "$D" "SELECT error FROM export_substage WHERE id = $sub" | grep -q "refused.*HTTP 400" && ok || bad "400: sub-stage $sub not FAILED with the reason"
# cleanup keeps a refused sub-stage's files past FAILED_DAYS: resend needs them
q "$D" "UPDATE export_substage SET ended_at = ended_at - 40 * 86400 WHERE id = $sub"
ag "$D" cleanup >/dev/null 2>&1 && [ "$(q "$D" "SELECT count(*) FROM attachment WHERE substage_id = $sub AND removed_at IS NOT NULL")" = 0 ] && ok || bad "400: cleanup removed the files of the refused sub-stage $sub"
out=$(ag "$D" resend "$sub") && echo "$out" | grep -q "1 sub-stage(s) back" && ok || bad "resend $sub: $out"
out=$(ag "$D" upload) && [ "$(q "$D" "SELECT count(*) FROM export_substage WHERE status <> 'FINISHED'")" = 0 ] && ok || bad "after resend: $out"
ag "$D" resend "$sub" >/dev/null 2>&1; [ $? = 1 ] && ok || bad "resend of a FINISHED sub-stage accepted"
ag "$D" resend 999999 >/dev/null 2>&1; [ $? = 1 ] && ok || bad "resend of an unknown sub-stage accepted"
emu_stop

# ---- a refused file fails its sub-stage: no other file of that sub-stage
# goes (its entity's next files wait for the next choice); here the
# refused file is the CREATE file of a sub-stage that also has an UPDATE one
emu --step-ms 0
D=$T/400b; setup "$D" 'MAX_CONNECTIONS = 1'
ag "$D" upload >/dev/null || bad "400b: first upload"
mkdir -p "$T/r1b"; cp "$T/r1/team.csv" "$T/r1b/"
awk -F';' 'NR > 1 && $1 <= 10 { sub(/^[0-9]+;Имя [0-9]+/, $1 ";Другое имя " $1) } { print }
    END { for (i = 121; i <= 130; i++) printf "%d;Новый %d;;;;;1;\n", i, i }' "$T/r1/person.csv" >"$T/r1b/person.csv"
ag "$D" import "$T/r1b" >/dev/null && ag "$D" collect >/dev/null && ag "$D" export >/dev/null || bad "400b: second export"
sub=$(q "$D" "SELECT substage_id FROM attachment WHERE size > 0 AND substage_id NOT IN (SELECT substage_id FROM upload_log) GROUP BY substage_id HAVING count(*) > 1 ORDER BY substage_id LIMIT 1")
first=$(q "$D" "SELECT min(substage_id) FROM attachment WHERE size > 0 AND substage_id NOT IN (SELECT substage_id FROM upload_log)")
[ -n "$sub" ] && [ "$sub" = "$first" ] && ok || bad "400b: the first new sub-stage ($first) should have two files ($sub)"
emu_stop
emu --step-ms 0 --fail-first 1 --fail-code 400
out=$(ag "$D" upload 2>&1); rc=$?
[ $rc = 1 ] && [ "$(q "$D" "SELECT status FROM export_substage WHERE id = $sub")" = FAILED ] && ok || bad "400b: exit $rc, sub-stage $sub $(q "$D" "SELECT status FROM export_substage WHERE id = $sub"): $out"
n=$(q "$D" "SELECT count(*) FROM upload_log WHERE substage_id = $sub")
[ "$n" = 1 ] && ok || bad "400b: $n files of the FAILED sub-stage $sub were sent, want 1 (the refused one)"
[ "$(q "$D" "SELECT count(*) FROM export_substage WHERE status = 'READY_FOR_EXPORT'")" = 0 ] && ok || bad "400b: the other sub-stages were not all sent"
emu_stop

# ---- a timeout: no answer within REQUEST_TIMEOUT, retried
emu --step-ms 0 --delay-ms 4000 --delay-first 1
D=$T/slow; setup "$D" 'MAX_CONNECTIONS = 1'
out=$(ag "$D" upload) && ok || bad "timeout then success: $out"
q "$D" "SELECT error FROM journal WHERE id = 1" | grep -q "timeout" && ok || bad "timeout not journaled: $(q "$D" "SELECT error FROM journal WHERE id = 1")"
[ "$(q "$D" "SELECT count(*) FROM export_substage WHERE status <> 'FINISHED'")" = 0 ] && ok || bad "timeout: not all FINISHED"
emu_stop

# ---- a run longer than its lock's life keeps the lock: its commits renew
# it, so a second upload started meanwhile is refused, not let in
emu --step-ms 0 --delay-ms 1000 --delay-rate 1
D=$T/long; setup "$D" $'MAX_CONNECTIONS = 1\n'
printf '[rdm_transfer_task]\nLOCK_EXPIRE_SECONDS = 3\n' >>"$D/rdm-agent.ini"
n=$(files "$D"); before=$(accepted)
ag "$D" upload >"$T/long.out" 2>&1 &
lp=$!
sleep 4.5
out=$(ag "$D" upload 2>&1); rc=$?
[ $rc != 0 ] && echo "$out" | grep -q "store is busy" && ok || bad "a second upload past the lock's life: exit $rc: $out"
wait $lp && ok || bad "long upload: $(cat "$T/long.out")"
[ $(($(accepted) - before)) = "$n" ] && ok || bad "long upload: accepted $(($(accepted) - before)), want $n"
emu_stop

# ---- a late request may not overtake: the datamart takes the first file
# 4.5 s after it came, long after the agent gave up (3 s) and sent it again;
# the entity's next files (the last of them changes persons 1-10 again)
# wait one more timeout, so the late copy lands before them, not after
rm -f "$T/emu.state"
emu --step-ms 0 --delay-ms 4500 --delay-first 1
D=$T/late; setup "$D" 'MAX_CONNECTIONS = 1'
ag "$D" import "$T/r1b" >/dev/null && ag "$D" collect >/dev/null && ag "$D" export >/dev/null || bad "late: second export"
out=$(RDM_UPLOADER_CLIENT_REQUEST_TIMEOUT=3 ag "$D" -v upload 2>"$T/late.err") && ok || bad "late: upload: $out $(tail -3 "$T/late.err")"
sleep 2 # past the emulator's hold, were the agent not to wait
grep -q "answering in 4500 ms" "$T/emu.log" && ok || bad "late: the emulator held nothing"
grep -q "went unanswered after the whole file left" "$T/late.err" && ok || bad "late: no wait logged: $(cat "$T/late.err")"
python3 "$SRC/tests/tools/replay_emulator.py" "$T/emu.state" "$T/saved" person id "$T/r1b/person.csv" T name >"$T/late.out" 2>&1 &&
    ok || bad "late: the datamart holds stale records: $(head -3 "$T/late.out") $(tail -1 "$T/late.out")"
emu_stop

# ---- offline, then back: nothing FAILED, noticed once, no retry before due
D=$T/off; URL=http://127.0.0.1:$PORT setup "$D" 'MAX_CONNECTIONS = 1'
out=$(ag "$D" upload 2>"$T/off.err"); rc=$?
[ $rc = 1 ] && ok || bad "offline: exit $rc"
grep -q "unreachable" "$T/off.err" && ok || bad "offline not reported: $(cat "$T/off.err")"
[ "$(grep -c "unreachable" "$T/off.err")" -le 2 ] && ok || bad "offline reported file after file: $(cat "$T/off.err")"
[ "$(q "$D" "SELECT count(*) FROM export_substage WHERE status = 'FAILED'")" = 0 ] && ok || bad "offline marked sub-stages FAILED"
[ "$(q "$D" "SELECT count(*) FROM journal")" = 4 ] && ok || bad "offline: $(q "$D" "SELECT count(*) FROM journal") exchanges, want 4 (one file, 1 + 3 retries)"
# the files chosen with it and never sent leave no intent behind (the next
# run would report them as interrupted sends)
[ "$(q "$D" "SELECT count(*) FROM upload_log")" = 1 ] && ok || bad "offline: $(q "$D" "SELECT count(*) FROM upload_log") upload_log rows, want 1 (the file tried)"
[ "$(q "$D" "SELECT offline_since IS NOT NULL AND next_try > strftime('%s','now') FROM dm_reach")" = 1 ] && ok || bad "dm_reach not set"
# before next_try: nothing tried, and the command fails (exit 1: a transfer
# from cron must not report success through an outage)
out=$(ag "$D" upload 2>"$T/due.err"); rc=$?
[ $rc = 1 ] && echo "$out" | grep -q "next attempt at" && grep -q "unreachable at the last attempt" "$T/due.err" && ok ||
    bad "upload before next_try: exit $rc, $out $(cat "$T/due.err")"
[ "$(q "$D" "SELECT count(*) FROM journal")" = 4 ] && ok || bad "upload tried before next_try"
emu --step-ms 0
n=$(files "$D")
out=$(ag "$D" upload --force) && echo "$out" | grep -q "$n file(s) sent" && ok || bad "back online: $out"
[ "$(q "$D" "SELECT offline_since IS NULL AND next_try IS NULL FROM dm_reach")" = 1 ] && ok || bad "dm_reach not cleared"
emu_stop

# ---- FLC error -> PROCESS_ERROR -> resend -> success (the emulator judges
# with another prefix first: every file fails its ФЛК)
"$EMU" --state "$T/emu.state" --port-file "$T/port" --listen 127.0.0.1:$PORT --profile "$PROF" \
    --prefix Z --step-ms 0 2>>"$T/emu.log" & EPID=$!
for _ in $(seq 100); do [ -s "$T/port" ] && break; sleep 0.05; done
D=$T/flc; setup "$D"
out=$(ag "$D" upload) && ok || bad "flc upload: $out"
n=$(q "$D" "SELECT count(*) FROM export_substage WHERE status = 'PROCESS_ERROR'")
[ "$n" -ge 1 ] && [ "$n" = "$(q "$D" "SELECT count(DISTINCT substage_id) FROM attachment")" ] && ok || bad "FLC errors: $n PROCESS_ERROR"
q "$D" "SELECT error FROM export_substage WHERE status = 'PROCESS_ERROR' LIMIT 1" | grep -q "7 FLC_ERROR «Ошибки ФЛК»" && ok || bad "PROCESS_ERROR reason"
# each sub-stage counted once in the summary (they were counted finished
# and then process error too: 12 for 6)
echo "$out" | grep -q "sub-stages: 0 finished, $n process error" && ok || bad "flc upload summary: $out"
emu_stop
emu --step-ms 0
out=$(ag "$D" resend --all) && echo "$out" | grep -q "$n sub-stage(s) back" && ok || bad "resend --all: $out"
out=$(ag "$D" upload) && [ "$(q "$D" "SELECT count(*) FROM export_substage WHERE status <> 'FINISHED'")" = 0 ] && ok || bad "after resend --all: $out"
[ "$(q "$D" "SELECT count(DISTINCT round) FROM upload_log")" = 2 ] && ok || bad "resend is not a new round"
emu_stop
# an earlier round's answer comes after a resend: it is kept for its own
# request, but leaves the sub-stage's new round alone (the files go out
# while the ФЛК still works on the first ones, which then fail)
rm -f "$T/port"
"$EMU" --state "$T/emu.state" --port-file "$T/port" --listen 127.0.0.1:$PORT --profile "$PROF" \
    --prefix Z --step-ms 1000 2>>"$T/emu.log" & EPID=$!
for _ in $(seq 100); do [ -s "$T/port" ] && break; sleep 0.05; done
D=$T/flc2; setup "$D"
out=$(ag "$D" upload) && ok || bad "flc2 upload: $out"
[ "$(q "$D" "SELECT count(*) FROM export_substage WHERE status = 'PROCESS_ERROR'")" = 0 ] && ok || bad "flc2: a ФЛК answer before its time"
q "$D" "UPDATE export_substage SET status = 'PROCESS_ERROR'"
ag "$D" resend --all >/dev/null || bad "flc2: resend --all"
emu_stop
sleep 3 # the first round's files reach their ФЛК errors (three steps)
emu --step-ms 0
out=$(ag "$D" check-status --force) || bad "flc2: check-status: $out"
[ "$(q "$D" "SELECT count(*) FROM upload_log WHERE round = 0 AND status_code = 7")" = "$(files "$D")" ] && ok || bad "flc2: the first round's answers were not kept"
[ "$(q "$D" "SELECT count(*) FROM export_substage WHERE status <> 'READY_FOR_EXPORT'")" = 0 ] && ok || bad "flc2: an earlier round's answer failed the new round"
out=$(ag "$D" upload) && [ "$(q "$D" "SELECT count(*) FROM export_substage WHERE status <> 'FINISHED'")" = 0 ] && ok || bad "flc2: after the new round: $out"
emu_stop

# ---- the datamart answers 503 to every file: the backoff counts one
# failure for the run, not one per file
emu --step-ms 0 --fail-rate 1 --fail-code 503
D=$T/busy; setup "$D"
ag "$D" upload >/dev/null 2>"$T/busy.err"
[ "$(q "$D" "SELECT count(DISTINCT substage_id) FROM upload_log")" -ge 2 ] && ok || bad "busy: fewer than two files tried at once"
[ "$(q "$D" "SELECT failures FROM dm_reach")" = 1 ] && ok || bad "busy: $(q "$D" "SELECT failures FROM dm_reach") failures counted for one run"
[ "$(grep -c "warning: datamart: unreachable" "$T/busy.err")" = 1 ] && ok || bad "busy: reported file after file: $(cat "$T/busy.err")"
emu_stop

# ---- a gateway's 504 after the whole file left: the datamart may still
# take the file, so the next files wait one more timeout, as when no answer
# comes at all
emu --step-ms 0 --fail-first 1 --fail-code 504
D=$T/gw; setup "$D" 'MAX_CONNECTIONS = 1'
sed -i 's/^LOG_LEVEL = warning/LOG_LEVEL = info/' "$D/rdm-agent.ini"
ag "$D" upload >/dev/null 2>"$T/gw.err" || bad "gw: upload: $(cat "$T/gw.err")"
grep -q "1 upload(s) went unanswered after the whole file left" "$T/gw.err" && ok || bad "gw: no wait after the 504: $(cat "$T/gw.err")"
emu_stop

# ---- the datamart asks to come back in an hour (a Retry-After past the
# 300 s a request waits for): the next try is as far as the cap allows
# (OFFLINE_BACKOFF_MAX_MINUTES, 30), not the backoff's minute; for uploads
# and for status requests
emu --step-ms 0 --fail-rate 1 --fail-code 503 --retry-after 3600
D=$T/later; setup "$D"
ag "$D" upload >/dev/null 2>&1
[ "$(q "$D" "SELECT next_try - strftime('%s','now') BETWEEN 1700 AND 1800 FROM dm_reach")" = 1 ] && ok || bad "later: next try in $(q "$D" "SELECT next_try - strftime('%s','now') FROM dm_reach") s, want 1800"
emu_stop
emu --step-ms 1000
D=$T/later2; setup "$D"
ag "$D" upload >/dev/null || bad "later2: upload"
emu_stop
emu --step-ms 1000 --fail-on status --fail-rate 1 --fail-code 503 --retry-after 3600
ag "$D" check-status --force >/dev/null 2>&1
[ "$(q "$D" "SELECT next_try - strftime('%s','now') BETWEEN 1700 AND 1800 FROM dm_reach")" = 1 ] && ok || bad "later2: next try in $(q "$D" "SELECT next_try - strftime('%s','now') FROM dm_reach") s, want 1800"
emu_stop

# ---- proxy API: token, wrapped paths, expiry -> one re-authentication
emu --step-ms 0 --username school --password 'p@ss w0rd;secret' --expire-tokens-after 3
D=$T/proxy; setup "$D" "USE_PROXY_API = True
USERNAME = school
PASSWORD = p@ss w0rd;secret
ORGANIZATION_OGRN = 1027700000000
INSTALLATION_NAME = school-1
INSTALLATION_ID = 42
MAX_CONNECTIONS = 1"
n=$(files "$D")
out=$(ag "$D" upload 2>"$T/proxy.err") && echo "$out" | grep -q "$n file(s) sent" && ok || bad "proxy: $out $(cat "$T/proxy.err")"
[ "$(q "$D" "SELECT count(*) FROM journal WHERE url LIKE '%/api/v1/auth_system'")" -ge 2 ] && ok || bad "no re-authentication after expiry"
[ "$(q "$D" "SELECT count(*) FROM journal WHERE http_status = 401")" -ge 1 ] && ok || bad "no 401 seen"
q "$D" "SELECT url FROM journal WHERE method = 'POST' AND url LIKE '%/upload' LIMIT 1" | grep -q "/api/v1/secure/1027700000000/test/school-1/42/v2/datamarts/test/tables/" && ok || bad "proxy path"
[ "$(q "$D" "SELECT count(*) FROM export_substage WHERE status <> 'FINISHED'")" = 0 ] && ok || bad "proxy: not all FINISHED"
sqlite3 "$D/data/rdm-agent.db" .dump >"$T/dump.sql"
grep -q "w0rd" "$T/dump.sql" "$T/proxy.err" && bad "the password is stored or logged" || ok
grep -o "Bearer [^*][^\\n]*" "$T/dump.sql" | grep -q . && bad "a token is stored" || ok
grep -q "access_token" "$T/dump.sql" && bad "a token answer is stored" || ok
q "$D" "SELECT request_headers FROM journal WHERE url LIKE '%/upload' LIMIT 1" | grep -qx "Authorization: Bearer \*\*\*" && ok || bad "Authorization not redacted"
# wrong password: a clear message naming the keys
sed -i 's/^PASSWORD = .*/PASSWORD = wrong/' "$D/rdm-agent.ini"
q "$D" "UPDATE export_substage SET status = 'PROCESS_ERROR' WHERE id = (SELECT min(id) FROM export_substage)"
ag "$D" resend --all >/dev/null
out=$(ag "$D" upload 2>&1); rc=$?
[ $rc != 0 ] && echo "$out" | grep -q "USERNAME, PASSWORD" && ok || bad "wrong password: exit $rc: $out"
emu_stop

# ---- the byte budget: statuses stay in progress, nothing past the budget
emu --step-ms 600000
D=$T/budget; setup "$D" 'UPLOAD_QUEUE_MAX_SIZE = 3000'
out=$(ag "$D" upload) && echo "$out" | grep -q "UPLOAD_QUEUE_MAX_SIZE (3000 bytes) reached" && ok || bad "budget: $out"
sent=$(q "$D" "SELECT count(*) FROM upload_log WHERE request_id IS NOT NULL")
inflight=$(q "$D" "SELECT sum(a.size) FROM upload_log l JOIN attachment a ON a.id = l.attachment_id WHERE l.file_upload_status = 1")
big=$(q "$D" "SELECT max(size) FROM attachment")
[ "$sent" -ge 1 ] && { [ "$inflight" -le 3000 ] || [ "$sent" = 1 ]; } && ok || bad "budget: $sent sent, $inflight bytes in flight"
out=$(ag "$D" upload) && echo "$out" | grep -q "0 file(s) sent" && ok || bad "budget: second upload sent: $out"
out=$(ag "$D" check-status) && echo "$out" | grep -q "0 asked" && ok || bad "check-status asked before STATUS_RECHECK_MINUTES: $out"
out=$(ag "$D" check-status --force) && echo "$out" | grep -q "$sent asked: 0 processed, 0 error, $sent in progress" && ok || bad "check-status --force: $out"
# give-up: an upload older than STATUS_GIVE_UP_DAYS is no longer polled, and
# no longer holds the budget
q "$D" "UPDATE upload_log SET created_at = created_at - 8 * 86400"
# not while the datamart cannot be asked (an outage as long as the wait)
emu_stop
ag "$D" check-status --force >/dev/null 2>&1
[ "$(q "$D" "SELECT count(*) FROM upload_log WHERE gave_up_at IS NOT NULL")" = 0 ] && ok || bad "give-up while the datamart could not be asked"
emu --step-ms 600000
out=$(ag "$D" check-status --force 2>"$T/giveup.err") && echo "$out" | grep -q "$sent given up" && ok || bad "give-up: $out"
grep -q "no longer polled" "$T/giveup.err" && ok || bad "give-up not reported"
out=$(ag "$D" check-status --force) && echo "$out" | grep -q "0 asked" && ok || bad "given-up uploads still polled: $out"
out=$(ag "$D" upload) && ! echo "$out" | grep -q " 0 file(s) sent" && ok || bad "budget not freed by give-up: $out"
emu_stop
# statuses that resolve: in progress, then processed
emu --step-ms 1000
D=$T/poll; setup "$D" 'MAX_CONNECTIONS = 4'
ag "$D" upload >/dev/null || bad "poll upload"
[ "$(q "$D" "SELECT count(*) FROM upload_log WHERE file_upload_status = 1")" -ge 1 ] && ok || bad "nothing in progress after upload"
# the emulator restarts: ids and their statuses are kept (an unknown id would be 5)
emu_stop
emu --step-ms 1000
sleep 3.2
out=$(ag "$D" check-status --force) && echo "$out" | grep -q " 0 in progress" && ok || bad "poll: $out"
[ "$(q "$D" "SELECT count(*) FROM upload_log WHERE file_upload_status <> 2")" = 0 ] && ok || bad "poll: not all processed"
emu_stop
# one connection: the status requests go back to back, not a second apart
# (a freed connection starts the next request at once)
emu --step-ms 600000
D=$T/serial; setup "$D" 'MAX_CONNECTIONS = 1'
ag "$D" upload >/dev/null || bad "serial upload"
n=$(q "$D" "SELECT count(*) FROM upload_log WHERE file_upload_status = 1")
t0=$(date +%s%N)
out=$(ag "$D" check-status --force) && echo "$out" | grep -q " $n in progress" && ok || bad "serial statuses: $out"
ms=$((($(date +%s%N) - t0) / 1000000))
# (under valgrind, RDM_SLOW, the time says nothing)
[ "$n" -ge 4 ] && { [ -n "${RDM_SLOW:-}" ] || [ $ms -lt 1500 ]; } && ok || bad "$n status requests over one connection took $ms ms"
emu_stop

# ---- a file altered on disk before sending: never sent, re-exported
emu --step-ms 0
D=$T/alter; setup "$D" 'MAX_CONNECTIONS = 1'
rm -f "$T"/saved/*
f=$(q "$D" "SELECT a.path FROM attachment a JOIN export_substage s ON s.id = a.substage_id WHERE s.entity = 'PERSON' ORDER BY a.id LIMIT 1")
sub=$(q "$D" "SELECT substage_id FROM attachment WHERE path = '$f'")
sed -i '2s/"T-/"X-/' "$D/data/$f"
out=$(ag "$D" upload 2>"$T/alter.err"); rc=$?
[ $rc = 1 ] && grep -q "SHA-256 is not the one recorded" "$T/alter.err" && ok || bad "altered file: exit $rc $(cat "$T/alter.err")"
[ "$(q "$D" "SELECT status || reexport FROM export_substage WHERE id = $sub")" = FAILED1 ] && ok || bad "altered: sub-stage $sub not FAILED for re-export"
bodies_match "$D" >/dev/null && ok || bad "altered bytes reached the emulator"
out=$(ag "$D" export 2>&1) && echo "$out" | grep -q "1 sub-stage(s)" && ok || bad "re-export: $out"
[ "$(q "$D" "SELECT count(*) FROM export_substage WHERE retry_of = $sub AND status = 'READY_FOR_EXPORT'")" = 1 ] && ok || bad "no re-export of $sub"
r=$(q "$D" "SELECT records FROM export_substage WHERE id = $sub")
[ "$(q "$D" "SELECT records FROM export_substage WHERE retry_of = $sub")" = "$r" ] && ok || bad "re-export holds other records than $sub"
out=$(ag "$D" upload) && [ "$(q "$D" "SELECT count(*) FROM export_substage WHERE status = 'READY_FOR_EXPORT'")" = 0 ] && ok || bad "after re-export: $out"
bodies_match "$D" >/dev/null && ok || bad "a body does not match"
# a file gone: the same
f=$(q "$D" "SELECT a.path FROM attachment a JOIN export_substage s ON s.id = a.substage_id WHERE s.status = 'FINISHED' ORDER BY a.id DESC LIMIT 1")
sub=$(q "$D" "SELECT substage_id FROM attachment WHERE path = '$f'")
q "$D" "UPDATE export_substage SET status = 'PROCESS_ERROR' WHERE id = $sub"
ag "$D" resend "$sub" >/dev/null && rm "$D/data/$f"
ag "$D" upload >/dev/null 2>"$T/gone.err"; grep -qE "missing or unreadable|is missing" "$T/gone.err" && ok || bad "missing file: $(cat "$T/gone.err")"
ag "$D" export >/dev/null 2>&1 && ag "$D" upload >/dev/null && ok || bad "missing file: re-export and upload"
[ "$(q "$D" "SELECT count(*) FROM export_substage WHERE retry_of = $sub AND status = 'FINISHED'")" = 1 ] && ok || bad "missing file not re-exported"
emu_stop

# ---- a later file of a sub-stage lost or altered (same size) before its
# first file left: none of the sub-stage goes, and its re-export sends every
# record once (found only at the later file's turn, the CREATE file sent
# before it went again)
emu --step-ms 0
for how in rm alter; do
    D=$T/sibling-$how; setup "$D" 'MAX_CONNECTIONS = 1'
    ag "$D" upload >/dev/null || bad "sibling $how: first upload"
    ag "$D" import "$T/r1b" >/dev/null && ag "$D" collect >/dev/null && ag "$D" export >/dev/null || bad "sibling $how: second export"
    sub=$(q "$D" "SELECT substage_id FROM attachment WHERE size > 0 AND substage_id NOT IN (SELECT substage_id FROM upload_log) GROUP BY substage_id HAVING count(*) > 1 ORDER BY substage_id LIMIT 1")
    f=$(q "$D" "SELECT path FROM attachment WHERE substage_id = ${sub:-0} AND size > 0 ORDER BY operation DESC LIMIT 1")
    if [ $how = rm ]; then rm -f "$D/data/$f"; else sed -i '2s/"T-/"X-/' "$D/data/$f"; fi
    [ -n "$sub" ] && [ -n "$f" ] && ok || bad "sibling $how: no sub-stage with two files ($sub, $f)"
    rm -f "$T"/saved/*
    ag "$D" upload >/dev/null 2>"$T/sib.err"; rc=$?
    [ $rc = 1 ] && grep -q "no file of this sub-stage" "$T/sib.err" && ok || bad "sibling $how: exit $rc $(cat "$T/sib.err")"
    [ "$(q "$D" "SELECT status || reexport FROM export_substage WHERE id = ${sub:-0}")" = FAILED1 ] && ok || bad "sibling $how: sub-stage $sub not FAILED for re-export"
    [ "$(q "$D" "SELECT count(*) FROM upload_log WHERE substage_id = ${sub:-0}")" = 0 ] && ok || bad "sibling $how: a file of sub-stage $sub was sent"
    ag "$D" export >/dev/null 2>&1 && ag "$D" upload >/dev/null 2>&1 && ok || bad "sibling $how: re-export and upload"
    [ "$(q "$D" "SELECT count(*) FROM export_substage WHERE status <> 'FINISHED' AND id <> ${sub:-0}")" = 0 ] && ok || bad "sibling $how: sub-stages left unsent"
    # every changed or new person went once since: 1-10 changed, 121-130 new
    n=$(cat "$T"/saved/*.person.* | grep -cE '^"T-([1-9]|10|12[1-9]|130)";')
    [ "$n" = 20 ] && ok || bad "sibling $how: $n lines of the 20 changed or new persons reached the datamart, want 20"
done
emu_stop

# ---- a window split over several sub-stages (team 1 renamed: its 24
# members' roster records, 7 a sub-stage) with a file of its second
# sub-stage lost: none of the window goes, its re-export sends each once
# (before, the first sub-stage went, and the re-export of the whole window
# sent its records again)
(
    PROF=$SRC/tests/data/profiles/export-fanout.json
    export RDM_GENERAL_EXPORT_CHUNK_SIZE=7
    emu --step-ms 0
    D=$T/split; setup "$D" 'MAX_CONNECTIONS = 1'
    ag "$D" upload >/dev/null || bad "split: first upload"
    mkdir -p "$T/r1t"; cp "$T/r1/person.csv" "$T/r1t/"; sed '2s/;A$/;A2/' "$T/r1/team.csv" >"$T/r1t/team.csv"
    ag "$D" import "$T/r1t" >/dev/null && ag "$D" collect >/dev/null && ag "$D" export >/dev/null || bad "split: second export"
    stage=$(q "$D" "SELECT max(stage_id) FROM export_substage")
    [ "$(q "$D" "SELECT count(DISTINCT lo_chg || ',' || lo_rid || ',' || hi_chg || ',' || hi_rid) || ' ' || count(*) FROM export_substage WHERE stage_id = $stage")" = "1 4" ] && ok || bad "split: want one window over 4 sub-stages: $(q "$D" "SELECT id, lo_chg, hi_chg, records FROM export_substage WHERE stage_id = $stage")"
    f=$(q "$D" "SELECT a.path FROM attachment a JOIN export_substage s ON s.id = a.substage_id WHERE s.stage_id = $stage ORDER BY s.id LIMIT 1 OFFSET 1")
    rm -f "$T"/saved/* "$D/data/$f"
    ag "$D" upload >/dev/null 2>"$T/split.err"; rc=$?
    [ $rc = 1 ] && grep -q "3 more sub-stage(s) of ROSTER from the same export window held back" "$T/split.err" && ok || bad "split: exit $rc $(cat "$T/split.err")"
    [ "$(q "$D" "SELECT count(*) FROM upload_log l JOIN export_substage s ON s.id = l.substage_id WHERE s.stage_id = $stage")" = 0 ] && ok || bad "split: a file of the lost window was sent"
    ag "$D" export >/dev/null 2>&1 && ag "$D" upload >/dev/null 2>&1 && ok || bad "split: re-export and upload"
    [ "$(q "$D" "SELECT count(*) FROM export_substage WHERE status = 'READY_FOR_EXPORT'")" = 0 ] && ok || bad "split: sub-stages left unsent"
    n=$(cat "$T"/saved/* | grep -c ';"A2";')
    d=$(cat "$T"/saved/* | grep ';"A2";' | sort | uniq -d | wc -l)
    [ "$n" = 24 ] && [ "$d" = 0 ] && ok || bad "split: $n roster lines of team A2 reached the datamart ($d twice), want 24 once each"
    emu_stop
    echo "$pass $fail" >"$T/split.res"
)
read -r pass fail <"$T/split.res"

# ---- kill -9 at every fault point of an upload, then a rerun: every file
# accepted once (an answer journaled before the kill gives its id back)
emu --step-ms 0
for k in 1 2 3 4 5 6 7; do
    D=$T/kill$k; setup "$D" 'MAX_CONNECTIONS = 1'
    n=$(files "$D"); before=$(accepted)
    RDM_FAULT_KILL_AT=$k ag "$D" upload >/dev/null 2>&1; rc=$?
    [ $rc = 137 ] || bad "kill at $k: exit $rc, not killed"
    ag "$D" upload >/dev/null 2>"$T/kill.err" || bad "rerun after kill at $k: $(cat "$T/kill.err")"
    [ $(($(accepted) - before)) = "$n" ] && ok || bad "kill at $k: $(($(accepted) - before)) accepted, want $n"
    [ "$(q "$D" "SELECT count(*) FROM export_substage WHERE status = 'READY_FOR_EXPORT'")" = 0 ] && ok || bad "kill at $k: sub-stages left"
done
# an answer journaled before the kill that is not a request id (a proxy's
# page with 200): the rerun does not take it for one, and sends the file,
# which was in flight at the kill, again
D=$T/killpage; setup "$D" 'MAX_CONNECTIONS = 1'
n=$(files "$D"); before=$(accepted)
RDM_FAULT_KILL_AT=2 ag "$D" upload >/dev/null 2>&1; rc=$?
[ $rc = 137 ] || bad "kill at the journaled answer: exit $rc, not killed"
pending="SELECT journal_id FROM upload_log WHERE request_id IS NULL AND journal_id IS NOT NULL"
[ "$(q "$D" "SELECT count(*) FROM ($pending)")" = 1 ] && ok || bad "killpage: no answer journaled before the kill"
q "$D" "UPDATE journal SET response_text = '<html><body>Accepted</body></html>' WHERE id = ($pending)"
ag "$D" upload >/dev/null 2>"$T/kill.err" || bad "rerun after the page: $(cat "$T/kill.err")"
[ "$(q "$D" "SELECT count(*) FROM upload_log WHERE request_id LIKE '<%'")" = 0 ] && ok || bad "killpage: a page was taken for a request id"
[ $(($(accepted) - before)) = "$((n + 1))" ] && ok || bad "killpage: $(($(accepted) - before)) accepted, want $((n + 1)) (the file in flight sent again)"
emu_stop

# ---- cleanup keeps the journalled answer a killed upload's rerun needs
# (else that file, taken by the datamart, is sent again); once the rerun
# took the id, the row ages out as any other
D=$T/keepj; setup "$D" $'MAX_CONNECTIONS = 1\n[rdm_cleanup_task]\nJOURNAL_DAYS = 1\n'
emu --step-ms 0
n=$(files "$D"); before=$(accepted)
RDM_FAULT_KILL_AT=2 ag "$D" upload >/dev/null 2>&1; rc=$?
[ $rc = 137 ] || bad "keepj: exit $rc, not killed"
q "$D" "UPDATE journal SET started_at = started_at - 3 * 86400"
ag "$D" cleanup >/dev/null 2>&1 || bad "keepj: cleanup"
ag "$D" upload >/dev/null 2>"$T/keepj.err" || bad "keepj: rerun: $(cat "$T/keepj.err")"
[ $(($(accepted) - before)) = "$n" ] && ok || bad "keepj: $(($(accepted) - before)) accepted, want $n (the answered file sent again)"
q "$D" "UPDATE journal SET started_at = started_at - 3 * 86400"
ag "$D" cleanup >/dev/null 2>&1 && [ "$(q "$D" "SELECT count(*) FROM journal")" = 0 ] && ok || bad "keepj: old journal rows kept after the rerun"
emu_stop

# ---- TLS: verification on by default, a CA file, and the explicit off switch
if command -v openssl >/dev/null; then
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
        -addext subjectAltName=IP:127.0.0.1 -keyout "$T/key.pem" -out "$T/cert.pem" 2>/dev/null
    emu --step-ms 0 --tls-cert "$T/cert.pem" --tls-key "$T/key.pem"
    D=$T/tls; URL=https://127.0.0.1:$PORT setup "$D"
    out=$(ag "$D" upload 2>&1); rc=$?
    [ $rc != 0 ] && echo "$out" | grep -q "TLS" && ok || bad "unverified certificate accepted: exit $rc $out"
    [ "$(q "$D" "SELECT count(*) FROM export_substage WHERE status = 'FAILED'")" = 0 ] && ok || bad "TLS failure marked sub-stages FAILED"
    printf 'CA_FILE = %s\n' "$T/cert.pem" >>"$D/rdm-agent.ini"
    out=$(ag "$D" upload --force 2>&1) && [ "$(q "$D" "SELECT count(*) FROM export_substage WHERE status <> 'FINISHED'")" = 0 ] && ok || bad "TLS with CA_FILE: $out"
    D=$T/tls2; URL=https://127.0.0.1:$PORT setup "$D" 'VERIFY_TLS = False'
    out=$(ag "$D" upload 2>&1) && echo "$out" | grep -q "NOT checked" && ok || bad "VERIFY_TLS = False: $out"
    emu_stop
else
    bad "openssl is missing (scripts/deps.sh installs it)"
fi

# ---- emulation: nothing leaves the machine
D=$T/emul; URL=http://127.0.0.1:1 EMUL=True setup "$D"
n=$(files "$D")
out=$(ag "$D" upload 2>&1) && echo "$out" | grep -q "$n file(s) sent" && ok || bad "emulation: $out"
[ "$(q "$D" "SELECT count(*) FROM journal WHERE is_emulation = 1 AND url LIKE 'emulation:%'")" = "$((2 * n))" ] && ok || bad "emulation journal"
[ "$(q "$D" "SELECT count(*) FROM upload_log WHERE is_emulation = 1 AND request_id <> ''")" = "$n" ] && ok || bad "emulated uploads not marked"
out=$(ag "$D" check-status --force) && echo "$out" | grep -q "0 asked" && ok || bad "check-status asked emulated uploads: $out"
D=$T/emul2; URL=http://127.0.0.1:1 EMUL=True setup "$D" 'RESPONSE_FILE_STATUS = flc_error'
ag "$D" upload >/dev/null 2>&1
[ "$(q "$D" "SELECT count(*) FROM export_substage WHERE status = 'PROCESS_ERROR'")" -ge 1 ] && ok || bad "RESPONSE_FILE_STATUS = flc_error"
sed -i 's/^RESPONSE_FILE_STATUS = .*/RESPONSE_FILE_STATUS = nonsense/' "$D/rdm-agent.ini"
ag "$D" upload >/dev/null 2>&1; [ $? = 2 ] && ok || bad "a bad RESPONSE_FILE_STATUS is not a configuration error"

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]

#!/usr/bin/env bash
# test_pg_collect.sh AGENT SOURCE_DIR - collect from a real PostgreSQL 15
# (a throwaway cluster on 127.0.0.1): snapshot, incremental with bound
# :since/:until, and the product's audit log (two rows of one transaction, a
# late commit caught by the overlap window, nothing applied twice), a lost
# connection that fails the stage and is retried, a pull broken off
# part-way by the server or by a bad row, a stop during a slow query, a
# session ended by the server during one, a network gone silent during one,
# and a stop then, a server that never answers the connect (iptables, as
# root), a change committed while a snapshot is read, two changes to one
# row from transactions begun in the other order, a quiet log at midnight,
# and a larger overlap after old ids were dropped.
# Prints "N passed, N failed".
set -u
AGENT=$1 SRC=$2
T=$(mktemp -d /tmp/rdm-pgc-XXXXXX)
chmod 755 "$T"
PG="$T/pg"
CUT=""                 # the iptables rules of the silent cut, while in place
uncut() { [ -n "$CUT" ] && for d in dport sport; do iptables -D INPUT -i lo -p tcp --$d "$CUT" -j DROP 2>/dev/null; done; CUT=""; }
cut() { CUT=$PGPORT; for d in dport sport; do iptables -I INPUT -i lo -p tcp --$d "$CUT" -j DROP || bad "iptables"; done; }
stop_timed() { t0=$(date +%s); kill -TERM "$1"; wait "$1"; rc=$?; took=$(($(date +%s) - t0)); } # pid -> rc, took (s)
cleanup() { uncut; bash "$SRC/tests/pg/pg.sh" stop "$PG" >/dev/null 2>&1; rm -rf "$T"; }
trap cleanup EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
eq() { [ "$2" = "$3" ] && ok || bad "$1: got '$2', wanted '$3'"; }

bash "$SRC/tests/pg/pg.sh" start "$PG" >/dev/null || { echo "pg_collect: 0 passed, 1 failed"; exit 1; }
. "$PG/env"
psql -qX -v ON_ERROR_STOP=1 -f "$SRC/tests/pg/audit_log.sql" >/dev/null || bad "audit_log.sql"
psql -qX -v ON_ERROR_STOP=1 >/dev/null <<'SQL' || bad "schema"
CREATE SCHEMA school;
CREATE TABLE school.pupil(id serial PRIMARY KEY, name text, born date, active boolean);
SELECT audit_log_enable('school', 'pupil');
CREATE TABLE school.pupil_event(pupil_id int, name text, op int, at timestamptz DEFAULT now());
INSERT INTO school.pupil(name, born, active) VALUES ('Анна', '2010-05-01', true),
  ('Борис', '2011-03-02', false), ('Вера', NULL, NULL);
INSERT INTO school.pupil_event(pupil_id, name, op) VALUES (1, 'Анна', 1), (2, 'Борис', 1);
SQL

conf() {
    printf '[rdm_general]\nEXPORT_ENTITY_ID_PREFIX = P\nCOLLECT_CHUNK_SIZE = 2\n[agent]\nPROFILE = %s\nLOG_LEVEL = warning\n[source]\nTYPE = postgres\nDSN = %s\n' \
        "$SRC/tests/data/profiles/pg.json" "$RDM_TEST_DSN" >"$T/rdm-agent.ini"
}
conf
A() { "$AGENT" --config "$T/rdm-agent.ini" "$@"; }
DB="$T/data/rdm-agent.db"
staged() { # model -> "id:op:name" lines
    sqlite3 "$DB" "SELECT id || ':' || \"rdm:op\" || ':' || coalesce(name, '') FROM \"rdm:stg:$1\" ORDER BY id" | tr '\n' ' '
}

sleeping() { psql -qXAt -c "SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'PgSleep'"; }

A init >/dev/null || bad "init"
A collect >"$T/out" 2>&1 || { bad "first collect"; cat "$T/out"; }
eq "snapshot after the first collect" "$(staged pupil_snap)" "1:1:Анна 2:1:Борис 3:1:Вера "
eq "audit model after its snapshot" "$(staged pupil_log)" "1:1:Анна 2:1:Борис 3:1:Вера "
eq "incremental" "$(staged pupil_inc)" "1:1:Анна 2:1:Борис "
eq "types from PostgreSQL" "$(sqlite3 "$DB" "SELECT born || '/' || active FROM \"rdm:stg:pupil_snap\" WHERE id = 1")" "2010-05-01/1"

# changes: an update, a delete, an insert, two rows in one transaction
psql -qX -v ON_ERROR_STOP=1 >/dev/null <<'SQL' || bad "changes"
UPDATE school.pupil SET name = 'Анна-Мария' WHERE id = 1;
DELETE FROM school.pupil WHERE id = 2;
INSERT INTO school.pupil(name) VALUES ('Глеб');
BEGIN; INSERT INTO school.pupil(name) VALUES ('Дина'); INSERT INTO school.pupil(name) VALUES ('Егор'); COMMIT;
INSERT INTO school.pupil_event(pupil_id, name, op) VALUES (1, 'Анна-Мария', 2), (2, NULL, 3), (4, 'Глеб', 1);
SQL
A collect >"$T/out" 2>&1 || { bad "second collect"; cat "$T/out"; }
want="1:2:Анна-Мария 2:3:Борис 3:1:Вера 4:1:Глеб 5:1:Дина 6:1:Егор "
eq "snapshot sees the changes" "$(staged pupil_snap)" "$want"
eq "audit log sees the same" "$(staged pupil_log)" "$want"
eq "incremental: update, delete, create" "$(staged pupil_inc)" "1:2:Анна-Мария 2:3:Борис 4:1:Глеб "
n=$(sqlite3 "$DB" "SELECT count(*) FROM pg_applied WHERE model = 'pupil_log'")
[ "$n" -ge 6 ] && ok || bad "applied log ids recorded: $n"

# a late commit: A starts (earlier time), B commits, collect, then A commits
# (held longer when the agent runs slowly, under valgrind: RDM_SLOW)
late_s=3; [ -n "${RDM_SLOW:-}" ] && late_s=15
psql -qX -v ON_ERROR_STOP=1 -c "BEGIN; INSERT INTO school.pupil(id, name) VALUES (100, 'Поздний'); SELECT pg_sleep($late_s); COMMIT;" >/dev/null 2>&1 &
late=$!
sleep 1
psql -qX -v ON_ERROR_STOP=1 -c "INSERT INTO school.pupil(id, name) VALUES (101, 'Ранний')" >/dev/null || bad "insert B"
A collect >"$T/out" 2>&1 || bad "collect during the late transaction"
eq "only the committed row is seen" "$(sqlite3 "$DB" "SELECT group_concat(id) FROM \"rdm:stg:pupil_log\" WHERE id >= 100")" "101"
wait $late || bad "late transaction"
A collect >"$T/out" 2>&1 || bad "collect after the late commit"
eq "the late commit arrives through the overlap" "$(sqlite3 "$DB" "SELECT group_concat(id) FROM (SELECT id FROM \"rdm:stg:pupil_log\" WHERE id >= 100 ORDER BY id)")" "100,101"
# nothing applied twice: a rerun changes nothing in the audit model
before=$(sqlite3 "$DB" "SELECT max(\"rdm:chg\") FROM \"rdm:stg:pupil_log\"")
A collect >"$T/out" 2>&1 || bad "rerun"
after=$(sqlite3 "$DB" "SELECT max(\"rdm:chg\") FROM \"rdm:stg:pupil_log\"")
eq "log entries are not applied twice" "$after" "$before"

# the connection is lost: the stage fails with the server's words, the next run catches up
bash "$SRC/tests/pg/pg.sh" stop "$PG" >/dev/null
failed_before=$(sqlite3 "$DB" "SELECT count(*) FROM collect_stage WHERE status = 'FAILED'")
A collect >"$T/out" 2>&1 && bad "collect without a server succeeded"
grep -q "PostgreSQL: cannot connect" "$T/out" && ok || { bad "no clear message"; cat "$T/out"; }
grep -q "password" "$T/out" && bad "the message shows a password field" || ok
eq "the stage is FAILED" "$(sqlite3 "$DB" "SELECT count(*) FROM collect_stage WHERE status = 'FAILED'")" "$((failed_before + 1))"
bash "$SRC/tests/pg/pg.sh" start "$PG" >/dev/null || bad "restart"
. "$PG/env"; conf
psql -qX -c "UPDATE school.pupil SET active = true WHERE id = 3" >/dev/null
A collect >"$T/out" 2>&1 || { bad "collect after the outage"; cat "$T/out"; }
eq "caught up after the outage" "$(sqlite3 "$DB" "SELECT \"rdm:op\" || '/' || active FROM \"rdm:stg:pupil_log\" WHERE id = 3")" "2/1"
eq "snapshot agrees" "$(sqlite3 "$DB" "SELECT \"rdm:op\" || '/' || active FROM \"rdm:stg:pupil_snap\" WHERE id = 3")" "2/1"

# the periodic full snapshot: due again once FULL_SNAPSHOT_DAYS have passed
snaps() { sqlite3 "$DB" "SELECT count(*) FROM import_source WHERE name = 'postgres:pupil_log:snapshot'"; }
s0=$(snaps)
A collect >/dev/null 2>&1 || bad "collect (snapshot not due)"
eq "no snapshot before it is due" "$(snaps)" "$s0"
sqlite3 "$DB" "UPDATE pg_position SET snapshot_at = snapshot_at - 8 * 86400 WHERE model = 'pupil_log'"
# a change the log never saw (the trigger is off for it): only a snapshot repairs it
psql -qX -c "ALTER TABLE school.pupil DISABLE TRIGGER audit_log; UPDATE school.pupil SET name = 'Вера (вне журнала)' WHERE id = 3; ALTER TABLE school.pupil ENABLE TRIGGER audit_log" >/dev/null || bad "silent change"
A collect >"$T/out" 2>&1 || { bad "collect (snapshot due)"; cat "$T/out"; }
eq "the snapshot ran again" "$(snaps)" "$((s0 + 1))"
eq "and repaired what the log missed" "$(sqlite3 "$DB" "SELECT name FROM \"rdm:stg:pupil_log\" WHERE id = 3")" "Вера (вне журнала)"

# a change committed while a full snapshot is read: the snapshot (REPEATABLE
# READ) does not hold it, so its log entry must not be marked applied; the
# audit log pull after the snapshot applies it
psql -qX -v ON_ERROR_STOP=1 >/dev/null <<'SQL' || bad "race table"
CREATE TABLE school.race(id int PRIMARY KEY, name text);
SELECT audit_log_enable('school', 'race');
INSERT INTO school.race VALUES (1, 'до'), (2, 'два');
CREATE VIEW school.race_v AS SELECT r.id, r.name FROM school.race r, (SELECT pg_sleep(2)) z;
SQL
cat >"$T/race.json" <<'EOF'
{"profile": "race", "description": "test_pg_collect.sh: a change committed during a snapshot",
 "models": [{"name": "race", "key": ["id"],
  "columns": [{"name": "id", "type": "int"}, {"name": "name", "type": "text"}],
  "postgres": {"mode": "audit_log", "table": "school.race", "query": "SELECT id, name FROM school.race_v"}}]}
EOF
mkdir -p "$T/race"
sed -e "s|^PROFILE = .*|PROFILE = $T/race.json|" -e "s|^\[agent\]|[agent]\nDATA_DIR = $T/race/data|" "$T/rdm-agent.ini" >"$T/race/rdm-agent.ini"
RDB="$T/race/data/rdm-agent.db"
"$AGENT" --config "$T/race/rdm-agent.ini" init >/dev/null || bad "init (race)"
"$AGENT" --config "$T/race/rdm-agent.ini" collect >"$T/out" 2>&1 &
cpid=$!
for _ in $(seq 300); do [ "$(sleeping)" = 1 ] && break; sleep 0.1; done
eq "the snapshot is being read" "$(sleeping)" 1
psql -qX -c "UPDATE school.race SET name = 'после' WHERE id = 1" >/dev/null || bad "update during the snapshot"
wait "$cpid" || { bad "collect during a change"; cat "$T/out"; }
eq "a change committed during the snapshot is applied" "$(sqlite3 "$RDB" "SELECT group_concat(id || ':' || name, ' ') FROM (SELECT * FROM \"rdm:stg:race\" ORDER BY id)")" "1:после 2:два"
eq "the snapshot's entries and the change, each marked once" "$(sqlite3 "$RDB" "SELECT count(*) FROM pg_applied WHERE model = 'race'")" 3
# two changes to one row whose transactions began in the other order (B
# begins, A changes the row and commits, then B changes it): the log's
# times say B came first, its ids say A; the row ends as B left it
psql -qX -c "BEGIN; SELECT pg_sleep(1); UPDATE school.race SET name = 'Б' WHERE id = 2; COMMIT;" >/dev/null 2>&1 &
bpid=$!
sleep 0.3
psql -qX -c "UPDATE school.race SET name = 'А' WHERE id = 2" >/dev/null || bad "update A"
wait "$bpid" || bad "update B"
"$AGENT" --config "$T/race/rdm-agent.ini" collect >"$T/out" 2>&1 || { bad "collect after A and B"; cat "$T/out"; }
eq "two changes to one row, in the order they were made" "$(sqlite3 "$RDB" "SELECT name FROM \"rdm:stg:race\" WHERE id = 2")" "Б"

# a snapshot query that omits a model's column: a required field's column
# is an error naming it (it was staged NULL and exported empty, silently);
# another column is staged empty, with a warning
cat >"$T/gap.json" <<'EOF'
{"profile": "gap", "description": "test_pg_collect.sh: a query that omits a column",
 "models": [{"name": "race", "key": ["id"],
  "columns": [{"name": "id", "type": "int"}, {"name": "name", "type": "text"}, {"name": "extra", "type": "text"}],
  "postgres": {"mode": "snapshot", "query": "SELECT id, name AS full_name FROM school.race"}}],
 "entities": [{"key": "RACE", "models": ["race"], "primary_key": ["id"],
  "fields": [{"name": "id", "type": "int"}, {"name": "name", "type": "text", "required": true}]}]}
EOF
mkdir -p "$T/gap"
sed -e "s|^PROFILE = .*|PROFILE = $T/gap.json|" -e "s|^\[agent\]|[agent]\nDATA_DIR = $T/gap/data|" "$T/rdm-agent.ini" >"$T/gap/rdm-agent.ini"
"$AGENT" --config "$T/gap/rdm-agent.ini" init >/dev/null || bad "init (gap)"
"$AGENT" --config "$T/gap/rdm-agent.ini" collect >"$T/out" 2>&1 && bad "a query without a required column was taken: $(cat "$T/out")" ||
    { grep -q "the query returns no column 'name'" "$T/out" && ok || bad "gap: $(cat "$T/out")"; }
sed -i 's/name AS full_name/name/' "$T/gap.json"
"$AGENT" --config "$T/gap/rdm-agent.ini" collect >"$T/out" 2>&1 && grep -q "no column 'extra'; it is staged empty" "$T/out" && ok ||
    bad "gap, optional column: $(cat "$T/out")"

# an audit-log model without a snapshot query whose first pull finds
# nothing: it still keeps where it began, so a change made just before the
# local midnight is read after it (the start of today moved past it). The
# agent runs in a time zone where midnight is 5 s away; the overlap is 2 s
psql -qX -v ON_ERROR_STOP=1 >/dev/null <<'SQL' || bad "quiet table"
CREATE TABLE school.quiet(id int PRIMARY KEY, name text);
SELECT audit_log_enable('school', 'quiet');
SQL
cat >"$T/quiet.json" <<'EOF'
{"profile": "quiet", "description": "test_pg_collect.sh: an audit log that is quiet at first",
 "models": [{"name": "quiet", "key": ["id"],
  "columns": [{"name": "id", "type": "int"}, {"name": "name", "type": "text"}],
  "postgres": {"mode": "audit_log", "table": "school.quiet"}}]}
EOF
mkdir -p "$T/quiet"
sed -e "s|^PROFILE = .*|PROFILE = $T/quiet.json|" -e "s|^\[agent\]|[agent]\nDATA_DIR = $T/quiet/data|" \
    -e "s|^\[source\]|[source]\nAUDIT_OVERLAP_SECONDS = 2|" "$T/rdm-agent.ini" >"$T/quiet/rdm-agent.ini"
QDB="$T/quiet/data/rdm-agent.db"
t_start=$(date +%s)
# POSIX TZ: local = UTC - offset; local 23:59:55 now
tz=$(python3 -c 'import sys; u = int(sys.argv[1]) % 86400; d = (u - (86400 - 5)) % 86400
w = d if d <= 43200 else 86400 - d
print("RDM%s%02d:%02d:%02d" % ("+" if d <= 43200 else "-", w // 3600, w % 3600 // 60, w % 60))' "$t_start")
TZ=$tz "$AGENT" --config "$T/quiet/rdm-agent.ini" init >/dev/null || bad "init (quiet)"
TZ=$tz "$AGENT" --config "$T/quiet/rdm-agent.ini" collect >"$T/out" 2>&1 || { bad "collect (quiet)"; cat "$T/out"; }
psql -qX -c "INSERT INTO school.quiet VALUES (1, 'до полуночи')" >/dev/null || bad "insert (quiet)"
t_ins=$(date +%s)
left=$((t_start + 6 - $(date +%s)))
[ "$left" -gt 0 ] && sleep "$left"
TZ=$tz "$AGENT" --config "$T/quiet/rdm-agent.ini" collect >"$T/out" 2>&1 || { bad "collect after midnight"; cat "$T/out"; }
eq "a change made before midnight, read after it" "$(sqlite3 "$QDB" "SELECT group_concat(name) FROM \"rdm:stg:quiet\"")" "до полуночи"
# the ids of old entries are dropped (older than twice the overlap before
# the newest); a larger overlap set later must not read those entries again
# and apply them over what came after (the update 5 s after the insert:
# more than twice the overlap)
left=$((t_ins + 5 - $(date +%s)))
[ "$left" -gt 0 ] && sleep "$left"
psql -qX -c "UPDATE school.quiet SET name = 'после' WHERE id = 1" >/dev/null || bad "update (quiet)"
"$AGENT" --config "$T/quiet/rdm-agent.ini" collect >"$T/out" 2>&1 || { bad "collect (quiet, update)"; cat "$T/out"; }
eq "the insert's id was dropped" "$(sqlite3 "$QDB" "SELECT count(*) FROM pg_applied WHERE model = 'quiet'")" 1
sed -i 's/^AUDIT_OVERLAP_SECONDS = 2/AUDIT_OVERLAP_SECONDS = 300/' "$T/quiet/rdm-agent.ini"
"$AGENT" --config "$T/quiet/rdm-agent.ini" collect >"$T/out" 2>&1 || { bad "collect (quiet, larger overlap)"; cat "$T/out"; }
eq "a larger overlap re-applies nothing" "$(sqlite3 "$QDB" "SELECT name FROM \"rdm:stg:quiet\"")" "после"

# a pull that stops part-way: 20,000 rows, one at a time; the server fails
# at row 15,000, then the agent refuses row 15,000 itself; either way the
# stage fails naming the row, nothing of the pull is kept, and the fixed
# table is then collected whole
psql -qX -v ON_ERROR_STOP=1 >/dev/null <<'SQL' || bad "big table"
CREATE TABLE school.big(id int PRIMARY KEY, v text);
INSERT INTO school.big SELECT i, i::text FROM generate_series(1, 20000) i;
CREATE VIEW school.big_v AS SELECT id, (100 / (id - 15000))::text AS v FROM school.big;
SQL
cat >"$T/big.json" <<'EOF'
{"profile": "big", "description": "test_pg_collect.sh: a pull that stops part-way",
 "models": [{"name": "big", "key": ["id"],
  "columns": [{"name": "id", "type": "int"}, {"name": "v", "type": "int"}],
  "postgres": {"mode": "snapshot", "query": "SELECT id, v FROM school.big_v ORDER BY id"}}]}
EOF
mkdir -p "$T/big"
sed -e "s|^PROFILE = .*|PROFILE = $T/big.json|" -e "s|^\[agent\]|[agent]\nDATA_DIR = $T/big/data|" "$T/rdm-agent.ini" >"$T/big/rdm-agent.ini"
B() { "$AGENT" --config "$T/big/rdm-agent.ini" "$@"; }
BDB="$T/big/data/rdm-agent.db"
B init >/dev/null || bad "init (big)"
kept() { # registered sources / staged tables / land files
    echo "$(sqlite3 "$BDB" "SELECT (SELECT count(*) FROM import_source) || '/' || (SELECT count(*) FROM sqlite_master WHERE name = 'rdm:stg:big')")/$(find "$T/big/data" -path '*land*' -type f | wc -l)"
}
B collect >"$T/out" 2>&1 && bad "collect through a server error succeeded"
grep -q "model big, PostgreSQL snapshot: reading the rows failed: ERROR:  division by zero" "$T/out" && ok || { bad "server error mid-stream"; cat "$T/out"; }
eq "nothing kept of a pull the server broke off" "$(kept)" "0/0/0"
psql -qX -c "CREATE OR REPLACE VIEW school.big_v AS SELECT id, v FROM school.big; UPDATE school.big SET v = 'x' WHERE id = 15000" >/dev/null || bad "bad value"
B collect >"$T/out" 2>&1 && bad "collect of a bad value succeeded"
grep -q "postgres:big:snapshot, row 15000: column v: 'x' is not an integer; nothing of this pull was kept" "$T/out" && ok || { bad "the bad row is not named"; cat "$T/out"; }
eq "nothing kept of a pull the agent broke off" "$(kept)" "0/0/0"
psql -qX -c "UPDATE school.big SET v = '15000' WHERE id = 15000" >/dev/null || bad "fix"
B collect >"$T/out" 2>&1 || { bad "collect of the fixed table"; cat "$T/out"; }
eq "the fixed table, whole" "$(sqlite3 "$BDB" "SELECT count(*) || '/' || sum(v) FROM \"rdm:stg:big\"")" "20000/200010000"

# a stop while the server works on a slow query (a minute before its first
# row): the agent ends within seconds, cancels the query on the server and
# keeps nothing; the next run pulls the model whole
psql -qX -v ON_ERROR_STOP=1 >/dev/null <<'SQL' || bad "slow view"
CREATE FUNCTION school.slow(i int) RETURNS int LANGUAGE plpgsql AS $$
BEGIN IF i = 15000 THEN PERFORM pg_sleep(60); END IF; RETURN i; END $$;
CREATE OR REPLACE VIEW school.big_v AS SELECT school.slow(id) AS id, v FROM school.big;
SQL
srcs=$(sqlite3 "$BDB" "SELECT count(*) FROM import_source")
"$AGENT" --config "$T/big/rdm-agent.ini" collect >"$T/out" 2>&1 &
cpid=$!
for _ in $(seq 300); do [ "$(sleeping)" = 1 ] && break; sleep 0.1; done
eq "the server runs the slow query" "$(sleeping)" 1
t0=$(date +%s)
kill -TERM "$cpid"
wait "$cpid"
eq "a stop mid-pull exits 1" "$?" 1
took=$(($(date +%s) - t0))
[ "$took" -le 20 ] && ok || bad "the stop took $took s (the query sleeps 60 s)"
grep -q "model big, PostgreSQL snapshot: stopped on request after 0 row(s); nothing of this pull was kept" "$T/out" && ok || { bad "no stop message"; cat "$T/out"; }
for _ in $(seq 50); do [ "$(sleeping)" = 0 ] && break; sleep 0.1; done
eq "the query was cancelled on the server" "$(sleeping)" 0
eq "nothing kept of the stopped pull" "$(sqlite3 "$BDB" "SELECT count(*) FROM import_source")" "$srcs"
eq "its stage is FAILED" "$(sqlite3 "$BDB" "SELECT status FROM collect_stage ORDER BY id DESC LIMIT 1")" FAILED
# the server ends the session while the query runs: the stage fails with
# the server's words at once, and nothing is kept
"$AGENT" --config "$T/big/rdm-agent.ini" collect >"$T/out" 2>&1 &
cpid=$!
for _ in $(seq 300); do [ "$(sleeping)" = 1 ] && break; sleep 0.1; done
t0=$(date +%s)
psql -qX -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE wait_event = 'PgSleep'" >/dev/null || bad "terminate"
wait "$cpid"
eq "a session ended mid-pull exits 1" "$?" 1
took=$(($(date +%s) - t0))
[ "$took" -le 20 ] && ok || bad "the lost session took $took s to notice"
grep -q "model big, PostgreSQL snapshot: the query failed: FATAL:  terminating connection due to administrator command" "$T/out" && ok || { bad "no message for the lost session"; cat "$T/out"; }
eq "nothing kept of the lost pull" "$(sqlite3 "$BDB" "SELECT count(*) FROM import_source")" "$srcs"
# the connection's defaults: keepalives after 60 s of silence unless the
# DSN says otherwise (logged at debug level, without the password)
sed -i 's/^LOG_LEVEL = .*/LOG_LEVEL = debug/' "$T/big/rdm-agent.ini"
"$AGENT" --config "$T/big/rdm-agent.ini" collect >"$T/out" 2>&1 &
cpid=$!
for _ in $(seq 300); do [ "$(sleeping)" = 1 ] && break; sleep 0.1; done
kill -TERM "$cpid"; wait "$cpid"
grep -q "PostgreSQL: connected to 127.0.0.1 port $PGPORT, database $PGDATABASE; keepalives after 60 s, every 10 s, 6 unanswered end the connection" "$T/out" && ok || { bad "the keepalive defaults"; cat "$T/out"; }
# a network that goes silent during the pull (every packet to and from the
# server dropped, no reset): with keepalives after 1 s (the DSN overrides
# the default) the pull fails within seconds, not when the query ends, and
# keeps nothing. Needs root for iptables (CI runs as root).
if [ "$(id -u)" = 0 ]; then
    cp "$T/big/rdm-agent.ini" "$T/big/cut.ini"
    sed -i "s/^DSN = .*/DSN = $RDM_TEST_DSN keepalives_idle=1 keepalives_interval=1 keepalives_count=3/" "$T/big/cut.ini"
    "$AGENT" --config "$T/big/cut.ini" collect >"$T/out" 2>&1 &
    cpid=$!
    for _ in $(seq 300); do [ "$(sleeping)" = 1 ] && break; sleep 0.1; done
    cut
    t0=$(date +%s)
    wait "$cpid"
    rc=$?
    took=$(($(date +%s) - t0))
    uncut
    eq "a silent network mid-pull exits 1" "$rc" 1
    [ "$took" -le 30 ] && ok || bad "the silent network took $took s to notice (the query sleeps 60 s)"
    echo "a silent network noticed in $took s"
    grep -q "keepalives after 1 s, every 1 s, 3 unanswered" "$T/out" && ok || bad "the DSN's keepalives were not used"
    grep -q "model big, PostgreSQL snapshot: the query failed: .*timed out" "$T/out" && ok || { bad "no message for the silent network"; cat "$T/out"; }
    eq "nothing kept of the cut pull" "$(sqlite3 "$BDB" "SELECT count(*) FROM import_source")" "$srcs"
    # a stop while the network is silent (the default keepalives, a
    # minute away): the cancel request cannot get through and is not
    # waited for; the agent ends within seconds
    psql -qX -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE wait_event = 'PgSleep'" >/dev/null
    "$AGENT" --config "$T/big/rdm-agent.ini" collect >"$T/out" 2>&1 &
    cpid=$!
    for _ in $(seq 300); do [ "$(sleeping)" = 1 ] && break; sleep 0.1; done
    cut
    stop_timed "$cpid"
    uncut
    eq "a stop on a silent network exits 1" "$rc" 1
    [ "$took" -le 15 ] && ok || bad "a stop on a silent network took $took s"
    echo "a stop on a silent network took $took s"
    grep -q "model big, PostgreSQL snapshot: stopped on request after 0 row(s)" "$T/out" && ok || { bad "no stop message on a silent network"; cat "$T/out"; }
    eq "nothing kept of the pull stopped on a silent network" "$(sqlite3 "$BDB" "SELECT count(*) FROM import_source")" "$srcs"
    # a server that does not answer at all (its packets dropped before the
    # connect): the connect ends after the DSN's connect_timeout, and a
    # stop ends it at once (the default connect_timeout is 30 s)
    cut
    sed "s/^DSN = .*/DSN = $RDM_TEST_DSN connect_timeout=2/" "$T/big/rdm-agent.ini" >"$T/big/conn.ini"
    t0=$(date +%s)
    "$AGENT" --config "$T/big/conn.ini" collect >"$T/out" 2>&1
    rc=$?
    took=$(($(date +%s) - t0))
    eq "no answer to the connect exits 1" "$rc" 1
    [ "$took" -le 8 ] && ok || bad "connect_timeout=2 took $took s"
    grep -q "PostgreSQL: cannot connect with \[source\] DSN: no answer within connect_timeout (2 s)" "$T/out" && ok || { bad "no message for a server that does not answer"; cat "$T/out"; }
    "$AGENT" --config "$T/big/rdm-agent.ini" collect >"$T/out" 2>&1 &
    cpid=$!
    if [ -n "${RDM_SLOW:-}" ]; then sleep 8; else sleep 2; fi
    stop_timed "$cpid"
    uncut
    eq "a stop while connecting exits 1" "$rc" 1
    [ "$took" -le 5 ] && ok || bad "a stop while connecting took $took s"
    echo "a stop while connecting took $took s"
    grep -q "PostgreSQL: stopped on request while connecting; nothing was pulled" "$T/out" && ok || { bad "no message for a stop while connecting"; cat "$T/out"; }
else
    echo "SKIP: a silent network mid-pull (iptables needs root)"
fi
psql -qX -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE wait_event = 'PgSleep'" >/dev/null
psql -qX -c "CREATE OR REPLACE VIEW school.big_v AS SELECT id, v FROM school.big" >/dev/null || bad "fast view"
B collect >"$T/out" 2>&1 || { bad "collect after the stop"; cat "$T/out"; }
eq "after the stop, the whole model" "$(sqlite3 "$BDB" "SELECT count(*) || '/' || sum(v) FROM \"rdm:stg:big\"")" "20000/200010000"

echo "pg_collect: $pass passed, $fail failed"
[ "$fail" = 0 ]

#!/usr/bin/env bash
# test_pg_fixture.sh - self-check of the PostgreSQL test fixture (pg.sh and
# audit_log.sql) against a real server: starts a throwaway cluster, loads the
# change log, drives a product table through it and checks what the log holds,
# including a "late commit". Prints "pg_fixture: N passed, M failed"; exit 1 on
# any failure. Needs Debian's postgresql-15 (server, hstore) and its psql.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
PGBIN=${RDM_PG_BIN:-/usr/lib/postgresql/15/bin}
PSQL=$PGBIN/psql
unset PGHOST PGHOSTADDR PGPORT PGUSER PGDATABASE PGSERVICE PGOPTIONS PGAPPNAME 2>/dev/null || true

T=$(mktemp -d "${TMPDIR:-/tmp}/rdm-pg-XXXXXX") || { echo "FAIL: mktemp"; exit 1; }
W=$T/work      # our own files; $T is the cluster's directory (given to its account)
A_PID=
cleanup() {
    [ -z "$A_PID" ] || kill "$A_PID" 2>/dev/null
    bash "$HERE/pg.sh" stop "$T" >/dev/null 2>&1
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok: $1"; }
bad() { fail=$((fail + 1)); echo "FAIL: $1"; }
# eq NAME GOT WANT
eq() { if [ "$2" = "$3" ]; then ok "$1"; else bad "$1: got '$2', wanted '$3'"; fi; }
# q SQL: one psql run (several statements run as one implicit transaction
# unless they say BEGIN/COMMIT); unaligned, tuples only, '|' between columns
q() { "$PSQL" -X -q -At -v ON_ERROR_STOP=1 -c "$1"; }
last() { # COLUMNS: of the newest log row
    q "SELECT $1 FROM audit_log_auditlog ORDER BY id DESC LIMIT 1"
}
nlog() { q "SELECT count(*) FROM audit_log_auditlog"; }

start=$(date +%s%N)
if ! DSN=$(bash "$HERE/pg.sh" start "$T"); then
    echo "FAIL: pg.sh start did not start a cluster"
    echo "pg_fixture: 0 passed, 1 failed"
    exit 1
fi
mkdir -p "$W"
# shellcheck disable=SC1091
. "$T/env"
echo "cluster: $DSN (started in $((($(date +%s%N) - start) / 1000000)) ms)"
eq "env file: RDM_TEST_DSN is the printed DSN" "$RDM_TEST_DSN" "$DSN"
eq "env file: connect with PG* variables" "$(q "SELECT current_database()")" rdmtest
eq "server listens on 127.0.0.1 only" "$(q "SHOW listen_addresses")" 127.0.0.1
eq "fsync is off" "$(q "SHOW fsync")" off
eq "libpq DSN connects" "$("$PSQL" -X -At "$RDM_TEST_DSN" -c "SELECT 1")" 1

# --- the change log ---------------------------------------------------------
if "$PSQL" -X -q -v ON_ERROR_STOP=1 -f "$HERE/audit_log.sql" >"$W/load.out" 2>&1 &&
   "$PSQL" -X -q -v ON_ERROR_STOP=1 -f "$HERE/audit_log.sql" >>"$W/load.out" 2>&1; then
    ok "audit_log.sql loads (twice: idempotent)"
else
    bad "audit_log.sql does not load:"; sed 's/^/  /' "$W/load.out"
fi
eq "hstore extension" "$(q "SELECT count(*) FROM pg_extension WHERE extname = 'hstore'")" 1

q "CREATE SCHEMA school;
   CREATE TABLE school.pupil (id serial PRIMARY KEY, name text, born date, active boolean);
   SELECT audit_log_enable('school', 'pupil');" >/dev/null
TID=$(q "SELECT id FROM audit_log_table WHERE schema = 'school' AND name = 'pupil' AND logged")
eq "audit_log_enable registers school.pupil" "$([ -n "$TID" ] && echo yes)" yes
eq "audit_log_enable creates the trigger" \
   "$(q "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'school.pupil'::regclass AND NOT tgisinternal")" 1

# INSERT: data = the new row, no changes, operation 1
P1=$(q "INSERT INTO school.pupil (name, born, active) VALUES ('Ivanova', '2012-03-04', true) RETURNING id")
eq "INSERT logged" "$(last "operation, table_id, object_id, data->'name', data->'born', data->'active', changes IS NULL")" \
   "1|$TID|$P1|Ivanova|2012-03-04|t|t"
eq "INSERT: data holds every column" "$(last "array_length(akeys(data), 1)")" 4

# UPDATE of one column: data = full old row, changes = just that column's new value
n0=$(nlog)
q "UPDATE school.pupil SET name = 'Petrova' WHERE id = $P1"
eq "UPDATE logged once" "$(nlog)" $((n0 + 1))
eq "UPDATE: operation 2, object_id, changes = only the changed column" \
   "$(last "operation, object_id, changes::text")" "2|$P1|\"name\"=>\"Petrova\""
eq "UPDATE: data = the full OLD row" "$(last "data->'name', data->'born', array_length(akeys(data), 1)")" \
   "Ivanova|2012-03-04|4"

# UPDATE to NULL: kept as NULL in changes
q "UPDATE school.pupil SET born = NULL WHERE id = $P1"
eq "UPDATE to NULL: changes keeps the NULL" "$(last "changes::text, (changes->'born') IS NULL, exist(changes, 'born')")" \
   "\"born\"=>NULL|t|t"

# UPDATE that changes nothing: nothing logged
n0=$(nlog)
q "UPDATE school.pupil SET name = name, active = true WHERE id = $P1"
eq "UPDATE that changes nothing logs nothing" "$(nlog)" "$n0"

# two INSERTs in one transaction: one time (the transaction's start), ids in order
q "BEGIN;
   SET LOCAL audit_log.user_id = '7';
   SET LOCAL audit_log.ip = '127.0.0.1';
   INSERT INTO school.pupil (name, born, active) VALUES ('Sidorov', '2011-01-02', true);
   SELECT pg_sleep(0.05);
   INSERT INTO school.pupil (name, born, active) VALUES ('Smirnov', '2011-05-06', false);
   COMMIT;" >/dev/null
eq "one transaction: both rows share one time" \
   "$(q "SELECT count(DISTINCT time) FROM (SELECT time FROM audit_log_auditlog ORDER BY id DESC LIMIT 2) s")" 1
eq "one transaction: (time, id) orders them as made" \
   "$(q "SELECT string_agg(data->'name', ',' ORDER BY time, id) FROM (SELECT * FROM audit_log_auditlog ORDER BY id DESC LIMIT 2) s")" \
   "Sidorov,Smirnov"
eq "one transaction: object ids ascending with log ids" \
   "$(q "SELECT bool_and(obj_next > object_id) FROM (SELECT object_id, lead(object_id) OVER (ORDER BY id) obj_next
         FROM (SELECT * FROM audit_log_auditlog ORDER BY id DESC LIMIT 2) s) x WHERE obj_next IS NOT NULL")" t
eq "user_id and ip from the session settings" "$(last "user_id, host(ip), user_type_id IS NULL")" "7|127.0.0.1|t"

# DELETE: data = the old row, operation 3, object_id = OLD.id
q "DELETE FROM school.pupil WHERE id = $P1"
eq "DELETE logged" "$(last "operation, object_id, data->'name', changes IS NULL")" "3|$P1|Petrova|t"

# a table without an id column: object_id 0
q "CREATE TABLE school.setting (key text PRIMARY KEY, value text);
   SELECT audit_log_enable('school', 'setting');
   INSERT INTO school.setting VALUES ('year', '2024');" >/dev/null
eq "row without id: object_id 0" "$(last "operation, object_id, data->'key'")" "1|0|year"

# a table not logged: nothing
q "UPDATE audit_log_table SET logged = false WHERE schema = 'school' AND name = 'setting'"
n0=$(nlog)
q "INSERT INTO school.setting VALUES ('term', '1')"
eq "table with logged = false: nothing logged" "$(nlog)" "$n0"

# an error in the trigger is swallowed: the product change commits, the error is kept
n0=$(nlog)
q "BEGIN; SET LOCAL audit_log.ip = 'not-an-address';
   INSERT INTO school.pupil (name) VALUES ('Errorov'); COMMIT;" >/dev/null 2>"$W/warn"
eq "trigger error: the product change still commits" \
   "$(q "SELECT count(*) FROM school.pupil WHERE name = 'Errorov'")" 1
eq "trigger error: no log row" "$(nlog)" "$n0"
eq "trigger error: kept in audit.postgresql_errors" \
   "$(q "SELECT count(*) FROM audit.postgresql_errors WHERE error_code = '22P02'")" 1
eq "trigger error: a WARNING is raised" "$(grep -c 'WARNING:.*audit_log_trigger' "$W/warn")" 1

# --- late commit --------------------------------------------------------------
# A begins and inserts, then holds its transaction open ~2 s; meanwhile B
# inserts and commits. A's log row gets the earlier time (its transaction's
# start) but becomes visible only when A commits, after B's.
PGAPPNAME=rdm_late_a "$PSQL" -X -q -v ON_ERROR_STOP=1 >"$W/a.out" 2>&1 <<'EOF' &
BEGIN;
INSERT INTO school.pupil (name) VALUES ('late A');
SELECT pg_sleep(2);
COMMIT;
EOF
A_PID=$!
for _ in $(seq 100); do
    [ "$(q "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'rdm_late_a'
            AND state = 'active' AND query LIKE '%pg_sleep%'")" = 1 ] && break
    sleep 0.05
done
eq "late commit: A holds its transaction open" \
   "$(q "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'rdm_late_a' AND xact_start IS NOT NULL")" 1
q "INSERT INTO school.pupil (name) VALUES ('late B')"
# a reader now reads the window that ends "now"
T1=$(q "SELECT clock_timestamp()")
seen=$(q "SELECT string_agg(data->'name', ',' ORDER BY time, id) FROM audit_log_auditlog
          WHERE data->'name' LIKE 'late %' AND time < '$T1'")
eq "late commit: a reader at T1 (A still open) sees only B" "$seen" "late B"
wait "$A_PID"; a_rc=$?; A_PID=
eq "late commit: A commits" "$a_rc" 0
echo "late commit: the log after both committed (reader's window end T1 = $T1):"
q "SELECT format('  %-7s log id %s  time %s  object_id %s', data->'name', id, time, object_id)
   FROM audit_log_auditlog WHERE data->'name' LIKE 'late %' ORDER BY time, id"
eq "late commit: A's time is earlier than B's" \
   "$(q "SELECT (SELECT time FROM audit_log_auditlog WHERE data->'name' = 'late A')
              < (SELECT time FROM audit_log_auditlog WHERE data->'name' = 'late B')")" t
eq "late commit: A's row, now visible, lies inside the window the reader already read" \
   "$(q "SELECT string_agg(data->'name', ',' ORDER BY time, id) FROM audit_log_auditlog
         WHERE data->'name' LIKE 'late %' AND time < '$T1'")" "late A,late B"

# --- stop ---------------------------------------------------------------------
if bash "$HERE/pg.sh" stop "$T" >/dev/null 2>&1 && ! "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$PGPORT"; then
    ok "pg.sh stop stops the server"
else
    bad "pg.sh stop: server still answers on port $PGPORT"
fi
eq "pg.sh stop when not running is fine" "$(bash "$HERE/pg.sh" stop "$T" >/dev/null 2>&1; echo $?)" 0

echo "pg_fixture: $pass passed, $fail failed"
[ "$fail" -eq 0 ]

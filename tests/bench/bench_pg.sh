#!/usr/bin/env bash
# bench_pg.sh [ROWS] [AGENT] - collect from PostgreSQL against psql \copy:
# a throwaway cluster (tests/pg/pg.sh) holds a table of ROWS address-like
# rows (17 columns, Cyrillic text); in one run, `rdm-agent collect` of it as
# a snapshot model (the rows one at a time in libpq's single-row mode,
# change detection, sub-stages, durable commits), a second collect of the
# unchanged table, and `psql \copy (the same query) TO` a file (the ceiling
# for extraction); then the floor: SQLite alone storing the same rows in the
# store's staged table (tests/bench/bench_sqlite_floor.c). Prints rows/s,
# the ratio (issue 9's goal: >= 0.8) and peak RSS. Not a test.
# Needs postgresql-15, GNU time.
set -euo pipefail
ROWS=${1:-1000000}
HERE=$(cd "$(dirname "$0")" && pwd)
AGENT=${2:-$HERE/../../build/release/rdm-agent}
W=$(mktemp -d /tmp/rdm-bench-XXXXXX)
chmod 755 "$W"
trap 'bash "$HERE/../pg/pg.sh" stop "$W/pg" >/dev/null 2>&1; rm -rf "$W"' EXIT
cd "$W"
bash "$HERE/../pg/pg.sh" start "$W/pg" >/dev/null
. "$W/pg/env"
cols="id, use_address, type_address, text, city, district, state, postal_code, country, start_datetime, end_datetime, flat, building, house, street, create_datetime, send_datetime"
psql -qX -v ON_ERROR_STOP=1 >/dev/null <<SQL
CREATE TABLE address AS SELECT i AS id, i % 5 + 1 AS use_address, i % 5 + 1 AS type_address,
  'г. Город, ул. Улица ' || i || ', д. ' || i % 100 AS text, 'Город ' || i % 1000 AS city,
  'Район ' || i % 50 AS district, 'Область ' || i % 85 AS state, lpad((100000 + i % 900000)::text, 6, '0') AS postal_code,
  'Россия'::text AS country, timestamp '2020-01-01' AS start_datetime, NULL::timestamp AS end_datetime,
  (i % 200)::text AS flat, (i % 10)::text AS building, (i % 150)::text AS house, 'Улица ' || i % 3000 AS street,
  timestamp '2024-01-01 10:00' AS create_datetime, timestamp '2024-01-02 10:00' AS send_datetime
  FROM generate_series(1, $ROWS) i;
ALTER TABLE address ADD PRIMARY KEY (id);
VACUUM ANALYZE address;
SQL
cat >profile.json <<EOF
{"profile": "bench", "description": "bench_pg.sh",
 "models": [{"name": "address", "key": ["id"],
  "columns": [{"name": "id", "type": "int"}, {"name": "use_address", "type": "int"},
   {"name": "type_address", "type": "int"}, {"name": "text", "type": "text"},
   {"name": "city", "type": "text"}, {"name": "district", "type": "text"},
   {"name": "state", "type": "text"}, {"name": "postal_code", "type": "text"},
   {"name": "country", "type": "text"}, {"name": "start_datetime", "type": "datetime"},
   {"name": "end_datetime", "type": "datetime"}, {"name": "flat", "type": "text"},
   {"name": "building", "type": "text"}, {"name": "house", "type": "text"},
   {"name": "street", "type": "text"}, {"name": "create_datetime", "type": "datetime"},
   {"name": "send_datetime", "type": "datetime"}],
  "postgres": {"mode": "snapshot", "query": "SELECT $cols FROM address"}}]}
EOF
printf '[rdm_general]\nEXPORT_ENTITY_ID_PREFIX = B\n[agent]\nDATA_DIR = %s/data\nPROFILE = %s/profile.json\nLOG_LEVEL = warning\n[source]\nTYPE = postgres\nDSN = %s\n' \
    "$W" "$W" "$RDM_TEST_DSN" >rdm-agent.ini
secs() { /usr/bin/time -f "%e %M" -o "$W/time" "$@" >"$W/out" 2>"$W/err" || { cat "$W/err"; exit 1; }; cat "$W/time"; }
"$AGENT" --config rdm-agent.ini init >/dev/null
read -r t_copy _ < <(secs psql -qX -c "\\copy (SELECT $cols FROM address) TO '$W/copy.csv' CSV")
read -r t_col rss1 < <(secs "$AGENT" --config rdm-agent.ini collect)
read -r t_col2 rss2 < <(secs "$AGENT" --config rdm-agent.ini collect)
grep -q "0 changes" "$W/out" || { echo "second collect: $(cat "$W/out")"; exit 1; }
# the floor: SQLite alone storing the same rows in the store's staged table
# (tests/bench/bench_sqlite_floor.c; the rows from a second, untimed \copy)
psql -qX -c "\\copy (SELECT $cols FROM address) TO '$W/floor.csv' (FORMAT csv, HEADER, DELIMITER ';')"
read -r t_floor _ < <("$(dirname "$AGENT")/tests/bench_sqlite_floor" --store data/rdm-agent.db "$W" address floor.csv ';')
awk -v rows="$ROWS" -v tc="$t_copy" -v tf="$t_floor" -v t1="$t_col" -v t2="$t_col2" -v r1="$rss1" -v r2="$rss2" 'BEGIN {
    printf "rows %d\n", rows
    printf "psql \\copy (ceiling): %.2f s, %.0f rows/s\n", tc, rows / tc
    printf "rdm-agent collect: %.2f s, %.0f rows/s; ratio to \\copy %.2f (goal >= 0.8)\n", t1, rows / t1, tc / t1
    printf "rdm-agent collect of the unchanged table: %.2f s (%.2f of the first)\n", t2, t2 / t1
    printf "floor: SQLite alone storing the rows in the staged table (pre-split, a commit every 500): %.2f s; 0.8 of \\copy allows %.2f s for all of collect\n", tf, tc / 0.8
    printf "peak RSS %.1f MiB\n", (r1 > r2 ? r1 : r2) / 1024
}'

#!/usr/bin/env bash
# bench_export.sh [ROWS] [AGENT] - export of the core profile's ADDRESS
# (17 fields) from a store of ROWS staged rows: the full first export
# against, in the same run on the same store, `sqlite3 -csv` printing the
# same rows (the ceiling); then exports of 1,000, 10,000 and 100,000
# changed records (a partial dump of changes imported and collected) with
# the rows each one read; peak RSS of every export. Not a test: it prints
# figures and ratios. Needs sqlite3, GNU time.
set -euo pipefail
ROWS=${1:-1000000}
HERE=$(cd "$(dirname "$0")" && pwd)
AGENT=${2:-$HERE/../../build/release/rdm-agent}
CHUNK=${CHUNK:-500}
W=$(mktemp -d /tmp/rdm-bench-XXXXXX)
trap 'rm -rf "$W"' EXIT
cd "$W"

gen() { # first last tag -> stdout: rows first..last, text tagged
    awk -v a="$1" -v b="$2" -v tag="$3" 'BEGIN {
        print "id;use_address;type_address;text;city;district;state;postal_code;country;start_datetime;end_datetime;flat;building;house;street;create_datetime;send_datetime"
        for (i = a; i <= b; i++)
            printf "%d;%d;%d;\"г. Город, ул. Улица %d, д. %d%s\";Город %d;Район %d;Область %d;%06d;Россия;2020-01-01 00:00:00;;%d;%d;%d;Улица %d;2024-01-01 10:00:00;2024-01-02 10:00:00\n", i, i%5+1, i%5+1, i, i%100, tag, i%1000, i%50, i%85, 100000+i%900000, i%200, i%10, i%150, i%3000 }'
}
secs() { # command... -> "S KB"
    /usr/bin/time -f "%e %M" -o "$W/time" "$@" >"$W/out" 2>"$W/err" || { cat "$W/err"; exit 1; }
    cat "$W/time"
}
mkdir d
gen 1 "$ROWS" "" >d/address.csv
printf '[rdm_general]\nEXPORT_ENTITY_ID_PREFIX = B\nEXPORT_CHUNK_SIZE = %s\n[agent]\nDATA_DIR = %s/data\nLOG_LEVEL = warning\n' "$CHUNK" "$W" >rdm-agent.ini
"$AGENT" --config rdm-agent.ini init >/dev/null
"$AGENT" --config rdm-agent.ini import d/address.csv >/dev/null
"$AGENT" --config rdm-agent.ini collect >/dev/null
rm d/address.csv

read -r t_exp rss_exp < <(secs "$AGENT" --config rdm-agent.ini export --entities ADDRESS)
sed 's/^/  /' "$W/out"
bytes=$(find data/export -type f -name '*.csv' -printf '%s\n' | awk '{ s += $1 } END { print s }')
rm -rf data/export/*
fields='"id", "use_address", "type_address", "text", "city", "district", "state", "postal_code", "country", "start_datetime", "end_datetime", "flat", "building", "house", "street", "create_datetime", "send_datetime"'
read -r t_sql _ < <(secs sqlite3 -csv -header data/rdm-agent.db "SELECT $fields FROM \"rdm:stg:address\" ORDER BY \"rdm:chg\", rowid")
awk -v rows="$ROWS" -v te="$t_exp" -v ts="$t_sql" -v rss="$rss_exp" -v bytes="$bytes" -v chunk="$CHUNK" 'BEGIN {
    printf "full export of %d records (EXPORT_CHUNK_SIZE %d, %.0f MB of files): %.2f s, %.0f records/s, peak RSS %.1f MiB\n", rows, chunk, bytes / 1e6, te, rows / te, rss / 1024
    printf "sqlite3 -csv of the same rows (ceiling): %.2f s, %.0f rows/s\n", ts, rows / ts
    printf "ratio: %.2f (goal >= 0.8)\n", ts / te }'

n=0
for k in 1000 10000 100000; do
    n=$((n + 1))
    gen $((ROWS / 2)) $((ROWS / 2 + k - 1)) " (изм. $n)" >d/address.csv
    "$AGENT" --config rdm-agent.ini import --partial d/address.csv >/dev/null
    "$AGENT" --config rdm-agent.ini collect >/dev/null
    rm d/address.csv
    read -r t rss < <(secs "$AGENT" --config rdm-agent.ini -v export --entities ADDRESS)
    read_rows=$(grep -o '[0-9]* record(s) read' "$W/out" | cut -d' ' -f1)
    scans=$(grep -o '[0-9]* full-scan step(s)' "$W/out" | cut -d' ' -f1)
    printf "export of %d changed records out of %d: %.2f s, %s records read, %s full-scan steps, peak RSS %.1f MiB\n" \
        "$k" "$ROWS" "$t" "$read_rows" "$scans" "$(awk -v r="$rss" 'BEGIN { print r / 1024 }')"
    rm -rf data/export/*
done

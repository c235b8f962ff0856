#!/usr/bin/env bash
# bench_collect.sh [ROWS] [AGENT] - import + collect of a dump of the core
# profile (ADDRESS, 17 columns) against, in the same run on the same file:
# sqlite3's own .import into a bare table (the ceiling) and a plain Python
# csv + sqlite3 upsert script (the peer); then the re-collect of the same
# rows in a new file (other bytes, same content: 0 changes), and peak RSS;
# then the floor (tests/bench/bench_sqlite_floor.c): what SQLite alone takes
# to store the same rows in a bare table and in the staged table's shape.
# Not a test: it prints figures and ratios. Needs sqlite3, python3, GNU time.
set -euo pipefail
ROWS=${1:-1000000}
HERE=$(cd "$(dirname "$0")" && pwd)
AGENT=${2:-$HERE/../../build/release/rdm-agent}
W=$(mktemp -d /tmp/rdm-bench-XXXXXX)
trap 'rm -rf "$W"' EXIT
cd "$W"

gen() { # rows [reverse] -> stdout
    awk -v n="$1" -v rev="${2:-0}" 'BEGIN {
        print "id;use_address;type_address;text;city;district;state;postal_code;country;start_datetime;end_datetime;flat;building;house;street;create_datetime;send_datetime"
        for (k = 1; k <= n; k++) { i = rev ? n + 1 - k : k
            printf "%d;%d;%d;\"г. Город, ул. Улица %d, д. %d\";Город %d;Район %d;Область %d;%06d;Россия;2020-01-01 00:00:00;;%d;%d;%d;Улица %d;2024-01-01 10:00:00;2024-01-02 10:00:00\n", i, i%5+1, i%5+1, i, i%100, i%1000, i%50, i%85, 100000+i%900000, i%200, i%10, i%150, i%3000 } }'
}
secs() { # command... -> prints seconds and max RSS (KB) as "S KB"
    /usr/bin/time -f "%e %M" -o "$W/time" "$@" >/dev/null 2>"$W/err" || { cat "$W/err"; exit 1; }
    cat "$W/time"
}
mkdir first again
gen "$ROWS" >first/address.csv
gen "$ROWS" 1 >again/address.csv
size=$(stat -c %s first/address.csv)
printf '[rdm_general]\nEXPORT_ENTITY_ID_PREFIX = B\n[agent]\nDATA_DIR = %s/data\nLOG_LEVEL = warning\n' "$W" >rdm-agent.ini
"$AGENT" --config rdm-agent.ini init >/dev/null

read -r t_imp rss_imp < <(secs "$AGENT" --config rdm-agent.ini import first/address.csv)
read -r t_col rss_col < <(secs "$AGENT" --config rdm-agent.ini collect)
read -r t_imp2 rss_imp2 < <(secs "$AGENT" --config rdm-agent.ini import again/address.csv)
read -r t_col2 rss_col2 < <(secs "$AGENT" --config rdm-agent.ini collect)
grep -q "0 changes" < <("$AGENT" --config rdm-agent.ini collect) || true
read -r t_sql _ < <(secs sqlite3 bare.db ".mode csv" ".separator ;" ".import first/address.csv t")
read -r t_py _ < <(secs python3 "$HERE/peer_import.py" first/address.csv peer.db)
# the floor: SQLite alone storing the same rows, already split (built beside
# the agent: build/<dir>/tests/bench_sqlite_floor)
FLOOR=$(dirname "$AGENT")/tests/bench_sqlite_floor
floor=""
[ -x "$FLOOR" ] && floor=$("$FLOOR" "$ROWS" "$W")

awk -v rows="$ROWS" -v size="$size" -v ti="$t_imp" -v tc="$t_col" -v ti2="$t_imp2" -v tc2="$t_col2" \
    -v ts="$t_sql" -v tp="$t_py" -v r1="$rss_imp" -v r2="$rss_col" -v r3="$rss_imp2" -v r4="$rss_col2" 'BEGIN {
    ours = ti + tc
    printf "rows %d, dump %.0f MB\n", rows, size / 1e6
    printf "rdm-agent import %.2f s + collect %.2f s = %.2f s: %.0f rows/s\n", ti, tc, ours, rows / ours
    printf "sqlite3 .import (ceiling): %.2f s: %.0f rows/s\n", ts, rows / ts
    printf "python csv+sqlite3 upsert (peer): %.2f s: %.0f rows/s\n", tp, rows / tp
    printf "ratio to .import: %.2f (goal >= 1.0); to the Python peer: %.2fx (goal >= 2.5)\n", ts / ours, tp / ours
    printf "re-collect, same rows in a new file: import %.2f s + collect %.2f s = %.2f s: %.2f of the first run (goal <= 0.25); collect alone %.2f of the first collect\n", ti2, tc2, ti2 + tc2, (ti2 + tc2) / ours, tc2 / tc
    m = r1; if (r2 > m) m = r2; if (r3 > m) m = r3; if (r4 > m) m = r4
    printf "peak RSS %.1f MiB (goal < 64 MiB)\n", m / 1024
}'
[ -z "$floor" ] || echo "$floor"


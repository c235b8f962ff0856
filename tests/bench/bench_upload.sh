#!/usr/bin/env bash
# bench_upload.sh [ROWS] [BUILD_DIR] - upload of the export files of ROWS
# ADDRESS records (core profile, EXPORT_CHUNK_SIZE=${CHUNK:-5000}) to
# rdm-datamart-emulator over loopback: `rdm-agent upload` (every file's
# size and SHA-256 checked as it is sent, the intent and the answer
# committed to the store, the status asked once after) against, in the same
# run, to the same emulator and in the same order, one `curl` process
# sending the same files with --data-binary over one kept-alive connection
# (the ceiling: the best a user could do by hand). Prints MB/s of each,
# their ratio (goal >= 0.9) and rdm-agent's peak RSS. Not a test. Needs
# curl and GNU time.
set -euo pipefail
ROWS=${1:-200000}
HERE=$(cd "$(dirname "$0")" && pwd)
B=${2:-$HERE/../../build/release}
AGENT=$B/rdm-agent EMU=$B/rdm-datamart-emulator
CHUNK=${CHUNK:-5000}
W=$(mktemp -d /tmp/rdm-bench-XXXXXX)
EPID=""
trap '[ -n "$EPID" ] && kill $EPID 2>/dev/null; rm -rf "$W"' EXIT
cd "$W"

mkdir d
awk -v n="$ROWS" 'BEGIN {
    print "id;use_address;type_address;text;city;district;state;postal_code;country;start_datetime;end_datetime;flat;building;house;street;create_datetime;send_datetime"
    for (i = 1; i <= n; i++)
        printf "%d;%d;%d;\"г. Город, ул. Улица %d, д. %d\";Город %d;Район %d;Область %d;%06d;Россия;2020-01-01 00:00:00;;%d;%d;%d;Улица %d;2024-01-01 10:00:00;2024-01-02 10:00:00\n", i, i%5+1, i%5+1, i, i%100, i%1000, i%50, i%85, 100000+i%900000, i%200, i%10, i%150, i%3000 }' >d/address.csv
"$EMU" --state emu.state --port-file port --profile core --prefix B --step-ms 0 2>emu.log &
EPID=$!
for _ in $(seq 100); do [ -s port ] && break; sleep 0.05; done
URL=http://127.0.0.1:$(cat port)
printf '[rdm_general]\nEXPORT_ENTITY_ID_PREFIX = B\nEXPORT_CHUNK_SIZE = %s\n[agent]\nDATA_DIR = %s/data\nLOG_LEVEL = warning\n[uploader_client]\nURL = %s\nENABLE_REQUEST_EMULATION = False\n' \
    "$CHUNK" "$W" "$URL" >rdm-agent.ini
ag() { "$AGENT" --config rdm-agent.ini "$@"; }
ag init >/dev/null
ag import d/address.csv >/dev/null 2>&1
ag collect >/dev/null
ag export --entities ADDRESS >/dev/null
rm d/address.csv
files=$(sqlite3 data/rdm-agent.db "SELECT path FROM attachment WHERE size > 0 ORDER BY id")
n=$(echo "$files" | wc -l)
bytes=$(sqlite3 data/rdm-agent.db "SELECT sum(size) FROM attachment WHERE size > 0")

# the files are read from the page cache by both: read them once first
cat data/export/*/*/*.csv >/dev/null
/usr/bin/time -f "%e %M" -o t_agent "$AGENT" --config rdm-agent.ini upload >out 2>err || { cat err; exit 1; }
read -r t_ag rss < t_agent
grep -q "$n file(s) sent" out || { echo "rdm-agent did not send all $n files: $(cat out)"; exit 1; }

args=()
for f in $files; do
    op=upload
    case $f in *.delete.*) op=delete ;; esac
    [ ${#args[@]} -gt 0 ] && args+=(--next)
    args+=(-s -o /dev/null -w '%{http_code}\n' -H 'Content-Type: text/csv' --data-binary "@data/$f"
        "$URL/v2/datamarts/test/tables/address/$op")
done
/usr/bin/time -f "%e" -o t_curl curl "${args[@]}" >codes
t_cu=$(cat t_curl)
[ "$(grep -c '^200$' codes)" = "$n" ] || { echo "curl: not every answer was 200: $(sort codes | uniq -c)"; exit 1; }

awk -v n="$n" -v b="$bytes" -v ta="$t_ag" -v tc="$t_cu" -v rss="$rss" -v rows="$ROWS" 'BEGIN {
    printf "%d records, %d files, %.1f MB\n", rows, n, b / 1e6
    printf "rdm-agent upload: %.2f s, %.1f MB/s, peak RSS %.1f MiB\n", ta, b / 1e6 / ta, rss / 1024
    printf "curl --data-binary, one connection (ceiling): %.2f s, %.1f MB/s\n", tc, b / 1e6 / tc
    printf "ratio to curl: %.2f (goal >= 0.9)\n", tc / ta
}'

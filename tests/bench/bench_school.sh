#!/usr/bin/env bash
# bench_school.sh [RECORDS] [BUILD_DIR] - issue 9's side-by-side run on a
# dataset of the example school profile (tests/bench/gen_school.py: 100,000
# records is a school, 10,000,000 a region), each step against its ceiling
# in the same run on the same files:
#   import + collect of the bundle   vs  sqlite3 .import of its files into
#                                        bare tables, and the Python peer
#                                        (peer_import.py, an upsert per file);
#                                        and the floor under it: SQLite alone
#                                        storing the rows in the staged
#                                        tables (bench_sqlite_floor --store)
#   export of the six entities       vs  sqlite3 -csv of the same entities'
#                                        selects over the staged rows
#   upload of the exported files     vs  curl --data-binary of the same
#                                        files, one kept-alive connection
# to rdm-datamart-emulator over loopback. Prints rows/s, MB/s, the ratios and
# every rdm-agent run's peak RSS. (Collect from PostgreSQL against psql
# \copy is tests/bench/bench_pg.sh.) Not a test. Needs sqlite3, python3,
# curl, GNU time.
set -euo pipefail
N=${1:-100000}
HERE=$(cd "$(dirname "$0")" && pwd)
B=$(cd "${2:-$HERE/../../build/release}" && pwd)
AGENT=$B/rdm-agent EMU=$B/rdm-datamart-emulator
PROF=$HERE/../../conf/profiles/school-example.json
W=$(mktemp -d /tmp/rdm-bench-XXXXXX)
EPID=""
trap '[ -n "$EPID" ] && kill $EPID 2>/dev/null; rm -rf "$W"' EXIT
cd "$W"
secs() { # label command... -> W/label.time ("S KB" of GNU time), W/label.out
    local l=$1; shift
    /usr/bin/time -f "%e %M" -o "$W/$l.time" "$@" >"$W/$l.out" 2>"$W/$l.err" ||
        { echo "$l failed:"; tail -5 "$W/$l.err"; return 1; }
}

python3 "$HERE/gen_school.py" "$N" bundle >gen.out
rows=$(grep -o '[0-9]* rows' gen.out | cut -d' ' -f1)
mb=$(du -sm bundle | cut -f1)
echo "dataset: $(cat gen.out); $mb MB"

"$EMU" --state emu.state --port-file port --profile "$PROF" --prefix S --step-ms 0 2>emu.log &
EPID=$!
for _ in $(seq 100); do [ -s port ] && break; sleep 0.05; done
URL=http://127.0.0.1:$(cat port)
printf '[rdm_general]\nEXPORT_ENTITY_ID_PREFIX = S\n[agent]\nDATA_DIR = %s/data\nPROFILE = %s\nLOG_LEVEL = warning\n[uploader_client]\nURL = %s\nENABLE_REQUEST_EMULATION = False\n' \
    "$W" "$PROF" "$URL" >rdm-agent.ini
"$AGENT" --config rdm-agent.ini init >/dev/null

# ---- import + collect
secs import "$AGENT" --config rdm-agent.ini import bundle
read -r t_imp r_imp <import.time
secs collect "$AGENT" --config rdm-agent.ini collect
read -r t_col r_col <collect.time
sep_of() { [ "$1" = class.csv ] && echo , || echo ';'; }
enc_of() { [ "$1" = person.csv ] && echo cp1251 || echo utf-8; }
{
    for f in bundle/*.csv; do
        b=$(basename "$f")
        printf '.separator "%s"\n.import %s %s\n' "$(sep_of "$b")" "$f" "${b%.csv}"
    done
} >import.sql
secs sqlite sh -c 'printf ".mode csv\n" | cat - import.sql | sqlite3 bare.db'
read -r t_sql _ <sqlite.time
# the floor: SQLite alone storing the same rows in the store's staged
# tables, split before the clock starts, a commit every 500 rows
# (tests/bench/bench_sqlite_floor.c)
floor_args=$(python3 - "$PROF" <<'PY'
import json, sys
for m in json.load(open(sys.argv[1]))["models"]:
    c = m.get("csv")
    if c:
        print(m["name"], "bundle/" + c["file"], c.get("delimiter", ";"))
PY
)
# shellcheck disable=SC2086 # model, file, separator triples
"$B/tests/bench_sqlite_floor" --store data/rdm-agent.db "$W" $floor_args >floor.out
t_floor=$(cut -d' ' -f1 floor.out)
peer() {
    for f in bundle/*.csv; do
        b=$(basename "$f")
        python3 "$HERE/peer_import.py" "$f" peer.db "$(enc_of "$b")" "$(sep_of "$b")" "${b%.csv}" || return 1
    done
}
export -f peer sep_of enc_of
export HERE
secs python bash -c peer
read -r t_py _ <python.time

# ---- export
secs export "$AGENT" --config rdm-agent.ini export
read -r t_exp r_exp <export.time
python3 - "$PROF" >dump.sql <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
for m in p["models"]:
    print('CREATE TEMP VIEW "%s" AS SELECT * FROM main."rdm:stg:%s" WHERE "rdm:op" != 3;' % (m["name"], m["name"]))
for e in p["entities"]:
    sql = e.get("select") or 'SELECT * FROM "%s"' % e["models"][0]
    print(sql.rstrip().rstrip(";") + ";")
PY
secs dump sh -c 'sqlite3 -csv data/rdm-agent.db <dump.sql >dump.csv'
read -r t_dump _ <dump.time
records=$(grep -o '[0-9]* created' export.out | head -1 | cut -d' ' -f1)
exp_bytes=$(sqlite3 data/rdm-agent.db "SELECT sum(size) FROM attachment")

# ---- upload
files=$(sqlite3 data/rdm-agent.db "SELECT a.path || ' ' || lower(s.entity) FROM attachment a JOIN export_substage s ON s.id = a.substage_id WHERE a.size > 0 ORDER BY a.id")
nf=$(echo "$files" | grep -c .)
cat data/export/*/*/*.csv >/dev/null
secs upload "$AGENT" --config rdm-agent.ini upload
read -r t_up r_up <upload.time
grep -q "$nf file(s) sent" upload.out || { echo "rdm-agent did not send all $nf files: $(cat upload.out)"; exit 1; }
# one curl, one kept-alive connection, every file (a config file: a region's
# 20,000 files do not fit a command line)
sep=""
while read -r f ent; do
    op=upload
    case $f in *.delete.*) op=delete ;; esac
    printf '%surl = "%s"\ndata-binary = "@data/%s"\nheader = "Content-Type: text/csv"\noutput = "/dev/null"\nsilent\nwrite-out = "%%{http_code}\\n"\n' \
        "$sep" "$URL/v2/datamarts/test/tables/$ent/$op" "$f"
    sep="next
"
done <<<"$files" >curl.conf
secs curl curl -K curl.conf
read -r t_curl _ <curl.time
[ "$(grep -c '^200$' curl.out)" = "$nf" ] || { echo "curl: not every answer was 200: $(sort curl.out | uniq -c)"; exit 1; }

awk -v rows="$rows" -v recs="$records" -v ti="$t_imp" -v tc="$t_col" -v ts="$t_sql" -v tp="$t_py" -v te="$t_exp" -v td="$t_dump" -v tf="$t_floor" \
    -v eb="$exp_bytes" -v nf="$nf" -v tu="$t_up" -v tcu="$t_curl" \
    -v r1="$r_imp" -v r2="$r_col" -v r3="$r_exp" -v r4="$r_up" 'BEGIN {
    ic = ti + tc
    printf "import + collect: %.2f s + %.2f s = %.2f s, %.0f rows/s; sqlite3 .import %.2f s (ratio %.2f, goal >= 1.0); Python peer %.2f s (%.2fx, goal >= 2.5)\n", ti, tc, ic, rows / ic, ts, ts / ic, tp, tp / ic
    printf "floor: SQLite alone storing the rows as collect must (staged tables, pre-split rows, a commit every 500) %.2f s; .import %.2f s; 2.5x the Python peer allows %.2f s for import + collect\n", tf, ts, tp / 2.5
    printf "export: %d records in %.2f s, %.0f records/s, %.1f MB; sqlite3 -csv of the entities %.2f s (ratio %.2f, goal >= 0.8)\n", recs, te, recs / te, eb / 1e6, td, td / te
    printf "upload: %d files, %.1f MB in %.2f s, %.1f MB/s; curl %.2f s, %.1f MB/s (ratio %.2f, goal >= 0.9)\n", nf, eb / 1e6, tu, eb / 1e6 / tu, tcu, eb / 1e6 / tcu, tcu / tu
    m = r1; if (r2 > m) m = r2; if (r3 > m) m = r3; if (r4 > m) m = r4
    printf "peak RSS: import %.1f, collect %.1f, export %.1f, upload %.1f MiB (goal < 64 MiB)\n", r1 / 1024, r2 / 1024, r3 / 1024, r4 / 1024
}'

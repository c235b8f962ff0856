#!/usr/bin/env bash
# test_export.sh AGENT SOURCE_DIR - rdm-agent export against an independent
# checker (tests/tools/export_check.py): the files' bytes, sizes and hashes,
# exactly-once delivery over rounds of creates, updates and deletes (one
# entity read from one model, one joined from two), --entities and
# ENTITIES, a disk that fills during an export, and kill -9 at every fault
# point of an export followed by a rerun. Prints "N passed, N failed".
set -u
AGENT=$1 SRC=$2
T=$(mktemp -d /tmp/rdm-export-XXXXXX)
MNT=""
cleanup() { [ -n "$MNT" ] && umount "$MNT" 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
PROF=$SRC/tests/data/profiles/export.json
check() { # dir [lines-file] -> export_check's verdict
    python3 "$SRC/tests/tools/export_check.py" "$PROF" "$1/data" T ${2:+--lines "$2"}
}

gen() { # round persons dir
    mkdir -p "$3"
    awk -v n="$2" -v r="$1" 'BEGIN {
        print "id;name;born;active;score;seen;team_id;snils"
        for (i = 1; i <= n; i++) {
            if (r >= 2 && i % 11 == 0) continue
            name = "Имя " i; if (r >= 2 && i % 7 == 0) name = name " (изм. " r ")"
            if (i % 13 == 0) name = name "\tс табуляцией и \"кавычками\""
            gsub(/"/, "\"\"", name)
            team = i % 5 + 1; if (r >= 3 && i % 17 == 0) team = 99 # no such team: leaves MEMBER
            printf "%d;\"%s\";2010-01-%02d;%d;%d.%02d;2024-01-01 10:00:%02d;%d;%03d-%03d-%03d %02d\n", i, name, i % 28 + 1, i % 2, i % 5, i % 100, i % 60, team, i % 1000, i % 999, i % 998, i % 97
        }
        if (r >= 2) for (i = n + 1; i <= n + n / 10; i++) printf "%d;Новый %d;;;;;;\n", i, i
    }' >"$3/person.csv"
    awk -v r="$1" 'BEGIN { print "id;title"
        for (t = 1; t <= 5; t++) { if (r >= 2 && t == 4) continue
            printf "%d;Команда %d%s\n", t, t, (r >= 2 && t == 2) ? " (новое имя)" : "" } }' >"$3/team.csv"
}
setup() { # dir chunk [extra ini lines]
    mkdir -p "$1"
    printf '[rdm_general]\nEXPORT_ENTITY_ID_PREFIX = T\nEXPORT_CHUNK_SIZE = %s\n[agent]\nDATA_DIR = data\nPROFILE = %s\nLOG_LEVEL = error\n%s' \
        "$2" "$PROF" "${3:-}" >"$1/rdm-agent.ini"
    "$AGENT" --config "$1/rdm-agent.ini" init >/dev/null || bad "init $1"
}
ag() { local d=$1; shift; "$AGENT" --config "$d/rdm-agent.ini" "$@"; }

gen 1 200 "$T/r1"; gen 2 200 "$T/r2"; gen 3 200 "$T/r3"

# ---- rounds: every change delivered once, files as the checker computes them
# (round 3 moves people to a team that does not exist: their MEMBER records
# leave the join while their rows stay live, found by the reconciliation)
D=$T/main; setup "$D" 7
ag "$D" import "$T/r1" >/dev/null && ag "$D" collect >/dev/null || bad "round 1 import/collect"
out=$(ag "$D" export) && ok || bad "round 1 export: $out"
echo "$out" | grep -q "400 created, 0 updated, 0 deleted" && ok || bad "round 1: $out"
# MEMBER joins team on its integer key: the select reads the staged rows by
# rowid, with no automatic index rebuilt for every chunk
echo "$out" | grep -q " 0 automatic-index row(s)" && ok || bad "round 1 built automatic indexes: $out"
check "$D" && ok || bad "round 1 check"
out=$(ag "$D" export)
echo "$out" | grep -q "0 sub-stage(s), 0 file(s)" && ok || bad "second export of nothing: $out"
# the first PERSON file, byte for byte: header, quoting, prefix, hash, no final newline
f=$(sqlite3 "$D/data/rdm-agent.db" "SELECT path FROM attachment a JOIN export_substage s ON s.id = a.substage_id WHERE s.entity = 'PERSON' ORDER BY a.id LIMIT 1")
head -c 120 "$D/data/$f" | head -1 | grep -qx 'id;name;born;active;score;seen;team_id;snils' && ok || bad "header of $f"
sed -n 2p "$D/data/$f" | grep -q '^"T-1";"Имя 1";"2010-01-02";"True";"1.01";"2024-01-01 10:00:01";"T-2";"[0-9a-f]\{128\}"$' && ok ||
    bad "first record of $f: $(sed -n 2p "$D/data/$f")"
[ "$(tail -c 1 "$D/data/$f" | od -An -c | tr -d ' ')" != '\n' ] && ok || bad "$f ends with a newline"
case "$f" in export/*/PERSON/*.create.rdm_person.csv) ok ;; *) bad "file layout: $f" ;; esac
# no empty sub-stage registered a file; chunks hold at most EXPORT_CHUNK_SIZE changed rows
n=$(sqlite3 "$D/data/rdm-agent.db" "SELECT count(*) FROM export_substage WHERE status = 'READY_FOR_EXPORT' AND records = 0")
[ "$n" = 0 ] && ok || bad "$n READY_FOR_EXPORT sub-stages without records"

# a store made before keys could be integers keeps a joined entity's keys
# as text (a TEXT column): the later rounds must find them there, and the
# reconciliation must not take them for records that left the select
cp -a "$D" "$T/old"
sqlite3 "$T/old/data/rdm-agent.db" 'CREATE TABLE "rdm:old"(pk TEXT PRIMARY KEY, h INTEGER NOT NULL, sub INTEGER NOT NULL) WITHOUT ROWID; INSERT INTO "rdm:old" SELECT CAST(pk AS TEXT), h, sub FROM "rdm:ent:MEMBER"; DROP TABLE "rdm:ent:MEMBER"; ALTER TABLE "rdm:old" RENAME TO "rdm:ent:MEMBER"' || bad "old store"
for r in r2 r3; do
    for d in "$D" "$T/old"; do
        ag "$d" import "$T/$r" >/dev/null && ag "$d" collect >/dev/null || bad "$r import/collect ($d)"
        out=$(ag "$d" export) && ok || bad "$r export ($d): $out"
        check "$d" && ok || bad "$r check ($d)"
    done
done
[ "$(sqlite3 "$T/old/data/rdm-agent.db" 'SELECT count(*) FROM "rdm:ent:MEMBER" WHERE typeof(pk) <> '"'text'")" = 0 ] && ok || bad "old store: integer keys in a TEXT state"
out=$(ag "$D" export)
echo "$out" | grep -q "0 sub-stage(s), 0 file(s)" && ok || bad "export after r3 again: $out"
# a sub-stage never holds more than EXPORT_CHUNK_SIZE records, even when one
# changed team row yields the MEMBER records of all its people
n=$(sqlite3 "$D/data/rdm-agent.db" "SELECT count(*) FROM export_substage WHERE records > 7")
[ "$n" = 0 ] && ok || bad "$n sub-stages hold more than EXPORT_CHUNK_SIZE records"
n=$(sqlite3 "$D/data/rdm-agent.db" "SELECT count(*) FROM (SELECT 1 FROM export_substage WHERE entity = 'MEMBER' AND model = 'team' GROUP BY lo_chg, lo_rid HAVING count(*) > 1)")
[ "$n" -ge 1 ] && ok || bad "no team window was split into several sub-stages"

# ---- --entities and [rdm_transfer_task] ENTITIES
out=$(ag "$D" export --entities PERSON,NOPE 2>&1); rc=$?
[ $rc = 2 ] && echo "$out" | grep -q "unknown entity 'NOPE'; the profile has: PERSON, MEMBER" && ok ||
    bad "unknown entity: rc $rc: $out"
gen 4 200 "$T/r4"
ag "$D" import "$T/r4" >/dev/null && ag "$D" collect >/dev/null || bad "r4 import/collect"
out=$(ag "$D" export --entities " PERSON ") && ok || bad "export --entities PERSON: $out"
n=$(sqlite3 "$D/data/rdm-agent.db" "SELECT count(*) FROM export_substage WHERE stage_id = (SELECT max(id) FROM export_stage) AND entity != 'PERSON'")
[ "$n" = 0 ] && ok || bad "--entities PERSON exported $n sub-stages of other entities"
printf '[rdm_transfer_task]\nENTITIES = MEMBER\n' >>"$D/rdm-agent.ini"
out=$(ag "$D" export) && ok || bad "export with ENTITIES = MEMBER: $out"
n=$(sqlite3 "$D/data/rdm-agent.db" "SELECT count(*) FROM export_substage WHERE stage_id = (SELECT max(id) FROM export_stage) AND entity != 'MEMBER'")
[ "$n" = 0 ] && ok || bad "ENTITIES = MEMBER exported $n sub-stages of other entities"
check "$D" && ok || bad "check after --entities and ENTITIES"

# ---- a disk that fills during an export, then space comes back
if [ "$(id -u)" = 0 ] && mkdir -p "$T/full/data/export" && mount -t tmpfs -o size=96k tmpfs "$T/full/data/export" 2>/dev/null; then
    MNT=$T/full/data/export
    setup "$T/full" 100
    gen 1 2000 "$T/big"
    ag "$T/full" import "$T/big" >/dev/null && ag "$T/full" collect >/dev/null || bad "disk full: import/collect"
    out=$(ag "$T/full" export 2>&1); rc=$?
    [ $rc = 1 ] && echo "$out" | grep -q "no space left for $T/full/data/export/.*bytes free" && ok ||
        bad "disk full: rc $rc: $out"
    n=$(sqlite3 "$T/full/data/rdm-agent.db" "SELECT count(*) FROM export_substage WHERE status = 'FAILED' AND error LIKE 'no space left for%'")
    [ "$n" -ge 1 ] && ok || bad "disk full: no FAILED sub-stage with the reason"
    [ "$(sqlite3 "$T/full/data/rdm-agent.db" "PRAGMA integrity_check")" = ok ] && ok || bad "disk full: integrity"
    ls "$MNT"/*/*/*.tmp >/dev/null 2>&1 && bad "disk full: a temporary file was left" || ok
    # registered files are whole (the checker replays what was registered so far)
    python3 "$SRC/tests/tools/export_check.py" "$PROF" "$T/full/data" T 2>&1 | grep -q "never delivered" && ok ||
        bad "disk full: the partial state should lack records"
    python3 "$SRC/tests/tools/export_check.py" "$PROF" "$T/full/data" T 2>&1 |
        grep -E "size or SHA|no record|unregistered|no attachment names|twice|already created" && bad "disk full: bad registered files" || ok
    mount -o remount,size=8m "$MNT" || bad "remount"
    out=$(ag "$T/full" export 2>&1) && ok || bad "after space came back: $out"
    check "$T/full" && ok || bad "after space came back: check"
    n=$(sqlite3 "$T/full/data/rdm-agent.db" "SELECT count(*) FROM export_substage s JOIN export_substage f ON f.id = s.retry_of WHERE f.status = 'FAILED' AND s.status = 'READY_FOR_EXPORT'")
    [ "$n" -ge 1 ] && ok || bad "the FAILED sub-stage was not retried (retry_of)"
    umount "$MNT"; MNT=""
else
    echo "export disk-full case needs root to mount a small tmpfs: not run"
    bad "disk-full case not run (needs root and tmpfs)"
fi

# ---- kill -9 at every fault point of an export, then rerun
K=$T/kill
setup "$K/ref" 9
gen 1 60 "$K/s1"; gen 3 60 "$K/s2"
kills=0
for r in s1 s2; do
    ag "$K/ref" import "$K/$r" >/dev/null && ag "$K/ref" collect >/dev/null || bad "kill: $r collect"
    rm -rf "$K/snap"; cp -a "$K/ref" "$K/snap"   # the state before this round's export
    ag "$K/ref" export >/dev/null || bad "kill: reference export $r"
    check "$K/ref" "$K/want.$r" >/dev/null || bad "kill: reference check $r"
    k=1
    while :; do
        rm -rf "$K/run"; cp -a "$K/snap" "$K/run"
        rc=$(RDM_FAULT_KILL_AT=$k "$AGENT" --config "$K/run/rdm-agent.ini" export >/dev/null 2>&1; echo $?)
        [ $rc = 137 ] || break
        kills=$((kills + 1))
        [ "$(sqlite3 "$K/run/data/rdm-agent.db" "PRAGMA integrity_check")" = ok ] || bad "kill at point $k ($r): integrity"
        ag "$K/run" export >/dev/null 2>&1 || bad "rerun after kill at point $k ($r)"
        if check "$K/run" "$K/got" >/dev/null && cmp -s <(sort "$K/want.$r") <(sort "$K/got"); then
            ok
        else
            bad "kill at point $k ($r): delivered lines differ from the uninterrupted run"
        fi
        k=$((k + 1))
    done
    [ $rc = 0 ] && ok || bad "kill: the run past the last fault point failed ($rc)"
done
echo "export kill points: $kills kills, each followed by a rerun"
[ $kills -ge 100 ] && ok || bad "only $kills kill points"

# ---- a first export whose window outgrows the chunks committed together
# (32): team 1 has 70 people, so its window of 2 team rows yields 40 chunks
# of 2 records, and the chunks in flight are committed in the middle of
# the window. A record's state must not be committed before its file:
# kill -9 at every 5th fault point, then rerun.
F=$T/fan
PROF=$SRC/tests/data/profiles/export-fanout.json setup "$F/ref" 2
mkdir -p "$F/s"
awk 'BEGIN { print "id;name;born;active;score;seen;team_id;snils"
    for (i = 1; i <= 80; i++) printf "%d;Игрок %d;;;;;%d;\n", i, i, i <= 70 ? 1 : 2 }' >"$F/s/person.csv"
printf 'id;title\n1;Основной состав\n2;Запас\n' >"$F/s/team.csv"
ag "$F/ref" import "$F/s" >/dev/null && ag "$F/ref" collect >/dev/null || bad "fan-out: collect"
rm -rf "$F/snap"; cp -a "$F/ref" "$F/snap"
ag "$F/ref" export >/dev/null || bad "fan-out: reference export"
PROF=$SRC/tests/data/profiles/export-fanout.json check "$F/ref" "$F/want" >/dev/null || bad "fan-out: reference check"
n=$(sqlite3 "$F/ref/data/rdm-agent.db" "SELECT max(c) FROM (SELECT count(*) c FROM export_substage GROUP BY lo_chg, lo_rid)")
[ "$n" -gt 32 ] && ok || bad "fan-out: no window outgrew 32 sub-stages ($n)"
k=1 fkills=0
while :; do
    rm -rf "$F/run"; cp -a "$F/snap" "$F/run"
    rc=$(RDM_FAULT_KILL_AT=$k "$AGENT" --config "$F/run/rdm-agent.ini" export >/dev/null 2>&1; echo $?)
    [ $rc = 137 ] || break
    fkills=$((fkills + 1))
    ag "$F/run" export >/dev/null 2>&1 || bad "fan-out: rerun after kill at point $k"
    if PROF=$SRC/tests/data/profiles/export-fanout.json check "$F/run" "$F/got" >/dev/null &&
        cmp -s <(sort "$F/want") <(sort "$F/got"); then
        ok
    else
        bad "fan-out: kill at point $k: delivered lines differ from the uninterrupted run"
    fi
    k=$((k + 5))
done
[ $rc = 0 ] && [ $fkills -ge 25 ] && ok || bad "fan-out: $fkills kills, last run $rc"
echo "fan-out export kill points: $fkills kills"

# ---- a select that yields one key from several rows (a profile mistake):
# within a chunk it is refused; from different chunks of a first export the
# later row is an UPDATE of the record (the state rows of a chunk are added
# 64 to a statement, and a statement that meets a key undoes itself whole)
DP=$SRC/tests/data/profiles/export-dupkey.json
mkdir -p "$T/dup/s"
awk 'BEGIN { print "id;name;born;active;score;seen;team_id;snils"
    for (i = 1; i <= 20; i++) printf "%d;Игрок %d;;;;;%d;\n", i, i, (i - 1) % 5 + 1 }' >"$T/dup/s/person.csv"
PROF=$DP setup "$T/dup/a" 10
ag "$T/dup/a" import "$T/dup/s" >/dev/null && ag "$T/dup/a" collect >/dev/null || bad "dup: collect"
out=$(ag "$T/dup/a" export 2>&1) && bad "dup: a key twice in one chunk was exported: $out" ||
    { echo "$out" | grep -q "entity TEAMS: its select returns the record key (1) twice in one chunk" && ok || bad "dup: $out"; }
[ "$(sqlite3 "$T/dup/a/data/rdm-agent.db" "SELECT count(*) FROM attachment")" = 0 ] && ok || bad "dup: files registered"
PROF=$DP setup "$T/dup/b" 5
ag "$T/dup/b" import "$T/dup/s" >/dev/null && ag "$T/dup/b" collect >/dev/null || bad "dup b: collect"
out=$(ag "$T/dup/b" export 2>&1) && echo "$out" | grep -q ": 5 created, 15 updated, 0 deleted" && ok || bad "dup b: $out"
n=$(for f in $(sqlite3 "$T/dup/b/data/rdm-agent.db" "SELECT path FROM attachment a JOIN export_substage s ON s.id = a.substage_id ORDER BY s.id DESC LIMIT 1"); do tail -n +2 "$T/dup/b/data/$f"; echo; done)
echo "$n" | grep -q '"Игрок 20"' && ok || bad "dup b: the last chunk lacks the last row: $n"

# ---- a record a deleted row yields while a live row still yields it, in
# another window: PUPIL 1 loses one of its two enrolments; slot S3 goes from
# lesson 3 (deleted) to lesson 1 (changed). Neither may be deleted at the
# datamart (before, both were: the DELETE from the deleted row's window)
AP=$SRC/tests/data/profiles/export-alive.json
mkdir -p "$T/alive/r1" "$T/alive/r2"
printf 'id;name\n1;Аня\n2;Борис\n3;Вера\n' >"$T/alive/r1/person.csv"
cp "$T/alive/r1/person.csv" "$T/alive/r2/"
printf 'id;person_id\n10;1\n11;1\n12;2\n' >"$T/alive/r1/enrol.csv"
printf 'id;person_id\n11;1\n12;2\n' >"$T/alive/r2/enrol.csv"
printf 'id;slot;title\n1;S1;a\n2;S2;b\n3;S3;c\n' >"$T/alive/r1/lesson.csv"
printf 'id;slot;title\n1;S3;a2\n2;S2;b\n' >"$T/alive/r2/lesson.csv"
PROF=$AP setup "$T/alive/d" 1
for r in r1 r2; do
    ag "$T/alive/d" import "$T/alive/$r" >/dev/null && ag "$T/alive/d" collect >/dev/null || bad "alive $r: collect"
    out=$(ag "$T/alive/d" export 2>&1) && ok || bad "alive $r: export: $out"
    PROF=$AP check "$T/alive/d" >"$T/alive/$r.check" 2>&1 && ok || bad "alive $r: $(head -5 "$T/alive/$r.check")"
done
# S3 updated, S1 deleted (found gone by the reconciliation); PUPIL 1 and S3 stay
echo "$out" | grep -q ": 0 created, 1 updated, 1 deleted" && ok || bad "alive: $out"

echo "$pass passed, $fail failed"
[ $fail = 0 ]

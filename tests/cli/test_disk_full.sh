#!/usr/bin/env bash
# test_disk_full.sh AGENT SOURCE_DIR - the store's disk fills up during
# import and during collect (export's own full disk is in test_export.sh);
# and, where a tmpfs may be mounted, the disk SQLite keeps its temporary
# files on fills up during an export.
# The data directory is a small tmpfs when this test may mount one (root),
# else every file is held under RLIMIT_FSIZE (ulimit -f). Each time: the
# command stops with exit 1 and a message naming the store and what to do,
# PRAGMA integrity_check is ok, an import leaves nothing behind; then, with
# space back, the same commands finish and the staged rows are exactly those
# of a store that never ran out of space. Prints "N passed, N failed".
set -u
AGENT=$1 SRC=$(cd "$2" && pwd)
. "$SRC/tests/cli/lib.sh"
MNT="" MNT2=""
on_exit() {
    [ -n "$MNT" ] && umount "$MNT" 2>/dev/null
    [ -n "$MNT2" ] && umount "$MNT2" 2>/dev/null
}
t_begin full
PROF=$SRC/tests/data/profiles/export.json

mkdir -p "$T/dump"
awk 'BEGIN { print "id;name;born;active;score;seen;team_id;snils"
    for (i = 1; i <= 20000; i++)
        printf "%d;Имя %d, довольно длинное, чтобы строки весили;2010-01-%02d;%d;1.%02d;2024-01-01 10:00:00;%d;%03d-%03d-%03d %02d\n", i, i, i % 28 + 1, i % 2, i % 100, i % 5 + 1, i % 1000, i % 999, i % 998, i % 97 }' >"$T/dump/person.csv"
printf 'id;title\n1;A\n2;B\n3;C\n4;D\n5;E\n' >"$T/dump/team.csv"
setup() { # dir
    mkdir -p "$1/data"
    printf '[rdm_general]\nEXPORT_ENTITY_ID_PREFIX = T\nCOLLECT_CHUNK_SIZE = 1000\n[agent]\nDATA_DIR = data\nPROFILE = %s\nLOG_LEVEL = warning\n' \
        "$PROF" >"$1/rdm-agent.ini"
}
ag() { local d=$1; shift; "$AGENT" --config "$d/rdm-agent.ini" "$@"; }
q() { sqlite3 "$1/data/rdm-agent.db" "$2"; }
staged() { q "$1" "SELECT \"rdm:k\", \"rdm:h\", \"rdm:op\", name FROM \"rdm:stg:person\" ORDER BY 1" | sha256sum; }
used() { du -sk "$1/data" | cut -f1; }
dbk() { echo $(($(stat -c %s "$1/data/rdm-agent.db") / 1024)); } # the store file alone

# the reference: the same dump with room to spare, and what each step needs
R=$T/ref; setup "$R"
ag "$R" init >/dev/null && k0=$(used "$R") f0=$(dbk "$R")
ag "$R" import "$T/dump" >/dev/null 2>&1 && k1=$(used "$R") f1=$(dbk "$R")
ag "$R" collect >/dev/null && k2=$(used "$R") f2=$(dbk "$R") || bad "reference collect"
want=$(staged "$R")
echo "data: $k0 KiB after init, $k1 KiB after import, $k2 KiB after collect; store file $f0, $f1, $f2 KiB"

D=$T/full; setup "$D"
if [ -z "${FORCE_RLIMIT:-}" ] && [ "$(id -u)" = 0 ] && mount -t tmpfs -o size=$((k0 + (k1 - k0) / 2))k tmpfs "$D/data" 2>/dev/null; then
    MNT=$D/data mode=tmpfs
    limit() { "$@"; }
    room() { mount -o remount,size="$1"k "$MNT"; } # room TMPFS_KIB FILE_KIB
else
    # no mount: each file of the store may grow to the limit only
    mode=RLIMIT_FSIZE lim=$((f0 + (f1 - f0) / 2))
    limit() { (ulimit -f "$lim"; "$@"); }
    room() { lim=$2; }
fi
echo "disk: $mode"
ag "$D" init >/dev/null || bad "init"

# import into a disk too small: nothing of it stays
out=$(limit ag "$D" import "$T/dump" 2>&1); rc=$?
full_msg="(is full|no space left).*free (some )?space and (rerun|run again)"
[ $rc = 1 ] && echo "$out" | grep -Eq "$full_msg" && ok || bad "import on a full disk: rc $rc: $out"
[ "$(q "$D" "PRAGMA integrity_check")" = ok ] && ok || bad "integrity after a full import"
[ "$(q "$D" "SELECT count(*) FROM import_source")" = 0 ] && ok || bad "a full import left a source behind"
[ -z "$(ls -A "$D/data/land" 2>/dev/null)" ] && ok || bad "a full import left landed rows: $(ls "$D/data/land")"

# room for the import (its land file), not for collect: the staged rows
# need what the store file grew by in the reference (f2 - f0) while the
# land file is still there, and more for the WAL; half of it is given
room $((k1 + (f2 - f0) / 2)) $((f2 * 4))
out=$(limit ag "$D" import "$T/dump" 2>&1) && ok || bad "import with room: $out"
room $((k1 + (f2 - f0) / 2)) $(((f2 - f1) / 2))
out=$(limit ag "$D" collect 2>&1); rc=$?
[ $rc = 1 ] && echo "$out" | grep -Eq "$full_msg" && ok || bad "collect on a full disk: rc $rc: $out"
[ "$(q "$D" "PRAGMA integrity_check")" = ok ] && ok || bad "integrity after a full collect"
part=$(q "$D" "SELECT count(*) FROM \"rdm:stg:person\"" 2>/dev/null || echo 0)
echo "collect stopped with $part of 20000 rows staged: $out"
[ "$part" -lt 20000 ] && ok || bad "the disk never filled during collect"
# a second try on the still full disk changes nothing and says the same
out=$(limit ag "$D" collect 2>&1); rc=$?
[ $rc = 1 ] && [ "$(q "$D" "PRAGMA integrity_check")" = ok ] && ok || bad "second collect on a full disk: rc $rc: $out"

# space back: the run completes with nothing lost or doubled
room $((k2 * 4)) $((f2 * 4))
out=$(limit ag "$D" collect 2>&1) && ok || bad "collect with room: $out"
[ "$(staged "$D")" = "$want" ] && ok || bad "staged rows differ from a store that never ran out of space"
[ "$(q "$D" "SELECT count(*) FROM import_source WHERE phase < 3")" = 0 ] && ok || bad "a source is not fully collected"
[ -z "$(ls -A "$D/data/land")" ] && ok || bad "land files left after collect: $(ls "$D/data/land")"
out=$(limit ag "$D" collect 2>&1) && echo "$out" | grep -q "0 changes\|nothing to collect\|0 source" && ok || bad "a third collect found work: $out"

# SQLite's temporary files on a full disk: a statement journal past 120 KiB
# goes to a file in $SQLITE_TMPDIR, as the example school's SCHEDULE state
# rows do at 100,000 records. The store's disk has room: the message must
# name the folder that is full; with room there, the export finishes, and
# every record is in exactly one registered file, as in an export that
# never ran short.
if [ "$mode" = tmpfs ]; then
    python3 "$SRC/tests/bench/gen_school.py" 100000 "$T/school" >/dev/null
    S=$T/school-store
    mkdir -p "$S/data" "$T/sqltmp"
    printf '[rdm_general]\nEXPORT_ENTITY_ID_PREFIX = S\n[agent]\nDATA_DIR = data\nPROFILE = %s\nLOG_LEVEL = warning\n' \
        "$SRC/conf/profiles/school-example.json" >"$S/rdm-agent.ini"
    { ag "$S" init && ag "$S" import "$T/school" && ag "$S" collect; } >/dev/null || bad "school: import and collect"
    cp -a "$S" "$T/school-ref"
    created() { grep -o '[0-9]* created' | awk '{ n += $1 } END { print n + 0 }'; }
    records() { cat "$1"/data/export/*/*/*.csv | grep '^"' | sort | sha256sum; }
    ref_n=$(ag "$T/school-ref" export 2>&1 | created)
    mount -t tmpfs -o size=64k tmpfs "$T/sqltmp" && MNT2=$T/sqltmp
    out=$(SQLITE_TMPDIR=$T/sqltmp ag "$S" export 2>&1); rc=$?
    echo "export with SQLite's temporary files on a full disk: rc $rc: $(echo "$out" | grep error: | head -1)"
    [ $rc = 1 ] && echo "$out" | grep -q "no room for SQLite's temporary files in $T/sqltmp.*point SQLITE_TMPDIR to a folder on a disk with room, and rerun" &&
        ok || bad "export with a full temporary folder: rc $rc: $out"
    [ "$(q "$S" "PRAGMA integrity_check")" = ok ] && ok || bad "integrity after a full temporary folder"
    n1=$(echo "$out" | created)
    mount -o remount,size=16m "$T/sqltmp"
    out=$(SQLITE_TMPDIR=$T/sqltmp ag "$S" export 2>&1) && ok || bad "export with room: $out"
    n2=$(echo "$out" | created)
    [ "$ref_n" -gt 90000 ] && [ $((n1 + n2)) = "$ref_n" ] && ok ||
        bad "records created: $n1 + $n2, not $ref_n as without the full folder"
    [ "$(records "$S")" = "$(records "$T/school-ref")" ] && ok ||
        bad "the exported records differ from an export that never ran short"
    missing=$(q "$S" "SELECT path || ' ' || size FROM attachment WHERE removed_at IS NULL" |
        while read -r f sz; do [ "$(stat -c %s "$S/data/$f" 2>/dev/null)" = "$sz" ] || echo "$f"; done)
    [ -z "$missing" ] && ok || bad "registered files missing or of another size: $missing"
    [ -z "$(find "$S/data/export" -name '*.tmp')" ] && ok || bad "temporary export files left"
    # cleanup whose compaction finds no room: what it deleted stays deleted,
    # it says so and prints its summary (it failed with no summary before)
    q "$S" "CREATE TABLE junk AS WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000) SELECT randomblob(4000) b FROM n; DROP TABLE junk"
    # (VACUUM writes the whole store into the WAL: no file may pass 4 MiB)
    out=$(ulimit -f 4096; ag "$S" cleanup 2>&1) && echo "$out" | grep -q "not compacted" &&
        echo "$out" | grep -q "^cleanup: " && ok || bad "cleanup with no room to compact: $out"
    [ "$(q "$S" "PRAGMA integrity_check")" = ok ] && ok || bad "integrity after a cleanup with no room"
    out=$(ag "$S" cleanup 2>&1) && echo "$out" | grep -q "(vacuumed)" && ok || bad "cleanup with room: $out"
else
    echo "SQLite's temporary files on a full disk: not tested (needs a tmpfs mount, as root)"
fi

t_end

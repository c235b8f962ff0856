#!/usr/bin/env bash
# test_inbox.sh AGENT SOURCE_DIR - the [source] DUMP_DIR inbox: complete
# bundles imported and moved to done/, bad ones to rejected/ with the
# reason, files still being written left for later. "N passed, N failed".
set -u
AGENT=$1 SRC=$2
T=$(mktemp -d /tmp/rdm-inbox-XXXXXX)
trap 'rm -rf "$T"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
have() { [ -e "$1" ] && ok || bad "missing: $1"; }
gone() { [ ! -e "$1" ] && ok || bad "still there: $1"; }

I="$T/inbox"
mkdir -p "$I"
printf '[rdm_general]\nEXPORT_ENTITY_ID_PREFIX = I\n[agent]\nPROFILE = %s\nLOG_LEVEL = warning\n[source]\nDUMP_DIR = inbox\nINBOX_SETTLE_SECONDS = 60\n' \
    "$SRC/tests/data/profiles/dump.json" >"$T/rdm-agent.ini"
A() { "$AGENT" --config "$T/rdm-agent.ini" "$@"; }
A init >/dev/null || bad init

# a complete bundle (manifest, still for 2 minutes), an old loose file, a bad bundle, a fresh file
mkdir -p "$I/stick1" "$I/broken"
printf 'id;name;born;active;score;seen;Примечание\n1;A;;;;;\n2;B;;;;;\n' >"$I/stick1/person.csv"
sha=$(sha256sum "$I/stick1/person.csv" | cut -d' ' -f1)
printf '{"files": [{"name": "person.csv", "sha256": "%s"}]}' "$sha" >"$I/stick1/manifest.json"
touch -d '-2 minutes' "$I/stick1/"* "$I/stick1"
printf 'a;b;v\nx;1;v\n' >"$I/pair.csv"
touch -d '-2 minutes' "$I/pair.csv"
printf 'id;name;born;active;score;seen;Примечание\n1;A;not a date;;;;\n' >"$I/broken/person.csv"
touch -d '-2 minutes' "$I/broken/person.csv" "$I/broken"
mkdir -p "$I/fresh" && printf 'a;b;v\ny;2;w\n' >"$I/fresh/pair.csv"

A import --inbox >"$T/out" 2>"$T/err" || { bad "import --inbox"; cat "$T/out" "$T/err"; }
grep -q "2 imported, 1 refused (moved to rejected/), 1 not complete yet" "$T/out" && ok || { bad "summary"; cat "$T/out"; }
have "$I/done/stick1/person.csv"; have "$I/done/pair.csv"; gone "$I/stick1"; gone "$I/pair.csv"
have "$I/rejected/broken/person.csv"; have "$I/rejected/broken.reason.txt"
grep -q "person.csv:2: column born: 'not a date' is not a date" "$I/rejected/broken.reason.txt" && ok || bad "reason file"
have "$I/fresh/pair.csv"
n=$(sqlite3 "$T/data/rdm-agent.db" "SELECT count(*) FROM import_source")
[ "$n" = 2 ] && ok || bad "landed sources: $n"

# the fresh one settles; the same bundle dropped again is known and also goes to done/
touch -d '-2 minutes' "$I/fresh/pair.csv" "$I/fresh"
mkdir -p "$I/stick1" && cp "$I/done/stick1/"* "$I/stick1/"
touch -d '-2 minutes' "$I/stick1/"* "$I/stick1"
A import --inbox >"$T/out" 2>"$T/err" || { bad "second run"; cat "$T/out" "$T/err"; }
have "$I/done/fresh/pair.csv"; have "$I/done/stick1.1/person.csv"
n=$(sqlite3 "$T/data/rdm-agent.db" "SELECT count(*) FROM import_source")
[ "$n" = 3 ] && ok || bad "landed sources after the second run: $n"
out=$(A collect) && ok || bad collect
case $out in *"4 created"*) ok ;; *) bad "collect: $out" ;; esac

# a bundle still being copied: its manifest came first, one of its two
# files is not there yet. It waits, manifest or not, until nothing in it
# changed for INBOX_SETTLE_SECONDS; only then is it imported (or refused)
mkdir -p "$I/stick2"
printf 'id;name;born;active;score;seen;Примечание\n5;E;;;;;\n' >"$I/stick2/person.csv"
printf 'a;b;v\nz;3;u\n' >"$T/pair2.csv"
printf '{"files": [{"name": "person.csv", "sha256": "%s"}, {"name": "pair.csv", "sha256": "%s"}]}' \
    "$(sha256sum "$I/stick2/person.csv" | cut -d' ' -f1)" "$(sha256sum "$T/pair2.csv" | cut -d' ' -f1)" \
    >"$I/stick2/manifest.json"
A import --inbox >"$T/out" 2>"$T/err" || { bad "copy in progress"; cat "$T/out" "$T/err"; }
grep -q "0 imported, 0 refused (moved to rejected/), 1 not complete yet" "$T/out" && ok || { bad "copy in progress: $(cat "$T/out" "$T/err")"; }
have "$I/stick2/manifest.json"; gone "$I/rejected/stick2"
cp "$T/pair2.csv" "$I/stick2/pair.csv"
A import --inbox >"$T/out" 2>"$T/err" && grep -q "1 not complete yet" "$T/out" && ok || bad "just copied: $(cat "$T/out" "$T/err")"
touch -d '-2 minutes' "$I/stick2/"* "$I/stick2"
A import --inbox >"$T/out" 2>"$T/err" && grep -q "1 imported, 0 refused" "$T/out" && ok || bad "settled bundle: $(cat "$T/out" "$T/err")"
have "$I/done/stick2/pair.csv"
out=$(A collect) && case $out in *"2 created"*) ok ;; *) bad "collect of the settled bundle: $out" ;; esac

# two full dumps waiting together are taken in name order, whatever the
# folder's own order: the later (a-02: persons 7 and 8) is applied last
mkdir -p "$I/a-01" "$I/a-02"
printf 'id;name;born;active;score;seen;Примечание\n7;old;;;;;\n' >"$I/a-01/person.csv"
printf 'id;name;born;active;score;seen;Примечание\n7;new;;;;;\n8;H;;;;;\n' >"$I/a-02/person.csv"
touch -d '-2 minutes' "$I"/a-0?/* "$I"/a-0?
A import --inbox >"$T/out" 2>"$T/err" && grep -q "2 imported" "$T/out" && ok || bad "two dumps: $(cat "$T/out" "$T/err")"
A collect >/dev/null || bad "collect of two dumps"
got=$(sqlite3 "$T/data/rdm-agent.db" "SELECT group_concat(id || ':' || name, ' ') FROM (SELECT id, name FROM \"rdm:stg:person\" WHERE \"rdm:op\" <> 3 ORDER BY id)")
[ "$got" = "7:new 8:H" ] && ok || bad "two dumps applied out of order: $got (folder order: $(ls -U "$I" | tr '\n' ' '))"

# --partial or --skip-bad-rows with --inbox is refused (exit 2, nothing
# imported): the inbox took a dump given as partial as a full one, and
# collect deleted every key missing from it
mkdir -p "$I/changes" && printf 'id;name;born;active;score;seen;Примечание\n9;I;;;;;\n' >"$I/changes/person.csv"
touch -d '-2 minutes' "$I/changes/person.csv" "$I/changes"
for opt in --partial --skip-bad-rows; do
    A import --inbox $opt >"$T/out" 2>"$T/err"
    rc=$?
    [ $rc = 2 ] && grep -q "takes no --partial or --skip-bad-rows" "$T/err" && ok || bad "import --inbox $opt: rc $rc, $(cat "$T/out" "$T/err")"
done
have "$I/changes/person.csv"

# an entry that lands but cannot be moved to done/ (here: a file named
# 'done' is in the way; on a server, a folder copied in by root) no longer
# stops every later entry: it is marked, the next entries go, and it is
# not imported again (it would undo a later dump)
rm -rf "$I/changes" "$I/done" && touch "$I/done"
mkdir -p "$I/b-01" "$I/b-02"
printf 'id;name;born;active;score;seen;Примечание\n20;X;;;;;\n' >"$I/b-01/person.csv"
printf 'id;name;born;active;score;seen;Примечание\n21;Y;;;;;\n' >"$I/b-02/person.csv"
touch -d '-2 minutes' "$I"/b-0?/* "$I"/b-0?
n0=$(sqlite3 "$T/data/rdm-agent.db" "SELECT count(*) FROM import_source")
A import --inbox >"$T/out" 2>"$T/err"
grep -q "2 imported" "$T/out" && ok || bad "stuck entries: $(cat "$T/out" "$T/err")"
[ -f "$I/.b-01.imported" ] && [ -f "$I/.b-02.imported" ] && ok || bad "no marks: $(ls -a "$I")"
grep -q "not moved to done/" "$T/err" && ok || bad "not said: $(cat "$T/err")"
A import --inbox >"$T/out" 2>"$T/err"
grep -q "0 imported.*2 kept" "$T/out" && ok || bad "marked entries again: $(cat "$T/out" "$T/err")"
n=$(sqlite3 "$T/data/rdm-agent.db" "SELECT count(*) FROM import_source")
[ "$n" = $((n0 + 2)) ] && ok || bad "sources: $n, want $((n0 + 2))"

echo "inbox: $pass passed, $fail failed"
[ "$fail" = 0 ]

#!/usr/bin/env bash
# test_kill_collect.sh AGENT SOURCE_DIR - kill -9 during import and collect,
# at many points, then rerun: the staged result must be exactly that of an
# uninterrupted run, the store must pass integrity_check after every kill,
# and an import is all or nothing. Prints "N passed, N failed".
set -u
AGENT=$1 SRC=$2
T=$(mktemp -d /tmp/rdm-kill-XXXXXX)
trap 'rm -rf "$T"' EXIT
pass=0 fail=0 kills=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

N=${RDM_KILL_ROWS:-20000}
setup() { # dir
    mkdir -p "$1"
    printf '[rdm_general]\nEXPORT_ENTITY_ID_PREFIX = K\nCOLLECT_CHUNK_SIZE = 25\n[agent]\nPROFILE = %s\nLOG_LEVEL = error\n' \
        "$SRC/tests/data/profiles/dump.json" >"$1/rdm-agent.ini"
    "$AGENT" --config "$1/rdm-agent.ini" init >/dev/null || bad "init $1"
}
# round 1: N rows; round 2: every 7th updated, every 11th deleted, N/10 new
gen() { # round file
    awk -v n="$N" -v r="$1" 'BEGIN {
        print "id;name;born;active;score;seen;Примечание"
        for (i = 1; i <= n; i++) {
            if (r == 2 && i % 11 == 0) continue
            name = "Имя " i; if (r == 2 && i % 7 == 0) name = name " (изм.)"
            printf "%d;%s;2010-01-%02d;%d;%d.%02d;2024-01-01 10:00:00;примечание %d\n", i, name, i % 28 + 1, i % 2, i % 5, i % 100, i
        }
        if (r == 2) for (i = n + 1; i <= n + n / 10; i++) printf "%d;Новый %d;;;;;\n", i, i
    }' >"$2"
}
dump() { # dir -> staged content, comparable across runs
    sqlite3 "$1/data/rdm-agent.db" "SELECT \"rdm:k\", \"rdm:op\", \"rdm:h\", id, name, born, active, score, seen, note FROM \"rdm:stg:person\" ORDER BY \"rdm:k\""
}
check_integrity() {
    local res
    res=$(sqlite3 "$1/data/rdm-agent.db" "PRAGMA integrity_check" 2>&1)
    [ "$res" = ok ] && ok || bad "integrity_check after kill: $res"
}

setup "$T/ref"; setup "$T/run"
mkdir -p "$T/r1" "$T/r2"
gen 1 "$T/r1/person.csv"; gen 2 "$T/r2/person.csv"

# the reference: uninterrupted; its collect time (ms) sets the kill points
ms=()
for r in r1 r2; do
    "$AGENT" --config "$T/ref/rdm-agent.ini" import "$T/$r/person.csv" >/dev/null || bad "ref import $r"
    t0=$(date +%s%N)
    "$AGENT" --config "$T/ref/rdm-agent.ini" collect >/dev/null || bad "ref collect $r"
    ms+=($((($(date +%s%N) - t0) / 1000000)))
done
echo "kill_collect: uninterrupted collects took ${ms[0]} ms and ${ms[1]} ms"

# killed runs
round=0
for r in r1 r2; do
    span=${ms[$round]}; round=$((round + 1))
    # import: killed mid-way it leaves nothing, or everything
    for delay in 0.01 0.03 0.05; do
        "$AGENT" --config "$T/run/rdm-agent.ini" import "$T/$r/person.csv" >/dev/null 2>&1 &
        pid=$!; sleep $delay; kill -9 $pid 2>/dev/null && kills=$((kills + 1)); wait $pid 2>/dev/null
        check_integrity "$T/run"
        # a committed source is complete: checksum and row count recorded together
        n=$(sqlite3 "$T/run/data/rdm-agent.db" "SELECT count(*) FROM import_source WHERE sha256 IS NULL OR rows = 0")
        [ "$n" = 0 ] && ok || bad "a half-landed source after killing import"
    done
    "$AGENT" --config "$T/run/rdm-agent.ini" import "$T/$r/person.csv" >/dev/null 2>&1 || bad "import $r after kills"
    landed=$(sqlite3 "$T/run/data/rdm-agent.db" "SELECT rows FROM import_source ORDER BY id DESC LIMIT 1")
    want=$(($(wc -l <"$T/$r/person.csv") - 1))
    [ "$landed" = "$want" ] && ok || bad "landed $landed rows, the file has $want"
    # collect: killed again and again at random points until a run completes
    i=0 stall=0 done_before=0
    while :; do
        i=$((i + 1))
        "$AGENT" --config "$T/run/rdm-agent.ini" collect >/dev/null 2>&1 &
        pid=$!
        # a random point in the first 2..15% of an uninterrupted run: each
        # run gets a little further before it dies. A restarted run first
        # reads again the rows before its position (a snapshot's deletions:
        # prime() in staging.c), which grows with the position: after a kill
        # that found no new chunk committed, the window moves later by 3%
        # of the run, so the loop ends on a slow machine too (ASan)
        d=$((span * (2 + RANDOM % 14 + 3 * stall) / 100 + 1))
        sleep "$((d / 1000)).$(printf '%03d' $((d % 1000)))"
        if kill -9 $pid 2>/dev/null; then
            kills=$((kills + 1)); wait $pid 2>/dev/null
            check_integrity "$T/run"
            n=$(sqlite3 "$T/run/data/rdm-agent.db" "SELECT count(*) FROM collect_substage WHERE status = 'READY_TO_EXPORT'")
            if [ "$n" -gt "$done_before" ]; then stall=0; else stall=$((stall + 1)); fi
            done_before=$n
        else
            wait $pid; rc=$?
            [ $rc = 0 ] && ok || bad "collect exited $rc"
            break
        fi
        [ $i -lt 200 ] || { bad "collect never completed"; break; }
    done
    # and once more to be sure nothing is left to do
    out=$("$AGENT" --config "$T/run/rdm-agent.ini" collect 2>&1)
    case $out in *"0 changes"*) ok ;; *) bad "a rerun still changed something: $out" ;; esac
done

if dump "$T/ref" >"$T/ref.txt" && dump "$T/run" >"$T/run.txt" && cmp -s "$T/ref.txt" "$T/run.txt"; then
    ok
else
    bad "staged result differs from the uninterrupted run:"; diff "$T/ref.txt" "$T/run.txt" | head
fi
rows=$(wc -l <"$T/ref.txt")
[ "$rows" -ge "$N" ] && ok || bad "reference has only $rows staged rows"
failed_stages=$(sqlite3 "$T/run/data/rdm-agent.db" "SELECT count(*) FROM collect_stage WHERE status = 'FAILED'")
echo "kill_collect: $kills kills, $failed_stages interrupted stages resumed, $rows staged rows compared"
[ "$kills" -ge 20 ] && ok || bad "only $kills kills landed: the runs were too fast to test anything"
echo "kill_collect: $pass passed, $fail failed"
[ "$fail" = 0 ]

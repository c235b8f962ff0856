#!/usr/bin/env bash
# test_crash_loop.sh AGENT EMULATOR SOURCE_DIR [KILLS] - kill -9 at random
# moments, over and over, and prove that nothing is lost and nothing is sent
# twice but a file in flight at a kill.
#
# Six rounds of a school's dumps (creates, updates, deletes, people moving
# teams, a team renamed) go through import, collect, export, upload and
# check-status against rdm-datamart-emulator. Each command is started and,
# until the round's share of KILLS (default 130) is used up, killed with
# SIGKILL at a random moment of its usual run time (at least MIN, default
# 100, must land: a run can end before its kill comes), then the pass goes on
# from the start. After every kill the store must pass PRAGMA
# integrity_check. At the end:
#   - the datamart holds exactly the last round's records of both entities
#     (tests/tools/replay_emulator.py replays every accepted body in order);
#   - every body it accepted is the bytes of a registered export file;
#   - files it accepted more than once are no more than the kills that hit
#     an upload (one file in flight per kill), and no file is missing;
#   - kills hit every phase (import, collect, export, upload, status).
# Prints the kills per phase and "N passed, N failed". RANDOM is seeded
# from SEED (default: the time; printed, so a failure can be replayed).
set -u
AGENT=$1 EMU=$2 SRC=$(cd "$3" && pwd) KILLS=${4:-130} MIN=${MIN:-100}
SEED=${SEED:-$(date +%s)}
RANDOM=$SEED
. "$SRC/tests/cli/lib.sh"
t_begin crash
PROF=$SRC/tests/data/profiles/export.json
REPLAY="python3 $SRC/tests/tools/replay_emulator.py"
N=3000 ROUNDS=6

gen() { # round dir -> person.csv, team.csv and the expected member.csv
    mkdir -p "$2"
    awk -v r="$1" -v n="$N" -v d="$2" 'BEGIN {
        print "id;name;born;active;score;seen;team_id;snils" >d "/person.csv"
        print "person_id;name;team" >d "/member.csv"
        t[1] = "A"; t[2] = "B"; t[3] = "C"; t[4] = "D"; t[5] = "E"
        if (r >= 4) t[2] = "B (переименована)"
        if (r >= 6) t[4] = "D, \"новая\"; вторая"
        for (i = 1; i <= n + 40 * (r - 1); i++) {
            if (r >= 3 && i % 7 == 0 && !(r >= 5 && i % 14 == 0)) continue # left (some come back)
            if (r >= 4 && i % 11 == 0) continue
            name = "Имя " i
            if (r >= 2 && i % 3 == 0) name = name " (" r ")"
            if (r >= 3 && i % 5 == 0) name = name ", \"в кавычках\"; да"
            team = i % 5 + 1
            if (r >= 4 && i % 4 == 0) team = (team % 5) + 1  # moved
            if (r >= 6 && i % 6 == 0) team = (team % 5) + 1
            if (i > n && i % 2) team = ""                  # new, no team yet
            q = name; gsub(/"/, "\"\"", q)
            printf "%d;\"%s\";2010-01-%02d;%d;1.%02d;2024-01-01 10:00:00;%s;%03d-%03d-%03d %02d\n",
                i, q, i % 28 + 1, i % 2, i % 100, team, i % 1000, i % 999, i % 998, i % 97 >d "/person.csv"
            if (team != "") { tq = t[team]; gsub(/"/, "\"\"", tq); printf "%d;\"%s\";\"%s\"\n", i, q, tq >d "/member.csv" }
        }
        print "id;title" >d "/team.csv"
        for (k = 1; k <= 5; k++) { q = t[k]; gsub(/"/, "\"\"", q); printf "%d;\"%s\"\n", k, q >d "/team.csv" }
    }'
}
for r in $(seq $ROUNDS); do
    gen "$r" "$T/exp$r"
    mkdir -p "$T/b$r" && cp "$T/exp$r/person.csv" "$T/exp$r/team.csv" "$T/b$r/"
done

emu_start --step-ms 150 --seed "$SEED"
D=$T/agent; mkdir -p "$D"
printf '[rdm_general]\nEXPORT_ENTITY_ID_PREFIX = T\nEXPORT_CHUNK_SIZE = 100\nCOLLECT_CHUNK_SIZE = 150\n[agent]\nDATA_DIR = data\nPROFILE = %s\nLOG_LEVEL = warning\n[uploader_client]\nURL = http://127.0.0.1:%s\nENABLE_REQUEST_EMULATION = False\nREQUEST_RETRIES = 2\nREQUEST_TIMEOUT = 2\nRETRY_BACKOFF_MS = 20\nRETRY_BACKOFF_MAX_MS = 100\nMAX_CONNECTIONS = 2\n' \
    "$PROF" "$PORT" >"$D/rdm-agent.ini"
ag() { "$AGENT" --config "$D/rdm-agent.ini" "$@"; }
q() { sqlite3 "$D/data/rdm-agent.db" "$1"; }
ag init >/dev/null || bad "init"

phases="import collect export upload status"
declare -A killed took budget
for p in $phases; do killed[$p]=0; took[$p]=300; done
kills=0 integrity_bad=0 runs=0
share() { # round $1's kill budget per phase (status and import are short):
    # what the rounds so far should have landed, less what did (a kill that
    # came after its run ended is owed by the next round)
    local per=$((KILLS * $1 / ROUNDS - kills))
    [ $per -gt 0 ] || per=0
    budget[import]=$((per * 15 / 100)) budget[collect]=$((per * 25 / 100))
    budget[export]=$((per * 25 / 100)) budget[status]=$((per * 10 / 100))
    budget[upload]=$((per - budget[import] - budget[collect] - budget[export] - budget[status]))
}
# step PHASE CMD... : runs it, and while the phase has budget left kills it
# at a random moment within its usual run time. 0 = ran to its end (its
# exit code in $RC), 1 = killed.
step() {
    local p=$1; shift
    local t0 t1 pid st ms=0
    runs=$((runs + 1))
    t0=$(date +%s%N)
    "$AGENT" --config "$D/rdm-agent.ini" ${TRACE:+-v} "$@" >"$T/out" 2>"$T/err" &
    pid=$!
    if [ "${budget[$p]}" -gt 0 ]; then
        ms=$((RANDOM % (took[$p] + 1)))
        sleep "$(printf '0.%03d' "$ms")"
        kill -9 "$pid" 2>/dev/null
    fi
    wait "$pid"; st=$?
    t1=$(date +%s%N)
    if [ $st = 137 ]; then
        kills=$((kills + 1)) killed[$p]=$((killed[$p] + 1)) budget[$p]=$((budget[$p] - 1))
        # what is left of the work takes about that much less
        took[$p]=$((took[$p] - ms > 5 ? took[$p] - ms : 5))
        local ic
        ic=$(q "PRAGMA integrity_check" 2>&1)
        [ "$ic" = ok ] || { integrity_bad=$((integrity_bad + 1)); echo "integrity after a kill in $p: $ic"; }
        return 1
    fi
    # a run that ended by itself tells how long the phase takes now (< 1 s);
    # one that ended before a kill came, that it took less than that
    local d=$(((t1 - t0) / 1000000))
    if [ -n "${TRACE:-}" ]; then
        echo "$p $* took $d ms (exit $st)" >&2
        [ $d -gt 1000 ] && sed 's/^/    /' "$T/err" >&2
    fi
    [ $ms -gt 0 ] && d=$ms
    [ $d -gt 999 ] && d=999
    took[$p]=$((d > 5 ? d : 5))
    RC=$st
    return 0
}
pending() { store_pending "$D/data/rdm-agent.db"; }

for r in $(seq $ROUNDS); do
    share "$r"
    while :; do step import import "$T/b$r" && break; done
    [ "$RC" = 0 ] || bad "round $r: import exit $RC: $(cat "$T/err")"
    passes=0
    while :; do
        passes=$((passes + 1))
        [ $passes -le 400 ] || { bad "round $r: no end after 400 passes"; break; }
        step collect collect || continue
        [ "$RC" = 0 ] || { bad "round $r: collect exit $RC: $(tail -2 "$T/err")"; continue; }
        step export export || continue
        [ "$RC" = 0 ] || { bad "round $r: export exit $RC: $(tail -2 "$T/err")"; continue; }
        step upload upload --force || continue
        [ "$RC" = 0 ] || { bad "round $r: upload exit $RC: $(tail -2 "$T/err")"; continue; }
        step status check-status --force || continue
        [ "$RC" = 0 ] || { bad "round $r: check-status exit $RC: $(tail -2 "$T/err")"; continue; }
        [ "$(pending)" = 0 ] && break
        sleep 0.1 # statuses move every 150 ms at the emulator
    done
    $REPLAY "$T/emu.state" "$T/saved" person id "$T/exp$r/person.csv" T name born \
        >"$T/replay.out" 2>&1 && ok || bad "round $r: PERSON at the datamart: $(head -5 "$T/replay.out")"
    $REPLAY "$T/emu.state" "$T/saved" member person_id "$T/exp$r/member.csv" T name team \
        >"$T/replay.out" 2>&1 && ok || bad "round $r: MEMBER at the datamart: $(head -5 "$T/replay.out")"
done

echo "seed $SEED: $kills kills in $runs runs (import ${killed[import]}, collect ${killed[collect]}, export ${killed[export]}, upload ${killed[upload]}, status ${killed[status]})"
[ $kills -ge "$MIN" ] && ok || bad "only $kills kills landed (want $MIN)"
for p in $phases; do [ "${killed[$p]}" -gt 0 ] && ok || bad "no kill landed in $p"; done
[ $integrity_bad = 0 ] && ok || bad "$integrity_bad integrity check(s) failed after a kill"

# every accepted body is a registered file, and a file went twice only
# when a kill hit its upload
acc=0 missing=0
declare -A seen
for f in "$T"/saved/*.csv; do
    [ -e "$f" ] || continue
    acc=$((acc + 1))
    sha=$(sha256sum "$f" | cut -d' ' -f1)
    seen[$sha]=$((${seen[$sha]:-0} + 1))
    [ "$(q "SELECT count(*) FROM attachment WHERE sha256 = '$sha'")" -ge 1 ] || missing=$((missing + 1))
done
[ $missing = 0 ] && ok || bad "$missing accepted bodies are no registered file"
twice=0
for s in "${!seen[@]}"; do [ "${seen[$s]}" -gt 1 ] && twice=$((twice + seen[$s] - 1)); done
files=$(q "SELECT count(DISTINCT sha256) FROM attachment WHERE size > 0")
[ ${#seen[@]} = "$files" ] && ok || bad "the datamart got ${#seen[@]} distinct files, the store registered $files"
[ $twice -le "${killed[upload]}" ] && ok || bad "$twice repeated deliveries for ${killed[upload]} kills in upload"
echo "$acc bodies accepted for $files files: $twice sent again after a kill in flight"
[ "$(pending)" = 0 ] && ok || bad "work still waits at the end"

t_end

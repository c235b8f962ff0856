#!/usr/bin/env bash
# test_cli.sh AGENT HOLD_LOCK SOURCE_DIR - the command line end to end: real
# files, real processes. Prints "N passed, N failed".
set -u
AGENT=$1 HOLD=$2 SRC=$3
T=$(mktemp -d /tmp/rdm-cli-XXXXXX)
trap 'rm -rf "$T"' EXIT
pass=0 fail=0

check() { # name, condition result
    if [ "$2" = 0 ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $1"; fi
}
# run NAME EXPECTED_EXIT CMD... ; output in $T/out, $T/err
run() {
    local name=$1 want=$2; shift 2
    "$@" >"$T/out" 2>"$T/err"; local got=$?
    if [ "$got" != "$want" ]; then
        echo "FAIL: $name: exit $got, wanted $want"; sed 's/^/  out: /' "$T/out" | head -20
        sed 's/^/  err: /' "$T/err" | head -20; fail=$((fail + 1)); return 1
    fi
    pass=$((pass + 1))
}
contains() { # name, file, text
    if grep -qF -- "$3" "$2"; then pass=$((pass + 1)); else
        echo "FAIL: $1: '$3' not in $2:"; sed 's/^/  /' "$2" | head -20; fail=$((fail + 1)); fi
}
lacks() {
    if grep -qF -- "$3" "$2"; then echo "FAIL: $1: '$3' found in $2"; fail=$((fail + 1)); else
        pass=$((pass + 1)); fi
}

cd "$T"
unset RDM_AGENT_CONFIG

# help, version, usage
run "help" 0 "$AGENT" help && contains "help lists init" "$T/out" "init"
run "no command" 2 "$AGENT"
run "unknown command" 2 "$AGENT" frobnicate && contains "unknown named" "$T/err" "unknown command 'frobnicate'"
run "unknown option" 2 "$AGENT" --bogus && contains "unknown option named" "$T/err" "unknown option '--bogus'"
run "version" 0 "$AGENT" version
contains "version sqlite" "$T/out" "sqlite    3."
contains "version curl" "$T/out" "libcurl"
contains "version mbedtls" "$T/out" "mbedtls   2."
run "init --help" 0 "$AGENT" init --help && contains "init help" "$T/out" "usage: rdm-agent init"

# the Windows service command on Linux: says what to use instead, exit 2
run "service on Linux" 2 "$AGENT" service install && contains "service names systemd" "$T/err" "systemd unit rdm-agent.service"
run "service usage" 2 "$AGENT" service && contains "service usage says so" "$T/err" "usage: rdm-agent service"
run "service --help" 0 "$AGENT" service --help

# the shipped configuration is exactly what `config defaults` documents
run "config defaults" 0 "$AGENT" config defaults
if cmp -s "$T/out" "$SRC/conf/rdm-agent.ini"; then pass=$((pass + 1)); else
    echo "FAIL: conf/rdm-agent.ini differs from 'rdm-agent config defaults':"
    diff "$T/out" "$SRC/conf/rdm-agent.ini" | head; fail=$((fail + 1)); fi

# the README's key table documents every key
for k in $(grep -oE '^# [A-Z_]+ =' "$SRC/conf/rdm-agent.ini" | sed 's/^# //; s/ =$//' | sort -u); do
    grep -qF "\`$k\`" "$SRC/README.md"; check "README documents $k" $?
done

# shipped config: init then config check succeed
mkdir -p "$T/ship" && cp "$SRC/conf/rdm-agent.ini" "$T/ship/"
run "init shipped" 0 "$AGENT" --config "$T/ship/rdm-agent.ini" init
contains "init created" "$T/out" "created at schema version"
test -f "$T/ship/data/rdm-agent.db"; check "store under DATA_DIR" $?
run "init again" 0 "$AGENT" --config "$T/ship/rdm-agent.ini" init
contains "init again" "$T/out" "up to date"
run "config check shipped" 0 "$AGENT" --config "$T/ship/rdm-agent.ini" config check
contains "origin default" "$T/out" "# default"

# the product's sample block: typo warned, success
run "product sample" 0 "$AGENT" --config "$SRC/tests/data/product-sample.ini" config check
contains "typo warned" "$T/err" "product-sample.ini:2: section [rmd_general]"
contains "origin file:line" "$T/out" "product-sample.ini:7"
contains "5_000 read" "$T/out" "5000"

# a broken file fails naming file, line, section and key
printf '[rdm_general]\nEXPORT_ENTITY_ID_PREFIX = X\n[uploader_client]\nREQUEST_TIMEOUT = ten\n' >"$T/bad.ini"
run "broken config" 2 "$AGENT" --config "$T/bad.ini" config check
contains "broken names line" "$T/err" "bad.ini:4: [uploader_client] REQUEST_TIMEOUT: 'ten' is not an integer"
printf '[rdm_general]\nnot a key line\n' >"$T/bad2.ini"
run "unparsable config" 2 "$AGENT" --config "$T/bad2.ini" init
contains "unparsable names line" "$T/err" "line 2 in [rdm_general]: expected 'KEY = value'"
run "missing --config" 2 "$AGENT" --config "$T/nope.ini" config check
contains "missing named" "$T/err" "nope.ini (from --config) not found"

# lookup order: RDM_AGENT_CONFIG, then ./rdm-agent.ini
printf '[rdm_general]\nEXPORT_ENTITY_ID_PREFIX = FROMENV\n' >"$T/env.ini"
RDM_AGENT_CONFIG="$T/env.ini" run "RDM_AGENT_CONFIG" 0 "$AGENT" config check
contains "env config used" "$T/out" "FROMENV"
mkdir -p "$T/cwd" && printf '[rdm_general]\nEXPORT_ENTITY_ID_PREFIX = FROMCWD\n' >"$T/cwd/rdm-agent.ini"
(cd "$T/cwd" && "$AGENT" config check >"$T/out" 2>"$T/err"); check "cwd config exit" $?
contains "cwd config used" "$T/out" "FROMCWD"

# environment overrides, secrets masked
RDM_UPLOADER_CLIENT_PASSWORD=hunter2-secret RDM_AGENT_LOG_LEVEL=debug \
    run "env override" 0 "$AGENT" --config "$T/env.ini" config check
contains "env origin" "$T/out" "environment RDM_UPLOADER_CLIENT_PASSWORD"
lacks "password masked out" "$T/out" "hunter2"
lacks "password masked err" "$T/err" "hunter2"

# a store written by a newer agent is refused and left unchanged
sqlite3 "$T/ship/data/rdm-agent.db" "PRAGMA user_version=99" 2>/dev/null || \
    python3 -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute('PRAGMA user_version=99'); c.commit()" "$T/ship/data/rdm-agent.db"
sum1=$(sha256sum "$T/ship/data/rdm-agent.db")
run "newer store refused" 1 "$AGENT" --config "$T/ship/rdm-agent.ini" init
contains "newer message" "$T/err" "written by a newer rdm-agent"
sum2=$(sha256sum "$T/ship/data/rdm-agent.db")
[ "$sum1" = "$sum2" ]; check "newer store unchanged" $?

# busy store: another process holds a task lock -> exit 3 naming pid and task
mkdir -p "$T/busy" && printf '[rdm_general]\nEXPORT_ENTITY_ID_PREFIX = B\n' >"$T/busy/rdm-agent.ini"
run "init busy store" 0 "$AGENT" --config "$T/busy/rdm-agent.ini" init
mkfifo "$T/fifo"
"$HOLD" "$T/busy/data/rdm-agent.db" transfer 3600 <"$T/fifo" >"$T/hold.out" &
holder=$!
exec 7>"$T/fifo"
for _ in $(seq 50); do grep -q locked "$T/hold.out" && break; sleep 0.1; done
run "busy exit 3" 3 "$AGENT" --config "$T/busy/rdm-agent.ini" init
contains "busy names pid and task" "$T/err" "store is busy (pid $holder on"
contains "busy names task" "$T/err" "task transfer"
# the holder is killed: its lock is taken over, logged
kill -9 $holder; wait $holder 2>/dev/null; exec 7>&-
run "after kill -9" 0 "$AGENT" --config "$T/busy/rdm-agent.ini" init
contains "takeover logged" "$T/err" "taken over: that process no longer runs"

# validate: the golden files pass, broken ones fail with line and field
TP="$SRC/tests/data/profiles/test.json"
for g in "$SRC"/tests/data/golden/*.csv; do
    name=$(basename "$g" .csv)
    case $name in types | decimals) ent=TYPES ;; *) ent=EXAMPLE ;; esac
    case $name in cyrillic) pre=ЭШ ;; empty_prefix) pre= ;; *) pre=ESH ;; esac
    run "validate golden $name" 0 "$AGENT" validate "$g" --entity $ent --profile "$TP" --prefix "$pre"
done
contains "validate says ok" "$T/out" "ok, 4 record(s) of TYPES"
printf 'id;name;partof_id\n"ESH-1";"x";\n"ESH-2";;"3"\n' >"$T/broken.csv"
run "validate broken" 1 "$AGENT" validate "$T/broken.csv" --entity EXAMPLE --profile "$TP" --prefix ESH
contains "validate line+field" "$T/out" "broken.csv:3: field name: required field is missing"
contains "validate key prefix" "$T/out" "broken.csv:3: field partof_id: key '3' lacks the prefix 'ESH-'"
contains "validate trailing newline" "$T/out" "broken.csv:3: file ends with a newline"
run "validate unknown entity" 2 "$AGENT" validate "$T/broken.csv" --entity NOPE --profile "$TP"
contains "validate lists entities" "$T/err" "unknown entity 'NOPE'; the profile has: EXAMPLE, TYPES"
run "validate no entity" 2 "$AGENT" validate "$T/broken.csv"
# the shipped core profile is found by name (config default PROFILE = core)
printf 'id;rosobr_id\n' >"$T/org.csv"
run "validate core by name" 1 "$AGENT" --config "$T/busy/rdm-agent.ini" validate "$T/org.csv" --entity ORGANISATIONS
contains "core header check" "$T/out" "header is 'id;rosobr_id', ORGANISATIONS wants 'id;rosobr_id;ogrn;"
printf '{"models": [}' >"$T/badprof.json"
run "validate bad profile" 2 "$AGENT" validate "$T/org.csv" --entity X --profile "$T/badprof.json"
contains "bad profile located" "$T/err" "badprof.json:1:"

# config check loads the profile too (a missing one passed the check, and
# every command after it failed)
printf '[agent]\nPROFILE = nosuch-profile\n' >"$T/noprof.ini"
run "config check, no such profile" 2 "$AGENT" --config "$T/noprof.ini" config check &&
    contains "missing profile named" "$T/err" "profile 'nosuch-profile' not found"

# --limit and --since take only what they say (atoi read 'abc' as 0 = all
# and '3x' as 3; mktime took 2026-13-45 as 2027-02-14)
run "journal --limit abc" 2 "$AGENT" journal --limit abc
run "stages --limit 3x" 2 "$AGENT" stages --limit 3x
run "journal --since 2026-13-45" 2 "$AGENT" journal --since 2026-13-45 &&
    contains "bad --since quoted" "$T/err" "got '--since 2026-13-45'"
run "journal --since 2026-02-30" 2 "$AGENT" journal --since 2026-02-30
run "journal --since 2026-12-07x" 2 "$AGENT" journal --since 2026-12-07x

echo "cli: $pass passed, $fail failed"
[ "$fail" = 0 ]

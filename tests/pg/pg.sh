#!/usr/bin/env bash
# pg.sh - a throwaway PostgreSQL 15 cluster for the tests, all of it in one
# directory, listening on 127.0.0.1 only.
#
#   bash tests/pg/pg.sh start DIR   initdb into DIR/data (first time), start the
#                                   server on a free port, create database
#                                   `rdmtest`, write DIR/env, print the DSN
#   bash tests/pg/pg.sh stop DIR    fast shutdown; fine if nothing is running
#
# DIR/env holds `export` lines: PGHOST PGPORT PGUSER PGDATABASE RDM_TEST_DSN
# (source it, then psql or libpq connect with no arguments).
#
# The server never runs as root: as root, it runs as the `postgres` account
# (created by Debian's postgresql-15 package; override with RDM_PG_OSUSER) and
# DIR is given to that account; otherwise it runs as the current user.
# Binaries: Debian's /usr/lib/postgresql/15/bin (override with RDM_PG_BIN).
# Ports tried: RDM_PG_PORT_MIN..RDM_PG_PORT_MAX (default 15432..25431),
# starting at a random one. Server log: DIR/postgres.log.
# Nothing outside DIR is touched; Debian's own cluster (postgresql@15-main)
# is neither needed nor used.
set -euo pipefail

PGBIN=${RDM_PG_BIN:-/usr/lib/postgresql/15/bin}
DBUSER=postgres          # the cluster's superuser (a database role, not an OS user)
DBNAME=rdmtest
PORT_MIN=${RDM_PG_PORT_MIN:-15432}
PORT_MAX=${RDM_PG_PORT_MAX:-25431}
# what the caller has set must not redirect our own psql/pg_ctl calls
unset PGHOST PGHOSTADDR PGPORT PGUSER PGDATABASE PGSERVICE PGOPTIONS PGDATA PGPASSWORD \
      PGSSLMODE PGCONNECT_TIMEOUT PGAPPNAME 2>/dev/null || true

die() { echo "pg.sh: $*" >&2; exit 1; }
usage() { echo "usage: pg.sh start|stop DIR" >&2; exit 2; }

[ $# -eq 2 ] || usage
cmd=$1
[ -n "$2" ] || usage
DIR=$(realpath -m -- "$2")
DATA=$DIR/data
LOG=$DIR/postgres.log

if [ ! -x "$PGBIN/initdb" ] || [ ! -x "$PGBIN/pg_ctl" ] || [ ! -x "$PGBIN/psql" ]; then
    die "PostgreSQL 15 server binaries not found in $PGBIN (install the Debian package postgresql-15)"
fi

# run_as USER CMD... : CMD as USER (USER is only used when we are root)
OSUSER=
run_as() {
    if [ "$(id -u)" -eq 0 ]; then
        if command -v runuser >/dev/null 2>&1; then
            (cd / && runuser -u "$OSUSER" -- "$@")
        else
            (cd / && setpriv --reuid="$OSUSER" --regid="$(id -g "$OSUSER")" --init-groups -- "$@")
        fi
    else
        "$@"
    fi
}

# is_running: 0 if a postmaster is running on DATA
is_running() {
    [ -f "$DATA/postmaster.pid" ] || return 1
    run_as "$PGBIN/pg_ctl" status -D "$DATA" >/dev/null 2>&1
}

# port_busy PORT: 0 if something accepts connections on 127.0.0.1:PORT
port_busy() {
    timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
}

do_stop() {
    if [ ! -d "$DATA" ]; then
        echo "pg.sh: no cluster in $DIR" >&2
        return 0
    fi
    OSUSER=$(stat -c %U "$DATA")
    if ! is_running; then
        echo "pg.sh: not running ($DATA)" >&2
        return 0
    fi
    if ! run_as "$PGBIN/pg_ctl" stop -D "$DATA" -m fast -w -t 60 >/dev/null; then
        echo "pg.sh: fast shutdown did not finish; immediate shutdown" >&2
        run_as "$PGBIN/pg_ctl" stop -D "$DATA" -m immediate -w -t 30 >/dev/null 2>&1 || true
    fi
    if is_running; then
        die "could not stop the server of $DATA (see $LOG)"
    fi
    echo "pg.sh: stopped ($DATA)" >&2
}

do_start() {
    # who runs the server
    if [ "$(id -u)" -eq 0 ]; then
        if [ -d "$DATA" ]; then
            OSUSER=$(stat -c %U "$DATA")
        else
            OSUSER=${RDM_PG_OSUSER:-postgres}
        fi
        [ "$OSUSER" != root ] || die "$DATA is owned by root; the server cannot run as root"
        id -u "$OSUSER" >/dev/null 2>&1 ||
            die "no OS account '$OSUSER' to run the server as (Debian's postgresql-15 package creates 'postgres'; or set RDM_PG_OSUSER)"
    else
        OSUSER=$(id -un)
    fi

    if is_running; then
        local p
        p=$(sed -n 4p "$DATA/postmaster.pid" 2>/dev/null || true)
        die "a cluster is already running in $DATA (port ${p:-?}); run 'pg.sh stop $DIR' first"
    fi

    mkdir -p "$DIR"
    if [ "$(id -u)" -eq 0 ]; then
        chown "$OSUSER" "$DIR"
        run_as test -w "$DIR" -a -x "$DIR" ||
            die "$OSUSER cannot write to $DIR (is a parent directory closed to it? use a directory under /tmp)"
    fi
    # the unix socket path must fit in sun_path (107 bytes)
    local sock="$DIR/.s.PGSQL.$PORT_MAX"
    [ ${#sock} -le 107 ] || die "path too long for a unix socket: $sock (use a shorter DIR)"

    if [ ! -f "$DATA/PG_VERSION" ]; then
        [ ! -e "$DATA" ] || die "$DATA exists but is not a cluster; remove it"
        # the data directory is created by initdb, owned by the server's account
        if ! run_as "$PGBIN/initdb" -D "$DATA" -U "$DBUSER" -E UTF8 --locale=C \
                --auth-local=trust --auth-host=trust --no-sync >"$DIR/initdb.log" 2>&1; then
            sed 's/^/  initdb: /' "$DIR/initdb.log" >&2
            die "initdb failed"
        fi
        local q=${DIR//\'/\'\'}
        run_as tee -a "$DATA/postgresql.conf" >/dev/null <<EOF

# --- pg.sh: a throwaway test cluster ---
listen_addresses = '127.0.0.1'
unix_socket_directories = '$q'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 50
shared_buffers = 32MB
logging_collector = off
log_min_messages = warning
lc_messages = 'C'
EOF
        run_as tee "$DATA/pg_hba.conf" >/dev/null <<'EOF'
# pg.sh: trust, for the test cluster's own socket and loopback only
local   all          all                  trust
host    all          all   127.0.0.1/32   trust
host    all          all   ::1/128        trust
local   replication  all                  trust
host    replication  all   127.0.0.1/32   trust
EOF
    fi

    # a free port: start at a random one in the range, skip busy ones, and try
    # the next one if the server still cannot bind (someone took it meanwhile)
    local span=$((PORT_MAX - PORT_MIN + 1))
    local off=$(( (RANDOM * 32768 + RANDOM) % span ))
    local port='' tries=0 try
    for ((try = 0; try < span && tries < 20; try++)); do
        local p=$((PORT_MIN + (off + try) % span))
        port_busy "$p" && continue
        [ ! -e "$DIR/.s.PGSQL.$p.lock" ] || continue
        tries=$((tries + 1))
        if run_as "$PGBIN/pg_ctl" start -D "$DATA" -l "$LOG" -w -t 60 -o "-p $p" \
                >/dev/null 2>"$DIR/pg_ctl.err"; then
            port=$p
            break
        fi
        if tail -n 20 "$LOG" 2>/dev/null | grep -qiE 'could not (bind|create listen)|address already in use|lock file .* already exists'; then
            echo "pg.sh: port $p is taken, trying another" >&2
            continue
        fi
        sed 's/^/  pg_ctl: /' "$DIR/pg_ctl.err" >&2 || true
        tail -n 20 "$LOG" 2>/dev/null | sed 's/^/  log: /' >&2 || true
        die "the server did not start (log: $LOG)"
    done
    [ -n "$port" ] || die "no free port found in $PORT_MIN..$PORT_MAX after $tries tries"

    # ready for connections over TCP?
    local i
    for ((i = 0; i < 300; i++)); do
        "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$port" -U "$DBUSER" -d postgres && break
        sleep 0.1
    done
    "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$port" -U "$DBUSER" -d postgres ||
        die "the server on port $port is not ready after 30 s (log: $LOG)"

    local psql=("$PGBIN/psql" -X -q -At -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U "$DBUSER")
    if [ "$("${psql[@]}" -d postgres -c "SELECT 1 FROM pg_database WHERE datname = '$DBNAME'")" != 1 ]; then
        "${psql[@]}" -d postgres -c "CREATE DATABASE $DBNAME" >/dev/null ||
            die "could not create database $DBNAME"
    fi

    local dsn="host=127.0.0.1 port=$port user=$DBUSER dbname=$DBNAME"
    cat >"$DIR/env" <<EOF
export PGHOST=127.0.0.1
export PGPORT=$port
export PGUSER=$DBUSER
export PGDATABASE=$DBNAME
export RDM_TEST_DSN="$dsn"
EOF
    echo "$dsn"
}

case $cmd in
    start) do_start ;;
    stop) do_stop ;;
    *) usage ;;
esac

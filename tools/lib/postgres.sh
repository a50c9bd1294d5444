# A private PostgreSQL for benchmarks, started the way the tests' OccupantTesting.PostgresServer does: initdb into a
# temporary folder, `postgres` on a loopback port with its socket in that folder, stopped by PID. Source it after
# common.sh; do not run it.

# The folder of initdb/postgres/pg_isready: `pg_config --bindir`, else the newest /usr/lib/postgresql/*/bin.
postgres_bindir() {
    local dir
    dir=$(pg_config --bindir 2>/dev/null || true)
    [ -n "$dir" ] && [ -x "$dir/postgres" ] && { echo "$dir"; return 0; }
    dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k4 -n | tail -1)
    [ -n "$dir" ] && [ -x "$dir/postgres" ] || die "PostgreSQL's server binaries not found (apt-get install postgresql)"
    echo "$dir"
}

# Runs a PostgreSQL binary as the `postgres` user when we are root (initdb refuses root).
postgres_as_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        LC_ALL=C.UTF-8 setpriv --reuid=postgres --regid=postgres --init-groups "$@"
    else
        LC_ALL=C.UTF-8 "$@"
    fi
}

# Starts a private PostgreSQL on 127.0.0.1:$1 with its data and socket in the empty folder $2 and creates the
# database `occupant` (user `postgres`, trust on loopback). Its PID goes to $2/postgres.pid, its log to
# $2/postgres.log. Durability stays PostgreSQL's default (fsync on, synchronous_commit on); POSTGRES_OPTIONS adds
# `-c name=value` settings.
start_private_postgres() {
    local port=$1 dir=$2 bin
    ensure_postgres
    bin=$(postgres_bindir)
    if [ "$(id -u)" -eq 0 ]; then
        getent passwd postgres >/dev/null || die "running as root and no 'postgres' user to run PostgreSQL as"
        chown postgres:postgres "$dir"
    fi
    postgres_as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 \
        > "$dir/initdb.log" 2>&1 || die "initdb failed (see $dir/initdb.log)"
    # A simple command in the background (not a function, which would run in a subshell of its own), so $! is the
    # postmaster's PID.
    local owner=()
    [ "$(id -u)" -eq 0 ] && owner=(setpriv --reuid=postgres --regid=postgres --init-groups)
    # shellcheck disable=SC2086
    LC_ALL=C.UTF-8 "${owner[@]}" "$bin/postgres" -D "$dir/data" -p "$port" -h 127.0.0.1 -k "$dir" \
        -c max_connections=200 ${POSTGRES_OPTIONS:-} > "$dir/postgres.log" 2>&1 &
    echo $! > "$dir/postgres.pid"
    for _ in $(seq 1 600); do
        kill -0 "$(cat "$dir/postgres.pid")" 2>/dev/null || die "postgres exited at start (see $dir/postgres.log)"
        "$bin/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres && break
        sleep 0.1
    done
    "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres occupant || die "createdb failed (see $dir/postgres.log)"
}

# Stops the PostgreSQL whose PID is in $1/postgres.pid: SIGINT (fast shutdown), SIGQUIT after 30 s.
stop_private_postgres() {
    [ -f "$1/postgres.pid" ] || return 0
    local pid
    pid=$(cat "$1/postgres.pid")
    kill -INT "$pid" 2>/dev/null || return 0
    for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
    kill -QUIT "$pid" 2>/dev/null || true
}

# psql against the private PostgreSQL on port $1 (database `occupant`), unaligned and tuples only.
private_psql() {
    local port=$1; shift
    "$(postgres_bindir)/psql" -X -q -A -t -h 127.0.0.1 -p "$port" -U postgres -d occupant -v ON_ERROR_STOP=1 "$@"
}

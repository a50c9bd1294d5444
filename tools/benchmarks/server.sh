# tools/bench server: a release `occupant server run` with 1,000 gateways configured, loaded over loopback by
# tools/benchmarks/server_load.py: telemetry intake (rows/s into SQLite), monitor-window intake over MQTT (windows/s
# stored), promotion → every gateway fetched and reported, and model polls answered 304. Sourced by tools/bench.
#
#   tools/bench server [GATEWAYS]                                   SQLite, one process (as always)
#   tools/bench server --store postgres --processes 1|3|1,3 [--runs N] [GATEWAYS]
#       the same load against a private PostgreSQL (tools/lib/postgres.sh) shared by 1 or 3 `occupant server run`
#       processes (HTTP spread round-robin by connection, MQTT intake by the shared subscription), after the SQLite
#       run on the same machine (each configuration N times, interleaved); ends with a Markdown table of the medians
#       and their ratios, and one of every run with the load average.
source "$OCCUPANT_ROOT/tools/lib/postgres.sh"

bench_server() {
    if [ "${1:-}" = dashboard ]; then shift; bench_server_dashboard "$@"; return; fi
    local store=sqlite processes=1 gateways=1000 runs=1
    while [ $# -gt 0 ]; do
        case "$1" in
            --store) [ $# -ge 2 ] || die "tools/bench server: --store needs sqlite or postgres"; store=$2; shift 2 ;;
            --runs) [ $# -ge 2 ] && [[ "$2" =~ ^[1-9][0-9]*$ ]] || die "tools/bench server: --runs needs a count"; runs=$2; shift 2 ;;
            --processes) [ $# -ge 2 ] || die "tools/bench server: --processes needs a count (1, 3 or 1,3)"; processes=$2; shift 2 ;;
            *[!0-9]* | '') die "tools/bench server: unknown argument '$1' (tools/bench server [--store sqlite|postgres] [--processes N[,N…]] [--runs N] [GATEWAYS])" ;;
            *) gateways=$1; shift ;;
        esac
    done
    [[ "$processes" =~ ^[1-9][0-9]*(,[1-9][0-9]*)*$ ]] || die "tools/bench server: --processes '$processes' is not a count or a list of counts (1, 3 or 1,3)"
    case "$store" in
        sqlite)
            [ "$processes" = 1 ] || die "tools/bench server: SQLite is one process (--processes 1); several processes need --store postgres"
            local run
            for run in $(seq 1 "$runs"); do bench_server_once sqlite 1 "$gateways"; done
            ;;
        postgres)
            local results count run
            results=$(mktemp -d "${TMPDIR:-/tmp}/occupant-bench-results.XXXXXX")
            export BENCH_SERVER_COMPARE=1
            for run in $(seq 1 "$runs"); do
                say "run $run of $runs: SQLite, 1 process (the reference for the ratios)"
                bench_server_once sqlite 1 "$gateways" | tee "$results/sqlite-1.$run.jsonl"
                for count in ${processes//,/ }; do
                    say "run $run of $runs: PostgreSQL, $count process(es)"
                    bench_server_once postgres "$count" "$gateways" | tee "$results/postgres-$count.$run.jsonl"
                done
            done
            "$VENV/bin/python" tools/benchmarks/server_compare.py "$results"/*.jsonl
            rm -rf "$results"
            ;;
        *) die "tools/bench server: --store '$store': give sqlite or postgres" ;;
    esac
}

# One run: STORE (sqlite|postgres), PROCESSES server processes, GATEWAYS configured. Prints server_load.py's JSON
# lines, then one line with the server's peak RSS and the store's size.
bench_server_once() {
    local store=$1 processes=$2 gateways=$3
    local bin work pgdir="" pgport="" port admin i http ports=() load_before
    bin=$(release_binary)
    work=$(mktemp -d "${TMPDIR:-/tmp}/occupant-bench.XXXXXX")
    port=$(free_port)
    start_private_broker "$port" "$work"
    # Also on exit (a failed run): the servers, then PostgreSQL and the broker, by PID.
    BENCH_SERVER_CLEANUP="for f in \"$work\"/server*.pid; do stop_pid_file \"\$f\"; done; stop_pid_file \"$work/mosquitto.pid\"; rm -rf \"$work\""
    trap 'eval "$BENCH_SERVER_CLEANUP"; trap - RETURN EXIT' RETURN
    trap 'eval "$BENCH_SERVER_CLEANUP"' EXIT
    if [ "$store" = postgres ]; then
        pgdir=$(mktemp -d /tmp/occupant-bench-postgres.XXXXXX)
        pgport=$(free_port)
        BENCH_SERVER_CLEANUP="$BENCH_SERVER_CLEANUP; stop_private_postgres \"$pgdir\"; rm -rf \"$pgdir\""
        start_private_postgres "$pgport" "$pgdir"
    fi
    ensure_bench_venv

    "$bin" keys generate --out "$work/server" >/dev/null
    admin=bench-admin
    for i in $(seq 1 "$processes"); do
        http=$(free_port)
        ports+=("$http")
        {
            if [ "$store" = sqlite ]; then
                echo "stateDirectory: $work/state"
                echo "http: { port: $http }"
                echo "broker: { port: $port, clientId: bench-server }"
            else
                echo "stateDirectory: $work/state-$i"
                echo "storage: { postgres: { url: \"postgres://postgres@127.0.0.1:$pgport/occupant\", tls: disable } }"
                echo "http: { port: $http }"
                echo "broker: { port: $port, clientId: bench-server-$i }"
            fi
            echo "signingKey: $work/server.key"
            echo "adminToken: $admin"
            echo "retrain: { newLabelledRows: 0, trials: 20 }"
            echo "promotion: { margin: -1 }"
            echo "gateways:"
            for g in $(seq 0 $((gateways - 1))); do
                id=$(printf 'gw-%04d' "$g")
                echo "  - { id: $id, scope: bench, token: token-$id }"
            done
        } > "$work/server-$i.yaml"
    done
    [ "$store" = sqlite ] && mv "$work/server-1.yaml" "$work/server.yaml"
    for i in $(seq 1 "$processes"); do
        local config="$work/server-$i.yaml" pidfile="$work/server-$i.pid" log="$work/server-$i.log"
        [ "$store" = sqlite ] && { config="$work/server.yaml"; pidfile="$work/server.pid"; log="$work/server.log"; }
        "$bin" server run --config "$config" --log-level warning 2> "$log" &
        echo $! > "$pidfile"
    done
    for http in "${ports[@]}"; do
        for _ in $(seq 1 1200); do (exec 3<>"/dev/tcp/127.0.0.1/$http") 2>/dev/null && break; sleep 0.1; done
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$http") 2>/dev/null; then
            tail -n 5 "$work"/server*.log >&2
            die "occupant server did not start on port $http within 2 minutes"
        fi
    done

    say "occupant server ($store, $processes process(es)): intake, promotion to $gateways gateways, polls answered 304"
    load_before=$(cut -d' ' -f1-3 /proc/loadavg)
    if [ "$store" = sqlite ]; then
        "$VENV/bin/python" tools/benchmarks/server_load.py --http "${ports[0]}" --mqtt "$port" --admin "$admin" \
            --gateways "$gateways" --sqlite "$work/state/server.sqlite" ${SERVER_LOAD_ARGS:-}
    else
        "$VENV/bin/python" tools/benchmarks/server_load.py --http "$(IFS=,; echo "${ports[*]}")" --mqtt "$port" \
            --admin "$admin" --gateways "$gateways" \
            --psql "$(postgres_bindir)/psql -X -q -A -t -h 127.0.0.1 -p $pgport -U postgres -d occupant" \
            ${SERVER_LOAD_ARGS:-}
    fi
    local pid rss rsses=() size
    if [ "$store" = sqlite ]; then
        pid=$(cat "$work/server.pid")
        rss=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
        echo "{\"phase\":\"server\",\"peak_rss_kb\":$rss,\"sqlite_bytes\":$(stat -c %s "$work/state/server.sqlite")}"
    else
        for i in $(seq 1 "$processes"); do
            pid=$(cat "$work/server-$i.pid")
            rsses+=("$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")")
        done
        size=$(private_psql "$pgport" -c "SELECT pg_database_size('occupant')")
        echo "{\"phase\":\"server\",\"store\":\"postgres\",\"processes\":$processes,\"peak_rss_kb\":[$(IFS=,; echo "${rsses[*]}")],\"postgres_bytes\":$size}"
    fi
    # The machine's load average around the run (for the comparison table; the SQLite-only output is unchanged).
    if [ -n "${BENCH_SERVER_COMPARE:-}" ]; then
        echo "{\"phase\":\"load\",\"loadavg_before\":\"$load_before\",\"loadavg_after\":\"$(cut -d' ' -f1-3 /proc/loadavg)\"}"
    fi
}

# tools/bench server: a release `occupant server run` with 1,000 gateways configured, loaded over loopback by
# tools/benchmarks/server_load.py: telemetry intake (rows/s into SQLite), monitor-window intake over MQTT (windows/s
# stored), promotion → every gateway fetched and reported, and model polls answered 304. Sourced by tools/bench.
bench_server() {
    if [ "${1:-}" = dashboard ]; then shift; bench_server_dashboard "$@"; return; fi
    local gateways=${1:-1000}
    local bin work port http admin
    bin=$(release_binary)
    work=$(mktemp -d "${TMPDIR:-/tmp}/occupant-bench.XXXXXX")
    port=$(free_port)
    http=$(free_port)
    start_private_broker "$port" "$work"
    trap 'stop_pid_file "$work/server.pid"; stop_pid_file "$work/mosquitto.pid"; rm -rf "$work"' RETURN
    ensure_bench_venv

    "$bin" keys generate --out "$work/server" >/dev/null
    admin=bench-admin
    {
        echo "stateDirectory: $work/state"
        echo "http: { port: $http }"
        echo "broker: { port: $port, clientId: bench-server }"
        echo "signingKey: $work/server.key"
        echo "adminToken: $admin"
        echo "retrain: { newLabelledRows: 0, trials: 20 }"
        echo "promotion: { margin: -1 }"
        echo "gateways:"
        for i in $(seq 0 $((gateways - 1))); do
            id=$(printf 'gw-%04d' "$i")
            echo "  - { id: $id, scope: bench, token: token-$id }"
        done
    } > "$work/server.yaml"
    "$bin" server run --config "$work/server.yaml" --log-level warning 2> "$work/server.log" &
    echo $! > "$work/server.pid"
    for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$http") 2>/dev/null && break; sleep 0.1; done

    say "occupant server: intake, promotion to $gateways gateways, polls answered 304"
    "$VENV/bin/python" tools/benchmarks/server_load.py --http "$http" --mqtt "$port" --admin "$admin" --gateways "$gateways" \
        --sqlite "$work/state/server.sqlite" ${SERVER_LOAD_ARGS:-}
    local pid rss
    pid=$(cat "$work/server.pid")
    rss=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
    echo "{\"phase\":\"server\",\"peak_rss_kb\":$rss,\"sqlite_bytes\":$(stat -c %s "$work/state/server.sqlite")}"
}

# tools/bench soak [GATEWAYS] [SIM_HOURS] [SPEED]: a reliability soak. A simulated fleet (real `occupant gateway run`
# processes on the simulated thermostat, uploading telemetry over HTTP) runs SIM_HOURS simulated hours (default 1) at
# SPEED× real time (default 30, so an hour takes two minutes) while the server is killed with SIGKILL and restarted, and
# the broker is restarted, at random moments (seeded by SOAK_SEED). At the end every gateway is stopped with SIGTERM
# and the rows the server acknowledged (each gateway's distinct acknowledged batches, from its debug log) are compared
# with the rows stored in SQLite. Goal: equal. Also reports each server incarnation's peak RSS. Sourced by tools/bench.
bench_soak() {
    local gateways=${1:-10} hours=${2:-1} speed=${3:-30}
    local bin work port http admin seconds
    bin=${OCCUPANT_BIN:-$(release_binary)}
    work=$(mktemp -d "${TMPDIR:-/tmp}/occupant-soak.XXXXXX")
    port=$(free_port)
    http=$(free_port)
    seconds=$(( hours * 3600 / speed ))
    RANDOM=${SOAK_SEED:-7}
    trap 'for f in "$work"/*.pid; do stop_pid_file "$f"; done; [ -n "${SOAK_KEEP:-}" ] || rm -rf "$work"' RETURN

    "$bin" keys generate --out "$work/server" >/dev/null
    admin=soak-admin
    {
        echo "stateDirectory: $work/state"
        echo "http: { host: 127.0.0.1, port: $http }"
        echo "broker: { host: 127.0.0.1, port: $port, clientId: soak-server, username: soak-server, password: soak-mqtt }"
        echo "signingKey: $work/server.key"
        echo "adminToken: $admin"
        echo "retrain: { newLabelledRows: 100000000 }"
        echo "gateways:"
        for i in $(seq 1 "$gateways"); do echo "  - { id: soak-$i, scope: soak, token: token-soak-$i }"; done
    } > "$work/server.yaml"
    # The broker as the README configures it: no anonymous clients, each gateway logs in as its id with its token.
    "$bin" server broker-config --config "$work/server.yaml" --out "$work/broker" >/dev/null
    start_private_broker "$port" "$work" "$work/broker"
    local incarnation=0 peaks=""
    start_server() {
        incarnation=$((incarnation + 1))
        "$bin" server run --config "$work/server.yaml" --log-level warning 2>> "$work/server.log" &
        echo $! > "$work/server.pid"
        for _ in $(seq 1 200); do (exec 3<>"/dev/tcp/127.0.0.1/$http") 2>/dev/null && return 0; sleep 0.05; done
        die "the server did not start (see $work/server.log)"
    }
    # Peak RSS of the running server (kB), recorded before it is killed or stopped.
    record_peak() {
        local pid
        pid=$(cat "$work/server.pid")
        peaks="$peaks $(awk '/VmHWM/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)"
    }
    start_server

    for i in $(seq 1 "$gateways"); do
        printf 'token-soak-%s\n' "$i" > "$work/gw-$i.token"
        chmod 600 "$work/gw-$i.token"
        cat > "$work/gw-$i.yaml" <<YAML
gatewayId: soak-$i
simulate: { scenario: day, speed: $speed, seed: $i }
broker: { port: $port }
telemetry: { interval: 10s }
stateDirectory: $work/gw-$i
trustedKeys: [$work/server.pub]
server:
  url: http://127.0.0.1:$http
  tokenFile: $work/gw-$i.token
  pollInterval: 600s
  uploadInterval: 1s
  uploadBatch: 200
YAML
        "$bin" gateway run --config "$work/gw-$i.yaml" --log-level debug 2> "$work/gw-$i.log" &
        echo $! > "$work/gw-$i.pid"
    done

    say "soak: $gateways gateways, $hours simulated hour(s) at ${speed}× ($seconds s); server and broker restarted at random"
    local end=$((SECONDS + seconds)) server_kills=0 broker_restarts=0
    while [ $SECONDS -lt $end ]; do
        sleep $(( 5 + RANDOM % 15 ))
        [ $SECONDS -lt $end ] || break
        if [ $((RANDOM % 3)) -eq 0 ]; then
            stop_pid_file "$work/mosquitto.pid"
            sleep $(( 1 + RANDOM % 3 ))
            start_private_broker "$port" "$work" "$work/broker"
            broker_restarts=$((broker_restarts + 1))
        else
            record_peak
            kill -9 "$(cat "$work/server.pid")" 2>/dev/null || true
            wait "$(cat "$work/server.pid")" 2>/dev/null || true
            sleep $(( 1 + RANDOM % 3 ))
            start_server
            server_kills=$((server_kills + 1))
        fi
    done
    # Let the spools drain to the last incarnation, then stop the gateways.
    sleep 5
    for i in $(seq 1 "$gateways"); do stop_pid_file "$work/gw-$i.pid"; done
    record_peak
    stop_pid_file "$work/server.pid"

    local acknowledged stored
    acknowledged=$(cat "$work"/gw-*.log | grep -o 'upload.batch=[^ ]* upload.rows=[0-9]*' | sort -u \
        | awk -F'upload.rows=' '{s += $2} END {print s + 0}')
    stored=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('select count(*) from telemetry').fetchone()[0])" "$work/state/server.sqlite")
    local max=0
    for p in $peaks; do [ "$p" -gt "$max" ] && max=$p; done
    echo "| gateways | simulated hours | server SIGKILLs | broker restarts | rows acknowledged | rows stored | lost | server peak RSS (max over incarnations) |"
    echo "|---:|---:|---:|---:|---:|---:|---:|---:|"
    echo "| $gateways | $hours | $server_kills | $broker_restarts | $acknowledged | $stored | $((acknowledged - stored)) | $((max / 1024)) MB |"
    echo "{\"phase\":\"soak\",\"gateways\":$gateways,\"server_kills\":$server_kills,\"broker_restarts\":$broker_restarts,\"acknowledged\":$acknowledged,\"stored\":$stored,\"peak_rss_kb\":[$(echo $peaks | tr ' ' ',')]}"
    [ "$acknowledged" -eq "$stored" ] || { echo "soak: $((acknowledged - stored)) acknowledged rows are missing" >&2; return 1; }
}

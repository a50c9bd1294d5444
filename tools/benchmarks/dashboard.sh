# Dashboard render times (`tools/bench server dashboard`): every screen of a real `occupant server run` (release)
# over a store of 1,000 gateways in 3 scopes, 50 model versions per scope and 90 days of hourly monitor windows per
# gateway (2.16 million), seeded once under .build/dashboard-bench and reused (DASHBOARD_BENCH_RESEED=1 seeds again).
# The versions the monitor windows name (what decided, and scope-0's shadow) are real bundles trained by
# `occupant train` and kept in the artifact folder, and the timed gateway has a day of telemetry, so the Gateway
# screen's replay is part of its time.
bench_server_dashboard() {
    local bin cache work port http admin params
    bin=$(release_binary)
    cache="$OCCUPANT_ROOT/.build/dashboard-bench"
    params="gateways=1000 scopes=3 versions=50 days=90 v1"
    work=$(mktemp -d "${TMPDIR:-/tmp}/occupant-dashbench.XXXXXX")
    port=$(free_port)
    http=$(free_port)
    admin=bench-admin
    start_private_broker "$port" "$work"
    trap 'stop_pid_file "$work/server.pid"; stop_pid_file "$work/mosquitto.pid"; rm -rf "$work"; trap - RETURN EXIT' RETURN
    # Also when a step fails (set -e exits without running the RETURN trap).
    trap 'stop_pid_file "$work/server.pid"; stop_pid_file "$work/mosquitto.pid"; rm -rf "$work"' EXIT
    mkdir -p "$cache"
    [ -f "$cache/signer.key" ] || "$bin" keys generate --out "$cache/signer" >/dev/null
    {
        echo "stateDirectory: $cache/state"
        echo "http: { port: $http }"
        echo "broker: { port: $port, clientId: bench-dashboard }"
        echo "signingKey: $cache/signer.key"
        echo "adminToken: $admin"
        echo "retrain: { newLabelledRows: 0 }"
        echo "promotion: { waves: [{ percent: 5 }, { percent: 35 }], probation: 24h }"
        python3 tools/benchmarks/dashboard_bench.py config
        # More of the server's YAML, e.g. DASHBOARD_BENCH_YAML='dashboard: { replayCacheBytes: 0 }' (no replay cache).
        [ -z "${DASHBOARD_BENCH_YAML:-}" ] || echo "$DASHBOARD_BENCH_YAML"
    } > "$work/server.yaml"
    start_server() {
        "$bin" server run --config "$work/server.yaml" --log-level warning 2>> "$work/server.log" &
        echo $! > "$work/server.pid"
        for _ in $(seq 1 600); do (exec 3<>"/dev/tcp/127.0.0.1/$http") 2>/dev/null && return 0; sleep 0.1; done
        die "occupant server did not start (see $work/server.log)"
    }
    if [ "$(cat "$cache/seeded" 2>/dev/null)" != "$params" ] || [ -n "${DASHBOARD_BENCH_RESEED:-}" ]; then
        say "seeding $cache/state/server.sqlite ($params), once"
        rm -rf "$cache/state" "$cache/seeded"
        start_server # creates and migrates the store
        stop_pid_file "$work/server.pid"
        python3 tools/benchmarks/dashboard_bench.py seed --db "$cache/state/server.sqlite"
        echo "$params" > "$cache/seeded"
        rm -f "$cache/bundles"
    fi
    # Real bundles for the versions the windows name: scope-0's champion (49) and shadow (50), the others' 50.
    local bundles="scope-0@49 scope-0@50 scope-1@50 scope-2@50" model files=()
    if [ "$(cat "$cache/bundles" 2>/dev/null)" != "$bundles" ]; then
        say "training the bundles the windows name ($bundles) with occupant train, once"
        python3 tools/benchmarks/dashboard_bench.py office > "$cache/office.csv"
        for model in $bundles; do
            "$bin" train --data "$cache/office.csv" --time at --label occupied --channels co2,temperature,sound \
                --trials 5 --folds 3 --model-id "occupancy-${model%@*}" --model-version "${model#*@}" \
                --signing-key "$cache/signer.key" --out "$cache/$model.occmodel" > "$work/train.log" 2>&1 ||
                [ $? -eq 3 ] || die "occupant train failed (see $work/train.log)"
            files+=("$cache/$model.occmodel=$model")
        done
        python3 tools/benchmarks/dashboard_bench.py bundles --db "$cache/state/server.sqlite" \
            --artifacts "$cache/state/artifacts" "${files[@]}"
        echo "$bundles" > "$cache/bundles"
    fi
    start_server
    python3 tools/benchmarks/dashboard_bench.py telemetry --http "$http" --db "$cache/state/server.sqlite" \
        --gateway gw-0500
    say "dashboard screens: median and p95 of 20 requests each (session cookie, loopback HTTP, keep-alive)"
    python3 tools/benchmarks/dashboard_bench.py time --http "$http" --admin "$admin" --requests "${DASHBOARD_REQUESTS:-20}"
    echo "{\"phase\":\"dashboard-store\",\"sqlite_bytes\":$(stat -c %s "$cache/state/server.sqlite")}"
}

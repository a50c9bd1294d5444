# tools/bench gateway: the simulated gateway at 10 Hz for a fixed number of cycles, publishing every cycle, next to
# a Python paho-mqtt gateway doing the same, against one private mosquitto. Sourced by tools/bench.
bench_gateway() {
    local cycles=${1:-1000}
    local bin work port
    bin=$(release_binary)
    # The lean daemon (issue 16): built beside occupant, which `occupant gateway run` execs.
    local lean
    swift build -c release --product occupant-gateway >&2
    lean="$(dirname "$bin")/occupant-gateway"
    work=$(mktemp -d "${TMPDIR:-/tmp}/occupant-bench.XXXXXX")
    port=$(free_port)
    start_private_broker "$port" "$work"
    trap 'stop_pid_file "$work/mosquitto.pid"; rm -rf "$work"' RETURN

    # Publish every cycle (heartbeat 100 ms) so each cycle is sample → decide → publish.
    cat > "$work/gateway.yaml" <<YAML
gatewayId: bench
profile: thermostat-mcu
simulate: { scenario: day, speed: 1 }
broker: { port: $port }
decision: { heartbeat: 100ms }
telemetry: { interval: 1s }
YAML
    say "occupant gateway run in process (OCCUPANT_GATEWAY_IN_PROCESS=1, static rule): $cycles cycles at 10 Hz (~$((cycles / 10)) s)"
    local ours ours_model fat via_exec
    fat=$(OCCUPANT_GATEWAY_IN_PROCESS=1 "$bin" gateway run --config "$work/gateway.yaml" --cycles "$cycles" --stats \
        --log-level error)
    echo "occupant in process: $fat"
    say "occupant-gateway (the lean daemon, static rule): $cycles cycles at 10 Hz"
    ours=$("$lean" --config "$work/gateway.yaml" --cycles "$cycles" --stats --log-level error)
    echo "occupant-gateway rule: $ours"
    say "occupant gateway run → exec occupant-gateway (static rule): $cycles cycles at 10 Hz"
    via_exec=$("$bin" gateway run --config "$work/gateway.yaml" --cycles "$cycles" --stats --log-level error)
    echo "occupant gateway run (exec) rule: $via_exec"

    # The same with the 100-tree depth-6 xgboost model installed (features computed on the gateway).
    "$bin" keys generate --out "$work/k" >/dev/null
    "$bin" model import --xgboost Tests/Fixtures/models/bench-d6-100.model.json \
        --features Tests/Fixtures/models/bench-features.yaml --signing-key "$work/k.key" --out "$work/m.occmodel" >/dev/null
    printf 'stateDirectory: %s\ntrustedKeys: [%s]\n' "$work/state" "$work/k.pub" >> "$work/gateway.yaml"
    "$bin" model install "$work/m.occmodel" --config "$work/gateway.yaml" >/dev/null
    say "occupant-gateway (xgboost model, 100 trees depth 6): $cycles cycles at 10 Hz"
    ours_model=$("$lean" --config "$work/gateway.yaml" --cycles "$cycles" --stats --log-level error)
    echo "occupant-gateway model: $ours_model"

    # The same model again as a shadow beside it (another model id, its own slot and pipeline): the cost of shadow
    # scoring is this run against the one above (goal: at most 2x the model's cycle).
    local ours_shadow
    "$bin" model import --xgboost Tests/Fixtures/models/bench-d6-100.model.json --model-id bench-shadow \
        --features Tests/Fixtures/models/bench-features.yaml --signing-key "$work/k.key" --out "$work/s.occmodel" >/dev/null
    mkdir -p "$work/state/models/shadow"
    cp "$work/s.occmodel" "$work/state/models/shadow/bench-shadow-v1.occmodel"
    echo bench-shadow-v1.occmodel > "$work/state/models/shadow/active"
    say "occupant-gateway (the xgboost model + the same model in shadow): $cycles cycles at 10 Hz"
    ours_shadow=$("$lean" --config "$work/gateway.yaml" --cycles "$cycles" --stats --log-level error)
    echo "occupant-gateway model + shadow: $ours_shadow"
    # The monitor alone: Monitor.record per sample (median of repeats) and its state per feature, with the same bundle
    # (drift baselines calibrated for it on simulated days, as `occupant train` ships them).
    say "occupant gateway monitor: cost per sample and state per feature"
    local monitor
    monitor=$("$bin" gateway monitor-bench --model "$work/m.occmodel" --samples "${MONITOR_SAMPLES:-200000}")
    echo "occupant monitor: $monitor"

    local size stripped lean_size lean_stripped
    size=$(stat -c %s "$bin")
    strip -o "$work/occupant.stripped" "$bin"
    stripped=$(stat -c %s "$work/occupant.stripped")
    lean_size=$(stat -c %s "$lean")
    strip -o "$work/occupant-gateway.stripped" "$lean"
    lean_stripped=$(stat -c %s "$work/occupant-gateway.stripped")
    local linked
    linked=$(foundation_linked "$lean")

    # The floor: only the MQTT part of a cycle, in C on libmosquitto (tools/benchmarks/mqtt_floor.c), in the daemon's
    # shape (a network thread woken per publish and per PUBACK) and on one thread woken once per cycle.
    local floor_thread floor_one
    cc -O2 -o "$work/mqtt_floor" tools/benchmarks/mqtt_floor.c -lmosquitto -lpthread
    say "C + libmosquitto, publish only (the floor, network thread): $cycles cycles at 10 Hz"
    floor_thread=$("$work/mqtt_floor" "$port" "$cycles" network-thread)
    echo "floor network-thread: $floor_thread"
    say "C + libmosquitto, publish only (the floor, one thread): $cycles cycles at 10 Hz"
    floor_one=$("$work/mqtt_floor" "$port" "$cycles" one-thread)
    echo "floor one-thread: $floor_one"

    ensure_bench_venv
    say "python paho-mqtt gateway (rule): $cycles cycles at 10 Hz"
    local py_rule py_xgb=""
    py_rule=$("$VENV/bin/python" tools/benchmarks/python_gateway.py --port "$port" --cycles "$cycles" --decider rule)
    echo "python rule: $py_rule"
    if "$VENV/bin/python" -c 'import xgboost' 2>/dev/null; then
        say "python paho-mqtt gateway (xgboost inplace_predict): $cycles cycles at 10 Hz"
        py_xgb=$(OMP_NUM_THREADS=1 "$VENV/bin/python" tools/benchmarks/python_gateway.py --port "$port" --cycles "$cycles" \
            --decider xgboost --model Tests/Fixtures/models/bench-d6-100.model.json)
        echo "python xgboost: $py_xgb"
    fi

    python3 - "$ours" "$py_rule" "$py_xgb" "$size" "$stripped" "$cycles" "$ours_model" "$ours_shadow" "$monitor" \
        "$fat" "$via_exec" "$lean_size" "$lean_stripped" "$linked" "$floor_thread" "$floor_one" <<'PY'
import json, sys
ours, rule = json.loads(sys.argv[1]), json.loads(sys.argv[2])
xgb = json.loads(sys.argv[3]) if sys.argv[3] else None
size, stripped, cycles = int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
model = json.loads(sys.argv[7])
shadow = json.loads(sys.argv[8])
def per1000(r): return r["cpu_seconds"] * 1000 / r["cycles"]
fat, via_exec = json.loads(sys.argv[10]), json.loads(sys.argv[11])
lean_size, lean_stripped = int(sys.argv[12]), int(sys.argv[13])
rows = [("occupant gateway run, in process (static rule)", fat),
        ("occupant-gateway (static rule)", ours),
        ("occupant gateway run → exec occupant-gateway (static rule)", via_exec),
        ("occupant-gateway (xgboost bundle, 100 trees depth 6)", model),
        ("occupant-gateway (the same bundle + itself in shadow)", shadow), ("python paho-mqtt (rule)", rule)]
if xgb: rows.append(("python paho-mqtt + xgboost inplace_predict (OMP_NUM_THREADS=1)", xgb))
floor_thread, floor_one = json.loads(sys.argv[15]), json.loads(sys.argv[16])
rows += [("C + libmosquitto, publish only: the floor, network thread (the daemon's shape)", floor_thread),
         ("C + libmosquitto, publish only: the floor, one thread, one wake-up per cycle", floor_one)]
print()
# peak RSS: the process's (ru_maxrss, which an exec inherits); the daemon's own: VmHWM of the running image.
def image(r): return f"{r['peak_rss_image_kb']/1024:.1f}" if r.get('peak_rss_image_kb') else "–"
print(f"| gateway, {cycles} cycles at 10 Hz | CPU s / 1,000 cycles | peak RSS MB | daemon image peak RSS MB | cycle median µs | cycle p99 µs |")
print("|---|---|---|---|---|---|")
for name, r in rows:
    print(f"| {name} | {per1000(r):.3f} | {r['max_rss_kb']/1024:.1f} | {image(r)} | {r['cycle_median_us']:.0f} | {r['cycle_p99_us']:.0f} |")
print()
print(f"occupant-gateway RSS at exit: {ours.get('rss_at_exit_kb', 0)/1024:.1f} MB (rule), {model.get('rss_at_exit_kb', 0)/1024:.1f} MB (model)")
print(f"shadow scoring: model+shadow ÷ model, cycle median {shadow['cycle_median_us']/model['cycle_median_us']:.2f}, "
      f"CPU per cycle {per1000(shadow)/per1000(model):.2f} (goal ≤ 2)")
print(f"occupant-gateway (rule) ÷ the C floor, CPU: {per1000(ours)/per1000(floor_thread):.2f} (network thread), "
      f"{per1000(ours)/per1000(floor_one):.2f} (one thread); peak RSS {ours['max_rss_kb']/floor_one['max_rss_kb']:.1f}")
print(f"python ÷ occupant, rule: CPU {per1000(rule)/per1000(ours):.2f}, peak RSS {rule['max_rss_kb']/ours['max_rss_kb']:.2f}")
if xgb:
    print(f"python+xgboost ÷ occupant+model: CPU {per1000(xgb)/per1000(model):.2f}, peak RSS {xgb['max_rss_kb']/model['max_rss_kb']:.2f}, "
          f"cycle median {xgb['cycle_median_us']/model['cycle_median_us']:.1f}")
print(f"binary: occupant {size/1e6:.1f} MB, stripped {stripped/1e6:.1f} MB; "
      f"occupant-gateway {lean_size/1e6:.1f} MB, stripped {lean_stripped/1e6:.1f} MB")
print(f"occupant-gateway links {sys.argv[14]}")
print(f"goals (issue 16): occupant-gateway rule peak RSS {ours['max_rss_kb']/1024:.1f} MB (≤ 10), "
      f"model {model['max_rss_kb']/1024:.1f} MB (≤ 10); CPU {per1000(ours):.3f} s / 1,000 cycles (≤ 0.1)")
mon = json.loads(sys.argv[9])
print(f"monitor: {mon['ns_per_sample_median']:.0f} ns per sample at 10 Hz, {mon['ns_per_drift_sample_median']:.0f} ns per "
      f"sample that also updates the drift histograms (median of {mon['repeats']:.0f} × {mon['samples']:.0f}); "
      f"{mon['bytes_per_feature']:.0f} bytes of state per feature ({mon['bins']:.0f} bins, "
      f"{mon['drift_features']:.0f} features with a baseline)")
PY
}

# What of Foundation the binary $1 carries (a static link keeps only the archive members something references):
# "full Foundation (N symbols) and ICU's data", or "FoundationEssentials only, no ICU data".
foundation_linked() {
    local symbols full icu
    symbols=$(nm "$1" 2>/dev/null) || { echo "unknown Foundation (no symbols: stripped?)"; return; }
    full=$(grep -c ' [TtDdRrSsBb] $s10Foundation' <<<"$symbols" || true)
    icu=$(grep -c ' [DdRr] icudt[0-9]*_dat$' <<<"$symbols" || true)
    # Linked against the shared runtime instead: the libraries it needs say it.
    if readelf -d "$1" 2>/dev/null | grep -q 'NEEDED.*\[libFoundation\.so'; then
        echo "full Foundation and ICU (shared libraries)"
        return
    fi
    if [ "$full" -gt 0 ]; then printf 'full Foundation (%s symbols)' "$full"; else printf 'FoundationEssentials only'; fi
    if [ "$icu" -gt 0 ]; then echo " and ICU's data"; else echo ", no ICU data"; fi
}

# tools/bench training: `occupant train` on the UCI data next to xgboost, lightgbm and scikit-learn on the same raw
# channels, in the same run. Needs ../shared/data/uci-occupancy-detection.
bench_training() {
    local bin work data
    bin=$(release_binary)
    ensure_bench_venv
    ensure_packages time
    data="$OCCUPANT_ROOT/../shared/data/uci-occupancy-detection"
    [ -f "$data/datatraining.txt" ] || die "no UCI data at $data"
    work=$(mktemp -d "${TMPDIR:-/tmp}/occupant-bench.XXXXXX")
    trap 'rm -rf "$work"' RETURN
    for spec in "raw:1" "all:250"; do
        local groups=${spec%%:*} trials=${spec##*:} extra=()
        [ "$groups" = raw ] && extra=(--features raw)
        say "occupant train: $trials trial(s), feature groups: $groups"
        /usr/bin/time -f "%e s wall, %U s user" "$bin" train --data "$data/datatraining.txt" --time date --label Occupancy \
            --trials "$trials" "${extra[@]}" --out "$work/$groups.occmodel" 2>&1 | grep -E "^search|^chosen|s wall" || true
        for test in datatest datatest2; do
            printf '  %s: ' "$test"
            "$bin" evaluate --model "$work/$groups.occmodel" --data "$data/$test.txt" --time date --label Occupancy --json \
                | python3 -c 'import json,sys
r = json.load(sys.stdin); b = r["baseline"]
print("accuracy %.4f, AUC %.4f, baseline %s %.4f" % (r["accuracy"], r["auc"], b["rule"], b["accuracy"]))' || true
        done
    done
    say "peers (raw channels)"
    "$VENV/bin/python" tools/benchmarks/training_peers.py "$data"
}

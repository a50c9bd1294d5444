# tools/bench training: `occupant train` on the UCI data, one fixed fit like for like, and a 1,000,000-row synthetic
# table, next to xgboost, lightgbm and scikit-learn in the same run. Needs ../shared/data/uci-occupancy-detection.
# BENCH_SYNTHETIC_ROWS overrides the synthetic size (default 1000000); BENCH_THREADS the threads of one fit, ours and
# the peers' alike (default: the available cores).
bench_training() {
    local bin work data rows
    bin=$(release_binary)
    ensure_bench_venv
    ensure_packages time
    data="$OCCUPANT_ROOT/../shared/data/uci-occupancy-detection"
    [ -f "$data/datatraining.txt" ] || die "no UCI data at $data"
    rows=${BENCH_SYNTHETIC_ROWS:-1000000}
    local threads=${BENCH_THREADS:-$(nproc)}
    work=$(mktemp -d "${TMPDIR:-/tmp}/occupant-bench.XXXXXX")
    trap 'rm -rf "$work"' RETURN
    local uci=(--time date --label Occupancy)
    for spec in "raw:1" "all:250"; do
        local groups=${spec%%:*} trials=${spec##*:} extra=()
        [ "$groups" = raw ] && extra=(--features raw)
        say "UCI: occupant train, $trials trial(s), feature groups: $groups"
        /usr/bin/time -f "%e s wall, %U s user" "$bin" train --data "$data/datatraining.txt" "${uci[@]}" \
            --trials "$trials" "${extra[@]}" --out "$work/$groups.occmodel" 2>&1 | grep -E "^search|^chosen|s wall" || true
        for test in datatest datatest2; do
            printf '  %s: ' "$test"
            "$bin" evaluate --model "$work/$groups.occmodel" --data "$data/$test.txt" "${uci[@]}" --json \
                | python3 -c 'import json,sys
r = json.load(sys.stdin); b = r["baseline"]
print("accuracy %.4f, AUC %.4f, baseline %s %.4f" % (r["accuracy"], r["auc"], b["rule"], b["accuracy"]))' || true
        done
    done
    say "UCI: one fixed fit on the five raw channels, like for like, $threads thread(s) each (median of 5 fits)"
    local tests=(--test "$data/datatest.txt" --test "$data/datatest2.txt" "${uci[@]}")
    "$bin" bench-fit --data "$data/datatraining.txt" "${tests[@]}" --threads "$threads"
    "$bin" bench-fit --data "$data/datatraining.txt" "${tests[@]}" --family logistic
    "$VENV/bin/python" tools/benchmarks/training_peers.py --train "$data/datatraining.txt" "${tests[@]}" \
        --threads "$threads"

    say "synthetic: $rows training rows, $((rows / 5)) test rows, $threads thread(s) (median of 3 fits)"
    "$VENV/bin/python" tools/benchmarks/synthetic.py "$work" "$rows"
    local syn=(--data "$work/synthetic-train.csv" --test "$work/synthetic-test.csv" --time time --label occupied --repeats 3)
    /usr/bin/time -f "  occupant bench-fit: peak RSS %M KB" "$bin" bench-fit "${syn[@]}" --threads "$threads"
    "$bin" bench-fit "${syn[@]}" --family logistic
    "$VENV/bin/python" tools/benchmarks/training_peers.py --train "$work/synthetic-train.csv" \
        --test "$work/synthetic-test.csv" --time time --label occupied --repeats 3 --threads "$threads"
}

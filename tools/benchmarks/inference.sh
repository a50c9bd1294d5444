# tools/bench inference: our evaluator (release build, a bundle loaded at run time) against xgboost, lightgbm,
# treelite/tl2cgen compiled C and onnxruntime, on the same fixture models and rows, in the same run.
bench_inference() {
    local bin work
    bin=$(release_binary)
    ensure_bench_venv
    "$VENV/bin/pip" install -q onnxruntime onnxmltools treelite tl2cgen >/dev/null 2>&1 || say "some peers did not install; they will be reported as errors"
    work=$(mktemp -d "${TMPDIR:-/tmp}/occupant-bench.XXXXXX")
    trap 'rm -rf "$work"' RETURN
    "$bin" keys generate --out "$work/k" >/dev/null
    local results="$work/results.jsonl"
    : > "$results"
    for model in bench-d6-100 bench-d4-20; do
        "$bin" model import --xgboost "Tests/Fixtures/models/$model.model.json" \
            --features Tests/Fixtures/models/bench-features.yaml --signing-key "$work/k.key" \
            --inputs "Tests/Fixtures/models/$model.input.csv" --expected "Tests/Fixtures/models/$model.expected.csv" \
            --out "$work/$model.occmodel" >/dev/null
        say "occupant: $model"
        "$bin" model bench --model "$work/$model.occmodel" --data "Tests/Fixtures/models/$model.input.csv" \
            --trusted-key "$work/k.pub" | sed "s/^{/{\"peer\":\"occupant\",\"json_bytes\":$(stat -c %s "Tests/Fixtures/models/$model.model.json"),/" | tee -a "$results"
        say "peers: $model"
        OMP_NUM_THREADS=1 "$VENV/bin/python" tools/fixtures/peer_predict_bench.py "$model" --workdir "$work/peers-$model" | tee -a "$results"
    done
    python3 - "$results" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip().startswith("{")]
print()
for model in ("bench-d6-100", "bench-d4-20"):
    ours = next(r for r in rows if r.get("peer") == "occupant" and r["model"].startswith(model))
    print(f"### {model}: single-row latency (median / p99, ns per row) and ratio to Occupant")
    print()
    print("| runtime | median ns | p99 ns | median ÷ Occupant |")
    print("|---|---|---|---|")
    print(f"| Occupant (bundle loaded at run time) | {ours['median_ns']:.0f} | {ours['p99_ns']:.0f} | 1.0 |")
    for r in rows:
        if r.get("model") != model or r.get("peer") == "occupant":
            continue
        if "error" in r:
            print(f"| {r['peer']} | – | – | {r['error'][:60]} |")
        else:
            print(f"| {r['peer']} | {r['median_ns']:.0f} | {r['p99_ns']:.0f} | {r['median_ns'] / ours['median_ns']:.2f} |")
    print()
    print(f"batch: {ours['batch_rows_per_s']:,.0f} rows/s on one core; bundle load + signature + golden-vector check: "
          f"{ours['load_ms_median']} ms (median of 20); bundle {ours['bundle_bytes']:,} bytes vs xgboost JSON "
          f"{ours['json_bytes']:,} bytes ({ours['bundle_bytes'] / ours['json_bytes']:.2f}×)")
    print()
PY
}

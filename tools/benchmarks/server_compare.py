"""The table of `tools/bench server --store postgres`: the SQLite run and the PostgreSQL runs of one invocation side
by side, medians over the runs of each configuration, ratios against SQLite (1 process).

Arguments: the JSON-lines outputs of bench_server_once, named <store>-<processes>.<run>.jsonl.
"""
import json, os, statistics, sys


def figures(path):
    phases = [json.loads(line) for line in open(path) if line.startswith("{")]
    intake = [p for p in phases if p["phase"] == "intake"]
    one = lambda name: next((p for p in phases if p["phase"] == name), {})
    poll, promo, monitor, load = one("poll"), one("promotion"), one("monitor"), one("load")
    return {
        "intake_1": intake[1]["rows_per_s"], "intake_4": intake[2]["rows_per_s"],
        "monitor": monitor.get("windows_per_s"), "retrain": promo["train_and_decide_s"],
        "fetched": promo["promotion_to_all_fetched_s"], "shown": promo["promotion_to_server_shows_all_s"],
        "polls_304": round(poll["statuses"].get("304", 0) / poll["seconds"]),
        "other_statuses": {k: v for k, v in poll["statuses"].items() if k != "304"},
        "pushes": promo.get("pushes_received"), "load": (load.get("loadavg_before"), load.get("loadavg_after")),
    }


COLUMNS = [  # key, heading, higher is better
    ("intake_1", "intake rows/s, 1 conn.", True), ("intake_4", "intake rows/s, 4 conn.", True),
    ("monitor", "monitor windows/s (MQTT)", True), ("polls_304", "polls answered 304/s", True),
    ("retrain", "retrain (s)", False), ("fetched", "promotion → 1,000 fetched (s)", False),
    ("shown", "promotion → server shows all (s)", False),
]


def main(paths):
    runs = {}
    for path in sorted(paths):
        store, rest = os.path.basename(path).split("-", 1)
        processes, run = rest.split(".")[:2]
        runs.setdefault((store, int(processes)), []).append(figures(path))
    configs = sorted(runs, key=lambda c: (c[0] != "sqlite", c[1]))
    median = {c: {k: statistics.median(r[k] for r in runs[c]) for k, _, _ in COLUMNS} for c in configs}
    base = median[("sqlite", 1)]

    print("\n### Medians (ratio against SQLite, 1 process; above 1× is better)\n")
    print("| store | processes | runs | " + " | ".join(h for _, h, _ in COLUMNS) + " |")
    print("|---|---:|---:|" + "---:|" * len(COLUMNS))
    for c in configs:
        cells = []
        for key, _, higher in COLUMNS:
            v, b = median[c][key], base[key]
            text = f"{v:,.0f}" if higher else f"{v:.2f}"
            if c != ("sqlite", 1) and v and b:
                text += f" ({(v / b if higher else b / v):.2f}×)"
            cells.append(text)
        print(f"| {'SQLite' if c[0] == 'sqlite' else 'PostgreSQL'} | {c[1]} | {len(runs[c])} | " + " | ".join(cells) + " |")

    print("\n### Every run\n")
    print("| store | processes | run | " + " | ".join(h for _, h, _ in COLUMNS) + " | load average before → after | notes |")
    print("|---|---:|---:|" + "---:|" * len(COLUMNS) + "---|---|")
    for c in configs:
        for i, r in enumerate(runs[c], 1):
            cells = [f"{r[k]:,.0f}" if higher else f"{r[k]:.2f}" for k, _, higher in COLUMNS]
            notes = []
            if r["other_statuses"]:
                notes.append(f"poll statuses other than 304: {r['other_statuses']}")
            if r["pushes"] is not None:
                notes.append(f"{r['pushes']} pushes received")
            print(f"| {c[0]} | {c[1]} | {i} | " + " | ".join(cells) + f" | {r['load'][0]} → {r['load'][1]} | {'; '.join(notes)} |")


if __name__ == "__main__":
    main(sys.argv[1:])

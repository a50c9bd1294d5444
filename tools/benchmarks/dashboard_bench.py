"""Dashboard render times for `tools/bench server dashboard`.

seed: fills a store that `occupant server run` has migrated (its schema is the server's own) with a fleet of
      GATEWAYS gateways in SCOPES scopes, VERSIONS model versions per scope with their metrics and promotion
      decisions, a running rollout per scope, alerts, rollbacks and DAYS days of hourly monitor windows per gateway,
      written in big transactions straight into the SQLite file (the server is stopped meanwhile).
office: writes a labelled table of a synthetic office (co2, temperature, sound; one row a minute) to train the
      real bundles from (`occupant train`, run by tools/benchmarks/dashboard.sh).
bundles: stores those bundles in the server's artifact folder (content-addressed, as the server does) and points the
      models table's rows of the versions they were trained as at them, so the Gateway screen replays a real bundle.
telemetry: uploads a gateway's telemetry (one row every 10 s) for the day before its newest monitor window, plus
      the bundles' lead-in, through the server's own HTTP intake (idempotent: batch ids, rows keyed by time).
time: logs in through a one-time link (a session cookie, as a browser has) and times each screen over loopback HTTP
      (keep-alive): median and p95 of N requests, as a Markdown table.
Standard library only.
"""
import argparse, http.client, json, random, sqlite3, statistics, sys, time

HOUR = 3600


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(t))


def gateway_ids(n):
    return ["gw-%04d" % i for i in range(n)]


def scope_of(i, scopes):
    return "scope-%d" % (i % scopes)


def config(args):
    """The gateways section of the server's YAML (ids, scopes, tokens)."""
    lines = ["gateways:"]
    for i, g in enumerate(gateway_ids(args.gateways)):
        lines.append("  - { id: %s, scope: %s, token: token-%s }" % (g, scope_of(i, args.scopes), g))
    print("\n".join(lines))


def report(scope, version, rnd, t):
    """A report shaped like `RetrainReport` (with a leaderboard, so it has a realistic size)."""
    acc = 0.85 + 0.1 * rnd.random()
    m = lambda a: {"accuracy": a, "precision": a - 0.02, "recall": a - 0.01, "f1": a - 0.015, "auc": a + 0.03,
                   "logLoss": 0.3, "rows": 4000, "truePositive": 1500, "falsePositive": 120, "trueNegative": 2200,
                   "falseNegative": 180}
    trial = lambda k: {"config": {"family": "trees", "groups": ["raw", "time", "deltas"],
                                  "boosting": {"maxDepth": 3 + k % 4, "learningRate": 0.05 * (1 + k % 3),
                                               "trees": 100 + 10 * k, "minChildWeight": 1, "subsample": 0.8}},
                       "auc": 0.9 + k / 1000, "accuracy": 0.88, "logLoss": 0.31, "trees": 120, "seconds": 1.5}
    return json.dumps({
        "scope": scope, "trigger": "newLabelledRows", "skippedRows": 0, "version": version, "sha256": "x" * 64,
        "holdout": {"from": iso(t - 2 * 86400), "to": iso(t), "rows": 2880, "challenger": m(acc),
                    "champion": {"version": version - 1, "metrics": m(acc - 0.01)} if version > 1 else None},
        "promoted": True, "reason": "accuracy %.3f beats %.3f by more than 0.005" % (acc, acc - 0.01),
        "training": {
            "source": "server", "dataFrom": iso(t - 30 * 86400), "dataTo": iso(t - 2 * 86400), "rows": 86400,
            "labelledRows": 40000, "occupiedRows": 15000,
            "folds": [{"from": iso(t), "to": iso(t), "trainRows": 30000, "validationRows": 8000}] * 4,
            "chosen": trial(1)["config"], "threshold": 0.48, "treeCount": 140,
            "featureNames": ["co2", "co2_delta", "temperature", "sound", "hour_sin", "hour_cos"],
            "validation": m(acc),
            "calibration": {"ece": 0.03, "brier": 0.08, "bins": [
                {"from": b / 10, "to": (b + 1) / 10, "count": 400, "meanProbability": b / 10 + 0.05,
                 "observedRate": b / 10 + 0.04} for b in range(10)]},
            "events": {"days": 28, "publishedTransitions": 220, "falseTransitions": 9, "falseTransitionsPerDay": 0.32,
                       "onsets": 110, "missedOnsets": 2, "onsetLatencyP50Seconds": 90, "onsetLatencyP95Seconds": 420,
                       "clears": 110, "missedClears": 3, "clearLatencyP50Seconds": 600,
                       "clearLatencyP95Seconds": 1500},
            "calibrator": {"kind": "isotonic", "logLoss": {"none": 0.33, "platt": 0.31, "isotonic": 0.3},
                           "threshold": 0.48, "chosenAccuracy": acc, "peakAccuracy": acc + 0.002},
            "baseline": {"rule": "sound >= 10", "validation": m(0.8)}, "beatsBaseline": True, "trials": 40,
            "prunedTrials": 12, "leaderboard": [trial(k) for k in range(20)],
            "ablation": [{"group": g, "change": "removed", "accuracy": acc - 0.02, "logLoss": 0.32,
                          "accuracyDelta": -0.02, "logLossDelta": 0.02} for g in ["time", "deltas"]],
            "searchSeconds": 60, "finalFitSeconds": 4, "seed": version}})


def seed(args):
    rnd = random.Random(1)
    db = sqlite3.connect(args.db, isolation_level=None)
    db.execute("PRAGMA synchronous = OFF")
    now = args.now
    end = int(now // HOUR) * HOUR
    ids = gateway_ids(args.gateways)
    scopes = ["scope-%d" % s for s in range(args.scopes)]
    members = {s: [g for i, g in enumerate(ids) if scope_of(i, args.scopes) == s] for s in scopes}
    started = time.time()

    db.execute("BEGIN")
    for s in scopes:
        for v in range(1, args.versions + 1):
            t = end - args.days * 86400 + v * (args.days * 86400 // (args.versions + 1))
            db.execute("INSERT INTO models (scope, version, model_id, sha256, size, created, data_from, data_to, "
                       "labelled_rows_seen, report) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       (s, v, "occupancy-" + s, "%s-%02d" % (s, v) + "0" * 58, 200000, t, t - 30 * 86400,
                        t - 2 * 86400, 40000, report(s, v, rnd, t)))
            for version, value in [(v, 0.85 + 0.1 * rnd.random()), (v - 1, 0.85 + 0.1 * rnd.random())]:
                if version >= 1:
                    db.execute("INSERT INTO metrics (scope, version, at, kind, metric, value, rows) "
                               "VALUES (?, ?, ?, 'holdout', 'accuracy', ?, 2880)", (s, version, t, value))
            db.execute("INSERT INTO promotions (scope, at, challenger, champion, promoted, reason) "
                       "VALUES (?, ?, ?, ?, ?, ?)",
                       (s, t, v, v - 1 if v > 1 else None, 1, "accuracy beats the champion by more than 0.005"))
        for day in range(args.days):
            db.execute("INSERT INTO metrics (scope, version, at, kind, metric, value, rows) "
                       "VALUES (?, ?, ?, 'live', 'accuracy', ?, ?)",
                       (s, 1 + day * args.versions // args.days, end - (args.days - day) * 86400,
                        0.85 + 0.1 * rnd.random(), 500 + day))
        champion = args.versions if s != "scope-0" else args.versions - 1
        db.execute("INSERT OR REPLACE INTO aliases (scope, alias, version) VALUES (?, 'champion', ?)", (s, champion))
        if s == "scope-0":
            for alias in ["challenger", "shadow", "shadow-awaiting"]:
                db.execute("INSERT OR REPLACE INTO aliases (scope, alias, version) VALUES (?, ?, ?)",
                           (s, alias, args.versions))
        db.execute("INSERT OR REPLACE INTO rollouts (scope, version, previous, waves, reached, state, reason, "
                   "started, reached_at) VALUES (?, ?, ?, 3, 1, 'running', NULL, ?, ?)",
                   (s, champion, champion - 1, now - 2 * 86400, now - 86400))
        m = members[s]
        first, second = max(1, len(m) * 5 // 100), max(2, len(m) * 35 // 100)
        for k, g in enumerate(m):
            wave = 0 if k < first else 1 if k < second else 2
            db.execute("INSERT OR REPLACE INTO rollout_members (scope, gateway, wave, since, passed_at, "
                       "rolled_back_at, reason) VALUES (?, ?, ?, ?, ?, ?, ?)",
                       (s, g, wave, now - 2 * 86400 if wave == 0 else now - 86400 if wave == 1 else None,
                        now - 86400 if wave == 0 else None,
                        now - 3600 if wave == 1 and k % 50 == 0 else None,
                        "stuck: probability unchanged" if wave == 1 and k % 50 == 0 else None))
            if wave == 1 and k % 50 == 0:
                db.execute("INSERT OR IGNORE INTO model_rollbacks (gateway, sha256, at, version, guard, reason, "
                           "received) VALUES (?, ?, ?, ?, 'stuck', 'probability unchanged', ?)",
                           (g, "%s-%02d" % (s, champion) + "0" * 58, now - 3600, champion, now - 3600))
    for i, g in enumerate(ids):
        s = scope_of(i, args.scopes)
        seen = now - rnd.uniform(0, 200) if i % 10 else now - rnd.uniform(3600, 86400)
        db.execute("INSERT OR REPLACE INTO gateway_seen (gateway, at) VALUES (?, ?)", (g, seen))
        db.execute("INSERT OR REPLACE INTO gateway_status (gateway, active, sha256, refused, at) VALUES (?, ?, ?, NULL, ?)",
                   (g, "occupancy-%s@%d" % (s, args.versions), "%s-%02d" % (s, args.versions) + "0" * 58, seen))
    # Alerts: some open (drift, silent), many cleared.
    for k in range(args.alerts):
        g = ids[k % len(ids)]
        s = scope_of(k % len(ids), args.scopes)
        kind = ["drift", "silent", "accuracy"][k % 3]
        subject = "%s/co2#%d" % (g, k) if kind == "drift" else "%s#%d" % (g, k)
        cleared = None if k % 20 == 0 else now - rnd.uniform(0, args.days * 86400)
        db.execute("INSERT INTO alerts (scope, raised_at, message, kind, subject, gateway, numbers, cleared_at) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                   (s, (cleared or now) - 3600, "%s on %s" % (kind, g), kind, subject, g,
                    json.dumps({"score": 0.4, "threshold": 0.2}), cleared))
    db.execute("COMMIT")
    print(json.dumps({"phase": "seed-registry", "seconds": round(time.time() - started, 1)}), flush=True)

    # Monitor windows: DAYS × 24 per gateway, oldest first, in transactions of 50 gateways.
    hours = args.days * 24
    times = [(end - (hours - h) * HOUR, iso(end - (hours - h + 1) * HOUR), iso(end - (hours - h) * HOUR))
             for h in range(hours)]
    template = ('{"gateway":"%s","window":{"from":"%s","to":"%s","samples":360},'
                '"inputs":{"co2":{"missing":0,"outOfRange":0,"stuck":0,"mean":%.1f,"min":420,"max":900},'
                '"temperature":{"missing":0,"outOfRange":0,"stuck":0,"mean":21.3,"min":20.1,"max":22.4},'
                '"sound":{"missing":0.01,"outOfRange":0,"stuck":0,"mean":9.2,"min":2,"max":31}},'
                '"predictions":{"meanProbability":%.3f,"positiveRate":0.4,"transitions":2,'
                '"histogram":[120,20,10,8,6,6,8,10,22,150],"stale":0},'
                '"drift":{"co2":{"score":%.3f,"threshold":0.2,"drifted":%s},'
                '"temperature":{"score":0.02,"threshold":0.2,"drifted":false},'
                '"sound":{"score":0.05,"threshold":0.2,"drifted":false}},'
                '"expectedAccuracy":%.3f,"bundleAccuracy":0.92,"decidedBy":"model:occupancy-%s@%d",'
                '"process":{"cpuSeconds":%.1f,"rssBytes":31457280,"uptimeSeconds":%d}}')
    insert = ("INSERT OR REPLACE INTO monitor_windows (gateway, window_from, window_to, received, document) "
              "VALUES (?, ?, ?, ?, ?)")
    # scope-0's challenger runs in shadow beside its champion: its last week of windows carries a shadow section
    # (two runs: agreeing and not), and label spans cover its office hours, so the evidence has labelled samples.
    shadow_from = end - 7 * 86400
    shadow = (',"shadow":{"model":"occupancy-scope-0@%d","version":%d,"sha256":"%s","scored":360,"compared":360,'
              '"agreement":0.95,"transitions":2,"meanProbability":0.4,"expectedAccuracy":0.9,"bundleAccuracy":0.92,'
              '"stale":0,"runs":[{"from":%%d,"to":%%d,"n":180,"active":true,"shadow":true},'
              '{"from":%%d,"to":%%d,"n":180,"active":false,"shadow":true}],"complete":true}'
              % (args.versions, args.versions, "scope-0-%02d" % args.versions + "0" * 58))
    db.execute("BEGIN")
    for i, g in enumerate(ids):
        if scope_of(i, args.scopes) == "scope-0":
            for day in range(8):
                t = end - day * 86400 - (end % 86400)
                db.execute('INSERT INTO labels (gateway, start, "end", occupied, source) VALUES (?, ?, ?, 1, ?)',
                           (g, t + 8.5 * HOUR, t + 17.5 * HOUR, "bench"))
    db.execute("COMMIT")
    written = 0
    for start in range(0, len(ids), 50):
        db.execute("BEGIN")
        for i in range(start, min(start + 50, len(ids))):
            g = ids[i]
            s = scope_of(i, args.scopes)
            rows = []
            for h, (to, from_text, to_text) in enumerate(times):
                co2 = rnd.random() * 0.3
                doc = template % (
                    g, from_text, to_text, 600 + co2 * 100, 0.4, co2, "true" if co2 > 0.2 else "false",
                    0.85 + co2 / 3, s, args.versions - 1 if s == "scope-0" else args.versions, h * 1.5, h * HOUR)
                if s == "scope-0" and to > shadow_from:
                    doc = doc[:-1] + shadow % (to - HOUR, to - HOUR / 2 - 10, to - HOUR / 2, to - 10) + "}"
                rows.append((g, to - HOUR, to, to + 5, doc))
            db.executemany(insert, rows)
            written += len(rows)
        db.execute("COMMIT")
        print(json.dumps({"phase": "seed-windows", "windows": written,
                          "seconds": round(time.time() - started, 1)}), flush=True)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.execute("ANALYZE")
    db.close()


def office_rows(start, seconds, step, seed):
    """An office: occupied 08:30-12:00 and 13:00-17:30 on weekdays; people raise co2 and sound."""
    rnd = random.Random(seed)
    co2 = 450.0
    for t in range(int(start), int(start + seconds), step):
        hour = (t % 86400) / 3600
        weekday = time.gmtime(t).tm_wday < 5
        occupied = weekday and ((8.5 <= hour < 12) or (13 <= hour < 17.5))
        co2 += ((900 if occupied else 430) - co2) * step / 1800 + rnd.gauss(0, 3)
        sound = 14 + rnd.gauss(0, 4) if occupied and rnd.random() < 0.7 else 4 + rnd.gauss(0, 1.5)
        temp = 20.5 + (1 if occupied else 0) + rnd.gauss(0, 0.1)
        yield t, round(co2, 1), round(temp, 2), round(max(0.0, sound), 2), occupied


def office(args):
    """The labelled table the bench's bundles are trained on (CSV on stdout): 14 days, a row a minute."""
    print("at,co2,temperature,sound,occupied")
    for t, co2, temp, sound, occupied in office_rows(args.now - 14 * 86400, 14 * 86400, 60, 7):
        print("%d,%s,%s,%s,%d" % (t, co2, temp, sound, occupied))


def bundles(args):
    """Each FILE=SCOPE@VERSION: its bytes into <artifacts>/<sha256>.occmodel, and the models row of SCOPE/VERSION
    (plus the gateway statuses and rollbacks that named its placeholder hash) pointed at it."""
    import hashlib, os, shutil
    db = sqlite3.connect(args.db, isolation_level=None)
    os.makedirs(args.artifacts, exist_ok=True)
    db.execute("BEGIN")
    for item in args.files:
        path, target = item.split("=")
        scope, version = target.split("@")
        data = open(path, "rb").read()
        sha = hashlib.sha256(data).hexdigest()
        shutil.copyfile(path, os.path.join(args.artifacts, sha + ".occmodel"))
        old = db.execute("SELECT sha256 FROM models WHERE scope = ? AND version = ?", (scope, int(version))).fetchone()
        if old is None:
            sys.exit("no model %s@%s in %s" % (scope, version, args.db))
        db.execute("UPDATE models SET sha256 = ?, size = ? WHERE scope = ? AND version = ?",
                   (sha, len(data), scope, int(version)))
        db.execute("UPDATE gateway_status SET sha256 = ? WHERE sha256 = ?", (sha, old[0]))
        db.execute("UPDATE model_rollbacks SET sha256 = ? WHERE sha256 = ?", (sha, old[0]))
        print(json.dumps({"phase": "bundle", "model": target, "sha256": sha, "bytes": len(data)}), flush=True)
    db.execute("COMMIT")
    db.close()


def telemetry(args):
    """The gateway's rows for the 24 h before its newest monitor window and the lead-in before them, posted as
    NDJSON batches of 1,000 rows with its own token."""
    db = sqlite3.connect("file:%s?mode=ro" % args.db, uri=True)
    end = db.execute("SELECT MAX(window_to) FROM monitor_windows WHERE gateway = ?", (args.gateway,)).fetchone()[0]
    db.close()
    start = end - 24 * HOUR - args.lead_in
    rows = list(office_rows(start, end - start, 10, 11))
    conn = http.client.HTTPConnection("127.0.0.1", args.http, timeout=120)
    accepted = 0
    for k in range(0, len(rows), 1000):
        body = "".join(json.dumps({"at": iso(t), "readings": {"co2": c, "temperature": tp, "sound": sd}}) + "\n"
                       for t, c, tp, sd, _ in rows[k:k + 1000]).encode()
        conn.request("POST", "/v1/gateways/%s/telemetry" % args.gateway, body=body,
                     headers={"Authorization": "Bearer token-" + args.gateway, "Content-Type": "application/x-ndjson",
                              "Batch-ID": "dashboard-bench-%d-%d" % (int(start), k)})
        response = conn.getresponse()
        answer = response.read()
        if response.status != 200:
            sys.exit("telemetry for %s answered %d: %s" % (args.gateway, response.status, answer[:300]))
        accepted += json.loads(answer).get("accepted", 0)
    print(json.dumps({"phase": "telemetry", "gateway": args.gateway, "rows": len(rows), "accepted": accepted,
                      "from": iso(start), "to": iso(end)}), flush=True)


def time_screens(args):
    conn = http.client.HTTPConnection("127.0.0.1", args.http, timeout=60)
    admin = {"Authorization": "Bearer " + args.admin}
    conn.request("POST", "/v1/dashboard/login-link?next=%2Fdashboard%2Ffleet", headers=admin)
    link = json.loads(conn.getresponse().read())
    conn.request("GET", link["path"])
    response = conn.getresponse()
    response.read()
    cookie = response.getheader("Set-Cookie").split(";")[0]
    screens = [
        ("Fleet, first page", "/dashboard/fleet", {"Cookie": cookie}),
        ("Fleet, filtered + sorted, page 2", "/dashboard/fleet?scope=scope-1&state=offline&sort=seen&order=desc&page=2",
         {"Cookie": cookie}),
        ("Gateway (24 h of windows)", "/dashboard/gateways/gw-%04d" % (args.gateways // 2), {"Cookie": cookie}),
        ("Models (champion selected, shadow)", "/dashboard/models/scope-0", {"Cookie": cookie}),
        ("Models (another version)", "/dashboard/models/scope-1?version=25", {"Cookie": cookie}),
        ("Rollout (333 gateways in waves)", "/dashboard/rollout/scope-0", {"Cookie": cookie}),
        ("Alerts", "/dashboard/alerts", {"Cookie": cookie}),
        ("JSON: /v1/scopes/scope-0/models/50", "/v1/scopes/scope-0/models/50", admin),
        ("JSON: /v1/fleet", "/v1/fleet", admin),
    ]
    print("| Screen | Path | Bytes | Median (ms) | p95 (ms) | Max (ms) |")
    print("|---|---|---:|---:|---:|---:|")
    worst, replayed, gateway_first = 0.0, None, None
    for name, path, headers in screens:
        times = []
        size = 0
        for k in range(args.requests + 2):
            begin = time.perf_counter()
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            body = response.read()
            elapsed = (time.perf_counter() - begin) * 1000
            if response.status != 200:
                sys.exit("%s answered %d: %s" % (path, response.status, body[:300]))
            if k >= 2:  # two warm-up requests
                times.append(elapsed)
            elif k == 0:
                first = elapsed
            size = len(body)
        if path.startswith("/dashboard/gateways/"):
            replayed = b"State and probability replayed with" in body
            gateway_first = first  # the first view since the server started: nothing of it cached yet
        times.sort()
        p95 = times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]
        median = statistics.median(times)
        if path.startswith("/dashboard"):
            worst = max(worst, median)
        print("| %s | `%s` | %d | %.1f | %.1f | %.1f |" % (name, path, size, median, p95, times[-1]), flush=True)
    print(json.dumps({"phase": "dashboard", "worst_median_ms": round(worst, 1), "gateway_replayed": replayed,
                      "gateway_first_request_ms": gateway_first and round(gateway_first, 1)}))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("command", choices=["config", "seed", "office", "bundles", "telemetry", "time"])
    p.add_argument("--gateways", type=int, default=1000)
    p.add_argument("--scopes", type=int, default=3)
    p.add_argument("--versions", type=int, default=50)
    p.add_argument("--days", type=int, default=90)
    p.add_argument("--alerts", type=int, default=3000)
    p.add_argument("--now", type=float, default=time.time())
    p.add_argument("--db")
    p.add_argument("--http", type=int)
    p.add_argument("--admin")
    p.add_argument("--requests", type=int, default=20)
    p.add_argument("--artifacts")
    p.add_argument("--gateway")
    p.add_argument("--lead-in", type=float, default=2 * HOUR)
    p.add_argument("files", nargs="*", help="bundles: FILE=SCOPE@VERSION")
    args = p.parse_intermixed_args()
    {"config": config, "seed": seed, "office": office, "bundles": bundles, "telemetry": telemetry,
     "time": time_screens}[args.command](args)


if __name__ == "__main__":
    main()

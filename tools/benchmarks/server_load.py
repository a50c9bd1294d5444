"""Load for `tools/bench server`: telemetry intake, monitor-window intake, model polls answered 304, and promotion →
every gateway running it.

Talks to a running `occupant server run` over loopback HTTP (raw asyncio streams, keep-alive) and MQTT (paho).
Prints one JSON object per phase.
"""
import argparse, asyncio, hashlib, json, math, random, statistics, threading, time, urllib.request

import paho.mqtt.client as mqtt

START = 1767571200  # 2026-01-05T00:00:00Z, the simulated office's first day


def synthetic_rows(days, step=30, seed=1):
    """An office: occupied 08:30-12:00 and 13:00-17:30 on weekdays; talk raises sound, the heating cycles at night."""
    rnd = random.Random(seed)
    rows = []
    for i in range(int(days * 86400 / step)):
        t = START + i * step
        hour = (t % 86400) / 3600
        occupied = (8.5 <= hour < 12) or (13 <= hour < 17.5)
        heating = (not occupied) and (int(t / 1800) % 3 == 0)
        sound = (14 + rnd.gauss(0, 4) if occupied and rnd.random() < 0.7 else 4 + rnd.gauss(0, 1.5)) + (8 if heating else 0)
        temp = 20 + (1 if occupied else 0) + 0.5 * math.sin(hour / 24 * 2 * math.pi) + rnd.gauss(0, 0.1)
        rows.append((t, max(0, sound), temp, "heating" if heating else "standby", occupied))
    return rows


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def ndjson(rows):
    return "".join(json.dumps({"at": iso(t), "readings": {"sound": round(s, 3), "temperature": round(c, 3), "hvac": h}}) + "\n"
                   for t, s, c, h, _ in rows).encode()


def labels(gateway, rows, step=30):
    out, start, state = [], rows[0][0], rows[0][4]
    for t, *_, occ in rows[1:]:
        if occ != state:
            out.append({"gateway": gateway, "from": iso(start), "to": iso(t), "occupied": state})
            start, state = t, occ
    out.append({"gateway": gateway, "from": iso(start), "to": iso(rows[-1][0] + step), "occupied": state})
    return json.dumps(out).encode()


async def request(reader, writer, method, path, token, body=b"", headers=None):
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", f"Authorization: Bearer {token}", f"Content-Length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    data = await reader.readexactly(length) if length else b""
    return status, data


async def intake(port, token, gateway, rows, batch, connections):
    """POST the rows in batches over `connections` keep-alive connections; rows/s into SQLite."""
    batches = [rows[i:i + batch] for i in range(0, len(rows), batch)]
    queue = asyncio.Queue()
    for i, b in enumerate(batches):
        queue.put_nowait((i, b))
    accepted = 0

    async def worker():
        nonlocal accepted
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while not queue.empty():
            i, b = queue.get_nowait()
            status, data = await request(reader, writer, "POST", f"/v1/gateways/{gateway}/telemetry", token, ndjson(b),
                                         {"Batch-ID": f"bench-{i}", "Content-Type": "application/x-ndjson"})
            assert status == 200, (status, data)
            accepted += json.loads(data)["accepted"]
        writer.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(connections)))
    seconds = time.perf_counter() - t0
    return {"phase": "intake", "rows": len(rows), "accepted": accepted, "batch": batch, "connections": connections,
            "seconds": round(seconds, 3), "rows_per_s": round(accepted / seconds)}


async def polls(port, gateways, sha, seconds, connections):
    """GET /v1/gateways/<id>/model with If-None-Match from every gateway in turn; 304s per second."""
    count, statuses, stop = 0, {}, time.perf_counter() + seconds

    async def worker(k):
        nonlocal count
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        i = k
        while time.perf_counter() < stop:
            gid = gateways[i % len(gateways)]
            status, _ = await request(reader, writer, "GET", f"/v1/gateways/{gid}/model", f"token-{gid}", b"",
                                      {"If-None-Match": f'"{sha}"'})
            statuses[status] = statuses.get(status, 0) + 1
            count += 1
            i += connections
        writer.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(worker(k) for k in range(connections)))
    elapsed = time.perf_counter() - t0
    return {"phase": "poll", "gateways": len(gateways), "connections": connections, "requests": count,
            "statuses": statuses, "seconds": round(elapsed, 3), "requests_per_s": round(count / elapsed)}


def fleet(mqtt_port, http_port, gateways, admin, scope):
    """Simulated gateways: on a push, fetch with their own token, check the hash, report status. Times the promotion."""
    done, first_push, lock = {}, [None], threading.Lock()
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-fleet")
    from concurrent.futures import ThreadPoolExecutor
    pool = ThreadPoolExecutor(8)

    def fetch(gid, note):
        req = urllib.request.Request(note["url"], headers={"Authorization": f"Bearer token-{gid}"})
        body = urllib.request.urlopen(req).read()
        assert hashlib.sha256(body).hexdigest() == note["sha256"]
        status = {"active": f"{note['modelID']}@{note['version']}", "sha256": note["sha256"], "refused": None, "at": iso(time.time())}
        client.publish(f"occupant/{gid}/model/status", json.dumps(status), qos=1, retain=True)
        with lock:
            done[gid] = time.perf_counter()

    def on_message(c, userdata, msg):
        gid = msg.topic.split("/")[1]
        note = json.loads(msg.payload)
        with lock:
            if first_push[0] is None:
                first_push[0] = time.perf_counter()
        pool.submit(fetch, gid, note)

    client.on_message = on_message
    client.connect("127.0.0.1", mqtt_port)
    client.subscribe("occupant/+/model/available", qos=1)
    client.loop_start()
    time.sleep(0.5)
    t0 = time.perf_counter()
    req = urllib.request.Request(f"http://127.0.0.1:{http_port}/v1/scopes/{scope}/retrain", method="POST",
                                 headers={"Authorization": f"Bearer {admin}"})
    outcome = json.loads(urllib.request.urlopen(req, timeout=3600).read())
    t_promoted = time.perf_counter()
    assert outcome["promoted"], outcome
    # Every gateway has fetched and reported; then wait until the server shows all of them on the new version.
    while len(done) < len(gateways):
        time.sleep(0.01)
    t_fetched = time.perf_counter()
    while True:
        req = urllib.request.Request(f"http://127.0.0.1:{http_port}/v1/gateways", headers={"Authorization": f"Bearer {admin}"})
        rows = json.loads(urllib.request.urlopen(req).read())["gateways"]
        if all(r.get("activeSha256") == outcome["sha256"] for r in rows):
            break
        time.sleep(0.05)
    t_all = time.perf_counter()
    client.loop_stop()
    return {"phase": "promotion", "gateways": len(gateways), "train_and_decide_s": round(t_promoted - t0, 3),
            "promotion_to_all_fetched_s": round(t_fetched - t_promoted, 3),
            "promotion_to_server_shows_all_s": round(t_all - t_promoted, 3), "sha256": outcome["sha256"]}


def monitor_window(gateway, start):
    """A gateway's hourly monitor window: three channels, eight drift features (what a trained bundle ships)."""
    features = ["sound_mean_60s", "sound_max_10s", "sound_std_300s", "sound_delta_600s", "temperature",
                "temperature_slope_600s", "hvac_since_change", "tod_sin"]
    return json.dumps({
        "gateway": gateway, "window": {"from": iso(start), "to": iso(start + 3600), "samples": 36000},
        "inputs": {c: {"missing": 0, "outOfRange": 0, "stuck": 0, "mean": 10.5, "min": 1, "max": 60}
                   for c in ("sound", "temperature", "hvac")},
        "predictions": {"meanProbability": 0.31, "positiveRate": 0.3, "transitions": 2,
                        "histogram": [20000, 1000, 500, 300, 200, 200, 300, 500, 1000, 12000], "stale": 0},
        "drift": {f: {"score": 0.01, "threshold": 0.08, "drifted": False} for f in features},
        "expectedAccuracy": 0.97, "bundleAccuracy": 0.98, "decidedBy": "model:occupancy-bench@1",
        "process": {"cpuSeconds": 12.5, "rssBytes": 9000000, "uptimeSeconds": 86400}}).encode()


def monitor_intake(mqtt_port, db, gateways, rounds, timeout=600):
    """Every gateway publishes an hourly monitor window (retained, QoS 1) per round; the next round goes once the
    server has stored the last (a gateway publishes one an hour, so no two windows of a gateway are ever in flight).
    Windows stored per second, counted in the server's SQLite file (read-only)."""
    import sqlite3
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-monitor")
    client.connect("127.0.0.1", mqtt_port)
    client.loop_start()
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    stored = lambda: con.execute("SELECT COUNT(*) FROM monitor_windows").fetchone()[0]
    before = stored()
    end = int(time.time()) // 3600 * 3600
    t0 = time.perf_counter()
    deadline = time.monotonic() + timeout
    for r in range(rounds):
        start = end - (rounds - r) * 3600
        for gid in gateways:
            client.publish(f"occupant/{gid}/monitor", monitor_window(gid, start), qos=1, retain=True)
        while stored() - before < (r + 1) * len(gateways) and time.monotonic() < deadline:
            time.sleep(0.005)
    seconds = time.perf_counter() - t0
    count = stored() - before
    for gid in gateways:  # clear the retained windows
        client.publish(f"occupant/{gid}/monitor", b"", qos=1, retain=True)
    client.loop_stop()
    return {"phase": "monitor", "gateways": len(gateways), "rounds": rounds, "windows": len(gateways) * rounds,
            "stored": count, "seconds": round(seconds, 3), "windows_per_s": round(count / seconds)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--http", type=int, required=True)
    ap.add_argument("--mqtt", type=int, required=True)
    ap.add_argument("--admin", required=True)
    ap.add_argument("--gateways", type=int, default=1000)
    ap.add_argument("--rows", type=int, default=200000)
    ap.add_argument("--poll-seconds", type=float, default=10)
    ap.add_argument("--sqlite", help="the server's database, to count stored monitor windows")
    ap.add_argument("--monitor-rounds", type=int, default=3)
    args = ap.parse_args()
    gateways = [f"gw-{i:04d}" for i in range(args.gateways)]

    # Intake: a large batch stream for one gateway (the training data), then the rate with 1 and 4 connections.
    train = synthetic_rows(3)
    print(json.dumps(asyncio.run(intake(args.http, "token-gw-0000", "gw-0000", train, 1000, 1))))
    req = urllib.request.Request(f"http://127.0.0.1:{args.http}/v1/labels", data=labels("gw-0000", train), method="POST",
                                 headers={"Authorization": f"Bearer {args.admin}", "Content-Type": "application/json"})
    urllib.request.urlopen(req).read()
    bulk = [(START + 10 * 86400 + i, 5.0, 20.0, "standby", False) for i in range(args.rows)]
    print(json.dumps(asyncio.run(intake(args.http, "token-gw-0001", "gw-0001", bulk, 1000, 1))))
    bulk = [(START + 20 * 86400 + i, 5.0, 20.0, "standby", False) for i in range(args.rows)]
    print(json.dumps(asyncio.run(intake(args.http, "token-gw-0002", "gw-0002", bulk, 1000, 4))))

    # Monitor windows: one per gateway per round over MQTT, as the fleet sends them every hour.
    if args.sqlite and args.monitor_rounds > 0:
        print(json.dumps(monitor_intake(args.mqtt, args.sqlite, gateways, args.monitor_rounds)))

    # Promotion: train, decide, push to every gateway, each fetches and reports.
    promo = fleet(args.mqtt, args.http, gateways, args.admin, "bench")
    print(json.dumps(promo))
    # Polls: nothing changed, so every answer is 304.
    print(json.dumps(asyncio.run(polls(args.http, gateways, promo["sha256"], args.poll_seconds, 16))))


if __name__ == "__main__":
    main()

"""Load for `tools/bench server`: telemetry intake, monitor-window intake, model polls answered 304, and promotion →
every gateway running it.

Talks to a running `occupant server run` over loopback HTTP (raw asyncio streams, keep-alive) and MQTT (paho).
Prints one JSON object per phase. With several HTTP ports (several processes sharing a PostgreSQL store), connection k
goes to port k mod n, as a round-robin load balancer would send it, and gateway i fetches its bundle from port i mod n.
"""
import argparse, asyncio, hashlib, json, math, random, shlex, statistics, subprocess, threading, time, urllib.parse
import urllib.request

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


def port_list(port):
    return port if isinstance(port, list) else [port]


async def intake(port, token, gateway, rows, batch, connections):
    """POST the rows in batches over `connections` keep-alive connections (connection k to port k mod n); rows/s
    into the store."""
    ports = port_list(port)
    batches = [rows[i:i + batch] for i in range(0, len(rows), batch)]
    queue = asyncio.Queue()
    for i, b in enumerate(batches):
        queue.put_nowait((i, b))
    accepted = 0

    async def worker(k):
        nonlocal accepted
        reader, writer = await asyncio.open_connection("127.0.0.1", ports[k % len(ports)])
        while not queue.empty():
            i, b = queue.get_nowait()
            status, data = await request(reader, writer, "POST", f"/v1/gateways/{gateway}/telemetry", token, ndjson(b),
                                         {"Batch-ID": f"bench-{i}", "Content-Type": "application/x-ndjson"})
            assert status == 200, (status, data)
            accepted += json.loads(data)["accepted"]
        writer.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(worker(k) for k in range(connections)))
    seconds = time.perf_counter() - t0
    return {"phase": "intake", "rows": len(rows), "accepted": accepted, "batch": batch, "connections": connections,
            "seconds": round(seconds, 3), "rows_per_s": round(accepted / seconds)}


async def polls(port, gateways, sha, seconds, connections):
    """GET /v1/gateways/<id>/model with If-None-Match from every gateway in turn; 304s per second."""
    count, statuses, stop = 0, {}, time.perf_counter() + seconds
    ports = port_list(port)

    async def worker(k):
        nonlocal count
        reader, writer = await asyncio.open_connection("127.0.0.1", ports[k % len(ports)])
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
    """Simulated gateways: on a push, fetch with their own token, check the hash, report status. Times the promotion.
    With several ports, gateway i fetches from port i mod n (the announcement names the process that promoted)."""
    ports = port_list(http_port)
    http_port = ports[0]
    index = {gid: i for i, gid in enumerate(gateways)}
    done, first_push, lock, pushes = {}, [None], threading.Lock(), [0]
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-fleet")
    from concurrent.futures import ThreadPoolExecutor
    pool = ThreadPoolExecutor(8)

    def fetch(gid, note):
        url = note["url"]
        if len(ports) > 1:
            parts = urllib.parse.urlsplit(url)
            url = parts._replace(netloc=f"{parts.hostname}:{ports[index[gid] % len(ports)]}").geturl()
        req = urllib.request.Request(url, headers={"Authorization": f"Bearer token-{gid}"})
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
            pushes[0] += 1
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
    result = {"phase": "promotion", "gateways": len(gateways), "train_and_decide_s": round(t_promoted - t0, 3),
              "promotion_to_all_fetched_s": round(t_fetched - t_promoted, 3),
              "promotion_to_server_shows_all_s": round(t_all - t_promoted, 3), "sha256": outcome["sha256"]}
    if len(ports) > 1:
        result["pushes_received"] = pushes[0]  # one per gateway unless a process announced twice
    return result


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


def window_counter(db=None, psql=None):
    """A function counting the stored monitor windows: in the server's SQLite file (read-only), or through one
    long-running `psql` (the command given) reading a query per line."""
    query = "SELECT COUNT(*) FROM monitor_windows"
    if db:
        import sqlite3
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        return lambda: con.execute(query).fetchone()[0]
    proc = subprocess.Popen(shlex.split(psql), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)

    def count():
        proc.stdin.write(query + ";\n")
        proc.stdin.flush()
        return int(proc.stdout.readline())
    return count


def monitor_intake(mqtt_port, stored, gateways, rounds, timeout=600):
    """Every gateway publishes an hourly monitor window (retained, QoS 1) per round; the next round goes once the
    server has stored the last (a gateway publishes one an hour, so no two windows of a gateway are ever in flight).
    Windows stored per second, counted in the store by `stored`."""
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-monitor")
    client.connect("127.0.0.1", mqtt_port)
    client.loop_start()
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
    ap.add_argument("--http", required=True, help="the server's HTTP port, or several: 8080,8081,8082")
    ap.add_argument("--mqtt", type=int, required=True)
    ap.add_argument("--admin", required=True)
    ap.add_argument("--gateways", type=int, default=1000)
    ap.add_argument("--rows", type=int, default=200000)
    ap.add_argument("--poll-seconds", type=float, default=10)
    ap.add_argument("--sqlite", help="the server's database, to count stored monitor windows")
    ap.add_argument("--psql", help="a psql command for the PostgreSQL store, to count stored monitor windows")
    ap.add_argument("--monitor-rounds", type=int, default=3)
    args = ap.parse_args()
    gateways = [f"gw-{i:04d}" for i in range(args.gateways)]
    ports = [int(p) for p in args.http.split(",")]
    args.http = ports if len(ports) > 1 else ports[0]

    # Intake: a large batch stream for one gateway (the training data), then the rate with 1 and 4 connections.
    train = synthetic_rows(3)
    print(json.dumps(asyncio.run(intake(args.http, "token-gw-0000", "gw-0000", train, 1000, 1))))
    req = urllib.request.Request(f"http://127.0.0.1:{port_list(args.http)[0]}/v1/labels", data=labels("gw-0000", train), method="POST",
                                 headers={"Authorization": f"Bearer {args.admin}", "Content-Type": "application/json"})
    urllib.request.urlopen(req).read()
    bulk = [(START + 10 * 86400 + i, 5.0, 20.0, "standby", False) for i in range(args.rows)]
    print(json.dumps(asyncio.run(intake(args.http, "token-gw-0001", "gw-0001", bulk, 1000, 1))))
    bulk = [(START + 20 * 86400 + i, 5.0, 20.0, "standby", False) for i in range(args.rows)]
    print(json.dumps(asyncio.run(intake(args.http, "token-gw-0002", "gw-0002", bulk, 1000, 4))))

    # Monitor windows: one per gateway per round over MQTT, as the fleet sends them every hour.
    if (args.sqlite or args.psql) and args.monitor_rounds > 0:
        stored = window_counter(args.sqlite, args.psql)
        print(json.dumps(monitor_intake(args.mqtt, stored, gateways, args.monitor_rounds)))

    # Promotion: train, decide, push to every gateway, each fetches and reports.
    promo = fleet(args.mqtt, args.http, gateways, args.admin, "bench")
    print(json.dumps(promo))
    # Polls: nothing changed, so every answer is 304.
    print(json.dumps(asyncio.run(polls(args.http, gateways, promo["sha256"], args.poll_seconds, 16))))


if __name__ == "__main__":
    main()

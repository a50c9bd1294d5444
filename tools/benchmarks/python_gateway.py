"""The peer for `tools/bench gateway`: a Python gateway doing the same job per cycle as `occupant gateway run`
(read a sound level, decide, publish the decision as JSON with QoS 1 over paho-mqtt) at the same rate.

--decider rule     pure Python `sound > 10`
--decider xgboost  xgboost Booster.inplace_predict on a 5-feature row (the model library a Python gateway would use)

Prints one JSON line: cycles, cpu_seconds, max_rss_kb, cycle_median_us, cycle_p99_us.
"""
import argparse
import json
import random
import resource
import statistics
import time

import paho.mqtt.client as mqtt


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--cycles", type=int, default=1000)
    parser.add_argument("--hz", type=float, default=10)
    parser.add_argument("--decider", choices=["rule", "xgboost"], default="rule")
    parser.add_argument("--model", help="xgboost JSON model for --decider xgboost")
    args = parser.parse_args()

    predict = None
    if args.decider == "xgboost":
        import numpy as np
        import xgboost as xgb

        booster = xgb.Booster()
        booster.load_model(args.model)
        row = np.zeros((1, 5), dtype=np.float32)

        def predict(sound):
            row[0, 0] = sound
            return float(booster.inplace_predict(row)[0])

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="python-gateway")
    client.will_set("python/bench/status", "offline", qos=1, retain=True)
    client.connect("127.0.0.1", args.port, keepalive=30)
    client.loop_start()
    rng = random.Random(1)
    period = 1.0 / args.hz
    cycle_us = []
    start_cpu = time.process_time()
    next_tick = time.monotonic()
    for _ in range(args.cycles):
        t0 = time.perf_counter()
        sound = max(0.0, rng.gauss(8, 6))
        p = predict(sound) if predict else (1.0 if sound > 10 else 0.0)
        payload = json.dumps({
            "roomOccupancy": p >= 0.5, "probability": p, "decidedBy": args.decider,
            "inputs": {"sound": sound}, "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        })
        client.publish("python/bench/occupancy", payload, qos=1, retain=True)
        cycle_us.append((time.perf_counter() - t0) * 1e6)
        next_tick += period
        time.sleep(max(0.0, next_tick - time.monotonic()))
    cpu = time.process_time() - start_cpu
    client.loop_stop()
    client.disconnect()
    cycle_us.sort()
    print(json.dumps({
        "cycles": args.cycles,
        "cpu_seconds": round(cpu, 3),
        "max_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "cycle_median_us": round(statistics.median(cycle_us), 1),
        "cycle_p99_us": round(cycle_us[int(0.99 * (len(cycle_us) - 1))], 1),
    }))


if __name__ == "__main__":
    main()

"""A synthetic occupancy table for `tools/bench training`: ROWS training rows and ROWS/5 test rows, one every 10 s.

Five numeric channels (sound, light, co2, temperature, humidity) driven by a hidden occupancy state with a daily
rhythm: sunlight, lights off in some occupied spells, overlapping sound levels, CO2 lagging the state, sensor noise,
a few missing values, and 2 % wrong labels. Deterministic (seed 7).
Usage: synthetic.py OUTDIR [ROWS]
"""
import sys

import numpy as np
import pandas as pd

out, rows = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
rng = np.random.default_rng(7)


def table(n, start):
    t = start + 10 * np.arange(n)
    hour = (t % 86400) / 3600
    weekday = ((t // 86400) + 3) % 7 < 5
    # Occupancy: a day-time rhythm on weekdays, switched in runs (people stay a while).
    p_in = np.where(weekday & (hour > 8) & (hour < 18), 0.7, 0.05)
    runs = rng.random(n // 60 + 1) < p_in[::60][: n // 60 + 1]
    occupied = np.repeat(runs, 60)[:n]
    sunny = np.clip(np.sin((hour - 6) / 12 * np.pi), 0, None) * rng.uniform(0, 900, n // 8640 + 1).repeat(8640)[:n]
    # Lights are on for 60 % of the occupied runs; sound overlaps between states; CO2 lags occupancy by ~30 min.
    lights = occupied & np.repeat(rng.random(n // 60 + 1) < 0.6, 60)[:n]
    sound = np.where(occupied, rng.gamma(2, 5, n), rng.gamma(1.5, 3, n))
    light = np.where(lights, 420 + rng.normal(0, 60, n), 0) + sunny + rng.normal(0, 20, n)
    co2 = 420 + np.convolve(occupied * 3.0, np.ones(180) / 180, mode="full")[:n] * 250 + rng.normal(0, 40, n)
    temperature = 20 + 1.5 * np.sin((hour - 9) / 24 * 2 * np.pi) + 0.5 * occupied + rng.normal(0, 0.4, n)
    humidity = 30 + 2 * occupied + 0.002 * (co2 - 420) + rng.normal(0, 2, n)
    # 2 % of the labels are wrong, as hand labels are.
    occupied = occupied ^ (rng.random(n) < 0.02)
    df = pd.DataFrame({
        "time": t, "sound": sound.round(2), "light": light.round(1), "co2": co2.round(1),
        "temperature": temperature.round(2), "humidity": humidity.round(2), "occupied": occupied.astype(int),
    })
    for col in ("sound", "co2"):
        df.loc[rng.random(n) < 0.002, col] = np.nan
    return df


table(rows, 1_700_000_000).to_csv(f"{out}/synthetic-train.csv", index=False)
table(rows // 5, 1_700_000_000 + 10 * rows).to_csv(f"{out}/synthetic-test.csv", index=False)

"""Peers for `tools/bench training`: fit time and test accuracy/AUC on the UCI data (raw channels), 2 threads.

xgboost hist and lightgbm with 100 trees depth 6, sklearn HistGradientBoosting (100 iterations, depth 6) and
LogisticRegression (standardised). Trained on datatraining.txt, scored on datatest.txt and datatest2.txt at 0.5.
Prints one JSON line per peer.
"""
import json
import sys
import time

import numpy as np
import pandas as pd

DATA = sys.argv[1]
COLS = ["Temperature", "Humidity", "Light", "CO2", "HumidityRatio"]


def load(name):
    df = pd.read_csv(f"{DATA}/{name}")
    return df[COLS].to_numpy(dtype=np.float64), df["Occupancy"].to_numpy()


def auc(y, p):
    order = np.argsort(p)
    ranks = np.empty(len(p))
    ranks[order] = np.arange(1, len(p) + 1)
    pos = y == 1
    return (ranks[pos].sum() - pos.sum() * (pos.sum() + 1) / 2) / (pos.sum() * (~pos).sum())


Xtr, ytr = load("datatraining.txt")
tests = {n: load(n) for n in ("datatest.txt", "datatest2.txt")}


def report(name, fit, predict):
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        model = fit()
        times.append(time.perf_counter() - t0)
    out = {"peer": name, "fit_seconds_median": round(float(np.median(times)), 4)}
    for n, (X, y) in tests.items():
        p = predict(model, X)
        out[n] = {"accuracy": round(float(((p >= 0.5) == y).mean()), 4), "auc": round(float(auc(y, p)), 4)}
    print(json.dumps(out), flush=True)


import xgboost as xgb
report("xgboost hist (100 trees, depth 6, 2 threads)",
       lambda: xgb.train({"objective": "binary:logistic", "tree_method": "hist", "max_depth": 6, "eta": 0.3, "nthread": 2},
                         xgb.DMatrix(Xtr, label=ytr), num_boost_round=100),
       lambda m, X: m.predict(xgb.DMatrix(X)))

import lightgbm as lgb
report("lightgbm (100 trees, 63 leaves ≈ depth 6, 2 threads)",
       lambda: lgb.train({"objective": "binary", "num_leaves": 63, "max_depth": 6, "num_threads": 2, "verbose": -1},
                         lgb.Dataset(Xtr, label=ytr), num_boost_round=100),
       lambda m, X: m.predict(X))

from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
report("sklearn HistGradientBoosting (100 iterations, depth 6)",
       lambda: HistGradientBoostingClassifier(max_iter=100, max_depth=6, early_stopping=False).fit(Xtr, ytr),
       lambda m, X: m.predict_proba(X)[:, 1])
report("sklearn LogisticRegression (standardised)",
       lambda: make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(Xtr, ytr),
       lambda m, X: m.predict_proba(X)[:, 1])

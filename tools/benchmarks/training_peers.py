"""Peers for `tools/bench training`: fit time and test accuracy/AUC on the raw numeric channels, on --threads
threads (default 2).

xgboost hist and lightgbm with 100 trees depth 6, sklearn HistGradientBoosting (100 iterations, depth 6) and
LogisticRegression (standardised, missing values imputed with the mean). Fit time includes building the library's
dataset (xgboost's DMatrix quantiles, lightgbm's bins), as `occupant bench-fit` includes its binning. Scored at 0.5.
Prints one JSON line per peer.

Usage: training_peers.py --train FILE --test FILE [--test FILE…] --time COL --label COL [--repeats N] [--threads N]
"""
import argparse
import json
import os
import time

parser = argparse.ArgumentParser()
parser.add_argument("--train", required=True)
parser.add_argument("--test", action="append", default=[])
parser.add_argument("--time", required=True)
parser.add_argument("--label", required=True)
parser.add_argument("--repeats", type=int, default=5)
parser.add_argument("--threads", type=int, default=2)
args = parser.parse_args()
T = args.threads
os.environ.setdefault("OMP_NUM_THREADS", str(T))  # before any library starts its OpenMP pool

import numpy as np
import pandas as pd

train = pd.read_csv(args.train)
COLS = [c for c in train.columns if c not in (args.time, args.label) and not c.startswith("Unnamed")
        and pd.api.types.is_numeric_dtype(train[c])]


def xy(df):
    return df[COLS].to_numpy(dtype=np.float64), df[args.label].to_numpy()


Xtr, ytr = xy(train)
tests = {os.path.basename(p): xy(pd.read_csv(p)) for p in args.test}


def auc(y, p):
    order = np.argsort(p, kind="mergesort")
    ranks = np.empty(len(p))
    ranks[order] = np.arange(1, len(p) + 1)
    pos = y == 1
    return (ranks[pos].sum() - pos.sum() * (pos.sum() + 1) / 2) / (pos.sum() * (~pos).sum())


def report(name, fit, predict):
    times = []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        model = fit()
        times.append(time.perf_counter() - t0)
    out = {"peer": name, "rows": len(ytr), "threads": T, "fit_seconds": [round(t, 4) for t in times],
           "fit_seconds_median": round(float(np.median(times)), 4)}
    for n, (X, y) in tests.items():
        p = predict(model, X)
        out[n] = {"accuracy": round(float(((p >= 0.5) == y).mean()), 4), "auc": round(float(auc(y, p)), 4)}
    print(json.dumps(out), flush=True)


import xgboost as xgb
report(f"xgboost hist (100 trees, depth 6, {T} threads)",
       lambda: xgb.train({"objective": "binary:logistic", "tree_method": "hist", "max_depth": 6, "eta": 0.3, "nthread": T},
                         xgb.DMatrix(Xtr, label=ytr), num_boost_round=100),
       lambda m, X: m.predict(xgb.DMatrix(X)))

import lightgbm as lgb
report(f"lightgbm (100 trees, 63 leaves, depth 6, {T} threads)",
       lambda: lgb.train({"objective": "binary", "num_leaves": 63, "max_depth": 6, "num_threads": T, "verbose": -1},
                         lgb.Dataset(Xtr, label=ytr), num_boost_round=100),
       lambda m, X: m.predict(X))

from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
report("sklearn HistGradientBoosting (100 iterations, depth 6)",
       lambda: HistGradientBoostingClassifier(max_iter=100, max_depth=6, early_stopping=False).fit(Xtr, ytr),
       lambda m, X: m.predict_proba(X)[:, 1])
report("sklearn LogisticRegression (standardised)",
       lambda: make_pipeline(SimpleImputer(), StandardScaler(), LogisticRegression(max_iter=1000)).fit(Xtr, ytr),
       lambda m, X: m.predict_proba(X)[:, 1])

#!/usr/bin/env python3
"""Times scikit-learn's FactorAnalysis on a 100000 x 50 data set from a known FA model (q = 5), for
comparison with EmDsl.

    /usr/bin/python3 bench/sklearn_fa.py [path]        (apt-get install python3-sklearn)

Without a path it generates the data (seed 1: loadings N(0, 1), noise variances uniform(0.2, 1.5),
mean N(0, 4) i.e. standard deviation 2, factors N(0, I)) and saves it as row-major little-endian
float64 to /tmp/fa_100000x50.f64 with a sidecar /tmp/fa_100000x50.f64.json ({"rows", "columns", ...}).
With a path it reads that file (and its path + ".json" sidecar) instead.

Runs FactorAnalysis(n_components=5) with svd_method 'randomized' (scikit-learn's default) and
'lapack', each with tol = 1e-8 and tol = 1e-2 (scikit-learn's default; tol is on the total
log-likelihood), and prints one JSON line per run. loglik is the total log-likelihood score(X) * N.
BLAS threads default to 2 (OMP_NUM_THREADS / OPENBLAS_NUM_THREADS, unless already set).
"""
import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "2")

import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402
from sklearn.decomposition import FactorAnalysis  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402

ROWS, COLS, Q, SEED = 100000, 50, 5, 1
DEFAULT_PATH = "/tmp/fa_100000x50.f64"
MAX_ITER = 10000


def generate(path):
    rng = np.random.default_rng(SEED)
    loadings = rng.normal(0.0, 1.0, size=(COLS, Q))
    psi = rng.uniform(0.2, 1.5, size=COLS)
    mean = rng.normal(0.0, 2.0, size=COLS)
    z = rng.normal(size=(ROWS, Q))
    X = mean + z @ loadings.T + rng.normal(size=(ROWS, COLS)) * np.sqrt(psi)
    X.astype("<f8").tofile(path)
    with open(path + ".json", "w") as f:
        json.dump({"rows": ROWS, "columns": COLS, "dtype": "float64 little-endian, row-major",
                   "generator": "bench/sklearn_fa.py", "seed": SEED, "q": Q,
                   "loadings": loadings.tolist(), "noise_variances": psi.tolist(), "mean": mean.tolist()}, f)
        f.write("\n")
    return X


def read(path):
    with open(path + ".json") as f:
        meta = json.load(f)
    return np.fromfile(path, dtype="<f8").reshape(meta["rows"], meta["columns"])


def main():
    if len(sys.argv) > 1:
        path = sys.argv[1]
        X = read(path)
    else:
        path = DEFAULT_PATH
        X = generate(path)
    n = X.shape[0]
    for svd_method in ("randomized", "lapack"):
        for tol in (1e-8, 1e-2):
            fa = FactorAnalysis(n_components=Q, tol=tol, max_iter=MAX_ITER, svd_method=svd_method, random_state=0)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", ConvergenceWarning)
                t = time.perf_counter()
                fa.fit(X)
                seconds = time.perf_counter() - t
            converged = fa.n_iter_ < MAX_ITER and not any(issubclass(w.category, ConvergenceWarning) for w in caught)
            per_row = float(fa.score(X))
            print(json.dumps({"system": "sklearn", "svd_method": svd_method, "tol": tol, "seconds": round(seconds, 4),
                              "iterations": int(fa.n_iter_), "loglik": per_row * n, "loglik_per_row": per_row,
                              "converged": bool(converged), "rows": n, "columns": X.shape[1], "data": path,
                              "threads": os.environ["OMP_NUM_THREADS"]}), flush=True)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Times scikit-learn's GaussianMixture on the problem exported by bench/EmDsl.Bench (same data, same
initial point, same number of iterations, reg_covar = 1e-6), for comparison with EmDsl.

    /usr/bin/python3 bench/sklearn_gmm.py /tmp/emdsl-bench        (apt-get install python3-sklearn)
"""
import os
import sys
import time
import warnings

import numpy as np
from sklearn.mixture import GaussianMixture

d = sys.argv[1]
X = np.loadtxt(os.path.join(d, "data.csv"), delimiter=",")
means0 = np.loadtxt(os.path.join(d, "means0.csv"), delimiter=",", ndmin=2)
k, iterations, kind = open(os.path.join(d, "settings.txt")).read().split()
k, iterations = int(k), int(iterations)
dims = X.shape[1]
prec = {"full": np.array([np.eye(dims)] * k), "tied": np.eye(dims), "diag": np.ones((k, dims)), "spherical": np.ones(k)}[kind]

best = float("inf")
for rep in range(3):
    gm = GaussianMixture(n_components=k, covariance_type=kind, tol=0.0, max_iter=iterations, reg_covar=1e-6,
                         weights_init=np.full(k, 1.0 / k), means_init=means0, precisions_init=prec)
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gm.fit(X)
    best = min(best, time.perf_counter() - t)
threads = os.environ.get("OMP_NUM_THREADS", "default")
print(f"scikit-learn {X.shape[0]} x {dims}, K = {k}, {kind}, {gm.n_iter_} iterations (BLAS threads: {threads}): "
      f"{best:.3f} s = {best / (gm.n_iter_ + 1) * 1e3:.2f} ms per iteration; final log-likelihood {gm.score(X) * X.shape[0]:.4f}")

#!/usr/bin/env python3
"""Writes the data sets and starting points of the speed benchmark (issue 8's table) into a directory:
for every case, NAME.f64 (row-major little-endian float64, numpy's X.astype('<f8').tofile) and NAME.json (the
model, the shape and the start: weights plus means and covariances or variances, or probabilities).

    /usr/bin/python3 bench/make_em_bench.py /tmp/embench [case ...]

Then time EmDsl (dotnet run -c Release --project bench/EmDsl.Bench -- em /tmp/embench/NAME 10) and scikit-learn
(/usr/bin/python3 bench/sklearn_em.py /tmp/embench/NAME 10) on exactly the same problem; both print one JSON line.
"""
import json
import os
import sys

import numpy as np

CASES = {
    # name: (rows, dims, K, model)
    "gauss_200k_16_k16_diag": (200_000, 16, 16, "diagonal"),
    "gauss_200k_16_k16_full": (200_000, 16, 16, "full"),
    "gauss_1m_8_k8_full": (1_000_000, 8, 8, "full"),
    "gauss_1m_8_k8_diag": (1_000_000, 8, 8, "diagonal"),
    "bern_200k_64_k10": (200_000, 64, 10, "bernoulli"),
    "gauss_100k_2_k3_full": (100_000, 2, 3, "full"),
}


def gaussian_data(rng, n, d, k):
    centres = rng.normal(0, 3, size=(k, d))
    labels = rng.integers(0, k, size=n)
    x = np.empty((n, d))
    for j in range(k):
        rows = labels == j
        a = rng.normal(0, 1, size=(d, d)) / np.sqrt(d)
        cov = a @ a.T + 0.5 * np.eye(d)
        x[rows] = rng.multivariate_normal(centres[j], cov, size=rows.sum())
    return x


def main():
    out = sys.argv[1]
    names = sys.argv[2:] or list(CASES)
    os.makedirs(out, exist_ok=True)
    for name in names:
        n, d, k, model = CASES[name]
        rng = np.random.default_rng(sum(map(ord, name)))
        start = {"model": model, "rows": n, "columns": d, "k": k, "weights": [1.0 / k] * k}
        if model == "bernoulli":
            p = rng.uniform(0.1, 0.9, size=(k, d))
            z = rng.integers(0, k, size=n)
            x = (rng.random((n, d)) < p[z]).astype(np.float64)
            start["probabilities"] = rng.uniform(0.25, 0.75, size=(k, d)).tolist()
        else:
            x = gaussian_data(rng, n, d, k)
            start["means"] = x[rng.choice(n, size=k, replace=False)].tolist()
            var = x.var(axis=0)
            if model == "full":
                start["covariances"] = [np.diag(var).tolist()] * k
            else:
                start["variances"] = [var.tolist()] * k
        x.astype("<f8").tofile(os.path.join(out, name + ".f64"))
        with open(os.path.join(out, name + ".json"), "w") as f:
            json.dump(start, f)
        print(f"{name}: {n} x {d}, K = {k}, {model}")


if __name__ == "__main__":
    main()

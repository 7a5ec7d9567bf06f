#!/usr/bin/env python3
"""The scikit-learn (Gaussian) or numpy (Bernoulli: scikit-learn has no Bernoulli mixture) side of the speed
benchmark: reads NAME.f64 and NAME.json written by bench/make_em_bench.py, runs exactly N EM iterations from the
start in NAME.json (reg_covar = 1e-6 as EmDsl's CovarianceFloor; probabilities clipped to [1e-10, 1 - 1e-10] as
EmDsl's ProbabilityFloor) and prints one JSON line like `bench/EmDsl.Bench -- em`: system, dataset, seconds per
iteration, final mean log-likelihood (at the parameters after N M-steps), threads, peak memory.

    /usr/bin/python3 bench/sklearn_em.py /tmp/embench/gauss_1m_8_k8_full 10     (apt-get install python3-sklearn)
"""
import json
import os
import resource
import sys
import time
import warnings

import numpy as np
from scipy.special import logsumexp


def bernoulli_em(x, weights, p, iterations):
    """Plain EM for a Bernoulli mixture, vectorised: one product per term, then a shifted log-sum-exp."""
    def loglik(weights, p):
        lp = x @ np.log(p).T + (1.0 - x) @ np.log1p(-p).T + np.log(weights)
        return lp, logsumexp(lp, axis=1)

    for _ in range(iterations):
        lp, lse = loglik(weights, p)
        r = np.exp(lp - lse[:, None])
        nk = r.sum(axis=0)
        weights = nk / x.shape[0]
        p = np.clip((r.T @ x) / nk[:, None], 1e-10, 1 - 1e-10)
    return loglik(weights, p)[1].mean()


def main():
    base, iterations = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 10
    spec = json.load(open(base + ".json"))
    n, d, k, model = spec["rows"], spec["columns"], spec["k"], spec["model"]
    x = np.fromfile(base + ".f64", dtype="<f8").reshape(n, d)
    weights = np.array(spec["weights"])
    t = time.perf_counter()
    if model == "bernoulli":
        mean_ll = bernoulli_em(x, weights, np.array(spec["probabilities"]), iterations)
        system = "numpy"
    else:
        from sklearn.mixture import GaussianMixture
        means = np.array(spec["means"])
        if model == "full":
            precisions = np.array([np.linalg.inv(c) for c in np.array(spec["covariances"])])
            kind = "full"
        else:
            precisions = 1.0 / np.array(spec["variances"])
            kind = "diag" if model == "diagonal" else "spherical"
            if kind == "spherical":
                precisions = precisions[:, 0]
        gm = GaussianMixture(n_components=k, covariance_type=kind, tol=0.0, max_iter=iterations, reg_covar=1e-6,
                             init_params="random_from_data", weights_init=weights, means_init=means, precisions_init=precisions)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            gm.fit(x)
        elapsed_fit = time.perf_counter() - t
        mean_ll = gm.score(x)
        system = "scikit-learn"
        if gm.n_iter_ != iterations:
            print(f"warning: scikit-learn stopped after {gm.n_iter_} iterations", file=sys.stderr)
    elapsed = time.perf_counter() - t if model == "bernoulli" else elapsed_fit
    print(json.dumps({
        "system": system,
        "dataset": os.path.basename(base),
        "rows": n, "columns": d, "k": k, "model": model,
        "iterations": iterations,
        "seconds_per_iteration": elapsed / iterations,
        "final_mean_loglik": float(mean_ll),
        "backend": "numpy/" + np.__version__,
        "threads": os.environ.get("OMP_NUM_THREADS") or os.environ.get("OPENBLAS_NUM_THREADS") or "default",
        "peak_memory_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }))


if __name__ == "__main__":
    main()

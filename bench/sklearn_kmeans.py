"""scikit-learn's KMeans on a venue set written by bench/cluster.bench.ts; prints one JSON object.

    python bench/sklearn_kmeans.py --vectors V.f64 --weights W.f64 --k 20 --seed 1 [--n-init 10] [--repeat 3]

V.f64 holds the 3-D unit vectors (float64, x y z per venue, native byte order), W.f64 the
weights (RSVP counts). The objective is the one ours minimizes: the weighted sum of squared
Euclidean distances to the cluster means (KMeans.inertia_ with sample_weight). Reports:

- n_init=1 (k-means++, Lloyd, scikit-learn's default tol 1e-4): the median wall time of
  --repeat runs with the threads scikit-learn uses by default, and one run on a single thread;
- n_init=10: the best inertia of ten k-means++ starts (and that run's wall time).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np
import sklearn
from sklearn.cluster import KMeans
from threadpoolctl import threadpool_info, threadpool_limits


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--vectors", required=True)
    parser.add_argument("--weights", required=True)
    parser.add_argument("--k", type=int, required=True)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--n-init", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    x = np.fromfile(args.vectors, dtype=np.float64).reshape(-1, 3)
    w = np.fromfile(args.weights, dtype=np.float64)
    assert x.shape[0] == w.shape[0], "one weight per vector"

    def fit(n_init: int) -> tuple[float, KMeans]:
        model = KMeans(n_clusters=args.k, init="k-means++", n_init=n_init, random_state=args.seed)
        started = time.perf_counter()
        model.fit(x, sample_weight=w)
        return time.perf_counter() - started, model

    # Warm-up: the first fit pays for imports, the thread pool and page faults.
    KMeans(n_clusters=args.k, n_init=1, random_state=0).fit(x[: min(len(x), 5000)])

    runs = [fit(1) for _ in range(args.repeat)]  # same random_state: the same result each time
    single = runs[0][1]
    with threadpool_limits(limits=1):
        one_thread_seconds, _ = fit(1)
    best_seconds, best = fit(args.n_init)

    openmp = [p for p in threadpool_info() if p.get("user_api") == "openmp"]
    print(
        json.dumps(
            {
                "sklearn": sklearn.__version__,
                "numpy": np.__version__,
                "threads": openmp[0]["num_threads"] if openmp else None,
                "n": int(x.shape[0]),
                "k": args.k,
                "single": {
                    "seconds": statistics.median(s for s, _ in runs),
                    "runs": [s for s, _ in runs],
                    "inertia": float(single.inertia_),
                    "iterations": int(single.n_iter_),
                    "oneThreadSeconds": one_thread_seconds,
                },
                "best": {
                    "nInit": args.n_init,
                    "seconds": best_seconds,
                    "inertia": float(best.inertia_),
                    "iterations": int(best.n_iter_),
                },
            }
        )
    )


if __name__ == "__main__":
    main()

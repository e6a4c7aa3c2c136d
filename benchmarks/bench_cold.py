"""Cold fits: what a user meets first, tfcluster against the reference, one process each.

Every figure is measured in a fresh Python process that first fits each
library once on other data (another n_features), so only the cost of a new
configuration counts (tracing and compilation included), then does:

(1) choose k on the digits: KMeans k=2..12, then GaussianMixture(diag)
    k=2..8, fresh estimators, against scikit-learn doing the same;
(2) refits of KMeans on the digits with a new n_samples / max_iter / tol / k
    within a bucket (5 refits after one first fit): the median refit against
    one scikit-learn fit (the goal: no compile at all);
(3) the three first SOM fits: 16x16 5,000 steps, 16x16 10,000 steps, 12x12
    5,000 steps (online, the digits), against MiniSom.

Prints a markdown table of medians over --repeats processes and the ratio
tfcluster / reference (below 1 means tfcluster is faster), and the
machine's measured sgemm GFLOP/s (TensorFlow's matmul) for reference.

    python benchmarks/bench_cold.py               # CPU
    python benchmarks/bench_cold.py --device /GPU:0
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import tfcluster  # noqa: F401  before TensorFlow: no C++ start-up lines

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

PARTS = {
    "1": "choose k on the digits: KMeans k=2..12 + GaussianMixture(diag) k=2..8",
    "2": "KMeans refit with a new n_samples / max_iter / tol / k (median of 5)",
    "3": "first SOM fits: 16x16 5k steps, 16x16 10k steps, 12x12 5k steps",
}


def _warm_up(X_other):
    from sklearn.cluster import KMeans as SKKMeans
    from sklearn.mixture import GaussianMixture as SKGaussianMixture

    import tfcluster as tc

    tc.KMeans(3, random_state=0).fit(X_other)
    tc.GaussianMixture(3, covariance_type="diag", random_state=0).fit(X_other)
    SKKMeans(3, n_init=1, random_state=0).fit(X_other)
    SKGaussianMixture(3, covariance_type="diag", random_state=0).fit(X_other)


def _timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _part(name: str, device: str) -> tuple[float, float]:
    """``(tfcluster seconds, reference seconds)`` of part ``name``, in this process."""
    import warnings

    import numpy as np
    import tensorflow as tf
    from sklearn.cluster import KMeans as SKKMeans
    from sklearn.mixture import GaussianMixture as SKGaussianMixture

    import tfcluster as tc
    from tfcluster.datasets import load_digits

    warnings.simplefilter("ignore")  # convergence warnings of short fits, on both sides
    X = load_digits()[0].astype(np.float64)
    other = np.random.default_rng(1).normal(size=(300, 10))
    with tf.device(device):
        _warm_up(other)
        if name == "1":

            def ours():
                for k in range(2, 13):
                    tc.KMeans(k, random_state=0).fit(X)
                for k in range(2, 9):
                    tc.GaussianMixture(k, covariance_type="diag", random_state=0).fit(X)

            def ref():
                for k in range(2, 13):
                    SKKMeans(k, n_init=1, random_state=0).fit(X)
                for k in range(2, 9):
                    SKGaussianMixture(k, covariance_type="diag", random_state=0).fit(X)

            return _timed(ours), _timed(ref)
        if name == "2":
            tc.KMeans(8, random_state=0).fit(X)  # the first fit of this configuration
            settings = [(1500, 300, 1e-4, 8), (1200, 100, 1e-4, 8), (1797, 50, 1e-3, 9),
                        (1000, 300, 1e-5, 6), (1797, 200, 0.0, 12)]  # fmt: skip
            ours = [
                _timed(lambda n=n, m=m, t=t, k=k: tc.KMeans(
                    k, max_iter=m, tol=t, random_state=0).fit(X[:n]))
                for n, m, t, k in settings
            ]  # fmt: skip
            ref = [_timed(lambda: SKKMeans(8, n_init=1, random_state=0).fit(X)) for _ in range(5)]
            return float(np.median(ours)), float(np.median(ref))
        from minisom import MiniSom

        from tfcluster.som import SelfOrganizingMap

        tc_som = SelfOrganizingMap(4, 4, num_iteration=100, random_state=0)
        tc_som.fit(other)
        MiniSom(4, 4, other.shape[1], random_seed=0).train_random(other, 100)
        fits = [(16, 16, 5000), (16, 16, 10000), (12, 12, 5000)]

        def ours():
            for m, n, steps in fits:
                SelfOrganizingMap(m, n, num_iteration=steps, random_state=0).fit(X)

        def ref():
            for m, n, steps in fits:
                som = MiniSom(m, n, X.shape[1], sigma=1.0, learning_rate=0.5, random_seed=0)
                som.random_weights_init(X)
                som.train_random(X, steps)

        return _timed(ours), _timed(ref)


def sgemm_gflops(device: str) -> float:
    """TensorFlow's float32 matmul throughput here (4096^3, median of 5)."""
    import numpy as np
    import tensorflow as tf

    with tf.device(device):
        a = tf.random.normal([4096, 4096])
        tf.matmul(a, a).numpy()
        times = []
        for _ in range(5):
            start = time.perf_counter()
            tf.matmul(a, a).numpy()
            times.append(time.perf_counter() - start)
    return 2 * 4096**3 / float(np.median(times)) / 1e9


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="fresh processes per part")
    parser.add_argument("--device", default="/CPU:0")
    parser.add_argument("--parts", default="123")
    parser.add_argument("--_part", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args._part:
        print(json.dumps(_part(args._part, args.device)))
        return
    import numpy as np

    rows = []
    for part in args.parts:
        runs = []
        for _ in range(args.repeats):
            out = subprocess.run(
                [sys.executable, __file__, "--_part", part, "--device", args.device],
                capture_output=True, text=True, check=True,
            )  # fmt: skip
            runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
            time.sleep(1.0)
        ours, ref = np.median(np.array(runs), axis=0)
        rows.append((PARTS[part], ours, ref))
    gflops = sgemm_gflops(args.device)
    print(f"sgemm (TensorFlow float32 matmul, {args.device}): {gflops:.0f} GFLOP/s")
    print(f"cold fits, medians of {args.repeats} fresh processes ({args.device})\n")
    print("| what a user does | tfcluster | reference | ratio |")
    print("|---|---|---|---|")
    for what, ours, ref in rows:
        print(f"| {what} | {ours:.3f} s | {ref:.3f} s | {ours / ref:.2f}x |")


if __name__ == "__main__":
    main()

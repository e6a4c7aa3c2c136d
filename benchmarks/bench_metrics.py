"""tfcluster metrics against scikit-learn's, side by side in one process.

Silhouette score, Davies-Bouldin and Calinski-Harabasz indices on the same
float32 blobs (default N=20,000, d=32, 10 labels), after one warm-up call of
each (tracing and XLA compilation). The scores are printed too: they agree.

Prints a markdown table of medians over --repeats runs and the ratio
tfcluster / scikit-learn (below 1 means tfcluster is faster).

    python benchmarks/bench_metrics.py               # CPU
    python benchmarks/bench_metrics.py --device /GPU:0
"""

from __future__ import annotations

import argparse
import os

import tfcluster  # noqa: F401  before TensorFlow: no C++ start-up lines

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from _timing import timed  # noqa: E402
from sklearn import metrics as skm  # noqa: E402

from tfcluster import metrics  # noqa: E402
from tfcluster.datasets import make_blobs  # noqa: E402

CASES = [
    ("silhouette_score", metrics.silhouette_score, skm.silhouette_score),
    ("davies_bouldin_score", metrics.davies_bouldin_score, skm.davies_bouldin_score),
    ("calinski_harabasz_score", metrics.calinski_harabasz_score, skm.calinski_harabasz_score),
]


def _median_time(fn, repeats):
    runs = [timed(fn) for _ in range(repeats)]
    return float(np.median([t for t, _ in runs])), runs[-1][1]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="/CPU:0", help="TF device, e.g. /GPU:0")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--n", type=int, default=20_000, help="rows")
    parser.add_argument("--d", type=int, default=32, help="features")
    parser.add_argument("--labels", type=int, default=10, help="distinct labels")
    args = parser.parse_args(argv)

    X, y = make_blobs(args.n, args.d, args.labels, cluster_std=3.0, random_state=0)
    print(f"device {args.device}, {os.cpu_count()} CPU cores, TF {tf.__version__}")
    print(f"N={args.n:,}, d={args.d}, {args.labels} labels, float32; medians of {args.repeats}")
    print()
    print("| metric | tfcluster | scikit-learn | ratio | score (tfcluster / scikit-learn) |")
    print("|---|---|---|---|---|")
    with tf.device(args.device):
        for name, ours, theirs in CASES:
            ours(X, y)  # warm-up: tracing and compilation
            t_ours, v_ours = _median_time(lambda f=ours: f(X, y), args.repeats)
            t_ref, v_ref = _median_time(lambda f=theirs: f(X, y), args.repeats)
            print(
                f"| {name} | {t_ours * 1e3:.1f} ms | {t_ref * 1e3:.1f} ms "
                f"| {t_ours / t_ref:.3f} | {v_ours:.6g} / {v_ref:.6g} |",
                flush=True,
            )


if __name__ == "__main__":
    main()

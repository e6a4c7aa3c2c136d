"""GaussianMixture against scikit-learn: the same data, initialisation and EM iterations.

N=100,000 rows, d=16, k=8 Gaussian blobs; both libraries start from the same
weights, means and precisions (scikit-learn's k-means initialisation) and run
exactly ``--iters`` EM iterations (tol=0) in float64 and float32. One warm-up fit each
(tracing and XLA compilation for tfcluster), then the median of ``--repeats``
timed fits. Prints a markdown table; ratio = tfcluster time / scikit-learn time.

    python benchmarks/bench_mixture.py [--device /GPU:0] [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import warnings

import tfcluster  # noqa: F401  before TensorFlow: no C++ start-up lines

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from _timing import timed  # noqa: E402
from sklearn.mixture import GaussianMixture as SKGaussianMixture  # noqa: E402

from tfcluster.datasets import make_blobs  # noqa: E402
from tfcluster.mixture import GaussianMixture  # noqa: E402


def _median_time(fit, repeats):
    fit()  # warm-up
    return float(np.median([timed(fit)[0] for _ in range(repeats)]))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="/CPU:0", help="TensorFlow device, e.g. /GPU:0")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--d", type=int, default=16)
    parser.add_argument("--k", type=int, default=8)
    parser.add_argument("--iters", type=int, default=30)
    parser.add_argument("--dtypes", default="float64,float32")
    args = parser.parse_args()
    warnings.simplefilter("ignore")  # tol=0 never converges: ConvergenceWarning

    X, _ = make_blobs(args.n, args.d, args.k, cluster_std=2.0, random_state=0, dtype=np.float64)
    rows = []
    for ct in ("full", "diag"):
        init = SKGaussianMixture(args.k, covariance_type=ct, max_iter=0, random_state=0).fit(X)
        kw = dict(
            covariance_type=ct,
            max_iter=args.iters,
            tol=0.0,
            weights_init=init.weights_,
            means_init=init.means_,
            precisions_init=init.precisions_,
        )
        for dtype in args.dtypes.split(","):
            Xd = X.astype(dtype)
            sk = SKGaussianMixture(args.k, **kw)
            gm = GaussianMixture(args.k, dtype=dtype, **kw)
            t_sk = _median_time(lambda sk=sk, Xd=Xd: sk.fit(Xd), args.repeats)
            with tf.device(args.device):
                t_tf = _median_time(lambda gm=gm, Xd=Xd: gm.fit(Xd), args.repeats)
            gap = abs(gm.score(Xd) - sk.score(Xd))
            rows.append((ct, dtype, t_tf, t_sk, gap))

    print(
        f"GaussianMixture, N={args.n}, d={args.d}, k={args.k}, {args.iters} EM iterations, "
        f"device {args.device}, median of {args.repeats}\n"
    )
    print("| covariance | dtype | tfcluster (s) | scikit-learn (s) | ratio | abs. score gap |")
    print("|---|---|---|---|---|---|")
    for ct, dtype, t_tf, t_sk, gap in rows:
        print(f"| {ct} | {dtype} | {t_tf:.3f} | {t_sk:.3f} | {t_tf / t_sk:.2f} | {gap:.1e} |")


if __name__ == "__main__":
    main()

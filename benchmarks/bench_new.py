"""BisectingKMeans and BayesianGaussianMixture against scikit-learn: fit times.

N=100,000 rows, d=16 Gaussian blobs in float32 and float64.

- BisectingKMeans, k=10, "random" init, the default tol: the whole fit, each
  library from its own seeds (the inits cannot be shared), median inertia beside.
- BayesianGaussianMixture, k=8, "full" and "diag": both start from the same
  random responsibilities and run exactly ``--iters`` variational EM
  iterations (tol=0), so the work is the same; the lower bounds are printed
  beside (equal in float64).

One first fit of tfcluster (tracing and XLA compilation; its time is
printed as "first fit"), then the median of ``--repeats`` timed fits of each
library, run alternately; ratio = tfcluster time / scikit-learn time (warm).

    python benchmarks/bench_new.py [--repeats 3] [--device /GPU:0]
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
from sklearn.cluster import BisectingKMeans as SKBisecting  # noqa: E402
from sklearn.mixture import BayesianGaussianMixture as SKBayesian  # noqa: E402

import tfcluster.bayesian_mixture as bm  # noqa: E402
from tfcluster import BisectingKMeans  # noqa: E402
from tfcluster.datasets import make_blobs  # noqa: E402
from tfcluster.ops import mixture as gm_ops  # noqa: E402

_FIRST = {}  # the first (cold) fit's time of each tfcluster case


def _medians(ours, theirs, repeats, name):
    """``(ours' median time, outputs, theirs' median time, outputs)``: one first fit of
    ours (tracing and XLA compilation; scikit-learn has none), then ``repeats``
    timed fits of each, alternately, so a change of the machine's speed during
    the runs (these VMs drift by 1.5x within minutes) weighs on both alike."""
    _FIRST[name] = timed(ours)[0]
    runs = [(timed(ours), timed(theirs)) for _ in range(repeats)]
    (t1, o1), (t2, o2) = (zip(*side, strict=True) for side in zip(*runs, strict=True))
    return float(np.median(t1)), o1, float(np.median(t2)), o2


def _bisecting(X, dtype, repeats, k):
    seeds = iter(range(1000))

    def ours():
        return BisectingKMeans(k, random_state=next(seeds), dtype=dtype).fit(X).inertia_

    def theirs():
        return SKBisecting(k, random_state=next(seeds)).fit(X).inertia_

    t1, i1, t2, i2 = _medians(ours, theirs, repeats, ("bisecting", dtype))
    name = f"BisectingKMeans k={k} (inertia {np.median(i1):.4e} vs {np.median(i2):.4e})"
    return name, t1, t2


def _bayesian(X, dtype, repeats, k, ct, iters):
    resp = np.random.default_rng(0).uniform(size=(len(X), k))
    resp /= resp.sum(1, keepdims=True)

    def statistics(est, data, offset, n_samples, seed):
        origin = tf.zeros([k, data.n_features], data.dtype)
        r = tf.constant(resp, data.dtype) * data.w[:, None]
        return gm_ops.resp_statistics(data.x, data.w, r, origin, ct) + (origin,)

    bm._initial_statistics = statistics

    class FromResp(SKBayesian):
        def _initialize_parameters(self, X, random_state, xp=None):
            self._initialize(X, resp.astype(X.dtype))

    params = {"n_components": k, "covariance_type": ct, "max_iter": iters, "tol": 0.0}
    ours = lambda: bm.BayesianGaussianMixture(dtype=dtype, **params).fit(X)  # noqa: E731
    theirs = lambda: FromResp(**params).fit(X)  # noqa: E731
    t1, lb1, t2, lb2 = _medians(ours, theirs, repeats, (ct, dtype))
    gap = abs(lb1[0].lower_bound_ - float(np.squeeze(lb2[0].lower_bound_)))
    name = f"BayesianGaussianMixture {ct}, k={k}, {iters} iterations (lower bound gap {gap:.1e})"
    return name, t1, t2


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="/CPU:0", help="TensorFlow device, e.g. /GPU:0")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--d", type=int, default=16)
    parser.add_argument("--iters", type=int, default=30)
    parser.add_argument("--dtypes", default="float32,float64")
    parser.add_argument("--cases", default="bisecting,full,diag", help="of bisecting,full,diag")
    args = parser.parse_args()
    warnings.simplefilter("ignore")  # tol=0 never converges: ConvergenceWarning
    X64, _ = make_blobs(args.n, args.d, 8, cluster_std=2.0, random_state=0, dtype=np.float64)
    print("| case | dtype | tfcluster first fit (s) | tfcluster (s) | scikit-learn (s) | ratio |")
    print("|---|---|---|---|---|---|", flush=True)
    with tf.device(args.device):
        for dtype in args.dtypes.split(","):
            X = X64.astype(dtype)
            for case in args.cases.split(","):
                if case == "bisecting":
                    name, t1, t2 = _bisecting(X, dtype, args.repeats, 10)
                else:
                    name, t1, t2 = _bayesian(X, dtype, args.repeats, 8, case, args.iters)
                first = _FIRST[(case, dtype)]
                row = f"| {name} | {dtype} | {first:.3f} | {t1:.3f} | {t2:.3f} | {t1 / t2:.2f} |"
                print(row, flush=True)


if __name__ == "__main__":
    main()

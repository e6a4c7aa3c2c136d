"""tfcluster KMeans against scikit-learn KMeans, side by side in one process.

(a) Lloyd iterations: N=1,000,000, d=32, k=64 uniform float32 data, the same
    initial centers, 10 iterations with tol=0, after one warm-up fit: time per
    iteration, with numpy input (what users pass: the fit converts it) and,
    on a second line, with the data already a tensor on the device.
(b) Whole fit: N=100,000, d=64, k=100 blobs, k-means++ init, n_init=1: total
    time and inertia.
(c) MiniBatchKMeans: N=200,000, d=32, k=50 blobs, batch_size=1024, the default
    stopping rules on both sides: total fit time (with the final labels) and
    inertia.

Prints the machine's measured sgemm GFLOP/s (TensorFlow's float32 matmul),
then a markdown table of medians over --repeats runs ((a): two blocks of
--repeats runs per library) and the ratio
tfcluster / scikit-learn (below 1 means tfcluster is faster). If FAISS is
installed (``pip install faiss-cpu``, or a GPU build with ``--device /GPU:0``),
(a) also times ``faiss.Kmeans`` on the
same data and initial centers (10 iterations, then the labels, as the others
deliver), for reference.

    python benchmarks/bench_kmeans.py               # CPU
    python benchmarks/bench_kmeans.py --device /GPU:0
"""

from __future__ import annotations

import argparse
import os
import time

import tfcluster  # noqa: F401  before TensorFlow: no C++ start-up lines

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from _timing import timed  # noqa: E402
from sklearn.cluster import KMeans as SKKMeans  # noqa: E402
from sklearn.cluster import MiniBatchKMeans as SKMiniBatchKMeans  # noqa: E402

from tfcluster import KMeans, MiniBatchKMeans  # noqa: E402
from tfcluster.datasets import make_blobs  # noqa: E402


def bench_lloyd(n, d, k, iters, repeats, device):
    X = np.random.default_rng(0).random((n, d), dtype=np.float32)
    init = X[:k].copy()
    ours_t, tensor_t, ref_t = [], [], []
    with tf.device(device):
        x = tf.constant(X)  # the data already on the device, as in a GPU job
        ref = SKKMeans(k, init=init, n_init=1, max_iter=iters, tol=0, algorithm="lloyd")
        ref.fit(X)  # warm-up
        ours = KMeans(k, init=init, max_iter=iters, tol=0)
        ours.fit(x)  # warm-up: tracing and XLA compilation
        # Each library's runs in a block (warm, as in steady use), with a pause
        # between blocks: back to back, the OpenMP/BLAS threads scikit-learn
        # leaves spinning slow the next TensorFlow fit (up to 2x). The blocks run
        # twice, ABAB, so a slow phase of this shared VM (a few seconds) does
        # not decide one library's whole median.
        for _ in range(2):
            for _ in range(repeats):
                t, m = timed(lambda: ours.fit(X))
                ours_t.append(t / m.n_iter_)
            for _ in range(repeats):
                t, m = timed(lambda: ours.fit(x))
                tensor_t.append(t / m.n_iter_)
            time.sleep(1.0)
            for _ in range(repeats):
                t, m = timed(lambda: ref.fit(X))
                ref_t.append(t / m.n_iter_)
            time.sleep(1.0)
    return (
        np.median(ours_t),
        np.median(tensor_t),
        np.median(ref_t),
        ours.n_iter_,
        ref.n_iter_,
    )


def sgemm_gflops(device):
    """TensorFlow's float32 matmul throughput on ``device`` (4096^3, median of 5)."""
    with tf.device(device):
        a = tf.random.normal([4096, 4096])
        tf.matmul(a, a).numpy()
        times = [timed(lambda: tf.matmul(a, a).numpy())[0] for _ in range(5)]
    return 2 * 4096**3 / np.median(times) / 1e9


def bench_faiss_lloyd(n, d, k, iters, repeats, device):
    """``(time per iteration of faiss.Kmeans, "CPU"/"GPU")`` (all rows), or None."""
    try:
        import faiss
    except ImportError:
        return None
    X = np.random.default_rng(0).random((n, d), dtype=np.float32)
    init = X[:k].copy()
    gpu = "GPU" in device.upper() and getattr(faiss, "get_num_gpus", lambda: 0)() > 0

    def fit():
        km = faiss.Kmeans(d, k, niter=iters, max_points_per_centroid=n, seed=0, gpu=gpu)
        km.train(X, init_centroids=init)
        km.index.search(X, 1)  # the labels, which the other two deliver too

    fit()
    return np.median([timed(fit)[0] / iters for _ in range(repeats)]), "GPU" if gpu else "CPU"


def bench_fit(make_ours, make_ref, X, repeats, device):
    """Median fit time and inertia over seeds ``0..repeats-1``, each library in a block."""
    ours_t, ref_t, ours_i, ref_i = [], [], [], []
    with tf.device(device):
        x = tf.constant(X)
        make_ref(0).fit(X)  # warm-up
        make_ours(0).fit(x)
        for seed in range(repeats):
            t, m = timed(lambda s=seed: make_ours(s).fit(x))
            ours_t.append(t)
            ours_i.append(m.inertia_)
        time.sleep(1.0)
        for seed in range(repeats):
            t, m = timed(lambda s=seed: make_ref(s).fit(X))
            ref_t.append(t)
            ref_i.append(m.inertia_)
    return np.median(ours_t), np.median(ref_t), np.median(ours_i), np.median(ref_i)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="/CPU:0", help="TF device, e.g. /GPU:0")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--n", type=int, default=1_000_000, help="rows for (a)")
    args = parser.parse_args(argv)

    print(f"device {args.device}, {os.cpu_count()} CPU cores, TF {tf.__version__}")
    print(f"sgemm (TensorFlow float32 matmul): {sgemm_gflops(args.device):.0f} GFLOP/s")
    print(f"medians of {args.repeats} runs ((a): of 2 blocks of {args.repeats} per library)\n")
    print("| case | tfcluster | scikit-learn | ratio |")
    print("|---|---|---|---|")
    ours, tensor, ref, it_o, it_r = bench_lloyd(args.n, 32, 64, 10, args.repeats, args.device)
    print(
        f"| (a) Lloyd, N={args.n:,}, d=32, k=64, per iteration ({it_o}/{it_r} iters), "
        f"numpy input | {ours * 1e3:.1f} ms | {ref * 1e3:.1f} ms | {ours / ref:.2f} |"
    )
    print(
        f"| (a) the same, data already a tf.Tensor on the device | {tensor * 1e3:.1f} ms "
        f"| {ref * 1e3:.1f} ms | {tensor / ref:.2f} |"
    )
    lloyd_ours = ours
    X, _ = make_blobs(100_000, 64, 100, cluster_std=2.0, random_state=0)
    ours, ref, in_o, in_r = bench_fit(
        lambda s: KMeans(100, random_state=s),
        lambda s: SKKMeans(100, n_init=1, random_state=s),
        X,
        args.repeats,
        args.device,
    )
    print(
        f"| (b) fit with k-means++, N=100,000, d=64, k=100 | {ours:.2f} s | {ref:.2f} s "
        f"| {ours / ref:.2f} |"
    )
    print(f"| (b) inertia (median) | {in_o:.4g} | {in_r:.4g} | {in_o / in_r:.4f} |")
    X, _ = make_blobs(200_000, 32, 50, cluster_std=2.0, random_state=0)
    ours, ref, in_o, in_r = bench_fit(
        lambda s: MiniBatchKMeans(50, batch_size=1024, random_state=s),
        lambda s: SKMiniBatchKMeans(50, batch_size=1024, n_init=1, random_state=s),
        X.astype(np.float32),
        args.repeats,
        args.device,
    )
    print(
        f"| (c) MiniBatchKMeans, N=200,000, d=32, k=50, batch 1024 | {ours:.2f} s "
        f"| {ref:.2f} s | {ours / ref:.2f} |"
    )
    print(
        f"| (c) inertia (median) | {in_o:.4g} | {in_r:.4g} | {in_o / in_r:.4f} |",
        flush=True,
    )
    faiss_run = bench_faiss_lloyd(args.n, 32, 64, 10, args.repeats, args.device)
    if faiss_run is not None:
        faiss_t, where = faiss_run
        print(
            f"\nFAISS (a) on the {where}, same data and init: {faiss_t * 1e3:.1f} ms per "
            f"iteration; tfcluster / FAISS = {lloyd_ours / faiss_t:.2f}"
        )


if __name__ == "__main__":
    main()

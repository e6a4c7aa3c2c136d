"""tfcluster SelfOrganizingMap against MiniSom, side by side in one process.

(a) Online training: 16x16 map, the digits (1,797 x 64), sigma=1.0,
    learning_rate=0.5, 10,000 steps in random order, random-sample init,
    after one warm-up fit (tracing and XLA compilation): whole fit time and
    the quantization error reached (median over the runs, one seed each).
(b) Batch training: 32x32 map, 100,000 x 32 uniform data, 2 epochs, against
    MiniSom's batch map (train_batch_offline) for the same 200,000 sample
    visits, from the same initial codebook: whole fit time and quantization
    error.

(c) Cold: the three first fits of a session on the digits (16x16 5,000
    steps, 16x16 10,000 steps, 12x12 5,000 steps; fresh estimators, after one
    first fit on other data so that only the per-configuration cost counts),
    tracing and compilation included, against MiniSom doing the same fits.
    Run first, in a fresh process (``--cold-only`` runs just this block).

Prints a markdown table of medians over --repeats runs and the ratio
tfcluster / MiniSom (below 1 means tfcluster is faster).

    python benchmarks/bench_som.py               # CPU
    python benchmarks/bench_som.py --device /GPU:0
"""

from __future__ import annotations

import argparse
import os

import tfcluster  # noqa: F401  before TensorFlow: no C++ start-up lines

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from _timing import timed  # noqa: E402
from minisom import MiniSom  # noqa: E402

from tfcluster.datasets import load_digits  # noqa: E402
from tfcluster.som import SelfOrganizingMap  # noqa: E402


def bench_online(steps, repeats, device):
    X, _ = load_digits()
    ours_t, ref_t, ours_q, ref_q = [], [], [], []
    kw = dict(sigma=1.0, learning_rate=0.5, num_iteration=steps)
    # Each library's runs in a block: interleaved, the OpenBLAS threads that
    # MiniSom's numpy leaves spinning after a fit slowed the next TensorFlow
    # fit (on 2 cores, to about twice its time).
    with tf.device(device):
        SelfOrganizingMap(16, 16, random_state=0, **kw).fit(X)  # warm-up
        for seed in range(repeats):
            t, som = timed(lambda s=seed: SelfOrganizingMap(16, 16, random_state=s, **kw).fit(X))
            ours_t.append(t)
            ours_q.append(som.quantization_error(X))

    def minisom(s):
        ref = MiniSom(16, 16, X.shape[1], random_seed=s, sigma=1.0, learning_rate=0.5)
        ref.random_weights_init(X)
        ref.train(X, steps, random_order=True)
        return ref

    for seed in range(repeats):
        t, ref = timed(lambda s=seed: minisom(s))
        ref_t.append(t)
        ref_q.append(ref.quantization_error(X))
    return [np.median(v) for v in (ours_t, ref_t, ours_q, ref_q)]


COLD_FITS = ((16, 16, 5_000), (16, 16, 10_000), (12, 12, 5_000))


def bench_cold(device):
    """Seconds for the ``COLD_FITS`` in a fresh process: ``(tfcluster, MiniSom)``."""
    X, _ = load_digits()
    other = np.random.default_rng(0).normal(size=(200, 5)).astype(np.float32)
    kw = dict(sigma=1.0, learning_rate=0.5)
    with tf.device(device):
        SelfOrganizingMap(4, 4, num_iteration=300, random_state=0, **kw).fit(other)  # other data
        ours, _ = timed(
            lambda: [
                SelfOrganizingMap(m, n, num_iteration=t, random_state=0, **kw).fit(X)
                for m, n, t in COLD_FITS
            ]
        )

    def minisom(m, n, t):
        ref = MiniSom(m, n, X.shape[1], random_seed=0, **kw)
        ref.random_weights_init(X)
        ref.train(X, t, random_order=True)
        return ref

    ref, _ = timed(lambda: [minisom(*fit) for fit in COLD_FITS])
    return ours, ref


def bench_batch(n, d, side, epochs, repeats, ref_repeats, device):
    X = np.random.default_rng(0).random((n, d), dtype=np.float32)
    init = X[np.random.default_rng(1).integers(0, n, side * side)].reshape(side, side, d)
    ours_t, ref_t = [], []
    with tf.device(device):
        som = SelfOrganizingMap(side, side, init=init, mode="batch", epochs=epochs)
        som.fit(X)  # warm-up
        for _ in range(repeats):
            t, _ = timed(lambda: som.fit(X))
            ours_t.append(t)
        ours_q = som.quantization_error(X)
    for _ in range(ref_repeats):
        ref = MiniSom(side, side, d, sigma=1.0, learning_rate=0.5)
        ref._weights = init.astype(np.float64)  # the same initial codebook
        t, _ = timed(lambda r=ref: r.train_batch_offline(X, epochs))
        ref_t.append(t)
    ref_q = ref.quantization_error(X)
    return np.median(ours_t), np.median(ref_t), ours_q, ref_q


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="/CPU:0", help="TF device, e.g. /GPU:0")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--ref-repeats", type=int, default=3, help="MiniSom runs for (b) (about 30 s each)"
    )
    parser.add_argument("--n", type=int, default=100_000, help="rows for (b)")
    parser.add_argument("--cold-only", action="store_true", help="run only (c)")
    args = parser.parse_args(argv)
    cold, cold_ref = bench_cold(args.device)  # first: the process must be fresh

    print(f"device {args.device}, {os.cpu_count()} CPU cores, TF {tf.__version__}")
    print(f"medians of {args.repeats} runs ({args.ref_repeats} for MiniSom in (b))\n")
    print("| case | tfcluster | MiniSom | ratio |")
    print("|---|---|---|---|")
    print(
        f"| (c) cold: first fits 16x16 5k, 16x16 10k, 12x12 5k steps | {cold:.3f} s "
        f"| {cold_ref:.3f} s | {cold / cold_ref:.3f} |",
        flush=True,
    )
    if args.cold_only:
        return
    ours, ref, q_o, q_r = bench_online(10_000, args.repeats, args.device)
    print(
        f"| (a) online, 16x16, digits, 10,000 steps | {ours:.3f} s | {ref:.3f} s "
        f"| {ours / ref:.3f} |"
    )
    print(f"| (a) quantization error (median) | {q_o:.3f} | {q_r:.3f} | {q_o / q_r:.3f} |")
    ours, ref, q_o, q_r = bench_batch(
        args.n, 32, 32, 2, args.repeats, args.ref_repeats, args.device
    )
    print(
        f"| (b) batch, 32x32, {args.n:,} x 32 uniform, 2 epochs | {ours:.3f} s | {ref:.2f} s "
        f"| {ours / ref:.4f} |"
    )
    print(
        f"| (b) quantization error | {q_o:.4f} | {q_r:.4f} | {q_o / q_r:.4f} |",
        flush=True,
    )


if __name__ == "__main__":
    main()

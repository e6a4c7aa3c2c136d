"""Scale: streamed KMeans fits from a generator, and fits over several replicas.

(1) Rows: a tf.data pipeline generates N rows of d=32 batch by batch (the data
    set never exists in memory); KMeans(k=16, init="k-means||", at most 10
    Lloyd iterations, tol=0) streams it. Every time includes the one-off
    tracing and compilation of the fit (a few seconds). Each N runs in a fresh process so that the
    peak resident memory (ru_maxrss) is that fit's own. Time should grow
    linearly with N and peak memory stay flat.
(2) Replicas: the same fit on 1M in-memory rows under a MirroredStrategy over
    1, 2 and 4 logical devices (on a CPU they share the cores: this checks the
    overhead of the distributed path; on GPUs, pass --device-kind GPU).

    python benchmarks/bench_scale.py
    python benchmarks/bench_scale.py --device-kind GPU --replicas 1 2 4 8
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

import tfcluster  # noqa: F401  before TensorFlow: no C++ start-up lines

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

D, K, BATCH, ITERS = 32, 16, 8192, 10


def _generated(n_rows):
    import tensorflow as tf

    n_batches = -(-n_rows // BATCH)

    def batch(i):  # uniform rows: Lloyd does not settle early, every size runs 10 iterations
        rows = tf.cast(tf.minimum(tf.constant(BATCH, tf.int64), n_rows - i * BATCH), tf.int32)
        return tf.random.stateless_uniform([rows, D], [tf.cast(i, tf.int32), 1])

    return tf.data.Dataset.range(n_batches).map(batch).prefetch(2)


def _worker_rows(n_rows):
    from tfcluster import KMeans

    start = time.perf_counter()
    km = KMeans(K, init="k-means||", max_iter=ITERS, tol=0, random_state=0)
    km.fit(_generated(n_rows))
    seconds = time.perf_counter() - start
    rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"seconds": seconds, "rss_mib": rss_mib, "iters": km.n_iter_}


def _worker_replicas(n_replicas, kind):
    import numpy as np
    import tensorflow as tf

    if kind == "CPU":
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * n_replicas
        )
    devices = [d.name for d in tf.config.list_logical_devices(kind)][:n_replicas]
    strategy = tf.distribute.MirroredStrategy(devices)
    from tfcluster import KMeans

    X = np.random.default_rng(0).random((1_000_000, D), dtype=np.float32)
    init = X[:K].copy()
    times = []
    with strategy.scope():
        for _ in range(3):
            start = time.perf_counter()
            KMeans(K, init=init, max_iter=ITERS, tol=0).fit(X)
            times.append(time.perf_counter() - start)
    return {"seconds": float(np.median(times[1:])), "replicas": strategy.num_replicas_in_sync}


def _spawn(*args):
    out = subprocess.run(
        [sys.executable, __file__, "--worker", *map(str, args)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rows", type=int, nargs="+", default=[500_000, 1_000_000, 2_000_000, 4_000_000]
    )
    parser.add_argument("--replicas", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--device-kind", default="CPU", choices=["CPU", "GPU"])
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        kind, *rest = args.worker
        if kind == "rows":
            result = _worker_rows(int(rest[0]))
        else:
            result = _worker_replicas(int(rest[0]), rest[1])
        print(json.dumps(result))
        return

    print(
        f"{os.cpu_count()} CPU cores; streamed KMeans k={K}, d={D}, batch {BATCH}, "
        f"k-means|| + {ITERS} Lloyd iterations\n"
    )
    print("| rows | Lloyd iterations | time | time / 1M rows | peak RSS |")
    print("|---|---|---|---|---|")
    for n in args.rows:
        r = _spawn("rows", n)
        print(
            f"| {n:,} | {r['iters']} | {r['seconds']:.1f} s | {r['seconds'] / n * 1e6:.2f} s "
            f"| {r['rss_mib']:.0f} MiB |",
            flush=True,
        )
    print(
        f"\nMirroredStrategy over logical {args.device_kind} devices, "
        "1,000,000 rows in memory, median of 2 fits\n"
    )
    print("| replicas | time |")
    print("|---|---|")
    for n in args.replicas:
        r = _spawn("replicas", n, args.device_kind)
        print(f"| {r['replicas']} | {r['seconds']:.2f} s |", flush=True)


if __name__ == "__main__":
    main()

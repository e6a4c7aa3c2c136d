"""KMeans over several devices or machines with tf.distribute.

One machine, all its GPUs (or N logical CPU devices to try it on a laptop):

    python examples/distributed_kmeans.py                 # MirroredStrategy
    python examples/distributed_kmeans.py --cpus 3        # 3 logical CPU devices

Several machines: start this on every worker with TF_CONFIG describing the
cluster, e.g. on worker 0 of two:

    TF_CONFIG='{"cluster": {"worker": ["host1:12345", "host2:12345"]},
                "task": {"type": "worker", "index": 0}}' \\
    python examples/distributed_kmeans.py --multi-worker

Each replica computes the k-means statistics of its share of every batch; the
strategy sums them across replicas, so every worker ends with the centers of a
single-device fit.
"""

import argparse  # noqa: I001 (tfcluster before TensorFlow, see below)

import numpy as np

import tfcluster  # noqa: F401 first: the import of TensorFlow below prints no start-up lines
import tensorflow as tf


def make_strategy(args):
    if args.multi_worker:
        return tf.distribute.MultiWorkerMirroredStrategy()
    if args.cpus:
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * args.cpus
        )
        return tf.distribute.MirroredStrategy([f"/cpu:{i}" for i in range(args.cpus)])
    return tf.distribute.MirroredStrategy()


def generated(n_rows, n_features=32, k=16, batch=8192):
    """A tf.data pipeline that makes blobs batch by batch: the data set never exists whole."""

    def make(i):
        i = tf.cast(i, tf.int32)
        centers = tf.random.stateless_uniform([k, n_features], [1, 1], -5.0, 5.0)
        pick = tf.random.stateless_uniform([batch], [i, 2], 0, k, dtype=tf.int32)
        return tf.gather(centers, pick) + tf.random.stateless_normal([batch, n_features], [i, 3])

    return tf.data.Dataset.range(n_rows // batch).map(make).prefetch(2)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--multi-worker", action="store_true")
    parser.add_argument("--cpus", type=int, default=0, help="logical CPU devices to use")
    parser.add_argument("--rows", type=int, default=200_000)
    args = parser.parse_args()

    strategy = make_strategy(args)  # before tfcluster touches any device
    from tfcluster import KMeans

    print(f"{strategy.num_replicas_in_sync} replicas")
    with strategy.scope():
        km = KMeans(16, init="k-means||", random_state=0).fit(generated(args.rows))
    print(f"{km.n_iter_} iterations, inertia per row {km.inertia_ / args.rows:.3f}")
    print("first center:", np.round(km.cluster_centers_[0, :4], 3))


if __name__ == "__main__":
    main()

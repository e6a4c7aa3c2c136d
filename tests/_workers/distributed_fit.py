"""Fit estimators under a tf.distribute strategy and save the results (run as a subprocess).

Usage: python distributed_fit.py mirrored OUT.npz
       python distributed_fit.py multiworker OUT.npz   (TF_CONFIG set by the caller)
"""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

GMM_PARAMS = {"n_components": 3, "covariance_type": "diag", "dtype": "float64", "max_iter": 20}
GMM_PARAMS["random_state"] = 0
SOM_PARAMS = {"m": 4, "n": 5, "learning_rate": 1.0, "random_state": 0, "dtype": "float64"}


def sharded_folds(X):
    """Fits whose initialisation folds batches (k-means||, random rows, the farthest
    points of empty-cluster relocation, row gathers, random responsibilities) on the
    digits tiled to 21,564 rows, through the XLA kernels, with several chunks per
    replica: k=200 cuts k-means' passes into chunks of 4,096 rows, the mixture's
    into chunks of 1,024."""
    from tfcluster import GaussianMixture, KMeans, SelfOrganizingMap

    big = np.tile(X, (12, 1)) + np.random.default_rng(0).normal(scale=0.01, size=(21564, 64))
    common = {"dtype": "float64", "max_iter": 2, "random_state": 0}
    duplicated = big[[0] * 100 + list(range(1, 101))]  # 99 empty clusters to relocate
    gm = {"n_components": 3, "covariance_type": "diag", "dtype": "float64", "max_iter": 5}
    return {
        "kpar": KMeans(200, init="k-means||", **common).fit(big).cluster_centers_,
        "random": KMeans(200, init="random", **common).fit(big).cluster_centers_,
        "relocated": KMeans(200, init=duplicated, dtype="float64", max_iter=1)
        .fit(big)
        .cluster_centers_,
        "gmm_random": GaussianMixture(**gm, init_params="random", random_state=0).fit(big).means_,
        "gmm_rows": GaussianMixture(**gm, init_params="random_from_data", random_state=0)
        .fit(X)
        .means_,
        "som_init": SelfOrganizingMap(**SOM_PARAMS).fit(big, epochs=1, mode="batch").weights_,
    }


def main(kind, out):
    if kind == "mirrored":
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * 3
        )
        strategy = tf.distribute.MirroredStrategy([f"/cpu:{i}" for i in range(3)])
    else:
        strategy = tf.distribute.MultiWorkerMirroredStrategy()

    from tfcluster import GaussianMixture, KMeans, MiniBatchKMeans, SelfOrganizingMap
    from tfcluster.datasets import load_digits

    X, _ = load_digits()
    init = X[:10]
    results = {"replicas": np.array(strategy.num_replicas_in_sync)}
    with strategy.scope():
        km = KMeans(10, init=init, dtype="float64").fit(X)
        results["kmeans_centers"] = km.cluster_centers_
        results["kmeans_n_iter"] = np.array(km.n_iter_)
        ds = tf.data.Dataset.from_tensor_slices(X).batch(64)
        results["stream_centers"] = KMeans(10, init=init, dtype="float64").fit(ds).cluster_centers_
        gm = GaussianMixture(**GMM_PARAMS, means_init=X[:3])
        results["gmm_means"] = gm.fit(X).means_
        mbk = MiniBatchKMeans(10, batch_size=256, random_state=0, dtype="float64").fit(X)
        results["minibatch_centers"] = mbk.cluster_centers_
        som = SelfOrganizingMap(**SOM_PARAMS).fit(X, epochs=3, mode="batch")
        results["som_weights"] = som.weights_
        if kind == "mirrored":
            results.update({f"fold_{k}": v for k, v in sharded_folds(X).items()})
    np.savez(out, **results)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])

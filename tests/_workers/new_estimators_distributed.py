"""Fit SphericalKMeans, BisectingKMeans and BayesianGaussianMixture under a
MirroredStrategy over 3 logical CPUs and save the results (run as a subprocess).

Usage: python new_estimators_distributed.py OUT.npz
"""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

PARAMS = {
    "spherical": {"n_clusters": 10, "dtype": "float64", "random_state": 0},
    "bisecting": {"n_clusters": 6, "dtype": "float64", "random_state": 0},
    "bayesian": {
        "n_components": 4,
        "covariance_type": "diag",
        "init_params": "random_from_data",
        "max_iter": 20,
        "dtype": "float64",
        "random_state": 0,
    },
}


def fit_all(X):
    """The three fits on ``X`` (the same in the strategy's scope and outside)."""
    import warnings

    from tfcluster import (
        BayesianGaussianMixture,
        BisectingKMeans,
        ConvergenceWarning,
        SphericalKMeans,
    )

    with warnings.catch_warnings():  # 20 iterations: whether EM converged is not the point
        warnings.simplefilter("ignore", ConvergenceWarning)
        bgm = BayesianGaussianMixture(**PARAMS["bayesian"]).fit(X)
    return {
        "spherical_centers": SphericalKMeans(**PARAMS["spherical"], init=X[:10])
        .fit(X)
        .cluster_centers_,
        "bisecting_centers": BisectingKMeans(**PARAMS["bisecting"]).fit(X).cluster_centers_,
        "bayesian_means": bgm.means_,
        "bayesian_lower_bound": np.array(bgm.lower_bound_),
    }


def main(out):
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 3)
    strategy = tf.distribute.MirroredStrategy([f"/cpu:{i}" for i in range(3)])
    from tfcluster.datasets import load_digits

    X, _ = load_digits()
    with strategy.scope():
        results = fit_all(X)
    results["replicas"] = np.array(strategy.num_replicas_in_sync)
    np.savez(out, **results)


if __name__ == "__main__":
    main(sys.argv[1])

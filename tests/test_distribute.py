"""Fits under tf.distribute equal single-device fits.

The strategies run in subprocesses: logical devices and TF_CONFIG must be set
before TensorFlow starts, and multi-worker training needs separate processes.
"""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

WORKER = Path(__file__).parent / "_workers" / "distributed_fit.py"
GMM_PARAMS = {"n_components": 3, "covariance_type": "diag", "dtype": "float64", "max_iter": 20}
GMM_PARAMS["random_state"] = 0
SOM_PARAMS = {"m": 4, "n": 5, "learning_rate": 1.0, "random_state": 0, "dtype": "float64"}


def _run(args, env=None, timeout=300):
    return subprocess.run(
        [sys.executable, str(WORKER), *args],
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _single_device(digits):
    from tfcluster import KMeans

    X, _ = digits
    return KMeans(10, init=X[:10], dtype="float64").fit(X)


# 20 EM iterations compare the two fits; whether EM converged by then is not the point.
@pytest.mark.slow  # 90 s (a subprocess over 3 logical devices): the default run keeps to 15 min
@pytest.mark.filterwarnings("ignore::tfcluster.kmeans.ConvergenceWarning")
def test_mirrored_strategy_over_three_devices_equals_one_device(digits, tmp_path):
    out = tmp_path / "mirrored.npz"
    proc = _run(["mirrored", str(out)])
    assert proc.returncode == 0, proc.stderr[-3000:]
    res = np.load(out)
    assert int(res["replicas"]) == 3
    ref = _single_device(digits)
    np.testing.assert_allclose(res["kmeans_centers"], ref.cluster_centers_, atol=1e-9)
    assert int(res["kmeans_n_iter"]) == ref.n_iter_
    np.testing.assert_allclose(res["stream_centers"], ref.cluster_centers_, atol=1e-9)
    from tfcluster import GaussianMixture

    X, _ = digits
    gm = GaussianMixture(**GMM_PARAMS, means_init=X[:3]).fit(X)
    np.testing.assert_allclose(res["gmm_means"], gm.means_, atol=1e-7)
    from tfcluster import MiniBatchKMeans, SelfOrganizingMap

    mbk = MiniBatchKMeans(10, batch_size=256, random_state=0, dtype="float64").fit(X)
    np.testing.assert_allclose(res["minibatch_centers"], mbk.cluster_centers_, atol=1e-9)

    som = SelfOrganizingMap(**SOM_PARAMS).fit(X, epochs=3, mode="batch")
    np.testing.assert_allclose(res["som_weights"], som.weights_, atol=1e-9)

    # folds that are not sums (k-means||, random rows, relocation, row gathers) run
    # on every replica's own chunks and merge to the single-device result
    sys.path.insert(0, str(WORKER.parent))
    from distributed_fit import sharded_folds

    for name, value in sharded_folds(X).items():
        np.testing.assert_allclose(res[f"fold_{name}"], value, atol=1e-7, err_msg=name)


def _free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


@pytest.mark.slow  # 30 s: two worker processes; the mirrored test covers the same paths
def test_multi_worker_mirrored_strategy_two_processes(digits, tmp_path):
    ports = _free_ports(2)
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    procs = []
    for index in range(2):
        tf_config = json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})
        procs.append(
            subprocess.Popen(
                [sys.executable, str(WORKER), "multiworker", str(tmp_path / f"w{index}.npz")],
                env={**os.environ, "TF_CONFIG": tf_config},
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    try:
        for p in procs:
            _, err = p.communicate(timeout=300)
            assert p.returncode == 0, err[-3000:]
    finally:
        for p in procs:
            p.kill()
    ref = _single_device(digits)
    for index in range(2):
        res = np.load(tmp_path / f"w{index}.npz")
        assert int(res["replicas"]) == 2
        np.testing.assert_allclose(res["kmeans_centers"], ref.cluster_centers_, atol=1e-9)

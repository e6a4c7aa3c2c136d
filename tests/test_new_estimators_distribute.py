"""SphericalKMeans, BisectingKMeans and BayesianGaussianMixture under a
MirroredStrategy over 3 logical CPUs equal their single-device fits (subprocess:
logical devices must be set before TensorFlow starts)."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

WORKER = Path(__file__).parent / "_workers" / "new_estimators_distributed.py"


@pytest.mark.slow
def test_mirrored_strategy_equals_one_device(digits, tmp_path):
    sys.path.insert(0, str(WORKER.parent))
    from new_estimators_distributed import fit_all

    out = tmp_path / "mirrored.npz"
    proc = subprocess.run(
        [sys.executable, str(WORKER), str(out)],
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    res = np.load(out)
    assert int(res["replicas"]) == 3
    ref = fit_all(digits[0])
    for name, value in ref.items():
        np.testing.assert_allclose(res[name], value, rtol=1e-7, atol=1e-9, err_msg=name)

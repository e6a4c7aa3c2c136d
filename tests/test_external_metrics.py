"""ARI and NMI against scikit-learn, and their invariants."""

import numpy as np
import pytest
from sklearn import metrics

from tfcluster._external_metrics import adjusted_rand_score, normalized_mutual_info_score


@pytest.mark.parametrize("seed", range(5))
def test_equal_to_sklearn_on_random_labels(seed):
    rng = np.random.default_rng(seed)
    t, p = rng.integers(0, 5, 200), rng.integers(0, 7, 200)
    assert adjusted_rand_score(t, p) == pytest.approx(metrics.adjusted_rand_score(t, p))
    nmi = metrics.normalized_mutual_info_score(t, p)
    assert normalized_mutual_info_score(t, p) == pytest.approx(nmi)


def test_renaming_labels_changes_nothing(digits):
    _, y = digits
    renamed = (y * 7 + 3) % 10
    assert adjusted_rand_score(y, renamed) == 1.0
    assert normalized_mutual_info_score(y, renamed) == pytest.approx(1.0)


def test_length_mismatch():
    with pytest.raises(ValueError, match="same length"):
        adjusted_rand_score([0, 1], [0, 1, 1])

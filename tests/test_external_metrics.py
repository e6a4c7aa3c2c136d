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


AVERAGES = ["min", "geometric", "arithmetic", "max"]


@pytest.mark.parametrize("average_method", AVERAGES)
@pytest.mark.parametrize("seed", range(3))
def test_nmi_average_method_equal_to_sklearn(average_method, seed):
    rng = np.random.default_rng(seed)
    t, p = rng.integers(0, 4, 150), rng.integers(0, 6, 150)
    expected = metrics.normalized_mutual_info_score(t, p, average_method=average_method)
    got = normalized_mutual_info_score(t, p, average_method=average_method)
    assert got == pytest.approx(expected)


@pytest.mark.parametrize("average_method", AVERAGES)
@pytest.mark.parametrize(
    "t, p",
    [
        ([0, 0, 0, 0], [0, 1, 2, 3]),  # one class: entropy 0, mutual information 0
        ([0, 0, 1, 1], [0, 1, 0, 1]),  # independent
        ([3, 3, 3], [7, 7, 7]),  # both single labels
        ([], []),
        (["a", "a", "b", "b"], ["x", "x", "y", "z"]),
    ],
)
def test_nmi_edge_cases_equal_to_sklearn(average_method, t, p):
    expected = metrics.normalized_mutual_info_score(t, p, average_method=average_method)
    got = normalized_mutual_info_score(t, p, average_method=average_method)
    assert got == pytest.approx(expected)


def test_nmi_means_ordered():
    # min <= geometric <= arithmetic <= max of the entropies, so the scores go the other way.
    t, p = [0, 0, 1, 1, 2, 2], [0, 0, 0, 1, 1, 2]
    scores = [normalized_mutual_info_score(t, p, average_method=m) for m in AVERAGES]
    assert scores == sorted(scores, reverse=True)
    assert scores[0] > scores[-1]


def test_nmi_unknown_average_method():
    with pytest.raises(ValueError, match="average_method.*'min', 'geometric'"):
        normalized_mutual_info_score([0, 1], [0, 1], average_method="harmonic")


SCORES = [adjusted_rand_score, normalized_mutual_info_score]


@pytest.mark.parametrize("score", SCORES)
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_labels_refused_like_sklearn(score, bad):
    t, p = [0, bad, bad], [0, 1, 1]
    with pytest.raises(ValueError, match="Input contains"):
        metrics.adjusted_rand_score(t, p)
    with pytest.raises(ValueError, match="labels_true contains NaN or infinity"):
        score(t, p)
    with pytest.raises(ValueError, match="labels_pred contains NaN or infinity"):
        score(p, t)


@pytest.mark.parametrize("score", SCORES)
def test_nan_in_object_labels_refused(score):
    t = np.array(["a", np.nan, "b"], dtype=object)
    with pytest.raises(ValueError, match="labels_true contains NaN"):
        score(t, [0, 1, 1])


@pytest.mark.parametrize("score", SCORES)
@pytest.mark.parametrize(
    "t, p, match",
    [
        ([[0, 1], [1, 0]], [0, 1, 1, 0], "labels_true must be 1-D"),
        ([0, 1, 1, 0], [[0, 1], [1, 0]], "labels_pred must be 1-D"),
        (3, 3, "labels_true must be 1-D"),
        ([[0], [1, 2]], [0, 1], "labels_true must be 1-D; got a ragged"),
        ([0, 1], [0, 1, 1], "same length; got 2 and 3"),
    ],
)
def test_bad_shapes_refused(score, t, p, match):
    with pytest.raises(ValueError, match=match):
        score(t, p)


@pytest.mark.parametrize("score", SCORES)
def test_unorderable_labels_refused(score):
    with pytest.raises(TypeError, match="labels_pred must hold labels of one comparable kind"):
        score([0, 1, 2], [0, None, 1])


@pytest.mark.parametrize("score", SCORES)
def test_string_labels_equal_to_sklearn(score):
    t, p = ["cat", "dog", "dog", "cat", "bird"], ["x", "y", "y", "y", "x"]
    assert score(t, p) == pytest.approx(getattr(metrics, score.__name__)(t, p))

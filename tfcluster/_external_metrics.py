"""Agreement of a clustering with known classes: ARI and NMI (numpy, host side).

These compare two label vectors through their contingency table, a
``[n_classes, n_clusters]`` count matrix, so they need no TensorFlow.
"""

from __future__ import annotations

import numpy as np

from tfcluster._base import check_option

__all__ = ["adjusted_rand_score", "normalized_mutual_info_score", "contingency_matrix"]


def _as_labels(labels, name: str) -> np.ndarray:
    """``labels`` as a 1-D array of any comparable kind (ints, strings...), checked."""
    try:
        arr = np.asarray(labels)
    except ValueError:  # ragged nested lists (numpy >= 1.24)
        raise ValueError(f"{name} must be 1-D; got a ragged sequence.") from None
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D [n_samples]; got shape {arr.shape}.")
    if arr.dtype.kind not in "biufUSO":
        raise TypeError(f"{name} must hold integers or strings; got dtype {arr.dtype}.")
    if arr.dtype.kind == "f":
        bad = not np.all(np.isfinite(arr))
    else:
        bad = arr.dtype == object and bool(np.any(arr != arr))  # NaN is the only x != x
    if bad:
        raise ValueError(f"{name} contains NaN or infinity; labels must be finite.")
    return arr


def _codes(arr: np.ndarray, name: str) -> np.ndarray:
    """The index of each label among the sorted distinct labels ``[n_samples]``."""
    try:
        return np.unique(arr, return_inverse=True)[1].ravel()
    except TypeError:  # objects that cannot be ordered, e.g. None mixed with ints
        raise TypeError(
            f"{name} must hold labels of one comparable kind (ints or strings); "
            f"got {sorted({type(v).__name__ for v in arr})}."
        ) from None


def contingency_matrix(labels_true, labels_pred) -> np.ndarray:
    """Counts ``[n_classes, n_clusters]`` of rows in each (class, cluster) pair.

    Raises:
        ValueError: labels not 1-D, of different lengths, or NaN/infinite.
        TypeError: labels that cannot be ordered (e.g. None mixed with ints).
    """
    labels_true = _as_labels(labels_true, "labels_true")
    labels_pred = _as_labels(labels_pred, "labels_pred")
    if labels_true.shape != labels_pred.shape:
        raise ValueError(
            "labels_true and labels_pred must have the same length; got "
            f"{labels_true.shape[0]} and {labels_pred.shape[0]}."
        )
    t, p = _codes(labels_true, "labels_true"), _codes(labels_pred, "labels_pred")
    table = np.zeros((t.max(initial=-1) + 1, p.max(initial=-1) + 1), dtype=np.int64)
    np.add.at(table, (t, p), 1)
    return table


def _pairs(counts) -> float:
    counts = np.asarray(counts, dtype=np.float64)
    return float(np.sum(counts * (counts - 1) / 2))


def adjusted_rand_score(labels_true, labels_pred) -> float:
    """Adjusted Rand index: 1 for identical partitions, about 0 for random ones.

    Examples:
        >>> adjusted_rand_score([0, 0, 1, 1], [1, 1, 0, 0])
        1.0
    """
    table = contingency_matrix(labels_true, labels_pred)
    n = table.sum()
    sum_comb = _pairs(table)
    sum_a, sum_b = _pairs(table.sum(1)), _pairs(table.sum(0))
    total = n * (n - 1) / 2
    if total == 0:
        return 1.0
    expected = sum_a * sum_b / total
    maximum = (sum_a + sum_b) / 2
    if maximum == expected:  # both partitions trivial (one cluster, or all singletons)
        return 1.0
    return float((sum_comb - expected) / (maximum - expected))


def _entropy(counts) -> float:
    p = counts[counts > 0] / counts.sum()
    return float(-np.sum(p * np.log(p)))


_AVERAGES = {
    "min": min,
    "geometric": lambda u, v: np.sqrt(u * v),
    "arithmetic": lambda u, v: (u + v) / 2,
    "max": max,
}


def normalized_mutual_info_score(
    labels_true, labels_pred, *, average_method: str = "arithmetic"
) -> float:
    """Mutual information normalised by a mean of the two entropies, in [0, 1].

    As ``sklearn.metrics.normalized_mutual_info_score``:
    ``mi / mean(h_true, h_pred)``, 1 when both labellings have a single
    label, 0 when the mutual information is 0.

    Args:
        labels_true: ``[n_samples]`` the known classes (ints or strings).
        labels_pred: ``[n_samples]`` the clusters.
        average_method: the mean of the entropies: ``"min"``,
            ``"geometric"`` (``sqrt(h_true * h_pred)``), ``"arithmetic"``
            (the default, as scikit-learn's) or ``"max"``.

    Returns:
        The score, a float.

    Raises:
        ValueError: an unknown ``average_method``; labels not 1-D, of
            different lengths, or NaN/infinite.

    Examples:
        >>> normalized_mutual_info_score([0, 0, 1, 1], [1, 1, 0, 0])
        1.0
        >>> nmi = normalized_mutual_info_score([0, 0, 1, 1], [0, 0, 1, 2], average_method="max")
        >>> round(nmi, 4)
        0.6667
    """
    average = check_option("average_method", average_method, _AVERAGES)
    table = contingency_matrix(labels_true, labels_pred).astype(np.float64)
    n = table.sum()
    h_true, h_pred = _entropy(table.sum(1)), _entropy(table.sum(0))
    if h_true == 0 and h_pred == 0:
        return 1.0
    nz = table > 0
    outer = np.outer(table.sum(1), table.sum(0))
    mi = float(np.sum(table[nz] / n * np.log(table[nz] * n / outer[nz])))
    if mi <= 0:  # independent labellings (one may be a single label): 0 whatever the mean
        return 0.0
    return float(mi / average(h_true, h_pred))

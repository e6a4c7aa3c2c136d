"""Agreement of a clustering with known classes: ARI and NMI (numpy, host side).

These compare two label vectors through their contingency table, a
``[n_classes, n_clusters]`` count matrix, so they need no TensorFlow.
"""

from __future__ import annotations

import numpy as np

__all__ = ["adjusted_rand_score", "normalized_mutual_info_score", "contingency_matrix"]


def contingency_matrix(labels_true, labels_pred) -> np.ndarray:
    """Counts ``[n_classes, n_clusters]`` of rows in each (class, cluster) pair."""
    labels_true = np.asarray(labels_true)
    labels_pred = np.asarray(labels_pred)
    if labels_true.ndim != 1 or labels_true.shape != labels_pred.shape:
        raise ValueError(
            "labels_true and labels_pred must be 1-D of the same length; got shapes "
            f"{labels_true.shape} and {labels_pred.shape}."
        )
    _, t = np.unique(labels_true, return_inverse=True)
    _, p = np.unique(labels_pred, return_inverse=True)
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


def normalized_mutual_info_score(labels_true, labels_pred) -> float:
    """Mutual information normalised by the arithmetic mean of the entropies.

    Examples:
        >>> normalized_mutual_info_score([0, 0, 1, 1], [1, 1, 0, 0])
        1.0
    """
    table = contingency_matrix(labels_true, labels_pred).astype(np.float64)
    n = table.sum()
    h_true, h_pred = _entropy(table.sum(1)), _entropy(table.sum(0))
    if h_true == 0 and h_pred == 0:
        return 1.0
    nz = table > 0
    outer = np.outer(table.sum(1), table.sum(0))
    mi = float(np.sum(table[nz] / n * np.log(table[nz] * n / outer[nz])))
    return float(max(mi, 0.0) / ((h_true + h_pred) / 2))

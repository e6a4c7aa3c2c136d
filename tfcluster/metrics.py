"""Clustering quality scores: silhouette, Davies-Bouldin, Calinski-Harabasz.

Also the agreement with known classes, ``adjusted_rand_score`` and
``normalized_mutual_info_score`` (as scikit-learn's, from the contingency
table).

Drop-in equivalents of ``sklearn.metrics.silhouette_samples``,
``silhouette_score``, ``davies_bouldin_score`` and
``calinski_harabasz_score`` for the Euclidean metric, computed by compiled
TensorFlow ops in blocks of rows: the silhouette holds one block of distance
rows ``[block, n_samples]`` at a time, never ``[n_samples, n_samples]``.

Examples:
    >>> import numpy as np
    >>> from tfcluster.metrics import silhouette_score, calinski_harabasz_score
    >>> X = np.array([[0.0, 0.0], [0.0, 1.0], [10.0, 0.0], [10.0, 1.0]])
    >>> round(silhouette_score(X, [0, 0, 1, 1]), 4)
    0.9002
    >>> round(calinski_harabasz_score(X, [0, 0, 1, 1]), 1)
    200.0
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from tfcluster._base import check_dtype, check_option, check_positive_int, make_seed
from tfcluster._engine import Program, bucket
from tfcluster._engine.driver import as_data, chunk_rows
from tfcluster._external_metrics import adjusted_rand_score, normalized_mutual_info_score
from tfcluster._validation import check_labels
from tfcluster.ops import metrics as ops

__all__ = [
    "adjusted_rand_score",
    "normalized_mutual_info_score",
    "silhouette_samples",
    "silhouette_score",
    "davies_bouldin_score",
    "calinski_harabasz_score",
]

_METRICS = ("euclidean",)
_BLOCK_ELEMENTS = 2**23  # elements of one [block, n_samples] distance block (32 MiB float32)


def _block_rows(n_samples: int) -> int:
    """Rows per silhouette block so that ``[block, n_samples]`` stays about 32 MiB."""
    return int(np.clip(_BLOCK_ELEMENTS // max(n_samples, 1), 16, 4096))


def _compute_units(X, dtype) -> tf.Tensor:
    """``X`` checked, shifted and scaled in its own precision, then cast to
    ``dtype`` (``_driver.as_data``): the metrics here are ratios of distances,
    unchanged by a translation or a scaling, and so exact far from the origin."""
    return as_data(X, dtype=check_dtype(dtype)).x


def _check_inputs(X, labels, dtype, metric="euclidean"):
    """Validate ``X`` and encode ``labels`` as ``0 .. n_labels - 1``.

    Returns:
        ``(x [n, d] tf.Tensor, codes [n] tf.int32, n_labels)``.
    """
    check_option("metric", metric, _METRICS)
    x = _compute_units(X, dtype)
    n = int(x.shape[0])
    if isinstance(labels, (tf.Tensor, tf.Variable)):
        labels = labels.numpy()
    labels = check_labels(labels, n)
    if labels.dtype.kind == "f" and not np.all(np.isfinite(labels)):
        raise ValueError("labels contain NaN or infinity; labels must be finite.")
    if labels.dtype.kind not in "biufUSO":
        raise TypeError(f"labels must be integers or strings; got dtype {labels.dtype}.")
    try:
        uniques, codes = np.unique(labels, return_inverse=True)
    except TypeError as exc:  # mixed types in an object array
        raise TypeError(f"labels must be of one comparable type ({exc}).") from None
    n_labels = len(uniques)
    if not 1 < n_labels < n:
        raise ValueError(
            f"Number of labels is {n_labels}. Valid values are 2 to n_samples - 1 "
            f"(inclusive); n_samples is {n}."
        )
    return x, tf.constant(codes.reshape(-1).astype(np.int32)), n_labels


# Label counts go in padded to a bucket of slots: a sweep over k reuses the programs.
_silhouette = Program(
    lambda x, codes, block, *, slots: ops.silhouette_samples(x, codes, slots, block),
    "metrics.silhouette",
    rows=(0, 1),
    free_shapes=True,
    autograph=False,
)


def _label_score(op, name: str) -> Program:
    """The program of ``op(source, n_labels, chunk_size)``, a score over ``(x, codes)``."""

    def score(source, chunk, *, slots):
        return op(source, slots, chunk)

    return Program(score, name, rows=(0,), free_shapes=True, autograph=False)


_davies_bouldin = _label_score(ops.davies_bouldin, "metrics.davies_bouldin")
_calinski_harabasz = _label_score(ops.calinski_harabasz, "metrics.calinski_harabasz")


def _label_source(x, codes):
    """Centered ``(x, codes)`` chunks source and the chunk size, as tensors."""
    x = x - tf.reduce_mean(x, axis=0)
    return (x, codes), tf.constant(chunk_rows(x.shape[1]))


def silhouette_samples(X, labels, *, metric="euclidean", dtype="float32") -> np.ndarray:
    """Silhouette coefficient of every sample.

    For sample ``i`` with mean distance ``a`` to the other members of its
    label and smallest mean distance ``b`` to the members of another label,
    ``s = (b - a) / max(a, b)``; a sample alone in its label scores 0.

    Args:
        X: samples ``[n_samples, n_features]``.
        labels: ``[n_samples]`` label of each sample (any integers or strings).
        metric: only ``"euclidean"``.
        dtype: ``"float32"`` (default) or ``"float64"``, the precision of the
            computation. Distances come from ``||x||**2 - 2 x.y + ||y||**2`` on
            centered data; in float32 they stay within 1e-4 of scikit-learn's
            until clusters are about 1e4 times farther apart than their spread,
            where "float64" keeps full precision.

    Returns:
        numpy ``[n_samples]`` in ``[-1, 1]``.

    Raises:
        ValueError: fewer than 2 labels or as many labels as samples, labels of
            the wrong length or with NaN, X with NaN/infinity or not 2-D, an
            unknown metric.
        TypeError: X or labels of a non-numeric kind.
    """
    x, codes, n_labels = _check_inputs(X, labels, dtype, metric)
    n = int(x.shape[0])
    out = _silhouette(x, codes, tf.constant(_block_rows(n)), slots=bucket(n_labels))
    return out.numpy()


def silhouette_score(
    X,
    labels,
    *,
    metric="euclidean",
    sample_size=None,
    random_state=None,
    dtype="float32",
) -> float:
    """Mean silhouette coefficient over all samples, or over a random subset.

    Args:
        X: samples ``[n_samples, n_features]``.
        labels: ``[n_samples]`` label of each sample.
        metric: only ``"euclidean"``.
        sample_size: if given, the score is computed on this many samples drawn
            without replacement (all of them if it exceeds ``n_samples``), as
            scikit-learn does; the subset comes from ``random_state``.
        random_state: int or None, seeds the subset.
        dtype: ``"float32"`` (default) or ``"float64"``.

    Returns:
        float in ``[-1, 1]`` (higher is better).

    Raises:
        ValueError, TypeError: as ``silhouette_samples``; ``sample_size`` not a
            positive integer.
    """
    if sample_size is not None:
        sample_size = check_positive_int("sample_size", sample_size)
        x = _compute_units(X, dtype)
        n = int(x.shape[0])
        if isinstance(labels, (tf.Tensor, tf.Variable)):
            labels = labels.numpy()
        labels = check_labels(labels, n)
        keys = tf.random.stateless_uniform([n], make_seed(random_state))
        index = tf.argsort(keys)[:sample_size].numpy()
        X, labels = tf.gather(x, index), labels[index]
    return float(np.mean(silhouette_samples(X, labels, metric=metric, dtype=dtype)))


def davies_bouldin_score(X, labels, *, dtype="float32") -> float:
    """Davies-Bouldin index (lower is better, 0 is the minimum).

    The mean over labels ``i`` of ``max over j != i of (s_i + s_j) / ||c_i - c_j||``,
    with ``c_i`` the centroid of label ``i`` and ``s_i`` the mean distance of its
    samples to ``c_i``.

    Args:
        X: samples ``[n_samples, n_features]``.
        labels: ``[n_samples]`` label of each sample.
        dtype: ``"float32"`` (default) or ``"float64"``.

    Returns:
        float >= 0.

    Raises:
        ValueError, TypeError: as ``silhouette_samples``.
    """
    x, codes, n_labels = _check_inputs(X, labels, dtype)
    source, chunk = _label_source(x, codes)
    return float(_davies_bouldin(source, chunk, slots=bucket(n_labels)))


def calinski_harabasz_score(X, labels, *, dtype="float32") -> float:
    """Calinski-Harabasz index, the variance ratio criterion (higher is better).

    ``(B / (k - 1)) / (W / (n - k))`` for ``k`` labels and ``n`` samples, with
    ``B`` the between-label and ``W`` the within-label sum of squares.

    Args:
        X: samples ``[n_samples, n_features]``.
        labels: ``[n_samples]`` label of each sample.
        dtype: ``"float32"`` (default) or ``"float64"``.

    Returns:
        float > 0 (1.0 when every sample sits on its label's centroid).

    Raises:
        ValueError, TypeError: as ``silhouette_samples``.
    """
    x, codes, n_labels = _check_inputs(X, labels, dtype)
    source, chunk = _label_source(x, codes)
    return float(_calinski_harabasz(source, chunk, slots=bucket(n_labels)))

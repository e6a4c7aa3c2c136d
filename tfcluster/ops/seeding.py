"""K-means seeding: k-means++, k-means||, weighted and uniform row draws (pure
TensorFlow, stateless seeds). Shapes and sources as in ``tfcluster.ops.kmeans``,
which exports every public name of this module too.
"""

from __future__ import annotations

import math

import tensorflow as tf

from tfcluster.ops.batching import fold_batches
from tfcluster.ops.distances import squared_distances, squared_norms

__all__ = [
    "pad_centers",
    "kmeans_plusplus",
    "sample_by_weight",
    "sample_rows",
]


def pad_centers(centers, size: int):
    """``centers [k, d]`` (``k`` possibly dynamic) padded with zero rows to ``[size, d]``."""
    centers = tf.pad(centers, [[0, size - tf.shape(centers)[0]], [0, 0]])
    return tf.ensure_shape(centers, [size, centers.shape[1]])


def _merge_top(a, b):
    """The top ``len(a[0])`` entries of two ``(keys [m], payload [m, ...], ...)`` by key.

    Ties go to ``a`` first, then to the lower index: the running top-k of a
    fold, and the merge of two folds of consecutive batches (equal results).
    """
    keys = tf.concat([a[0], b[0]], 0)
    best = tf.math.top_k(keys, tf.shape(a[0])[0], sorted=True).indices
    return tuple(tf.gather(tf.concat([pa, pb], 0), best) for pa, pb in zip(a, b, strict=True))


def sample_by_weight(p, n, seed):
    """Draw ``n`` indices with probability proportional to ``p [m]`` (stateless)."""
    return _sample_from_cdf(tf.cumsum(p), n, seed)


def _sample_from_cdf(cdf, n, seed):
    """Draw ``n`` indices from the cumulative weights ``cdf [m]`` (stateless)."""
    u = tf.random.stateless_uniform([n], seed, dtype=cdf.dtype) * cdf[-1]
    idx = tf.searchsorted(cdf, u, side="right", out_type=tf.int32)
    return tf.minimum(idx, tf.shape(cdf)[0] - 1)


def _gumbel_top_rows(acc, x, w, n_rows, seed):
    """Running top ``n_rows`` of Gumbel keys ``log(w) + G``: weighted sampling."""
    keys, rows, batch = acc
    g = -tf.math.log(
        -tf.math.log(
            tf.random.stateless_uniform(
                tf.shape(w),
                tf.random.experimental.stateless_fold_in(seed, batch),
                minval=1e-20,
                maxval=1.0,
                dtype=w.dtype,
            )
        )
    )
    batch_keys = tf.where(w > 0, tf.math.log(tf.where(w > 0, w, 1.0)) + g, -float("inf"))
    return (*_merge_top((keys, rows), (batch_keys, x)), batch + 1)


def _gumbel_fold(n_rows, n_features, dtype):
    """``(init, merge)`` of a Gumbel top-rows fold: the batch counter starts at the
    fold's first batch (the keys of a batch depend on its number), so replicas that
    fold their own batches draw the single-device sample."""

    def init(first):
        return (
            tf.fill([n_rows], tf.constant(-float("inf"), dtype)),
            tf.zeros([n_rows, n_features], dtype),
            tf.cast(first, tf.int64),
        )

    def merge(a, b):
        return (*_merge_top(a[:2], b[:2]), b[2])

    return init, merge


def sample_rows(
    source, n_rows: int, n_features: int, seed, chunk_size: int, dtype, padded: bool = False
):
    """Draw ``n_rows`` distinct rows with probability proportional to their weight.

    One pass (Gumbel top-k), so it works on a stream as on memory. The rows
    come in decreasing key order: the first ``m`` of a draw of ``n_rows`` are
    the draw of ``m`` (a bucket of rows serves every smaller count).

    Returns:
        ``[n_rows, n_features]`` rows.
    """
    init, merge = _gumbel_fold(n_rows, n_features, dtype)
    _, rows, _ = fold_batches(
        lambda acc, x, w: _gumbel_top_rows(acc, x, w, n_rows, seed),
        init,
        source,
        chunk_size,
        relax_shapes=not (isinstance(n_rows, int) and isinstance(n_features, int)),
        padded=padded,
        merge=merge,
    )
    return rows


def kmeans_plusplus(x, w, n_clusters: int, seed, n_local_trials: int | None = None):
    """Greedy k-means++ (Arthur and Vassilvitskii), as scikit-learn runs it.

    The first center is drawn with probability ``w``; each next one is the
    best of ``2 + log(k)`` candidates drawn with probability ``w * D(x)^2``,
    the one that lowers the potential most.

    Args:
        x: ``[n, d]`` samples (in memory).
        w: ``[n]`` non-negative weights.
        n_clusters: ``k``, a Python int or an int32 scalar tensor (one trace
            serves every ``k``).
        seed: stateless seed ``[2]``.
        n_local_trials: candidates per step (default ``2 + int(log(k))``; give
            it, a Python int or a scalar tensor, when ``n_clusters`` is a tensor).

    Returns:
        ``(centers [k, d], indices [k] int32)``.
    """
    if n_local_trials is None:
        n_local_trials = 2 + int(math.log(n_clusters))

    def seeds(c):
        return tf.random.experimental.stateless_fold_in(seed, c)

    x_sq = squared_norms(x)  # [n]
    first = sample_by_weight(w, 1, seeds(0))  # [1]
    closest = squared_distances(tf.gather(x, first), x, tf.gather(x_sq, first), x_sq)[0]  # [n]
    indices = tf.TensorArray(tf.int32, size=n_clusters).write(0, first[0])

    def body(c, closest, indices):
        cand = sample_by_weight(w * closest, n_local_trials, seeds(c))  # [t]
        d_cand = squared_distances(tf.gather(x, cand), x, tf.gather(x_sq, cand), x_sq)  # [t, n]
        d_cand = tf.minimum(closest[None, :], d_cand)
        pots = tf.linalg.matvec(d_cand, w)  # [t]
        best = tf.argmin(pots, output_type=tf.int32)
        return c + 1, d_cand[best], indices.write(c, cand[best])

    _, _, indices = tf.while_loop(
        lambda c, *_: c < n_clusters, body, (tf.constant(1), closest, indices)
    )
    indices = indices.stack()
    return tf.gather(x, indices), indices

"""Squared Euclidean distances as matmuls, and the nearest center of each row.

Pure TensorFlow, safe inside ``tf.function`` and XLA. Distances use
``||x||^2 - 2 x.c + ||c||^2``: one matmul per chunk, so the cost is that of a
GEMM and memory is ``[chunk, n_clusters]``. Callers that care about float32
cancellation center the data first (``tfcluster`` estimators do).
"""

from __future__ import annotations

import tensorflow as tf

from tfcluster.ops.batching import map_chunks

__all__ = [
    "squared_norms",
    "squared_distances",
    "first_argmin",
    "nearest",
    "nearest_chunked",
]


def squared_norms(x):
    """Row-wise squared Euclidean norms: ``x [n, d]`` -> ``[n]``."""
    return tf.reduce_sum(tf.square(x), axis=-1)


def squared_distances(x, y, x_sq=None, y_sq=None):
    """All squared Euclidean distances: ``x [n, d]``, ``y [m, d]`` -> ``[n, m]``.

    Clipped at zero (rounding can make ``||x||^2 - 2 x.y + ||y||^2`` slightly
    negative). ``x_sq``/``y_sq`` may pass precomputed squared norms.
    """
    x_sq = squared_norms(x) if x_sq is None else x_sq
    y_sq = squared_norms(y) if y_sq is None else y_sq
    d = x_sq[:, None] - 2.0 * tf.matmul(x, y, transpose_b=True) + y_sq[None, :]  # [n, m]
    return tf.maximum(d, 0.0)


@tf.function(jit_compile=True, reduce_retracing=True)
def first_argmin(d):
    """Index and value of the row minimum of ``d [n, m]``, first index on ties.

    Written as min, compare and min-of-index rather than ``tf.argmin``: XLA
    fuses it into one pass, several times faster than ``ArgMin`` on CPU.

    NaN (float32 overflow on huge finite input) counts as +inf, so the index
    is always a valid column.

    Returns:
        ``(index [n] int32, minimum [n])``.
    """
    m = tf.shape(d)[1]
    d = tf.where(tf.math.is_nan(d), tf.constant(float("inf"), d.dtype), d)  # an index in range
    d_min = tf.reduce_min(d, axis=1)  # [n]
    cols = tf.range(m)[None, :]  # [1, m]
    index = tf.reduce_min(tf.where(d <= d_min[:, None], cols, m), axis=1)  # [n]
    return index, d_min


def nearest(x, centers, centers_sq=None):
    """Nearest center of each row: ``x [n, d]``, ``centers [k, d]``.

    Returns:
        ``(labels [n] int32, squared distance to that center [n])``.
    """
    centers_sq = squared_norms(centers) if centers_sq is None else centers_sq
    partial = centers_sq[None, :] - 2.0 * tf.matmul(x, centers, transpose_b=True)  # [n, k]
    labels, d_min = first_argmin(partial)
    return labels, tf.maximum(d_min + squared_norms(x), 0.0)


def nearest_chunked(x, centers, chunk_size: int):
    """``nearest`` over ``x`` in chunks of rows, memory ``[chunk_size, k]``."""
    centers_sq = squared_norms(centers)
    spec = (
        tf.TensorSpec([None], tf.int32),
        tf.TensorSpec([None], x.dtype),
    )
    return map_chunks(lambda xb: nearest(xb, centers, centers_sq), x, chunk_size, spec)

"""Squared Euclidean distances as matmuls, and the nearest center of each row.

Pure TensorFlow, safe inside ``tf.function`` and XLA. Distances use
``||x||^2 - 2 x.c + ||c||^2``: one matmul per chunk, so the cost is that of a
GEMM and memory is ``[chunk, n_clusters]``. Callers that care about float32
cancellation center the data first (``tfcluster`` estimators do).
"""

from __future__ import annotations

import tensorflow as tf

from tfcluster._engine.compile import kernel, xla_active
from tfcluster.ops.batching import map_chunks

__all__ = [
    "squared_norms",
    "squared_distances",
    "exact_squared_distances",
    "first_argmin",
    "nearest",
    "nearest_sums",
    "nearest_sums_onehot",
    "cluster_sums",
    "nearest_chunked",
    "masked_norms",
]


def cluster_sums(x, labels, k, w=None, *, segments: bool = False, scale_rows: bool = True):
    """Per-cluster sums of rows: ``sums [k, d]`` and ``weights [k]`` (or counts).

    ``sums[j] = sum(w[i] * x[i] for i with labels[i] == j)``, ``weights[j] =
    sum(w[i] ...)``; ``w=None`` counts rows (every weight one).
    ``scale_rows=False`` promises the rows of weight zero are zero rows and the
    others weigh one: ``x`` is summed as it is. The one primitive for every
    per-cluster sum of tfcluster.

    Two ways, each the faster one where it is used (measured once on the CPU,
    2 shared cores, float32 ``x [65536, 32]``, median of 7 calls):

        k=64: unsorted_segment_sum 52 ms, under XLA 1.6 ms;
              one-hot GEMM         29 ms, under XLA 21 ms
        k=8:  unsorted_segment_sum 56 ms, under XLA 4.8 ms;
              one-hot GEMM         10 ms, under XLA 8.1 ms

    so ``segments=True`` (segment sums) inside XLA kernels, where the labels
    never leave the fusion, and for many clusters (a one-hot GEMM costs
    ``n * k * d``: as much as the distances; the batch SOM's 1,024 nodes of a
    32x32 map took 1.29 s per fit through it against 0.64 s), and the
    default one-hot GEMM for plain TensorFlow with few clusters.
    """
    if segments:
        rows = x if w is None or not scale_rows else x * w[:, None]
        sums = tf.math.unsorted_segment_sum(rows, labels, k)
        weights = tf.math.unsorted_segment_sum(
            tf.ones_like(labels, x.dtype) if w is None else w, labels, k
        )
        return sums, weights  # [k, d], [k]
    onehot = tf.one_hot(labels, k, dtype=x.dtype)  # [n, k]
    rows = x if w is None or not scale_rows else x * w[:, None]
    sums = tf.matmul(onehot, rows, transpose_a=True)  # [k, d]
    weights = tf.reduce_sum(onehot, 0) if w is None else tf.linalg.matvec(onehot, w, True)
    return sums, weights  # [k]


def squared_norms(x):
    """Row-wise squared Euclidean norms: ``x [n, d]`` -> ``[n]``."""
    return tf.reduce_sum(tf.square(x), axis=-1)


def masked_norms(centers, k):
    """Squared norms of ``centers [K, d]`` with ``+inf`` beyond the first ``k``.

    Rows padded to a bucket of ``K`` centers are then never the nearest.
    """
    valid = tf.range(tf.shape(centers)[0]) < k  # [K]
    return tf.where(valid, squared_norms(centers), tf.constant(float("inf"), centers.dtype))


def squared_distances(x, y, x_sq=None, y_sq=None):
    """All squared Euclidean distances: ``x [n, d]``, ``y [m, d]`` -> ``[n, m]``.

    Clipped at zero (rounding can make ``||x||^2 - 2 x.y + ||y||^2`` slightly
    negative). ``x_sq``/``y_sq`` may pass precomputed squared norms.
    """
    x_sq = squared_norms(x) if x_sq is None else x_sq
    y_sq = squared_norms(y) if y_sq is None else y_sq
    d = x_sq[:, None] - 2.0 * tf.matmul(x, y, transpose_b=True) + y_sq[None, :]  # [n, m]
    return tf.maximum(d, 0.0)


def exact_squared_distances(x, y):
    """All squared distances from the differences: ``x [n, d]``, ``y [m, d]`` -> ``[n, m]``.

    No cancellation (never negative, 0 for equal rows), and each entry is
    computed the same whatever the other rows, so the result of a row does
    not depend on how the rows were batched. Memory ``[n, m, d]``: for
    small ``m * d`` (a Keras head's centers), not for the fit loops.
    """
    return tf.reduce_sum(tf.square(x[:, None, :] - y[None, :, :]), axis=-1)


def _row_min(d):
    """``(first index of the row minimum, the minimum)`` of ``d [n, m]``, NaN as +inf."""
    m = tf.shape(d)[1]
    d = tf.where(tf.math.is_nan(d), tf.constant(float("inf"), d.dtype), d)  # an index in range
    d_min = tf.reduce_min(d, axis=1)  # [n]
    cols = tf.range(m)[None, :]  # [1, m]
    index = tf.reduce_min(tf.where(d <= d_min[:, None], cols, m), axis=1)  # [n]
    return index, d_min


@kernel
def first_argmin(d):
    """Index and value of the row minimum of ``d [n, m]``, first index on ties.

    Written as min, compare and min-of-index rather than ``tf.argmin``: XLA
    fuses it into one pass, several times faster than ``ArgMin`` on CPU.

    NaN (float32 overflow on huge finite input) counts as +inf, so the index
    is always a valid column.

    Returns:
        ``(index [n] int32, minimum [n])``.
    """
    return _row_min(d)


@kernel
def _nearest_exact(cross, centers_sq, x, centers):
    """Argmin of ``cross + centers_sq`` and the exact squared distance to that center.

    One XLA program: the bias add, the argmin, the gather of each row's center
    and the difference fuse into one pass.
    """
    labels, _ = _row_min(cross + centers_sq[None, :])  # [n]
    diff = x - tf.gather(centers, labels)  # [n, d]
    return labels, tf.reduce_sum(tf.square(diff), axis=1)


@kernel
def _nearest_sums(cross, centers_sq, x, w, weighted):
    """Per-center weighted sums and weights of the rows nearest each center.

    One XLA program: the bias add, the first-index argmin and the segment sums
    fuse, so the labels never leave the fusion and no ``[n, k]`` one-hot is
    multiplied (a second GEMM, 98% zeros at k=64).
    """
    labels, _ = _row_min(cross + centers_sq[None, :])  # [n]
    k = tf.shape(centers_sq)[0]
    return cluster_sums(x, labels, k, w, segments=True, scale_rows=weighted)  # [k, d], [k]


def _cross(x, centers):
    return tf.matmul(x, -2.0 * centers, transpose_b=True)  # [n, k]


def nearest(x, centers, centers_sq=None, *, splits: int = 1):
    """Nearest center of each row: ``x [n, d]``, ``centers [k, d]``.

    One GEMM ``x @ (-2 centers)^T``; the bias ``||c||^2``, the argmin and the
    distance to the chosen center run as one XLA-fused pass over ``[n, k]``.
    The distance is computed from the difference ``x - c``, not the matmul
    expansion, so it is exact (no cancellation, never negative).

    ``splits > 1`` (a divisor of the rows) runs that many independent GEMM +
    fused-pass pairs, as ``nearest_sums``: every CPU core busy.

    Returns:
        ``(labels [n] int32, squared distance to that center [n])``.
    """
    centers_sq = squared_norms(centers) if centers_sq is None else centers_sq

    def piece(xs):
        return _nearest_exact(_cross(xs, centers), centers_sq, xs, centers)

    return _in_pieces(piece, splits, lambda parts: tf.concat(parts, 0), x)


def nearest_sums(x, w, centers, centers_sq=None, *, weighted: bool = True, splits: int = 1):
    """Weighted sums ``[k, d]`` and weights ``[k]`` of the rows nearest each center.

    ``sums[j] = sum(w[i] * x[i] for rows i whose nearest center is j)`` (the
    first one on exact ties, as ``nearest``), ``counts[j]`` likewise of
    ``w``: the Lloyd statistics of one batch, one GEMM and one fused pass.
    ``weighted=False`` promises ``w`` is all ones and skips the product.

    ``splits > 1`` (a divisor of the batch rows) cuts the batch into that many
    independent GEMM + fused-pass pairs whose results are summed: on a CPU
    the fused pass runs on one thread, and TensorFlow's inter-op pool runs
    the independent passes on the other cores at once. On a GPU keep 1.
    """
    centers_sq = squared_norms(centers) if centers_sq is None else centers_sq

    def piece(xs, ws):
        return _nearest_sums(_cross(xs, centers), centers_sq, xs, ws, weighted)

    return _in_pieces(piece, splits, tf.add_n, x, w)


def _in_pieces(fn, splits: int, combine, *rows):
    """``fn(*rows)`` on ``splits`` independent pieces of the rows, each output's
    pieces joined by ``combine`` (``tf.concat`` per row, ``tf.add_n`` for sums):
    on a CPU an XLA fused pass runs on one thread, and TensorFlow's inter-op pool
    runs the pieces on the other cores at once. Without XLA (its ops are
    multi-threaded anyway) or with ``splits == 1``, one call."""
    if splits == 1 or not xla_active():
        return fn(*rows)
    parts = [fn(*piece) for piece in zip(*(tf.split(r, splits) for r in rows), strict=True)]
    return tuple(combine(list(outputs)) for outputs in zip(*parts, strict=True))


def nearest_sums_onehot(x, xw1, centers, centers_sq):
    """``nearest_sums`` as plain unfused ops: an ``ArgMin`` and a one-hot GEMM.

    ``xw1 [n, d + 1]`` is ``concat([x * w[:, None], w[:, None]], 1)``, built once
    by a loop over the same rows. Without XLA this is the fastest form on small
    data (measured on the digits, 1,797 x 64, k=8 in a bucket of 16, on 2
    CPU cores: 0.36 ms per Lloyd iteration, against 0.74 ms for the min /
    compare / min-of-index labels and two segment sums as separate ops). The
    first index wins ties, as ``first_argmin``.

    Returns:
        ``(sums [K, d], counts [K])``.
    """
    labels = tf.argmin(_cross(x, centers) + centers_sq[None, :], 1, output_type=tf.int32)  # [n]
    stats, _ = cluster_sums(xw1, labels, tf.shape(centers)[0])  # [K, d + 1]: one GEMM
    return stats[:, :-1], stats[:, -1]


def nearest_chunked(
    x, centers, chunk_size: int, centers_sq=None, *, padded: bool = False, splits: int = 1
):
    """``nearest`` over ``x`` in chunks of rows, memory ``[chunk_size, k]``."""
    centers_sq = squared_norms(centers) if centers_sq is None else centers_sq
    spec = (
        tf.TensorSpec([None], tf.int32),
        tf.TensorSpec([None], x.dtype),
    )
    return map_chunks(
        lambda xb: nearest(xb, centers, centers_sq, splits=splits),
        x,
        chunk_size,
        spec,
        padded=padded,
    )

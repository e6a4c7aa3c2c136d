"""Clustering quality scores as compiled statistics over blocks of rows (pure TensorFlow).

Labels here are already encoded as ``0 .. n_labels - 1`` (int32), every label
used at least once. Distances are Euclidean and come from
``ops.distances``.

- Silhouette: for a block of rows, the distance rows ``[block, n_samples]``
  are multiplied by the one-hot label matrix ``[n_samples, n_labels]``, which
  gives each row's sum of distances to every label in one GEMM. Memory is one
  block of distance rows, never ``[n_samples, n_samples]``.
- Davies-Bouldin and Calinski-Harabasz: per-label sums (centroids), then per-
  label sums of the distance and squared distance to the own centroid, each a
  ``reduce_batches`` pass over ``(x, labels)`` chunks.
"""

from __future__ import annotations

import tensorflow as tf

from tfcluster._engine.compile import kernel
from tfcluster.ops.batching import map_chunks, reduce_batches
from tfcluster.ops.distances import cluster_sums, squared_distances, squared_norms

__all__ = [
    "silhouette_samples",
    "label_sums",
    "label_dispersion",
    "davies_bouldin",
    "calinski_harabasz",
]


@kernel
def _block_label_distance_sums(xb, start, x, x_sq, onehot):
    """Sum of distances from each row of a block to the rows of every label.

    Args:
        xb: the block's rows ``[b, d]``, rows ``start .. start + b - 1`` of ``x``.
        start: index of the block's first row (int32 scalar).
        x: all rows ``[n, d]``; ``x_sq`` their squared norms ``[n]``.
        onehot: one-hot labels ``[n, k]``.

    Returns:
        ``[b, k]``: ``out[i, j] = sum(||xb[i] - x[m]|| for m with label j)``.
    """
    d2 = squared_distances(xb, x, y_sq=x_sq)  # [b, n]
    rows = start + tf.range(tf.shape(xb)[0])  # [b]
    own = rows[:, None] == tf.range(tf.shape(x)[0])[None, :]  # [b, n]
    # The matmul form leaves rounding on the diagonal; a row is at distance 0 of itself.
    d = tf.where(own, tf.zeros_like(d2), tf.sqrt(d2))  # [b, n]
    return tf.matmul(d, onehot)  # [b, k]


def _silhouette_from_sums(sums, labels_b, counts):
    """Silhouette of each row from its per-label distance sums.

    ``a`` is the mean distance to the other members of the own label, ``b`` the
    smallest mean distance to the members of another label, and
    ``s = (b - a) / max(a, b)``; a row alone in its label, or with
    ``a == b == 0``, scores 0 (as scikit-learn).

    Args:
        sums: ``[b, k]`` distance sums; ``labels_b`` ``[b]``; ``counts`` ``[k]``.

    Returns:
        ``[b]`` silhouettes.
    """
    k = tf.shape(counts)[0]
    own = tf.one_hot(labels_b, k, on_value=True, off_value=False)  # [b, k]
    own_count = tf.gather(counts, labels_b)  # [b]
    own_sum = tf.reduce_sum(tf.where(own, sums, tf.zeros_like(sums)), axis=1)  # [b]
    a = own_sum / tf.maximum(own_count - 1.0, 1.0)
    inf = tf.constant(float("inf"), sums.dtype)
    means = tf.where(counts[None, :] > 0, sums / tf.maximum(counts, 1.0)[None, :], inf)  # [b, k]
    b = tf.reduce_min(tf.where(own, tf.fill(tf.shape(sums), inf), means), axis=1)  # [b]
    denom = tf.maximum(a, b)
    s = tf.math.divide_no_nan(b - a, denom)
    return tf.where(own_count > 1.0, s, tf.zeros_like(s))


def silhouette_samples(x, labels, n_labels, block_size):
    """Silhouette coefficient of every row.

    Args:
        x: samples ``[n_samples, n_features]``, float32 or float64.
        labels: encoded labels ``[n_samples]`` int32 in ``0 .. n_labels - 1``.
        n_labels: label slots (an int, e.g. a bucket; slots no row has are
            ignored) or an int32 scalar.
        block_size: rows per block; memory is about ``block_size x n_samples``.

    Returns:
        ``[n_samples]`` silhouettes in ``[-1, 1]``.
    """
    x = x - tf.reduce_mean(x, axis=0)  # centering keeps the matmul form accurate
    x_sq = squared_norms(x)  # [n]
    onehot = tf.one_hot(labels, n_labels, dtype=x.dtype)  # [n, k]
    counts = tf.reduce_sum(onehot, axis=0)  # [k]

    def block(index):  # index: contiguous row numbers [b]
        start = index[0]
        xb = tf.gather(x, index)  # [b, d]
        sums = _block_label_distance_sums(xb, start, x, x_sq, onehot)  # [b, k]
        return _silhouette_from_sums(sums, tf.gather(labels, index), counts)

    index = tf.range(tf.shape(x)[0])
    return map_chunks(block, index, block_size, tf.TensorSpec([None], x.dtype))


def label_sums(source, n_labels, chunk_size: int):
    """Per-label sums of rows and counts over ``(x, labels)`` chunks.

    Args:
        source: ``(x [n, d], labels [n] int32)`` tensors or a dataset of such pairs.
        n_labels: number of labels.
        chunk_size: rows per chunk for in-memory sources.

    Returns:
        ``(sums [n_labels, d], counts [n_labels])``.
    """
    if isinstance(source, tf.data.Dataset):
        x_spec = source.element_spec[0]
        d, dtype = x_spec.shape[-1], x_spec.dtype
    else:
        d, dtype = tf.shape(source[0])[1], source[0].dtype

    def stats(x, labels):
        return cluster_sums(x, labels, n_labels)  # [k, d], [k]

    init = (tf.zeros([n_labels, d], dtype), tf.zeros([n_labels], dtype))
    return reduce_batches(stats, init, source, chunk_size)


def label_dispersion(source, centers, chunk_size: int):
    """Per-label sums of the distance and squared distance of rows to their center.

    Args:
        source: ``(x [n, d], labels [n] int32)`` tensors or a dataset of such pairs.
        centers: ``[n_labels, d]`` one center per label.
        chunk_size: rows per chunk for in-memory sources.

    Returns:
        ``(sum of ||x - c|| [n_labels], sum of ||x - c||**2 [n_labels])``, float64:
        sums of squares of rows far apart overflow float32.
    """
    k = tf.shape(centers)[0]

    def stats(x, labels):
        d2 = tf.cast(squared_norms(x - tf.gather(centers, labels)), tf.float64)  # [b]
        sums, _ = cluster_sums(tf.stack([tf.sqrt(d2), d2], axis=1), labels, k)  # [k, 2]
        return sums[:, 0], sums[:, 1]

    zero = tf.zeros([k], tf.float64)
    return reduce_batches(stats, (zero, zero), source, chunk_size)


def _centroids_and_dispersion(source, n_labels, chunk_size):
    sums, counts = label_sums(source, n_labels, chunk_size)
    centers = sums / tf.maximum(counts, 1.0)[:, None]  # [k, d]; a slot no row has stays 0
    dist, dist_sq = label_dispersion(source, centers, chunk_size)
    return centers, counts, dist, dist_sq


_EPS = {tf.float32: 2.0**-23, tf.float64: 2.0**-52}  # machine epsilon of the compute dtypes


def _close_to_zero(v):
    # numpy.allclose(v, 0) with its default atol=1e-8
    return tf.reduce_all(tf.abs(v) <= tf.cast(1e-8, v.dtype))


def davies_bouldin(source, n_labels, chunk_size: int):
    """Davies-Bouldin index: mean over labels of the worst ``(s_i + s_j) / d(c_i, c_j)``.

    ``s_i`` is the mean distance of label ``i``'s rows to their centroid
    ``c_i``. Returns 0 when every ``s_i`` or every centroid distance is zero,
    and a pair of coinciding centroids is ignored (as scikit-learn). Centroids
    coincide when they differ by their rounding only: a centroid is a mean of
    rows within ``|c_i| + sum_i ||x - c_i||`` of the origin, so it is exact to
    ``eps`` times that.

    Args:
        source: ``(x [n, d], labels [n] int32)`` tensors or a dataset of such pairs.
        n_labels: label slots (an int, e.g. a bucket: slots no row has are
            ignored) or an int32 scalar.
        chunk_size: rows per chunk for in-memory sources.

    Returns:
        scalar score (lower is better).
    """
    centers, counts, dist, _ = _centroids_and_dispersion(source, n_labels, chunk_size)
    dist = tf.cast(dist, centers.dtype)
    real = counts > 0  # [k]
    pair = real[:, None] & real[None, :]  # [k, k]
    spread = dist / tf.maximum(counts, 1.0)  # [k]
    # Differences, not the matmul form: coinciding centroids must give exactly 0.
    center_dist = tf.sqrt(squared_norms(centers[:, None, :] - centers[None, :, :]))  # [k, k]
    reach = tf.sqrt(squared_norms(centers)) + dist  # [k]: the rows' largest norm, bounded
    rounding = 4.0 * _EPS[centers.dtype] * (reach[:, None] + reach[None, :])  # [k, k]
    center_dist = tf.where(pair & (center_dist > rounding), center_dist, 0.0)
    inf = tf.constant(float("inf"), centers.dtype)
    safe = tf.where(center_dist == 0.0, inf, center_dist)
    combined = (spread[:, None] + spread[None, :]) / safe  # [k, k], 0 off the real pairs
    n_real = tf.reduce_sum(tf.cast(real, centers.dtype))
    score = tf.reduce_sum(tf.reduce_max(combined, axis=1)) / n_real
    degenerate = _close_to_zero(spread) | _close_to_zero(center_dist)
    return tf.where(degenerate, tf.zeros_like(score), score)


def calinski_harabasz(source, n_labels, chunk_size: int):
    """Calinski-Harabasz index: between- over within-label dispersion, scaled.

    ``(B / (k - 1)) / (W / (n - k))`` with ``B = sum(n_i * ||c_i - mean||**2)``
    and ``W = sum(||x - c_label||**2)``; 1 when ``W`` is zero (as scikit-learn),
    which in the rows' precision means: within the rounding of the centroids,
    ``W <= n * d * (2 * eps * max|c|)**2``. Summed in float64.

    Args:
        source, n_labels, chunk_size: as ``davies_bouldin``.

    Returns:
        scalar score (higher is better).
    """
    centers, counts, _, dist_sq = _centroids_and_dispersion(source, n_labels, chunk_size)
    eps = _EPS[centers.dtype]
    centers, counts = tf.cast(centers, tf.float64), tf.cast(counts, tf.float64)
    n = tf.reduce_sum(counts)
    mean = tf.reduce_sum(centers * counts[:, None], axis=0) / n  # [d]
    between = tf.reduce_sum(counts * squared_norms(centers - mean[None, :]))
    within = tf.reduce_sum(dist_sq)
    k = tf.reduce_sum(tf.cast(counts > 0, tf.float64))  # labels that have rows
    d = tf.cast(tf.shape(centers)[1], tf.float64)
    rounding = n * d * tf.square(2.0 * eps * tf.reduce_max(tf.abs(centers)))
    score = between * (n - k) / (within * (k - 1.0))
    return tf.where(within <= rounding, tf.ones_like(score), score)

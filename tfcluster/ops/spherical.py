"""Spherical (cosine) k-means maths, pure TensorFlow.

On rows of unit L2 norm ``||x - c||^2 = 2 - 2 cos(x, c)`` for a unit center
``c``, so the nearest center in Euclidean distance is the one of largest
cosine: the assignment, the per-cluster sums and the relocation of empty
clusters are those of k-means (``ops.kmeans.lloyd_step``), and only the
update differs: a center is the normalised sum (mean direction) of its rows.
Shapes: ``x [n, d]`` unit rows, ``w [n]``, ``centers [K, d]`` (padded to a
bucket of ``K >= k`` rows, ``k`` a scalar).
"""

from __future__ import annotations

import tensorflow as tf

from tfcluster.ops.kmeans import iterate, lloyd_step

__all__ = ["normalize_rows", "cosine_distances", "spherical_lloyd"]


def normalize_rows(x):
    """``x [n, d]`` with every nonzero row scaled to unit L2 norm (zero rows stay zero)."""
    norms = tf.norm(x, axis=1, keepdims=True)  # [n, 1]
    return x / tf.where(norms > 0, norms, tf.ones_like(norms))


def cosine_distances(x, centers):
    """``1 - x . c`` of unit rows ``x [n, d]`` to unit ``centers [k, d]``: ``[n, k]``.

    An elementwise product summed over features, not a GEMM: each entry is
    computed the same whatever the other rows, so a row's distances do not
    depend on how the rows were batched or ordered (a GEMM's blocking changes
    the last bit of the rows it handles in its tail). Memory ``[n, k, d]``:
    callers chunk the rows.
    """
    return 1.0 - tf.reduce_sum(x[:, None, :] * centers[None, :, :], axis=-1)


def spherical_lloyd(
    source,
    centers,
    k,
    max_iter,
    tol,
    chunk_size: int,
    weighted: bool = True,
    padded: bool = False,
    splits: int = 1,
):
    """Spherical k-means (Dhillon and Modha 2001) as one compiled loop.

    Each iteration assigns every (unit) row to the center of largest cosine
    and sets each center to the normalised weighted sum of its rows; an empty
    cluster takes the row farthest from its center (lowest cosine), as
    ``ops.kmeans.relocate_empty``. Stops after ``max_iter`` iterations or when
    the squared center shift is ``<= tol`` (0 when labels no longer change).

    Args:
        source: ``(x [n, d], w [n])`` or a dataset of such batches; unit rows.
        centers: ``[K, d]`` unit initial centers (rows beyond ``k`` zero).
        k, max_iter, tol: scalar tensors (one trace serves them all).
        chunk_size, weighted, padded, splits: as ``ops.kmeans.lloyd``.

    Returns:
        ``(centers [K, d], n_iter, converged)``.
    """

    def step(centers):
        means, _, _ = lloyd_step(source, centers, k, chunk_size, weighted, padded, splits)
        new_centers = normalize_rows(means)  # [K, d]; the mean direction
        return new_centers, tf.reduce_sum(tf.square(new_centers - centers))

    return iterate(step, centers, max_iter, tol)

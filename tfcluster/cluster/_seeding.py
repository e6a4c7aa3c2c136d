"""KMeans' seeding: k-means++, k-means||, random rows, user-given centers, and the
public ``kmeans_plusplus``; with the center buckets and chunk sizes the k-means
family shares (``KMeans``, ``MiniBatchKMeans``, ``SphericalKMeans``).
"""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

from tfcluster._base import check_dtype, check_option, check_positive_int, make_seed
from tfcluster._engine import Program, bucket, chunk_size, pass_bucket
from tfcluster._engine.driver import Data, as_data, attribute_dtype, call
from tfcluster._validation import check_array, check_dense
from tfcluster.ops import kmeans as ops
from tfcluster.ops.batching import source_spec

__all__ = ["kmeans_plusplus", "initial_centers", "check_init_array", "plusplus", "INITS"]

INITS = ("k-means++", "random", "k-means||")


def _plusplus_fn(x, w, k, seed, trials, *, bucket):
    centers, indices = ops.kmeans_plusplus(x, w, k, seed, trials)
    return ops.pad_centers(centers, bucket), indices


def _parallel_fn(source, k, seed, *, bucket, chunk, padded):
    return ops.kmeans_parallel(source, k, seed, chunk, bucket=bucket, padded=padded)


def _random_rows_fn(source, seed, *, bucket, chunk, padded):
    d, dtype = source_spec(source)
    return ops.sample_rows(source, bucket, d, seed, chunk, dtype, padded)


_plusplus = Program(
    _plusplus_fn, "kmeans.plusplus", rows=(0, 1), free_shapes=True, autograph=False
)
_parallel = Program(_parallel_fn, "kmeans.parallel", rows=(0,), free_shapes=True, autograph=False)
_random_rows = Program(
    _random_rows_fn, "kmeans.random_rows", rows=(0,), free_shapes=True, autograph=False
)


def _k(n_clusters: int) -> tf.Tensor:
    return tf.constant(int(n_clusters), tf.int32)


def _bucket(k: int, data: Data) -> int:
    """The center bucket for ``k`` clusters on ``data`` (exact to 8 on large data)."""
    size = None if data.n_samples is None else data.n_samples * data.n_features
    return bucket(k, size)


def _pass_bucket(k: int, data: Data) -> int:
    """The centers' padded size in the Lloyd and assignment passes over ``data``:
    ``k`` itself on small in-memory data (``pass_bucket``), else ``_bucket``."""
    size = None if data.n_samples is None else data.n_samples * data.n_features
    return pass_bucket(k, data.n_samples, size)


def _chunk(data: Data, n_columns: int) -> int:
    """Rows per chunk for ``data``: at most the rows of the data (a power of two)."""
    return chunk_size(data.n_samples, n_columns)


def plusplus(x, w, n_clusters: int, seed):
    """Greedy k-means++ on in-memory rows: ``(centers [k, d], indices [k])``.

    ``n_clusters`` goes in as a tensor, so a sweep over k does not retrace.
    """
    trials = tf.constant(2 + int(math.log(n_clusters)), tf.int32)
    centers, indices = _plusplus(x, w, _k(n_clusters), seed, trials, bucket=bucket(n_clusters))
    return centers[:n_clusters], indices


def check_init_array(init, n_clusters: int, n_features: int, dtype) -> tf.Tensor:
    """Validate user-given initial centers ``[n_clusters, n_features]`` (returned
    in float64: they are moved into compute units before the cast to ``dtype``)."""
    check_array(init, dtype=dtype, name="init")  # the limits of the compute dtype
    centers = check_array(init, dtype=tf.float64, name="init")
    if tuple(centers.shape) != (n_clusters, n_features):
        raise ValueError(
            f"init array must have shape (n_clusters, n_features) = "
            f"({n_clusters}, {n_features}); got {tuple(centers.shape)}."
        )
    return centers


def initial_centers(init, data: Data, n_clusters: int, seed) -> tf.Tensor:
    """Initial centers ``[k, d]`` for ``data``, in its compute units.

    ``init`` is a name of ``INITS``, an array (in the user's units), or a
    callable ``init(X, n_clusters, random_state) -> [k, d]`` given the data in
    the user's units and a ``numpy.random.RandomState``.
    """
    d, dtype, n_clusters = data.n_features, data.dtype, int(n_clusters)
    if isinstance(init, str):
        name = check_option("init", init, INITS)
        if name == "k-means++" and not data.streamed:
            return plusplus(data.x, data.w, n_clusters, seed)[0]
        size = _bucket(n_clusters, data)
        chunk, padded = _chunk(data, size), not data.streamed
        if name == "random":
            rows = call(_random_rows, data.source, seed, bucket=size, chunk=chunk, padded=padded)
            return rows[:n_clusters]
        k = _k(n_clusters)  # k-means|| and streams
        centers = call(_parallel, data.source, k, seed, bucket=size, chunk=chunk, padded=padded)
        return centers[:n_clusters]
    if callable(init):
        random_state = np.random.RandomState(int(seed[0].numpy()) % (2**31 - 1))  # as scikit-learn
        chosen = init(data.user_rows(), n_clusters, random_state)
        centers = check_init_array(chosen, n_clusters, d, dtype)
    else:
        centers = check_init_array(init, n_clusters, d, dtype)
    return tf.constant(data.frame.to_internal(centers.numpy()), dtype)


def kmeans_plusplus(X, n_clusters, *, sample_weight=None, random_state=None, dtype="float32"):
    """Greedy k-means++ seeding, as ``sklearn.cluster.kmeans_plusplus``.

    Args:
        X: ``[n_samples, n_features]``.
        n_clusters: number of centers to choose.
        sample_weight: ``[n_samples]`` or None.
        random_state: int or None.
        dtype: "float32" or "float64".

    Returns:
        ``(centers [n_clusters, n_features], indices [n_clusters])``: the
        chosen rows of ``X`` and their indices.

    Examples:
        >>> import numpy as np
        >>> from tfcluster import kmeans_plusplus
        >>> X = np.array([[0., 0.], [0., 0.1], [5., 5.], [5., 5.1]])
        >>> centers, idx = kmeans_plusplus(X, 2, random_state=0)
        >>> sorted(int(i) // 2 for i in idx)
        [0, 1]
    """
    check_positive_int("n_clusters", n_clusters)
    check_dense(X)  # the indices are of rows in memory: no tf.data.Dataset
    data = as_data(X, sample_weight, dtype=check_dtype(dtype))
    if n_clusters > data.n_samples:
        raise ValueError(f"n_samples={data.n_samples} should be >= n_clusters={n_clusters}.")
    mean = tf.reduce_mean(data.x, axis=0)
    _, indices = plusplus(data.x - mean, data.w, n_clusters, make_seed(random_state))
    indices = indices.numpy()
    centers = data.raw.numpy()[indices]
    out = attribute_dtype(data.frame, np.var(data.x.numpy(), axis=0), data.dtype)
    return centers.astype(out), indices

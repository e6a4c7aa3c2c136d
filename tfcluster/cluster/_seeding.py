"""KMeans' seeding: k-means++, k-means||, random rows, user-given centers, and the
public ``kmeans_plusplus``; with the center buckets and chunk sizes the k-means
family shares (``KMeans``, ``MiniBatchKMeans``, ``SphericalKMeans``).
"""

from __future__ import annotations

import math

import numpy as np
import tensorflow as tf

from tfcluster._base import check_dtype, check_option, check_positive_int, make_seed
from tfcluster._engine import Program, bucket, chunk_size, first_rows, pass_bucket
from tfcluster._engine.driver import Data, as_data, attribute_dtype, call
from tfcluster._validation import check_array, check_dense
from tfcluster.ops import kmeans as ops
from tfcluster.ops.batching import source_spec

__all__ = ["kmeans_plusplus", "initial_centers", "check_init_array", "plusplus", "INITS"]

INITS = ("k-means++", "random", "k-means||")


def _plusplus_fn(x, w, k, seed, trials, *, bucket):
    centers, indices = ops.kmeans_plusplus(x, w, k, seed, trials)
    return ops.pad_centers(centers, bucket), indices


def _plusplus_draws_fn(seed, k, trials, *, dtype):
    """The uniforms ``ops.kmeans_plusplus`` draws on data of ``dtype``, ``[k, trials]``:
    row 0 holds the first center's draw (one number), row ``c`` the candidates' of
    step ``c``."""

    def step(c):
        seed_c = tf.random.experimental.stateless_fold_in(seed, c)
        u = tf.random.stateless_uniform([tf.where(c == 0, 1, trials)], seed_c, dtype=dtype)
        return tf.pad(u, [[0, trials - tf.shape(u)[0]]])

    spec = tf.TensorSpec([None], dtype)
    return tf.map_fn(step, tf.range(k), fn_output_signature=spec)


def _parallel_fn(source, k, seed, *, bucket, chunk, padded):
    return ops.kmeans_parallel(source, k, seed, chunk, bucket=bucket, padded=padded)


def _random_rows_fn(source, seed, *, bucket, chunk, padded):
    d, dtype = source_spec(source)
    return ops.sample_rows(source, bucket, d, seed, chunk, dtype, padded)


_plusplus = Program(
    _plusplus_fn, "kmeans.plusplus", rows=(0, 1), free_shapes=True, autograph=False
)
_plusplus_draws = Program(
    _plusplus_draws_fn, "kmeans.plusplus_draws", free_shapes=True, autograph=False
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


_NUMPY_PLUSPLUS = 2**18  # elements of in-memory data that numpy seeds


def plusplus(x, w, n_clusters: int, seed):
    """Greedy k-means++ on in-memory rows: ``(centers [k, d], indices [k])``.

    ``n_clusters`` goes in as a tensor, so a sweep over k does not retrace.
    Small data (up to 2**18 elements) are seeded by numpy from the same random
    numbers: the compiled loop's ops cost ~0.5 ms per center there (4 ms of a
    13 ms fit on the digits), numpy's ~0.05 ms.
    """
    trials = 2 + int(math.log(n_clusters))
    if int(tf.size(x)) <= _NUMPY_PLUSPLUS:
        t = tf.constant(trials, tf.int32)
        draws = call(_plusplus_draws, seed, _k(n_clusters), t, dtype=x.dtype.name)
        indices = _numpy_plusplus(x.numpy(), w.numpy(), draws.numpy())
        return tf.gather(x, indices), tf.constant(indices)
    k = _k(n_clusters)
    centers, indices = _plusplus(
        x, w, k, seed, tf.constant(trials, tf.int32), bucket=bucket(n_clusters)
    )
    return first_rows(centers, n_clusters), indices


def _numpy_plusplus(x: np.ndarray, w: np.ndarray, draws: np.ndarray) -> np.ndarray:
    """``ops.kmeans_plusplus``'s indices ``[k]`` int32 from its uniforms ``draws [k, t]``
    (``_plusplus_draws``), computed in float64: the same centers up to the rounding
    of near-equal distances."""
    x, w, draws = (np.asarray(a, np.float64) for a in (x, w, draws))
    x_sq = np.einsum("ij,ij->i", x, x)  # [n]

    def sample(p, u):  # the indices drawn with probability p [n] by the uniforms u
        cdf = np.cumsum(p)
        return np.minimum(np.searchsorted(cdf, u * cdf[-1], side="right"), len(p) - 1)

    def distances(rows):  # [t, n] squared, as ops.distances.squared_distances
        d = x_sq[rows][:, None] - 2.0 * (x[rows] @ x.T) + x_sq[None, :]
        return np.maximum(d, 0.0)

    indices = [int(sample(w, draws[0, :1])[0])]
    closest = distances(indices)[0]  # [n]
    for u in draws[1:]:
        candidates = sample(w * closest, u)  # [t]
        d = np.minimum(closest[None, :], distances(candidates))  # [t, n]
        best = int(np.argmin(d @ w))
        indices.append(int(candidates[best]))
        closest = d[best]
    return np.asarray(indices, np.int32)


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
            return first_rows(rows, n_clusters)
        k = _k(n_clusters)  # k-means|| and streams
        centers = call(_parallel, data.source, k, seed, bucket=size, chunk=chunk, padded=padded)
        return first_rows(centers, n_clusters)
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

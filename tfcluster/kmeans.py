"""KMeans (Lloyd), ``kmeans_plusplus``, and what MiniBatchKMeans shares with them.

Thin shells: they validate, convert, run the compiled loops of
``tfcluster.ops.kmeans`` over the data's batches and store fitted attributes.
MiniBatchKMeans lives in ``tfcluster._minibatch``.
"""

from __future__ import annotations

import functools
import math
import os
import warnings

import numpy as np
import tensorflow as tf

from tfcluster._base import (
    BaseEstimator,
    ConvergenceWarning,
    FeatureNamesOutMixin,
    check_dtype,
    check_is_fitted,
    check_number,
    check_option,
    check_positive_int,
    make_seed,
)
from tfcluster._checkpoint import LoopCheckpoint, fit_settings
from tfcluster._driver import Data, as_data, call, chunk_rows, map_rows, moments
from tfcluster._validation import check_array
from tfcluster.ops import kmeans as ops
from tfcluster.ops.batching import map_chunks, reduce_batches
from tfcluster.ops.distances import nearest_chunked, squared_distances, squared_norms

__all__ = ["KMeans", "kmeans_plusplus", "ConvergenceWarning"]


_INITS = {"k-means++": "k-means++", "random": "random", "k-means||": "k-means||"}


@tf.function(reduce_retracing=True)
def _plusplus(x, w, n_clusters, seed, n_local_trials):
    return ops.kmeans_plusplus(x, w, n_clusters, seed, n_local_trials)


def plusplus(x, w, n_clusters: int, seed):
    """Greedy k-means++ on in-memory rows: ``(centers [k, d], indices [k])``.

    ``n_clusters`` goes in as a tensor, so a sweep over k does not retrace.
    """
    trials = 2 + int(math.log(n_clusters))
    return _plusplus(x, w, tf.constant(int(n_clusters)), seed, trials)


@tf.function(reduce_retracing=True)
def _parallel(source, n_clusters, seed, chunk_size):
    return ops.kmeans_parallel(source, n_clusters, seed, chunk_size)


@tf.function(reduce_retracing=True)
def _random_rows(source, n_clusters, n_features, seed, chunk_size, dtype):
    return ops.sample_rows(source, n_clusters, n_features, seed, chunk_size, dtype)


@tf.function(reduce_retracing=True)
def _lloyd(source, centers, max_iter, tol, chunk_size, verbose, weighted):
    return ops.lloyd(source, centers, max_iter, tol, chunk_size, verbose, weighted)


@tf.function(reduce_retracing=True)
def _inertia(source, centers, chunk_size):
    centers_sq = squared_norms(centers)
    return reduce_batches(
        lambda x, w: ops.assignment_stats(x, w, centers, centers_sq),
        tf.zeros([], tf.float64),
        source,
        chunk_size,
    )


@tf.function(reduce_retracing=True)
def _nearest(x, centers, chunk_size):
    return nearest_chunked(x, centers, chunk_size)


@tf.function(reduce_retracing=True)
def _assign(x, w, centers, chunk_size):
    """Labels ``[n]`` and exact weighted inertia, in one pass."""
    centers_sq = squared_norms(centers)
    spec = (tf.TensorSpec([None], tf.int32), tf.TensorSpec([None], x.dtype))
    labels, loss = map_chunks(
        lambda xb, wb: ops.assign(xb, wb, centers, centers_sq), (x, w), chunk_size, spec
    )
    return labels, tf.reduce_sum(tf.cast(loss, tf.float64))  # float32 sums overflow early


@tf.function(reduce_retracing=True)
def _distances(x, centers, chunk_size):
    spec = tf.TensorSpec([None, None], x.dtype)
    return map_chunks(lambda xb: tf.sqrt(squared_distances(xb, centers)), x, chunk_size, spec)


def assign(data: Data, centers: tf.Tensor) -> tuple[np.ndarray, float]:
    """Nearest-center label of every row ``[n]`` and the weighted inertia."""
    chunk = chunk_rows(int(centers.shape[0]))
    if not data.streamed:
        labels, inertia = call(_assign, data.x, data.w, centers, chunk)
        return labels.numpy(), float(inertia.numpy())
    parts, total = [], 0.0
    for x, w in data.source:
        labels, inertia = call(_assign, x, w, centers, chunk)
        parts.append(labels.numpy())
        total += float(inertia.numpy())
    return (np.concatenate(parts) if parts else np.zeros([0], np.int32)), total


def check_init_array(init, n_clusters: int, n_features: int, dtype) -> tf.Tensor:
    """Validate user-given initial centers ``[n_clusters, n_features]``."""
    centers = check_array(init, dtype=dtype, name="init")
    if tuple(centers.shape) != (n_clusters, n_features):
        raise ValueError(
            f"init array must have shape (n_clusters, n_features) = "
            f"({n_clusters}, {n_features}); got {tuple(centers.shape)}."
        )
    return centers


def initial_centers(init, data: Data, n_clusters: int, seed, offset) -> tf.Tensor:
    """Initial centers ``[k, d]`` for ``data`` (already shifted by ``offset``).

    ``init`` is a name of ``_INITS``, an array, or a callable
    ``init(X, n_clusters, random_state) -> [k, d]`` given the unshifted data and
    a ``numpy.random.RandomState``.
    """
    d, dtype, n_clusters = data.n_features, data.dtype, int(n_clusters)
    chunk = chunk_rows(n_clusters)
    if isinstance(init, str):
        name = check_option("init", init, _INITS)
        if name == "k-means++" and not data.streamed:
            return plusplus(data.x, data.w, n_clusters, seed)[0]
        if name == "random":
            return call(_random_rows, data.source, n_clusters, d, seed, chunk, dtype)
        return call(_parallel, data.source, n_clusters, seed, chunk)  # k-means|| and streams
    if callable(init):
        shifted_back = data.shifted(-offset)
        X = shifted_back.source if data.streamed else shifted_back.x.numpy()
        random_state = np.random.RandomState(int(seed[0].numpy()) % (2**31 - 1))  # as scikit-learn
        centers = check_init_array(init(X, n_clusters, random_state), n_clusters, d, dtype)
    else:
        centers = check_init_array(init, n_clusters, d, dtype)
    return centers - tf.cast(offset, dtype)


def check_init(init):
    """Reject what can never be an init before any data is read."""
    if isinstance(init, str):
        check_option("init", init, _INITS, allow_callable=True)
    elif not callable(init) and not hasattr(init, "__len__") and not tf.is_tensor(init):
        raise TypeError(
            f"init must be one of {list(_INITS)}, an array [n_clusters, n_features] "
            f"or a callable; got {type(init).__name__}."
        )


class _KMeansMixin(FeatureNamesOutMixin):
    """Inference shared by KMeans and MiniBatchKMeans: needs ``cluster_centers_``."""

    def _n_features_out(self) -> int:
        check_is_fitted(self, "cluster_centers_")
        return int(self.cluster_centers_.shape[0])

    def _per_row(self, fn, X):
        """``fn(x - offset, centers - offset, chunk)`` for ``X`` (an array or a
        dataset, read batch by batch), both shifted by the centers' mean (float32
        accuracy)."""
        check_is_fitted(self, "cluster_centers_")
        dtype = check_dtype(self.dtype)
        centers = tf.constant(self.cluster_centers_, dtype)
        offset = tf.reduce_mean(centers, axis=0)
        chunk = chunk_rows(self.n_clusters)
        return map_rows(
            lambda x: fn(x - offset, centers - offset, chunk).numpy(),
            X,
            dtype=dtype,
            n_features=self.n_features_in_,
        )

    def predict(self, X) -> np.ndarray:
        """Index of the nearest center of each row.

        Args:
            X: ``[n_samples, n_features]``, or a ``tf.data.Dataset`` of batches.

        Returns:
            int32 ``[n_samples]``.
        """
        return self._per_row(lambda x, c, chunk: _nearest(x, c, chunk)[0], X)

    def transform(self, X) -> np.ndarray:
        """Euclidean distance of each row to every center, ``[n_samples, n_clusters]``.

        ``X`` may be an array or a ``tf.data.Dataset`` of batches.
        """
        return self._per_row(_distances, X)

    def fit_predict(self, X, y=None, sample_weight=None) -> np.ndarray:
        """Fit, then return ``labels_`` ``[n_samples]``."""
        return self.fit(X, sample_weight=sample_weight).labels_

    def fit_transform(self, X, y=None, sample_weight=None) -> np.ndarray:
        """Fit, then return ``transform(X)`` ``[n_samples, n_clusters]``."""
        return self.fit(X, sample_weight=sample_weight).transform(X)

    def score(self, X, y=None, sample_weight=None) -> float:
        """Negative weighted inertia of ``X`` for the fitted centers (higher is better)."""
        check_is_fitted(self, "cluster_centers_")
        data = as_data(
            X, sample_weight, dtype=check_dtype(self.dtype), n_features=self.n_features_in_
        )
        centers = tf.constant(self.cluster_centers_)
        offset = tf.reduce_mean(centers, axis=0)
        data = data.shifted(offset)
        inertia = call(_inertia, data.source, centers - offset, chunk_rows(self.n_clusters))
        return -float(inertia.numpy())

    def as_layer(self, output="labels", **kwargs):
        """This fitted model as a Keras layer (``tfcluster.layers.KMeansHead``).

        Args:
            output: "labels" ``[batch]``, "distances" ``[batch, n_clusters]`` or
                "soft" (Student-t soft assignments, rows sum to one).
            **kwargs: passed to the layer (``name``, ...).
        """
        from tfcluster.layers import kmeans_layer

        return kmeans_layer(self, output=output, **kwargs)

    def _check_distinct(self, labels: np.ndarray) -> None:
        found = np.unique(labels).size
        if found < self.n_clusters:
            warnings.warn(
                f"Number of distinct clusters ({found}) found smaller than "
                f"n_clusters ({self.n_clusters}). Possibly due to duplicate points in X.",
                ConvergenceWarning,
                stacklevel=3,
            )


class KMeans(_KMeansMixin, BaseEstimator):
    """K-means clustering by Lloyd's algorithm, compiled and on device.

    The whole Lloyd loop runs as one ``tf.function`` with no host round trip per
    iteration; distances are matmuls over chunks of rows, so memory is bounded
    by ``chunk x n_clusters``. A ``tf.data.Dataset`` is streamed batch by
    batch and gives the same result as the same data in memory.

    Args:
        n_clusters: number of clusters ``k``.
        init: "k-means++" (greedy, ``2 + log(k)`` trials), "random" (``k`` rows
            drawn by weight), "k-means||" (scalable, a few passes), an array
            ``[n_clusters, n_features]``, or a callable
            ``init(X, n_clusters, random_state) -> [n_clusters, n_features]``
            (``random_state`` a ``numpy.random.RandomState`` seeded for the run,
            as scikit-learn passes). On a ``tf.data.Dataset``, "k-means++" runs as "k-means||".
        n_init: number of runs from different initial centers; the one with the
            lowest inertia is kept. "auto" means 10 for "random" or a callable
            init and 1 otherwise, as scikit-learn.
        max_iter: most Lloyd iterations per run.
        tol: stop when the squared shift of the centers is at most
            ``tol * mean(var(X, axis=0))``, as scikit-learn; ``tol=0`` runs
            until labels stop changing or ``max_iter``.
        random_state: int, None, or a numpy RandomState or Generator; the
            same int gives the same result.
        dtype: "float32" or "float64".
        verbose: print the center shift of every iteration.

    Attributes:
        cluster_centers_: ``[n_clusters, n_features]``.
        labels_: ``[n_samples]`` label of each training row.
        inertia_: weighted sum of squared distances to the nearest center.
        n_iter_: Lloyd iterations of the kept run.
        converged_: whether the kept run met ``tol`` before ``max_iter``.
        n_features_in_: number of features seen in ``fit``.

    Examples:
        >>> import numpy as np
        >>> from tfcluster import KMeans
        >>> X = np.array([[0., 0.], [0., 1.], [10., 0.], [10., 1.]])
        >>> km = KMeans(2, init=np.array([[0., 0.], [10., 0.]])).fit(X)
        >>> km.labels_.tolist(), km.inertia_
        ([0, 0, 1, 1], 1.0)
        >>> km.cluster_centers_.tolist()
        [[0.0, 0.5], [10.0, 0.5]]
    """

    def __init__(
        self,
        n_clusters=8,
        *,
        init="k-means++",
        n_init=1,
        max_iter=300,
        tol=1e-4,
        random_state=None,
        dtype="float32",
        verbose=0,
    ):
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state
        self.dtype = dtype
        self.verbose = verbose

    def _check_params(self):
        check_positive_int("n_clusters", self.n_clusters)
        if self.n_init != "auto":
            check_positive_int("n_init", self.n_init)
        check_positive_int("max_iter", self.max_iter)
        check_number("tol", self.tol)
        check_init(self.init)
        return check_dtype(self.dtype)

    def fit(
        self, X, y=None, sample_weight=None, *, checkpoint_dir=None, checkpoint_every=10
    ) -> KMeans:
        """Compute the k-means clustering.

        Args:
            X: ``[n_samples, n_features]`` array, nested list or tf.Tensor, or a
                ``tf.data.Dataset`` of ``[batch, n_features]`` batches (or tuples
                ``(x, y)`` / ``(x, y, sample_weight)``).
            y: ignored.
            sample_weight: ``[n_samples]`` non-negative weights, or None.
            checkpoint_dir: if given, the centers are saved there with
                ``tf.train.Checkpoint`` every ``checkpoint_every`` iterations,
                and a fit started again with the same directory continues from
                the last save to the same result.
            checkpoint_every: iterations between saves.

        Returns:
            self.

        Raises:
            ValueError, TypeError: bad parameters or bad input (see messages).
        """
        dtype = self._check_params()
        data = as_data(X, sample_weight, dtype=dtype)
        mean, var, _, n_samples = moments(data)
        if self.n_clusters > n_samples:
            raise ValueError(f"n_samples={n_samples} should be >= n_clusters={self.n_clusters}.")
        n_init = self.n_init
        if n_init == "auto":  # as scikit-learn: 10 runs for "random" or a callable
            n_init = 10 if self.init == "random" or callable(self.init) else 1
        if not isinstance(self.init, str) and not callable(self.init) and n_init != 1:
            warnings.warn(
                "Explicit initial center position passed: performing only one init "
                f"in {type(self).__name__} instead of n_init={n_init}.",
                RuntimeWarning,
                stacklevel=2,
            )
            n_init = 1
        centered = data.shifted(mean)
        tol = tf.constant(float(np.mean(var)) * self.tol, dtype)
        chunk = chunk_rows(self.n_clusters)
        seeds = tf.random.experimental.stateless_split(make_seed(self.random_state), n_init)
        best = None
        if checkpoint_dir is not None:
            check_positive_int("checkpoint_every", checkpoint_every)
        for run in range(n_init):
            lloyd = functools.partial(self._lloyd, centered, seeds[run], mean, tol, chunk)
            if checkpoint_dir is None:
                centers, n_iter, converged = lloyd(int(self.max_iter))
            else:
                directory = os.path.join(checkpoint_dir, f"run-{run}")
                fingerprint = repr(
                    (mean.tolist(), var.tolist(), n_samples, fit_settings(self, seeds[run]))
                )
                centers, n_iter, converged = _resumable(
                    lloyd, int(self.max_iter), directory, checkpoint_every, fingerprint, dtype
                )
            labels, inertia = assign(centered, centers)
            if best is None or inertia < best[0]:
                best = (inertia, labels, centers, int(n_iter), bool(converged))
        self.inertia_, self.labels_, centers, self.n_iter_, self.converged_ = best
        self.cluster_centers_ = (centers + tf.cast(mean, dtype)).numpy()
        self.n_features_in_ = data.n_features
        self._check_distinct(self.labels_)
        return self

    def _lloyd(self, data, seed, mean, tol, chunk, max_iter, centers=None):
        """Up to ``max_iter`` Lloyd iterations from ``centers`` (or a fresh init)."""
        if centers is None:
            centers = initial_centers(self.init, data, self.n_clusters, seed, mean)
        centers, n_iter, converged = call(
            _lloyd, data.source, centers, max_iter, tol, chunk, bool(self.verbose), data.weighted
        )
        return centers, int(n_iter), bool(converged)


def _resumable(lloyd, max_iter, directory, every, fingerprint, dtype):
    """Run ``lloyd`` in segments of ``every`` iterations, saving after each one.

    ``lloyd(n, centers=None)`` runs up to ``n`` iterations (``n=0`` only
    initialises). Lloyd depends only on the centers, so a fit interrupted and
    started again from the saved centers ends with the uninterrupted result.
    ``fingerprint`` identifies the fit: a checkpoint of another fit is refused.
    """
    template = {"centers": tf.zeros([0, 0], dtype), "n_iter": 0, "converged": False}
    saved = LoopCheckpoint(directory, template, fingerprint)
    state = saved.restore()
    if state is None:
        centers, n_iter, converged = lloyd(0)
    else:
        centers = tf.constant(state["centers"])
        n_iter, converged = int(state["n_iter"]), bool(state["converged"])
    while n_iter < max_iter and not converged:
        centers, done, converged = lloyd(min(every, max_iter - n_iter), centers=centers)
        n_iter += done
        saved.save({"centers": centers, "n_iter": n_iter, "converged": converged})
    return centers, n_iter, converged


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
    data = as_data(X, sample_weight, dtype=check_dtype(dtype))
    if n_clusters > data.n_samples:
        raise ValueError(f"n_samples={data.n_samples} should be >= n_clusters={n_clusters}.")
    mean = tf.reduce_mean(data.x, axis=0)
    _, indices = plusplus(data.x - mean, data.w, n_clusters, make_seed(random_state))
    indices = indices.numpy()
    return data.x.numpy()[indices], indices

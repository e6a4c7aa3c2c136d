"""SphericalKMeans: k-means on the unit sphere (cosine similarity).

A thin shell: it validates, L2-normalises the rows, runs the compiled loop of
``tfcluster.ops.spherical`` over the data's batches (the assignment and the
per-cluster sums are k-means', ``ops.kmeans.lloyd_step``) and stores fitted
attributes. Initialisation, assignment and inertia reuse ``tfcluster.cluster._kmeans``:
on unit rows ``||x - c||^2 = 2 (1 - cos(x, c))``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import warnings

import numpy as np
import tensorflow as tf

from tfcluster._base import (
    BaseEstimator,
    ConvergenceWarning,
    FeatureNamesOutMixin,
    check_dtype,
    check_is_fitted,
    make_seed,
)
from tfcluster._engine import Program, bucket, chunk_size, pad_rows, parallel_splits
from tfcluster._engine.driver import PLAIN, Data, as_data, call, moments
from tfcluster._validation import is_dataset
from tfcluster.cluster._kmeans import KMeans, assign
from tfcluster.cluster._seeding import check_init_array, initial_centers
from tfcluster.ops.batching import map_chunks
from tfcluster.ops.spherical import cosine_distances, normalize_rows, spherical_lloyd

__all__ = ["SphericalKMeans"]

_ZERO_ROW = "X contains rows of zero norm; their cosine to any center is undefined"


def _lloyd_fn(source, centers, k, max_iter, tol, *, chunk, weighted, padded, splits):
    return spherical_lloyd(source, centers, k, max_iter, tol, chunk, weighted, padded, splits)


def _cosine_distances_fn(x, centers, *, chunk):
    spec = tf.TensorSpec([None, centers.shape[0]], x.dtype)
    return map_chunks(lambda xb: cosine_distances(xb, centers), x, chunk, spec, padded=True)


_lloyd = Program(_lloyd_fn, "spherical.lloyd", rows=(0,), free_shapes=True, autograph=False)
_cosine_distances = Program(
    _cosine_distances_fn, "spherical.distances", rows=(0,), free_shapes=True, autograph=False
)


def _unit(x: tf.Tensor) -> tf.Tensor:
    """``x [n, d]`` with every nonzero row scaled to unit L2 norm, in ``x``'s own
    precision: first divided by its largest magnitude, so that neither tiny nor
    huge rows under- or overflow in the squares (zero rows stay zero)."""
    top = tf.reduce_max(tf.abs(x), axis=1, keepdims=True)  # [n, 1]
    return normalize_rows(x / tf.where(top > 0, top, tf.ones_like(top)))


def unit_rows(x: tf.Tensor) -> tf.Tensor:
    """``x [n, d]`` with unit rows; a row of zero norm raises ValueError."""
    zero = np.flatnonzero(tf.reduce_max(tf.abs(x), axis=1).numpy() == 0)  # [n] -> indices
    if zero.size:
        raise ValueError(
            f"{_ZERO_ROW} ({zero.size} such rows, the first at index {zero[0]}); "
            "drop them before fitting or predicting."
        )
    return _unit(x)


def _unit_stream(dataset):
    """``dataset`` with its batches' rows normalised in float64 (zero rows stay zero,
    for ``_unit_data`` to refuse); elements it cannot read are left for ``as_data``."""
    spec = dataset.element_spec
    x_spec = spec[0] if isinstance(spec, tuple) and spec else spec
    if not isinstance(x_spec, tf.TensorSpec) or not (
        x_spec.dtype.is_floating or x_spec.dtype.is_integer
    ):
        return dataset

    def unit(*element):
        x = _unit(tf.cast(element[0], tf.float64))
        return (x,) + element[1:] if isinstance(spec, tuple) else x

    return dataset.map(unit, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)


def _unit_data(X, sample_weight, dtype, n_features=None) -> Data:
    """``X`` validated as ``as_data`` does, with L2-normalised rows in ``dtype``.

    The rows are normalised in the input's precision (a stream's in float64)
    before the cast, as the other estimators shift and scale before it: a
    spherical model depends only on the rows' directions, so data at any scale
    give the same model (a shift changes the directions: it is not undone).
    A stream is checked batch by batch for rows of zero norm.
    """
    if not is_dataset(X):
        # float64 input is checked against float64's limits (its squares are never
        # taken in dtype): no copy, as float64 is its own precision
        wide = getattr(X, "dtype", None) in (np.float64, tf.float64)
        checked = tf.float64 if wide else dtype
        data = as_data(X, sample_weight, dtype=checked, n_features=n_features, frame=PLAIN)
        x = tf.cast(unit_rows(data.raw), dtype)  # [n, d]
        w = tf.cast(data.w, dtype)
        return dataclasses.replace(data, source=(x, w), dtype=dtype, raw=None)
    data = as_data(_unit_stream(X), dtype=dtype, n_features=n_features, frame=PLAIN)

    def normalise(x, w):
        norms = tf.norm(x, axis=1, keepdims=True)  # [b, 1]
        check = tf.debugging.assert_positive(norms, message=_ZERO_ROW)
        with tf.control_dependencies([check]):
            return x / norms, w

    return dataclasses.replace(data, source=data.source.map(normalise))


def _per_batch(fn, data: Data):
    """``fn(x)`` of the rows of ``data`` (a stream batch by batch), concatenated."""
    if not data.streamed:
        return fn(data.x)
    parts = call(lambda: [fn(x) for x, _ in data.source])
    if not parts:
        raise ValueError("The dataset is empty; at least 1 sample is required.")
    return np.concatenate(parts)


@contextlib.contextmanager
def _zero_rows_as_value_error():
    """A zero row met while streaming becomes the ValueError arrays raise."""
    try:
        yield
    except tf.errors.InvalidArgumentError as exc:
        if _ZERO_ROW not in exc.message:
            raise
        raise ValueError(f"Invalid data from the dataset: {_ZERO_ROW}.") from None


class SphericalKMeans(FeatureNamesOutMixin, BaseEstimator):
    """Spherical k-means: clusters of directions, by cosine similarity.

    Every row is scaled to unit L2 norm (a row of zero norm has no direction:
    it raises ValueError, in ``fit`` as in ``predict``); each row goes to the
    center of largest cosine, and each center is the normalised weighted
    mean of its rows (a unit vector). The objective is
    ``inertia_ = sum(w * (1 - cos(x, c_label)))``. Suited to embeddings
    (image features, text embeddings) whose length carries no meaning.

    Args:
        n_clusters: number of clusters ``k``.
        init: "k-means++" (on the unit rows, i.e. by ``1 - cos``), "random"
            (``k`` rows drawn by weight), "k-means||", an array
            ``[n_clusters, n_features]`` (its rows are normalised; none may be
            zero), or a callable ``init(X, n_clusters, random_state)`` given
            the normalised rows. On a ``tf.data.Dataset``, "k-means++" runs
            as "k-means||".
        n_init: runs from different initial centers, the lowest inertia kept;
            "auto" means 10 for "random" or a callable init, else 1.
        max_iter: most iterations per run.
        tol: stop when the squared shift of the (unit) centers is at most
            ``tol * mean(var(X_normalised, axis=0))``; 0 runs until the
            labels stop changing or ``max_iter``.
        random_state: int, None, or a numpy RandomState or Generator.
        dtype: "float32" or "float64".

    Attributes:
        cluster_centers_: ``[n_clusters, n_features]`` unit mean directions.
        labels_: ``[n_samples]`` label of each training row.
        inertia_: ``sum(w * (1 - cos))`` of the training rows to their centers.
        n_iter_: iterations of the kept run.
        converged_: whether the kept run met ``tol`` before ``max_iter``.
        n_features_in_: number of features seen in ``fit``.

    Examples:
        >>> import numpy as np
        >>> from tfcluster import SphericalKMeans
        >>> X = np.array([[1., 0.], [2., 0.1], [0., 3.], [0.1, 1.]])
        >>> skm = SphericalKMeans(2, init=np.array([[1., 0.], [0., 1.]])).fit(X)
        >>> skm.labels_.tolist()
        [0, 0, 1, 1]
        >>> np.round(np.linalg.norm(skm.cluster_centers_, axis=1), 6).tolist()
        [1.0, 1.0]
        >>> skm.predict([[5., 1.]]).tolist()
        [0]
    """

    # KMeans's parameters, but ``algorithm``
    _constraints = {k: v for k, v in KMeans._constraints.items() if k != "algorithm"}

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
    ):
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state
        self.dtype = dtype

    def _check_params(self) -> tf.DType:
        return self._validate_params().dtype

    def _n_init(self) -> int:
        if self.n_init == "auto":
            random = isinstance(self.init, str) and self.init == "random"
            return 10 if random or callable(self.init) else 1
        if not isinstance(self.init, str) and not callable(self.init):
            if self.n_init != 1:
                warnings.warn(
                    "Explicit initial center position passed: performing only one init "
                    f"in SphericalKMeans instead of n_init={self.n_init}.",
                    RuntimeWarning,
                    stacklevel=3,
                )
            return 1
        return int(self.n_init)

    def fit(self, X, y=None, sample_weight=None) -> SphericalKMeans:
        """Compute the spherical k-means clustering.

        Args:
            X: ``[n_samples, n_features]`` array, nested list or tf.Tensor, or a
                ``tf.data.Dataset`` of ``[batch, n_features]`` batches (or
                tuples ``(x, y)`` / ``(x, y, sample_weight)``).
            y: ignored.
            sample_weight: ``[n_samples]`` non-negative weights, or None.

        Returns:
            self.

        Raises:
            ValueError, TypeError: bad parameters or input, a row of zero norm.
        """
        dtype = self._check_params()
        with _zero_rows_as_value_error():
            data = _unit_data(X, sample_weight, dtype)
            _, var, _, n_samples = moments(data)
            if self.n_clusters > n_samples:
                raise ValueError(
                    f"n_samples={n_samples} should be >= n_clusters={self.n_clusters}."
                )
            n_init = self._n_init()
            tol = tf.constant(float(np.mean(var)) * self.tol, dtype)
            size = bucket(self.n_clusters, None if data.streamed else n_samples * data.n_features)
            chunk = chunk_size(data.n_samples, size)
            seeds = tf.random.experimental.stateless_split(make_seed(self.random_state), n_init)
            best = None
            init = self.init
            if not isinstance(init, str) and not callable(init):  # normalised in float64
                init = check_init_array(init, self.n_clusters, data.n_features, tf.float64)
                init = unit_rows(init).numpy()
            for run in range(n_init):
                centers = initial_centers(init, data, self.n_clusters, seeds[run])
                if callable(init):
                    centers = unit_rows(centers)
                centers, n_iter, converged = call(
                    _lloyd,
                    data.source,
                    pad_rows(centers, size),
                    tf.constant(self.n_clusters, tf.int32),
                    tf.constant(int(self.max_iter), tf.int32),
                    tol,
                    chunk=chunk,
                    weighted=data.weighted,
                    padded=not data.streamed,
                    splits=parallel_splits(chunk) if not data.streamed else 1,
                )
                centers = centers[: self.n_clusters]
                labels, sq = assign(data, centers)  # sum w ||x - c||^2 = 2 sum w (1 - cos)
                if best is None or sq < best[0]:
                    best = (sq, labels, centers, int(n_iter), bool(converged))
        sq, self.labels_, centers, self.n_iter_, self.converged_ = best
        self.inertia_ = sq / 2.0
        self.cluster_centers_ = centers.numpy()
        self.n_features_in_ = data.n_features
        found = np.unique(self.labels_).size
        if found < self.n_clusters:
            warnings.warn(
                f"Number of distinct clusters ({found}) found smaller than "
                f"n_clusters ({self.n_clusters}). Possibly due to duplicate directions in X.",
                ConvergenceWarning,
                stacklevel=2,
            )
        return self

    def _n_features_out(self) -> int:
        check_is_fitted(self, "cluster_centers_")
        return int(self.cluster_centers_.shape[0])

    def _centers(self, dtype) -> tf.Tensor:
        check_is_fitted(self, "cluster_centers_")
        return tf.constant(self.cluster_centers_, dtype)

    def predict(self, X) -> np.ndarray:
        """Index of the center of largest cosine for each row.

        Args:
            X: ``[n_samples, n_features]``, or a ``tf.data.Dataset`` of batches.

        Returns:
            int32 ``[n_samples]``.

        Raises:
            ValueError: a row of zero norm (or bad input, as ``fit``).
        """
        dtype = check_dtype(self.dtype)
        centers = self._centers(dtype)

        def run(x):  # unit rows
            data = Data((x, tf.ones_like(x[:, 0])), int(x.shape[1]), int(x.shape[0]), dtype)
            return assign(data, centers)[0]

        with _zero_rows_as_value_error():
            return _per_batch(run, _unit_data(X, None, dtype, self.n_features_in_))

    def transform(self, X) -> np.ndarray:
        """Cosine distance ``1 - cos`` of each row to every center, ``[n_samples, n_clusters]``."""
        dtype = check_dtype(self.dtype)
        centers = self._centers(dtype)

        def run(x):  # unit rows
            chunk = chunk_size(int(x.shape[0]), int(centers.shape[0]) * int(centers.shape[1]))
            return _cosine_distances(x, centers, chunk=chunk).numpy()

        with _zero_rows_as_value_error():
            return _per_batch(run, _unit_data(X, None, dtype, self.n_features_in_))

    def as_layer(self, output="labels", **kwargs):
        """This fitted model as a Keras layer (``tfcluster.layers.SphericalKMeansHead``).

        Args:
            output: "labels" ``[batch]`` (-1 for a row of zero norm, for which
                ``predict`` raises) or "distances" ``[batch, n_clusters]`` (as
                ``transform``).
            **kwargs: passed to the layer (``name``, ...).
        """
        from tfcluster.layers import spherical_layer

        return spherical_layer(self, output=output, **kwargs)

    def fit_predict(self, X, y=None, sample_weight=None) -> np.ndarray:
        """Fit, then return ``labels_`` ``[n_samples]``."""
        return self.fit(X, sample_weight=sample_weight).labels_

    def fit_transform(self, X, y=None, sample_weight=None) -> np.ndarray:
        """Fit, then return ``transform(X)`` ``[n_samples, n_clusters]``."""
        return self.fit(X, sample_weight=sample_weight).transform(X)

    def score(self, X, y=None, sample_weight=None) -> float:
        """Negative ``sum(w * (1 - cos))`` of ``X`` to the fitted centers (higher is better)."""
        dtype = check_dtype(self.dtype)
        centers = self._centers(dtype)
        with _zero_rows_as_value_error():
            data = _unit_data(X, sample_weight, dtype, self.n_features_in_)
            return -assign(data, centers)[1] / 2.0

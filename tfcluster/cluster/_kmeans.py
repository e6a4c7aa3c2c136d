"""KMeans (Lloyd) and what MiniBatchKMeans shares with it.

Thin shells: they validate, convert, run the compiled loops of
``tfcluster.ops.kmeans`` over the data's batches and store fitted attributes.
The seeding (and the public ``kmeans_plusplus``) lives in
``tfcluster.cluster._seeding``, MiniBatchKMeans in ``tfcluster.cluster._minibatch``.
"""

from __future__ import annotations

import functools
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
    check_positive_int,
    convergence_warning,
    make_seed,
)
from tfcluster._constraints import DType, Int, Options, Real
from tfcluster._engine import (
    Program,
    bucket,
    chunk_size,
    pad_rows,
    parallel_splits,
    pass_bucket,
)
from tfcluster._engine.buckets import first_rows
from tfcluster._engine.checkpoint import fit_settings, resume_loop
from tfcluster._engine.driver import (
    Data,
    as_data,
    attribute_dtype,
    call,
    frame_of,
    map_rows,
    moments,
)
from tfcluster.cluster._seeding import (
    INITS,
    _chunk,
    _k,
    _pass_bucket,
    initial_centers,
    kmeans_plusplus,  # importable from this module as before
)
from tfcluster.ops import kmeans as ops
from tfcluster.ops.batching import map_chunks, reduce_batches
from tfcluster.ops.distances import masked_norms, nearest_chunked

__all__ = ["KMeans", "kmeans_plusplus", "ConvergenceWarning"]


# scikit-learn's ``algorithm`` values. Elkan's algorithm skips distance
# computations with the triangle inequality and ends where Lloyd's does; on
# chunked matmuls there is nothing to skip, so "elkan" runs Lloyd.
_ALGORITHMS = ("lloyd", "elkan")
# what ``init`` accepts before any data is read (the array's shape is checked with the data)
INIT = Options(INITS, array="[n_clusters, n_features]", callable=True)


# The compiled programs. In-memory data are ``(x [n, d], w [n])`` with a free
# row dimension; centers are padded to a bucket ``[K, d]`` with ``k`` a scalar
# tensor; so one trace serves every n_samples, k of a bucket, max_iter and tol.


def _lloyd_fn(source, centers, k, max_iter, tol, *, chunk, weighted, padded, splits):
    return ops.lloyd(source, centers, k, max_iter, tol, chunk, weighted, padded, splits)


def _inertia_fn(source, centers, k, *, chunk, padded):
    centers_sq = masked_norms(centers, k)
    return reduce_batches(
        lambda x, w: ops.assignment_stats(x, w, centers, centers_sq),
        tf.zeros([], tf.float64),
        source,
        chunk,
        padded=padded,
    )


def _nearest_fn(x, centers, k, *, chunk, splits=None):
    """Nearest-center labels ``[n]`` (``splits`` pieces a chunk; None: ``parallel_splits``)."""
    splits = parallel_splits(chunk) if splits is None else splits
    centers_sq = masked_norms(centers, k)
    return nearest_chunked(x, centers, chunk, centers_sq, padded=True, splits=splits)[0]


def _assign_fn(x, w, centers, k, *, chunk, splits=None):
    """Labels ``[n]`` and exact weighted inertia, in one pass (``splits``
    independent pieces a chunk, as the Lloyd passes; None: ``parallel_splits``)."""
    splits = parallel_splits(chunk) if splits is None else splits
    centers_sq = masked_norms(centers, k)
    spec = (tf.TensorSpec([None], tf.int32), tf.TensorSpec([None], x.dtype))
    labels, loss = map_chunks(
        lambda xb, wb: ops.assign(xb, wb, centers, centers_sq, splits),
        (x, w),
        chunk,
        spec,
        padded=True,
    )
    return labels, tf.reduce_sum(tf.cast(loss, tf.float64))  # float32 sums overflow early


def _distances_fn(x, centers, *, chunk):
    # the difference form, not the GEMM expansion: a center is at 0 from itself
    spec = tf.TensorSpec([None, centers.shape[0]], x.dtype)
    return map_chunks(
        lambda xb: tf.norm(xb[:, None, :] - centers[None, :, :], axis=-1),  # [b, K]
        x,
        chunk,
        spec,
        padded=True,
    )


_lloyd = Program(_lloyd_fn, "kmeans.lloyd", rows=(0,), free_shapes=True, autograph=False)
_inertia = Program(_inertia_fn, "kmeans.inertia", rows=(0,), free_shapes=True, autograph=False)
_nearest = Program(_nearest_fn, "kmeans.nearest", rows=(0,), free_shapes=True, autograph=False)
_assign = Program(_assign_fn, "kmeans.assign", rows=(0, 1), free_shapes=True, autograph=False)
_distances = Program(
    _distances_fn, "kmeans.distances", rows=(0,), free_shapes=True, autograph=False
)


def assign(data: Data, centers: tf.Tensor) -> tuple[np.ndarray, float]:
    """Nearest-center label of every row ``[n]`` and the weighted inertia, both of
    ``data`` and ``centers`` in compute units (the inertia too: times
    ``data.frame.scale ** 2`` for the user's units)."""
    k = int(centers.shape[0])
    padded, k_t = pad_rows(centers, _pass_bucket(k, data)), _k(k)
    if not data.streamed:
        chunk = _chunk(data, _pass_bucket(k, data))
        labels, inertia = call(_assign, data.x, data.w, padded, k_t, chunk=chunk)
        return labels.numpy(), float(inertia.numpy())
    parts, total = [], 0.0
    for x, w in data.source:
        chunk = chunk_size(int(x.shape[0]), bucket(k))
        labels, inertia = call(_assign, x, w, padded, k_t, chunk=chunk)
        parts.append(labels.numpy())
        total += float(inertia.numpy())
    return (np.concatenate(parts) if parts else np.zeros([0], np.int32)), total


class _KMeansMixin(FeatureNamesOutMixin):
    """Inference shared by KMeans and MiniBatchKMeans: needs ``cluster_centers_``."""

    def _n_features_out(self) -> int:
        check_is_fitted(self, "cluster_centers_")
        return int(self.cluster_centers_.shape[0])

    def _frame(self):
        """The compute units of inference: the centers' mean and spread."""
        check_is_fitted(self, "cluster_centers_")
        return frame_of(self.cluster_centers_)

    def _per_row(self, fn, X, columns=1):
        """``fn(x, padded centers, k, chunk)`` for ``X`` (an array or a dataset, read
        batch by batch), both in the compute units of ``_frame`` (shifted in the
        input's precision); the centers padded to their bucket, ``k`` a scalar
        tensor, chunks of ``[chunk, bucket * columns]`` elements."""
        dtype = check_dtype(self.dtype)
        frame = self._frame()
        k = int(self.cluster_centers_.shape[0])
        centers = tf.constant(frame.to_internal(self.cluster_centers_), dtype)

        def run(x):
            size = pass_bucket(k, int(x.shape[0]))
            chunk = chunk_size(int(x.shape[0]), size * columns)
            return fn(x, pad_rows(centers, size), _k(k), chunk).numpy()

        return map_rows(run, X, dtype=dtype, n_features=self.n_features_in_, frame=frame)

    def predict(self, X) -> np.ndarray:
        """Index of the nearest center of each row.

        Args:
            X: ``[n_samples, n_features]``, or a ``tf.data.Dataset`` of batches.

        Returns:
            int32 ``[n_samples]``.
        """
        return self._per_row(lambda x, c, k, chunk: _nearest(x, c, k, chunk=chunk), X)

    def transform(self, X) -> np.ndarray:
        """Euclidean distance of each row to every center, ``[n_samples, n_clusters]``.

        ``X`` may be an array or a ``tf.data.Dataset`` of batches.
        """
        scale = self._frame().scale
        distances = self._per_row(
            lambda x, c, k, chunk: _distances(x, c, chunk=chunk)[:, :k], X, self.n_features_in_
        )
        return distances * np.asarray(scale, distances.dtype) if scale != 1.0 else distances

    def fit_predict(self, X, y=None, sample_weight=None) -> np.ndarray:
        """Fit, then return ``labels_`` ``[n_samples]``."""
        return self.fit(X, sample_weight=sample_weight).labels_

    def fit_transform(self, X, y=None, sample_weight=None) -> np.ndarray:
        """Fit, then return ``transform(X)`` ``[n_samples, n_clusters]``."""
        return self.fit(X, sample_weight=sample_weight).transform(X)

    def score(self, X, y=None, sample_weight=None) -> float:
        """Negative weighted inertia of ``X`` for the fitted centers (higher is better)."""
        check_is_fitted(self, "cluster_centers_")
        frame = self._frame()
        dtype = check_dtype(self.dtype)
        data = as_data(X, sample_weight, dtype=dtype, n_features=self.n_features_in_, frame=frame)
        k = int(self.cluster_centers_.shape[0])
        size = pass_bucket(k, data.n_samples)
        chunk = chunk_size(data.n_samples, size)
        padded = pad_rows(tf.constant(frame.to_internal(self.cluster_centers_), dtype), size)
        inertia = call(_inertia, data.source, padded, _k(k), chunk=chunk, padded=not data.streamed)
        return -float(inertia.numpy()) * frame.scale**2

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
        found = int(np.count_nonzero(np.bincount(labels)))  # no sort of n labels
        if found < self.n_clusters:
            warnings.warn(
                f"Number of distinct clusters ({found}) found smaller than "
                f"n_clusters ({self.n_clusters}). Possibly due to duplicate points in X.",
                convergence_warning(),
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
        verbose: print progress on stdout as scikit-learn does
            ("Initialization complete", "Iteration i, inertia x." and how the
            run converged). With verbose, the Lloyd loop returns to Python after
            every iteration (to compute and print the inertia); without it, the
            whole loop is one compiled call.
        algorithm: "lloyd", or "elkan" accepted for code written for
            scikit-learn: Elkan's algorithm only skips distance computations
            and ends where Lloyd's does, so it runs Lloyd here.

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

    _constraints = {
        "n_clusters": Int(1),
        "n_init": Int(1, also=("auto",)),
        "max_iter": Int(1),
        "tol": Real(),
        "init": INIT,
        "algorithm": Options(_ALGORITHMS),
        "dtype": DType(),
    }

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
        algorithm="lloyd",
    ):
        self.n_clusters = n_clusters
        self.init = init
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state
        self.dtype = dtype
        self.verbose = verbose
        self.algorithm = algorithm

    def _check_params(self) -> tf.DType:
        return self._validate_params().dtype

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
            random = isinstance(self.init, str) and self.init == "random"
            n_init = 10 if random or callable(self.init) else 1  # an array: one run
        if not isinstance(self.init, str) and not callable(self.init) and n_init != 1:
            warnings.warn(
                "Explicit initial center position passed: performing only one init "
                f"in {type(self).__name__} instead of n_init={n_init}.",
                RuntimeWarning,
                stacklevel=2,
            )
            n_init = 1
        centered = data.shifted(mean)
        tol = tf.constant(float(np.mean(var)) * self.tol, tf.float64)  # tested in float64
        chunk = _chunk(data, _pass_bucket(self.n_clusters, data))
        seeds = tf.random.experimental.stateless_split(make_seed(self.random_state), n_init)
        best = None
        if checkpoint_dir is not None:
            check_positive_int("checkpoint_every", checkpoint_every)
        for run in range(n_init):
            lloyd = functools.partial(self._lloyd, centered, seeds[run], tol, chunk)
            if self.verbose:
                lloyd = _printing(lloyd, centered, float(tol))
            checkpoint, every = None, None
            if checkpoint_dir is not None:
                directory = os.path.join(checkpoint_dir, f"run-{run}")
                fingerprint = repr(
                    (mean.tolist(), var.tolist(), n_samples, fit_settings(self, seeds[run]))
                )
                checkpoint, every = (directory, fingerprint), checkpoint_every
            centers, n_iter, converged = _resumable(
                lloyd, int(self.max_iter), dtype, every, checkpoint
            )
            inertia = assign(centered, centers)[1] if n_init > 1 else None  # to choose
            if best is None or inertia < best[0]:
                best = (inertia, centers, int(n_iter), bool(converged))
        inertia, centers, self.n_iter_, self.converged_ = best
        out = attribute_dtype(centered.frame, var, dtype)
        self.cluster_centers_ = centered.frame.to_user(centers.numpy()).astype(out)
        self.n_features_in_ = data.n_features
        # labels_ in predict's units, so that they equal predict(X) bit for bit even
        # where two centers coincide up to rounding
        self.labels_, self.inertia_ = self._final_assignment(X, data, centered, centers, inertia)
        self._check_distinct(self.labels_)
        return self

    def _final_assignment(self, X, data: Data, centered: Data, centers, inertia=None):
        """``labels_`` (equal to ``predict(X)``) and ``inertia_`` of the fitted centers
        (``centers`` in the units of ``centered``, their inertia there if known).

        Where ``data`` already is in predict's units (data near the origin: the
        plain cast), one pass of predict's own program on it gives both;
        otherwise predict converts ``X`` again and the inertia is the fit's.
        """
        frame = self._frame()
        same = data.frame.scale == frame.scale and np.all(data.frame.offset == frame.offset)
        if data.streamed or not same:
            if inertia is None:
                inertia = assign(centered, centers)[1]
            return self.predict(X), inertia * centered.frame.scale**2
        k = int(self.cluster_centers_.shape[0])
        centers = tf.constant(frame.to_internal(self.cluster_centers_), data.dtype)
        size = pass_bucket(k, data.n_samples)  # as predict: the same labels
        chunk = chunk_size(data.n_samples, size)
        centers = pad_rows(centers, size)
        labels, inertia = call(_assign, data.x, data.w, centers, _k(k), chunk=chunk)
        return labels.numpy(), float(inertia.numpy()) * frame.scale**2

    def _lloyd(self, data, seed, tol, chunk, max_iter, centers=None):
        """Up to ``max_iter`` Lloyd iterations from ``centers`` (or a fresh init)."""
        if centers is None:
            centers = initial_centers(self.init, data, self.n_clusters, seed)
        k = int(centers.shape[0])
        centers, n_iter, converged = call(
            _lloyd,
            data.source,
            pad_rows(centers, _pass_bucket(k, data)),
            _k(k),
            tf.constant(int(max_iter), tf.int32),
            tol,
            chunk=chunk,
            weighted=data.weighted,
            padded=not data.streamed,
            splits=parallel_splits(chunk) if not data.streamed else 1,
        )
        return first_rows(centers, k), int(n_iter), bool(converged)


def _printing(lloyd, data: Data, tol: float):
    """``lloyd`` run one iteration per call, printing on stdout what scikit-learn's
    verbose KMeans prints. Lloyd depends only on the centers, so the result is
    the one of the whole compiled loop; the inertia printed is that of the
    centers an iteration starts from, as scikit-learn's."""
    iteration = 0

    def run(max_iter, centers=None):
        nonlocal iteration
        if centers is None:
            centers, _, _ = lloyd(0)
            print("Initialization complete")
        done, converged = 0, False
        while done < max_iter and not converged:
            inertia = assign(data, centers)[1]
            print(f"Iteration {iteration}, inertia {inertia}.")
            new, _, converged = lloyd(1, centers=centers)
            shift = float(tf.reduce_sum(tf.square(tf.cast(new - centers, tf.float64))))
            if converged and shift == 0:
                print(f"Converged at iteration {iteration}: strict convergence.")
            elif converged:
                print(
                    f"Converged at iteration {iteration}: center shift {shift} "
                    f"within tolerance {tol}."
                )
            centers, done, iteration = new, done + 1, iteration + 1
        return centers, done, converged

    return run


def _resumable(lloyd, max_iter, dtype, every=None, checkpoint=None):
    """``(centers, n_iter, converged)`` of ``lloyd`` run by ``resume_loop``.

    ``lloyd(n, centers=None)`` runs up to ``n`` iterations (from a fresh
    initialisation where ``centers`` is None: in the first segment). Lloyd
    depends only on the centers, so a fit interrupted and started again from
    the saved centers ends with the uninterrupted result.
    """

    def segment(state, n):
        centers = state["centers"] if state["n_iter"] > 0 else None  # None: initialise
        centers, done, converged = lloyd(n, centers=centers)
        return {"centers": centers, "n_iter": state["n_iter"] + done, "converged": converged}

    start = {"centers": tf.zeros([0, 0], dtype), "n_iter": 0, "converged": False}
    state = resume_loop(segment, start, max_iter, every=every, checkpoint=checkpoint)
    return state["centers"], state["n_iter"], state["converged"]

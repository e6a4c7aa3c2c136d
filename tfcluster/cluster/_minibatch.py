"""MiniBatchKMeans: the estimator shell over ``ops.kmeans.minibatch_fit``."""

from __future__ import annotations

import warnings

import numpy as np
import tensorflow as tf

from tfcluster._base import BaseEstimator, check_positive_int, make_seed
from tfcluster._constraints import DType, Int, Real
from tfcluster._engine import Program, bucket, chunk_size
from tfcluster._engine.checkpoint import fit_settings, resume_loop
from tfcluster._engine.driver import Data, as_data, attribute_dtype, call, moments
from tfcluster.cluster._kmeans import INIT, _KMeansMixin, assign
from tfcluster.cluster._seeding import initial_centers
from tfcluster.ops import kmeans as ops
from tfcluster.ops.batching import source_spec

__all__ = ["MiniBatchKMeans"]


def _fit_fn(source, state, n_steps, batch_size, seed, ratio, tol, max_no_improvement, n_samples):
    return ops.minibatch_fit(
        source,
        state,
        n_steps,
        batch_size,
        seed,
        ratio=ratio,
        tol=tol,
        max_no_improvement=max_no_improvement,
        n_samples=n_samples,
    )


def _step_fn(state, x, w, seed, ratio):
    return ops.minibatch_step(
        state, x, w, seed=seed, ratio=ratio, tol=0.0, max_no_improvement=2**30, n_samples=1
    )


def _sample_fn(source, n_rows, seed, *, chunk):
    d, dtype = source_spec(source)
    return ops.sample_rows(source, n_rows, d, seed, chunk, dtype)


# Sizes and rules go in as tensors: one trace per (dtype, n_features, k) for
# every n_samples, batch_size, max_iter, tol, ratio and max_no_improvement.
_fit = Program(_fit_fn, "minibatch.fit", rows=(0,), free_shapes=True)
_step = Program(_step_fn, "minibatch.step", rows=(1, 2), free_shapes=True)
_sample = Program(_sample_fn, "minibatch.sample", rows=(0,), free_shapes=True)


def _init_name(init) -> str:
    """How scikit-learn's verbose output names an init."""
    if isinstance(init, str):
        return init
    return getattr(init, "__name__", "callable") if callable(init) else "array"


def _scalar(value, dtype=tf.int32):
    return tf.constant(value, dtype)


class MiniBatchKMeans(_KMeansMixin, BaseEstimator):
    """Mini-batch k-means (Sculley 2010), as scikit-learn's MiniBatchKMeans.

    Each step draws ``batch_size`` rows by weight and moves every center
    toward the mean of its rows with a per-center learning rate
    ``1 / count``; centers with very low counts are moved onto batch rows.
    The whole loop is one compiled ``tf.function``. A ``tf.data.Dataset`` is
    read batch by batch, in its own order and batch size, for ``max_iter``
    passes.

    Args:
        n_clusters: number of clusters ``k``.
        init: as KMeans; "k-means++" and "random" run on ``init_size`` rows.
        max_iter: most passes over the data (``max_iter * n / batch_size`` steps).
        batch_size: rows per mini-batch (in-memory data).
        tol: stop when the squared center shift of a step is at most
            ``tol * mean(var(X))`` (0 disables it, the default).
        max_no_improvement: stop after this many steps without improvement of
            the smoothed batch inertia (None disables it).
        init_size: rows used for the initialisation (default
            ``max(3 * batch_size, 3 * n_clusters)``, at most ``n_samples``).
        n_init: "auto" (1 for "k-means++", 3 otherwise) or an int; the
            initialisation with the lowest inertia on the init rows is kept.
        reassignment_ratio: a center whose count is below this fraction of the
            largest count is moved onto a batch row.
        compute_labels: compute ``labels_`` and ``inertia_`` on the whole data
            after fitting.
        verbose: print progress on stdout as scikit-learn does: each
            initialisation's inertia, then every step's smoothed (ewa) batch
            inertia and why the fit stopped. On in-memory data the loop then
            returns to Python after every step; on a ``tf.data.Dataset`` the
            steps stay one compiled loop and only the last one is printed.
        random_state, dtype: as KMeans.

    Attributes:
        cluster_centers_: ``[n_clusters, n_features]``.
        labels_: ``[n_samples]`` (if ``compute_labels``).
        inertia_: weighted inertia of the training data (if ``compute_labels``).
        n_iter_: passes over the data; ``n_steps_``: mini-batch steps.
        converged_: whether a stopping rule ended the fit before ``max_iter``.
        n_features_in_: number of features seen in ``fit``.

    Examples:
        >>> import numpy as np
        >>> from tfcluster import MiniBatchKMeans
        >>> X = np.r_[np.zeros((50, 2)), np.full((50, 2), 10.0)]
        >>> mbk = MiniBatchKMeans(2, batch_size=20, random_state=0).fit(X)
        >>> sorted(mbk.cluster_centers_[:, 0].round(3).tolist())
        [0.0, 10.0]
    """

    _constraints = {
        "n_clusters": Int(1),
        "max_iter": Int(1),
        "batch_size": Int(1),
        "n_init": Int(1, also=("auto",)),
        "init_size": Int(1, also=(None,)),
        "max_no_improvement": Int(0, also=(None,)),
        "tol": Real(),
        "reassignment_ratio": Real(),
        "init": INIT,
        "dtype": DType(),
    }

    def __init__(
        self,
        n_clusters=8,
        *,
        init="k-means++",
        max_iter=100,
        batch_size=1024,
        verbose=0,
        compute_labels=True,
        random_state=None,
        tol=0.0,
        max_no_improvement=10,
        init_size=None,
        n_init="auto",
        reassignment_ratio=0.01,
        dtype="float32",
    ):
        self.n_clusters = n_clusters
        self.init = init
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.verbose = verbose
        self.compute_labels = compute_labels
        self.random_state = random_state
        self.tol = tol
        self.max_no_improvement = max_no_improvement
        self.init_size = init_size
        self.n_init = n_init
        self.reassignment_ratio = reassignment_ratio
        self.dtype = dtype

    def _check_params(self) -> tf.DType:
        return self._validate_params().dtype

    def _n_init(self) -> int:
        if self.n_init == "auto":
            return 1 if not isinstance(self.init, str) or self.init == "k-means++" else 3
        if not isinstance(self.init, str) and not callable(self.init):
            if self.n_init != 1:  # as scikit-learn
                warnings.warn(
                    "Explicit initial center position passed: performing only one init "
                    f"in {type(self).__name__} instead of n_init={self.n_init}.",
                    RuntimeWarning,
                    stacklevel=4,
                )
            return 1
        return self.n_init

    def _init_size(self, n_samples: int) -> int:
        """Rows drawn for the initialisation, as scikit-learn sets them."""
        init_size = self.init_size
        if init_size is None:
            init_size = max(3 * min(self.batch_size, n_samples), 3 * self.n_clusters)
        elif init_size < self.n_clusters:
            warnings.warn(
                f"init_size={init_size} should be larger than n_clusters={self.n_clusters}. "
                "Setting it to min(3*n_clusters, n_samples)",
                RuntimeWarning,
                stacklevel=4,
            )
            init_size = 3 * self.n_clusters
        return min(init_size, n_samples)

    def _initial_centers(self, data, n_samples, seed):
        """Best of ``n_init`` initialisations on ``init_size`` rows drawn by weight."""
        init_size = self._init_size(n_samples)
        n_init = self._n_init()
        seeds = tf.random.experimental.stateless_split(seed, n_init + 1)
        chunk = chunk_size(data.n_samples, bucket(self.n_clusters))
        rows = call(_sample, data.source, _scalar(init_size), seeds[-1], chunk=chunk)
        ones = tf.ones(tf.shape(rows)[:1], data.dtype)  # drawn by weight: each counts once
        n_rows = int(rows.shape[0])
        sample = Data(
            (rows, ones), data.n_features, n_rows, data.dtype, weighted=False, frame=data.frame
        )
        best = None
        for run in range(n_init):
            if self.verbose:
                print(f"Init {run + 1}/{n_init} with method {_init_name(self.init)}")
            scalable = isinstance(self.init, str) and self.init == "k-means||"
            source = data if scalable or not isinstance(self.init, str) else sample
            centers = initial_centers(self.init, source, self.n_clusters, seeds[run])
            _, inertia = assign(sample, centers)
            if self.verbose:
                print(f"Inertia for init {run + 1}/{n_init}: {inertia}")
            if best is None or inertia < best[0]:
                best = (inertia, centers)
        return best[1]

    def fit(
        self, X, y=None, sample_weight=None, *, checkpoint_dir=None, checkpoint_every=100
    ) -> MiniBatchKMeans:
        """Compute the centers by mini-batch k-means.

        Args:
            X: as ``KMeans.fit``; a ``tf.data.Dataset`` supplies the mini-batches.
            y: ignored.
            sample_weight: ``[n_samples]`` or None (in-memory data).
            checkpoint_dir: if given, the state is saved there with
                ``tf.train.Checkpoint`` every ``checkpoint_every`` steps; a fit
                started again with the same directory continues from the last
                save to the same result.
            checkpoint_every: mini-batch steps between saves.

        Returns:
            self.
        """
        dtype = self._check_params()
        data = as_data(X, sample_weight, dtype=dtype)
        mean, var, _, n_samples = moments(data)
        if self.n_clusters > n_samples:
            raise ValueError(f"n_samples={n_samples} should be >= n_clusters={self.n_clusters}.")
        centered = data.shifted(mean)
        seed_init, seed_fit = tf.unstack(
            tf.random.experimental.stateless_split(make_seed(self.random_state), 2)
        )
        centers = self._initial_centers(centered, n_samples, seed_init)
        batch_size = min(int(self.batch_size), n_samples)  # as scikit-learn
        n_steps = max((int(self.max_iter) * n_samples) // batch_size, 1)
        source = centered.source.repeat(self.max_iter) if data.streamed else centered.source
        if data.streamed:  # the dataset's batches are the steps; at most max_iter passes
            n_steps = 2**62
        rules = (
            _scalar(float(self.reassignment_ratio), dtype),
            _scalar(float(np.mean(var)) * self.tol, tf.float64),  # tested in float64
            _scalar(2**30 if self.max_no_improvement is None else int(self.max_no_improvement)),
            _scalar(n_samples, tf.int64),
        )
        checkpoint, every = None, None  # None: one compiled call
        if checkpoint_dir is not None:
            check_positive_int("checkpoint_every", checkpoint_every)
            settings = fit_settings(self, tf.stack([seed_init, seed_fit]))
            checkpoint = (checkpoint_dir, repr((mean.tolist(), var.tolist(), n_samples, settings)))
            every = checkpoint_every
        if self.verbose and not data.streamed:
            every = 1  # back to Python after every step, to print it

        def segment(state, n):
            done = int(state.step)
            part = source.skip(done).take(n) if data.streamed else source
            steps = tf.constant(min(done + n, 2**31 - 1))  # a tensor: one trace for all segments
            state = call(_fit, part, state, steps, _scalar(batch_size), seed_fit, *rules)
            if self.verbose:
                self._report(state, None if data.streamed else n_steps)
            return state

        state = resume_loop(
            segment,
            ops.minibatch_state(centers),
            n_steps,
            every=every,
            checkpoint=checkpoint,
            count="step",
            stop="stop",
        )
        centers, counts = state.centers, state.counts
        steps, seen = int(state.step), int(state.seen)
        self._counts = counts.numpy()
        self.n_steps_ = steps
        self.n_iter_ = int(np.ceil(seen / n_samples))
        self.converged_ = bool(state.stop)
        frame = centered.frame
        # partial_fit goes on from here, in the same compute units
        self._state, self._units = state, (frame, var)
        self.cluster_centers_ = frame.to_user(centers.numpy()).astype(
            attribute_dtype(frame, var, dtype)
        )
        self.n_features_in_ = data.n_features
        if self.compute_labels:
            _, inertia = assign(centered, centers)
            self.inertia_ = inertia * frame.scale**2
            self.labels_ = self.predict(X)  # in predict's units: equal to predict(X)
        if self.compute_labels:
            self._check_distinct(self.labels_)
        return self

    def _report(self, state, n_steps) -> None:
        """Print the last step of ``state`` as scikit-learn's verbose MiniBatchKMeans."""
        step, ewa, stale = int(state.step), float(state.ewa), int(state.stale)
        stop = bool(state.stop)
        of = "" if n_steps is None else f"/{n_steps}"
        if np.isnan(ewa):  # the first step only starts the moving average
            print(f"Minibatch step {step}{of}: initialised the ewa inertia")
        else:
            print(f"Minibatch step {step}{of}: ewa inertia: {ewa}")
        limit = self.max_no_improvement
        if stop and limit is not None and stale >= limit:
            print(f"Converged (lack of improvement in inertia) at step {step}{of}")
        elif stop:
            print(f"Converged (small centers change) at step {step}{of}")

    def partial_fit(self, X, y=None, sample_weight=None) -> MiniBatchKMeans:
        """Update the centers with one mini-batch ``X`` (in memory).

        The first call (on an unfitted estimator) initialises the centers from
        ``X`` and fixes the compute units from it (shifted, and scaled by a power
        of two, in float64 before the cast, as ``fit``); later calls keep them,
        so far from the origin the float32 centers keep their digits. After
        ``fit``, it continues from the fitted state, in fit's units.

        Args:
            X: ``[n_samples, n_features]`` array or tensor (not a Dataset: loop
                over its batches and call ``partial_fit`` on each).
            y: ignored.
            sample_weight: ``[n_samples]`` or None.

        Returns:
            self.
        """
        dtype = self._check_params()
        if isinstance(X, tf.data.Dataset):
            raise TypeError(
                "partial_fit takes one in-memory mini-batch, not a tf.data.Dataset; "
                "call fit(dataset), or partial_fit on each batch."
            )
        fitted = hasattr(self, "cluster_centers_")
        n_features = self.n_features_in_ if fitted else None
        if fitted:
            self._check_same_state(dtype)
        # the compute units are fixed by the first call's batch (its frame, in float64,
        # then moved to its mean) and kept across calls, as fit's frame is
        frame = self._units[0] if fitted else None
        data = as_data(X, sample_weight, dtype=dtype, n_features=n_features, frame=frame)
        seed = make_seed(self.random_state)
        if not fitted:
            if self.n_clusters > data.n_samples:
                raise ValueError(
                    f"n_samples={data.n_samples} should be >= n_clusters={self.n_clusters}."
                )
            mean, var, _, _ = moments(data)
            data = data.shifted(mean)
            centers = initial_centers(self.init, data, self.n_clusters, seed)
            self._state, self._units = ops.minibatch_state(centers), (data.frame, var)
            self.n_steps_ = 0
            self.n_features_in_ = data.n_features
        ratio = _scalar(float(self.reassignment_ratio), dtype)
        state = call(_step, self._state, data.x, data.w, seed, ratio)
        self._state = state
        frame, var = self._units
        self.cluster_centers_ = frame.to_user(state.centers.numpy()).astype(
            attribute_dtype(frame, var, dtype)
        )
        self._counts = state.counts.numpy()
        self.n_steps_ += 1
        if self.compute_labels:
            _, inertia = assign(data, state.centers)
            self.inertia_ = inertia * frame.scale**2
            self.labels_ = self.predict(X)  # in predict's units: equal to predict(X)
        return self

    def _check_same_state(self, dtype) -> None:
        """Raise if ``n_clusters`` or ``dtype`` changed since the centers were fitted."""
        centers = self._state.centers
        fitted = (int(centers.shape[0]), centers.dtype.name)
        now = (int(self.n_clusters), dtype.name)
        if fitted != now:
            raise ValueError(
                f"partial_fit continues from the fitted centers ({fitted[0]} clusters, "
                f"{fitted[1]}), but n_clusters={now[0]} and dtype={now[1]!r} now. Call "
                "fit to start again with the new parameters."
            )

"""Self-organizing map (Kohonen): SelfOrganizingMap.

A thin shell over ``tfcluster.ops.som``: it validates, builds the initial
codebook, runs the compiled online loop or the batch map over the data's
batches, and offers MiniSom's diagnostics with MiniSom's definitions.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import tensorflow as tf

from tfcluster._base import (
    BaseEstimator,
    FeatureNamesOutMixin,
    check_is_fitted,
    check_option,
    check_positive_int,
    make_seed,
    split_seed,
)
from tfcluster._constraints import DType, Int, OneOf, Options, Real
from tfcluster._engine import Program, pad_rows
from tfcluster._engine.checkpoint import fit_settings
from tfcluster._engine.driver import Frame, as_data, attribute_dtype, call, frame_of, map_rows
from tfcluster._validation import check_array
from tfcluster.ops import som as ops
from tfcluster.ops.batching import map_chunks
from tfcluster.som import _fit as fitting
from tfcluster.som._extras import MiniSomMethods, check_activation_distance, check_fixed_points

__all__ = ["SelfOrganizingMap"]


# The compiled inference programs: ``x [n, d]`` with a free row dimension and
# static padded chunks, so a new number of samples traces nothing.


@tf.autograph.experimental.do_not_convert
def _winners_fn(x, w, size, *, distance, chunk):
    return ops.winners(x, w, distance, chunk, padded=True, size=size)


@tf.autograph.experimental.do_not_convert
def _transform_fn(x, w, *, distance, chunk):
    spec = tf.TensorSpec([None, w.shape[0]], x.dtype)
    return map_chunks(lambda xb: ops.activation(xb, w, distance), x, chunk, spec, padded=True)


@tf.autograph.experimental.do_not_convert
def _two_best_fn(x, w, *, chunk):
    spec = tf.TensorSpec([None, 2], tf.int32)
    return map_chunks(lambda xb: ops.best_two(xb, w), x, chunk, spec, padded=True)


_winners_program = Program(_winners_fn, "som.winners", rows=(0,), free_shapes=True)
_transform = Program(_transform_fn, "som.transform", rows=(0,), free_shapes=True)
_two_best = Program(_two_best_fn, "som.two_best", rows=(0,), free_shapes=True)


class SelfOrganizingMap(MiniSomMethods, FeatureNamesOutMixin, BaseEstimator):
    """Self-organizing map on an ``m x n`` grid, trained online or in batch.

    ``mode="online"`` is the sequential Kohonen rule of ``MiniSom.train``, one
    sample per step, the steps run in fixed blocks through one XLA kernel;
    ``mode="batch"`` is the batch map of ``MiniSom.train_batch_offline``, one
    pass per epoch accumulating neighbourhood-weighted sums, all epochs one
    compiled loop, so it also takes
    a ``tf.data.Dataset`` and ``sample_weight``. Neighbourhoods, hexagonal
    layout, decay schedules, quantization and topographic errors and the
    U-matrix follow MiniSom 2.3.6's definitions, so the same codebook gives the
    same numbers.

    Compilation: the programs are traced once per (dtype, n_features, node
    bucket, options), where the node bucket is ``m * n`` rounded up to 16,
    32, 64, ... (padding nodes never win). A new ``num_iteration``,
    ``epochs``, ``learning_rate``, ``sigma``, number of samples or map size
    within a bucket traces and compiles nothing.

    Args:
        m: rows of the map (MiniSom's ``x``).
        n: columns of the map (MiniSom's ``y``).
        sigma: initial neighbourhood spread (> 0).
        learning_rate: initial learning rate (> 0).
        neighborhood_function: "gaussian", "mexican_hat", "bubble" or "triangle".
        topology: "rectangular" or "hexagonal".
        activation_distance: "euclidean", "cosine", "manhattan" or "chebyshev"
            (``max |x - w|``; MiniSom 2.3.6 forgets the absolute value), used
            to find the winners; quantization and topographic errors are
            Euclidean as in MiniSom. Or a callable ``f(x, w) -> [b, m * n]``
            written with TensorFlow ops (it runs inside the compiled loops):
            ``x [b, n_features]`` samples, ``w [m * n, n_features]`` the
            codebook's nodes in ``predict``'s order; smaller is closer. MiniSom's
            callables take one sample and ``[m, n, n_features]`` numpy weights
            instead, e.g. ``lambda x, w: tf.reduce_sum(tf.abs(x[:, None] -
            w[None]), -1)`` is MiniSom's "manhattan". Data are not shifted
            before a callable (it need not be translation invariant); a map
            with a callable has no ``as_layer``.
        decay_function: learning-rate decay "asymptotic" (``lr / (1 + t / (T / 2))``),
            "inverse" (to zero, ``lr * C / (C + t)``, ``C = T / 100``), "linear"
            (to zero), MiniSom's full names, or a callable ``f(lr, t, T)``.
        sigma_decay_function: sigma decay "asymptotic", "inverse" (to one),
            "linear" (to one), MiniSom's full names, or a callable ``f(sigma, t, T)``.
        init: "random" (rows of the data drawn with replacement), "pca"
            (the plane of the two leading principal components, MiniSom's
            ``pca_weights_init``: ``mean + c1 * pc1 + c2 * pc2`` with ``c1``,
            ``c2`` on ``linspace(-1, 1)`` along the rows and columns) or a
            codebook ``[m, n, n_features]`` used as given. An eigenvector's sign
            is arbitrary; here each principal component is flipped so that its
            largest entry (in absolute value) is positive, so the map's
            orientation is reproducible (MiniSom keeps the sign its
            eigensolver returns, so its PCA map may be mirrored).
        toroidal: wrap the grid around both axes (hexagonal needs an even ``n``).
        mode: "online" (one sample per step, MiniSom's ``train``) or "batch"
            (one update per pass over the data, ``train_batch_offline``).
        num_iteration: online steps, each one sample (MiniSom's
            ``num_iteration``); None: ``500 * m * n``. Not with ``mode="batch"``.
        epochs: passes over the data. Online: ``epochs * n_samples`` steps
            with the decay evaluated per epoch (MiniSom's ``use_epochs``).
            Batch: one update per epoch; None: 10. Give ``num_iteration`` or
            ``epochs``, not both.
        random_order: online only, visit samples in a random order
            (``arange(steps) % n_samples`` shuffled, or one permutation
            repeated per epoch) rather than in sequence.
        random_state: int, None, or a numpy RandomState or Generator; the
            same int gives the same weights.
        dtype: "float32" or "float64".

    Attributes:
        weights_: ``[m, n, n_features]`` the codebook.
        labels_: ``[n_samples]`` flat index ``i * n + j`` of each training
            sample's best-matching unit.
        n_iter_: updates made (steps online, epochs in batch mode).
        n_features_in_: number of features seen in ``fit``.

    Examples:
        >>> import numpy as np
        >>> from tfcluster.som._som import SelfOrganizingMap
        >>> X = np.array([[0.0, 0.0], [0.1, 0.0], [5.0, 5.0], [5.1, 5.0]])
        >>> init = [[[0.0, 0.0], [5.0, 5.0]]]
        >>> som = SelfOrganizingMap(1, 2, init=init, num_iteration=20, random_state=0)
        >>> som.fit(X).predict(X).tolist()
        [0, 0, 1, 1]
        >>> som.winner([5.0, 4.9])
        (0, 1)
        >>> batch = SelfOrganizingMap(1, 2, init=init, mode="batch", epochs=3).fit(X)
        >>> batch.n_iter_, batch.fit(X, epochs=5).n_iter_  # a fit argument wins
        (3, 5)
    """

    # the constructor's (``fitting.check_params`` builds the frozen ``fitting.Config``
    # from it); ``mode`` and the training length, which ``fit`` may override, are
    # checked per fit by ``fitting.iteration_plan``
    _constraints = {
        "m": Int(1),
        "n": Int(1),
        "neighborhood_function": Options(tuple(ops.NEIGHBORHOODS)),
        "topology": Options(ops.TOPOLOGIES),
        "activation_distance": Options(tuple(ops.ACTIVATIONS), callable=True),
        "toroidal": OneOf(True, False),
        "init": Options(fitting.INITS, array="[m, n, n_features]"),
        "sigma": Real(strict=True),
        "learning_rate": Real(strict=True),
        "decay_function": Options(ops.LEARNING_RATE_DECAYS, callable=True),
        "sigma_decay_function": Options(ops.SIGMA_DECAYS, callable=True),
        "dtype": DType(),
    }

    def __init__(
        self,
        m=10,
        n=10,
        *,
        sigma=1.0,
        learning_rate=0.5,
        neighborhood_function="gaussian",
        topology="rectangular",
        activation_distance="euclidean",
        decay_function="asymptotic",
        sigma_decay_function="asymptotic",
        init="random",
        toroidal=False,
        mode="online",
        num_iteration=None,
        epochs=None,
        random_order=True,
        random_state=None,
        dtype="float32",
    ):
        self.m = m
        self.n = n
        self.sigma = sigma
        self.learning_rate = learning_rate
        self.neighborhood_function = neighborhood_function
        self.topology = topology
        self.activation_distance = activation_distance
        self.decay_function = decay_function
        self.sigma_decay_function = sigma_decay_function
        self.init = init
        self.toroidal = toroidal
        self.mode = mode
        self.num_iteration = num_iteration
        self.epochs = epochs
        self.random_order = random_order
        self.random_state = random_state
        self.dtype = dtype

    # ------------------------------------------------------------ fitting

    def fit(
        self,
        X,
        y=None,
        *,
        num_iteration=None,
        epochs=None,
        mode=None,
        random_order=None,
        sample_weight=None,
        checkpoint_dir=None,
        checkpoint_every=1,
        fixed_points=None,
    ):
        """Train the map.

        The training length is set by the constructor's ``mode``,
        ``num_iteration``, ``epochs`` and ``random_order`` (so that ``clone``,
        ``sweep`` and ``ImageClusterer`` carry it). For MiniSom-style use the
        same names may be given here for this one fit: a value given to ``fit``
        wins over the constructor's, and ``num_iteration``/``epochs`` count as
        one choice (either given here replaces both constructor values).

        Args:
            X: ``[n_samples, n_features]`` array, or (batch mode) a
                ``tf.data.Dataset`` of batches ``x`` or ``(x, y[, sample_weight])``.
            y: ignored.
            num_iteration: online steps for this fit (None: the constructor's).
            epochs: passes over the data for this fit (None: the constructor's).
            mode: "online" or "batch" for this fit (None: the constructor's).
            random_order: online visiting order for this fit (None: the constructor's).
            sample_weight: ``[n_samples]`` non-negative weights (batch mode).
            checkpoint_dir: batch mode: save the codebook there with
                ``tf.train.Checkpoint`` every ``checkpoint_every`` epochs; a fit
                started again with the same directory continues from the last
                save to the same result (another fit's checkpoint is refused).
            checkpoint_every: epochs between saves.
            fixed_points: online only, MiniSom's ``{sample index: (i, j)}``:
                whenever sample ``k`` is visited, node ``(i, j)`` is its winner
                instead of its best-matching unit (``labels_`` and ``predict``
                still give the best-matching unit).

        Returns:
            self.

        Raises:
            ValueError, TypeError: a bad parameter or input (the message says which).
        """
        cfg = fitting.check_params(self)
        length = fitting.training_length(self, mode, num_iteration, epochs, random_order)
        plan_mode = check_option("mode", length["mode"], fitting.MODES)
        if plan_mode == "online":
            if isinstance(X, tf.data.Dataset):
                raise ValueError(
                    "mode='online' needs the samples in memory; use mode='batch' for a "
                    "tf.data.Dataset."
                )
            if sample_weight is not None:
                raise ValueError("sample_weight is supported with mode='batch' only.")
        data = as_data(X, sample_weight, dtype=cfg.dtype)
        if cfg.distance == "cosine" and np.any(data.frame.offset):
            # cosine is not translation invariant: those data keep their origin
            origin = Frame(np.zeros([data.n_features]))
            data = as_data(X, sample_weight, dtype=cfg.dtype, frame=origin)
        plan = fitting.iteration_plan(length, data.n_samples, cfg.size)
        fixed = None
        if fixed_points is not None:
            if plan.mode != "online":
                raise ValueError("fixed_points is for mode='online' (MiniSom's train).")
            fixed = check_fixed_points(fixed_points, data.n_samples, (cfg.m, cfg.n))
        seed = make_seed(self.random_state)
        w0 = fitting.initial_codebook(self.init, data, cfg, split_seed(seed, 2)[0])
        if callable(cfg.distance):
            rows = next(iter(data.source))[0] if data.streamed else data.x
            check_activation_distance(cfg.distance, rows, w0)
        checkpoint = None
        if checkpoint_dir is not None:
            if plan.mode != "batch":
                raise ValueError(
                    "checkpoint_dir is for mode='batch' (saved between epochs); an online "
                    "fit is one compiled loop."
                )
            check_positive_int("checkpoint_every", checkpoint_every)
            # the settings of this fit: constructor arguments with the fit's overrides
            settings = fit_settings(self, seed, **length)
            fingerprint = repr((float(np.sum(w0)), w0.shape, settings, plan.steps, data.n_samples))
            checkpoint = (checkpoint_dir, fingerprint, checkpoint_every)
        weights = fitting.train(data, w0, cfg, plan, seed, checkpoint, fixed)
        spread = np.var(weights.reshape(-1, data.n_features), axis=0)
        self.weights_ = data.frame.to_user(weights).astype(
            attribute_dtype(data.frame, spread, cfg.dtype)
        )
        self.n_features_in_ = data.n_features
        self.n_iter_ = int(plan.steps)
        if data.streamed:
            parts = [self._winners(x, checked=data.frame) for x, _ in data.source]
            self.labels_ = np.concatenate(parts) if parts else np.zeros([0], np.int32)
        else:
            self.labels_ = self._winners(data.x, checked=data.frame)
        return self

    def fit_predict(self, X, y=None, **fit_params):
        """``fit(X, **fit_params).labels_``: best-matching unit of each sample ``[n]``."""
        return self.fit(X, **fit_params).labels_

    # ------------------------------------------------------------ helpers

    def _n_features_out(self) -> int:
        check_is_fitted(self, "weights_")
        return int(np.prod(np.shape(self.weights_)[:2]))  # one distance per node

    def _fitted(self):
        check_is_fitted(self, "weights_")
        cfg = fitting.check_params(self)
        w = np.asarray(self.weights_)
        if w.ndim != 3:
            raise ValueError(f"weights_ must be [m, n, n_features]; got shape {w.shape}.")
        return cfg, w

    def _frame(self) -> Frame:
        """The compute units of inference: about the codebook (its origin kept
        for the cosine distance, which is not translation invariant)."""
        cfg, w = self._fitted()
        frame = frame_of(w)
        return Frame(np.zeros_like(frame.offset)) if cfg.distance == "cosine" else frame

    def _prepare(self, X, euclidean=False, checked=None):
        """``(x - shift, w - shift, cfg)`` as tensors of the fit dtype, in compute
        units; ``checked``: the ``Frame`` a checked tensor ``X`` is already in."""
        cfg, w = self._fitted()
        d = w.shape[-1]
        if checked is None:
            checked = self._frame()
            x = as_data(X, dtype=cfg.dtype, n_features=d, frame=checked).x
        else:
            x = X
        if euclidean:
            cfg = fitting.dataclasses.replace(cfg, distance="euclidean")
        flat = tf.constant(checked.to_internal(w.reshape(-1, d)), cfg.dtype)
        if cfg.distance == "cosine" or callable(cfg.distance):
            return x, flat, cfg
        # Distances are translation invariant: centre on the queried samples, so
        # that nodes far from the data (mexican hat) cannot cost float accuracy;
        # an integer shift keeps integer data exact (exact ties stay ties).
        shift = tf.round(tf.reduce_mean(x, axis=0))
        return x - shift, flat - shift, cfg

    def _winners(self, X, checked=None) -> np.ndarray:
        x, w, cfg = self._prepare(X, checked=checked)
        labels = call(self._winners_padded, x, w, cfg, cfg.distance)
        return labels.numpy().astype(np.int32)  # as every estimator's labels

    @staticmethod
    def _winners_padded(x, w, cfg, distance):
        """Winners of ``x [b, d]`` among ``w [m * n, d]``, the codebook padded to
        ``cfg.nodes`` (one program per bucket of map sizes, not per map size)."""
        chunk = cfg.chunk(w.shape[1], int(x.shape[0]))
        size = tf.constant(cfg.size, tf.int32)
        return _winners_program(x, pad_rows(w, cfg.nodes), size, distance=distance, chunk=chunk)

    def _grid_shape(self):
        check_is_fitted(self, "weights_")
        return tuple(np.asarray(self.weights_).shape[:2])

    # ------------------------------------------------------------ inference

    def winner(self, x):
        """Grid position ``(i, j)`` of the best-matching unit of one sample, given as
        ``[n_features]`` or, as MiniSom accepts it, one row ``[1, n_features]``."""
        arr = np.asarray(x)
        if arr.ndim == 2 and arr.shape[0] == 1:
            arr = arr[0]
        if arr.ndim != 1:
            raise ValueError(
                f"x must be one sample, 1-D [n_features] or one row [1, n_features]; got "
                f"shape {arr.shape}."
            )
        k = int(self._winners(arr[None, :])[0])
        return tuple(int(v) for v in np.unravel_index(k, self._grid_shape()))

    def as_layer(self, output="bmu", **kwargs):
        """This fitted map as a Keras layer (``tfcluster.layers.SOMHead``).

        Args:
            output: "bmu" (flat winner index ``[batch]``), "coords" (``(i, j)``
                ``[batch, 2]``) or "distances" ``[batch, m * n]``.
            **kwargs: passed to the layer (``name``, ...).

        Raises:
            ValueError: the map's ``activation_distance`` is a callable.
        """
        from tfcluster.layers import som_layer

        if callable(self.activation_distance):
            raise ValueError(
                "as_layer needs a named activation_distance (a Keras layer is saved by its "
                "config); this map was trained with a callable."
            )
        return som_layer(self, output=output, **kwargs)

    def _per_row(self, fn, X):
        """``fn(checked x, frame)`` for ``X``, an array or a dataset read batch by
        batch, in the compute units ``frame``."""
        cfg, w = self._fitted()
        frame = self._frame()
        run = lambda x: fn(x, frame)  # noqa: E731
        return map_rows(run, X, dtype=cfg.dtype, n_features=w.shape[-1], frame=frame)

    def predict(self, X):
        """Flat index ``i * n + j`` of each sample's best-matching unit: ``[n_samples]``.

        ``X`` may be an array or a ``tf.data.Dataset`` of batches.
        """
        return self._per_row(lambda x, frame: self._winners(x, checked=frame), X)

    def transform(self, X):
        """Activation distances from each sample to every node: ``[n_samples, m * n]``.

        ``X`` may be an array or a ``tf.data.Dataset`` of batches.
        """

        def distances(x, frame):
            x, w, cfg = self._prepare(x, checked=frame)
            chunk = cfg.chunk(w.shape[1], int(x.shape[0]))
            out = _transform(x, w, distance=cfg.distance, chunk=chunk).numpy()
            # cosine distances have no unit; the others are in compute units
            return out if cfg.distance == "cosine" else out * out.dtype.type(frame.scale)

        return self._per_row(distances, X)

    def quantization(self, X):
        """Codebook vector of each sample's Euclidean best unit ``[n_samples, n_features]``."""
        x, w, cfg = self._prepare(X, euclidean=True)
        idx = self._winners_padded(x, w, cfg, "euclidean")
        return np.asarray(self.weights_).reshape(w.shape)[idx.numpy()]

    def quantization_error(self, X):
        """Mean Euclidean distance from each sample to its best unit's codebook vector."""
        x = check_array(X, dtype=tf.float64, n_features=self._fitted()[1].shape[-1]).numpy()
        return float(np.mean(np.linalg.norm(x - self.quantization(X), axis=1)))

    def topographic_error(self, X):
        """Share of samples whose two best units (Euclidean) are not grid neighbours.

        Rectangular: neighbours within index distance 1.42 (the 8 around a
        node); hexagonal: at distance 1; wrapped around on a toroidal map.

        Raises:
            ValueError: a 1 x 1 map (no second unit).
        """
        x, w, cfg = self._prepare(X, euclidean=True)
        if cfg.size < 2:
            raise ValueError("The topographic error is not defined for a 1 x 1 map.")
        pairs = _two_best(x, w, chunk=cfg.chunk(w.shape[1], int(x.shape[0])))
        m, n = self._grid_shape()
        errors = ops.topographic_errors(pairs, (m, n), cfg.topology, cfg.toroidal, tf.float64)
        return float(tf.reduce_mean(errors).numpy())

    def distance_map(self, scaling="sum"):
        """U-matrix ``[m, n]``: each node's sum (or mean) Euclidean distance to its
        grid neighbours, divided by the largest value (MiniSom's ``distance_map``).
        """
        scaling = check_option("scaling", scaling, fitting.SCALINGS)
        cfg, w = self._fitted()
        um = ops.umatrix(
            tf.constant(w.reshape(-1, w.shape[-1]), tf.float64),
            w.shape[:2],
            cfg.topology,
            cfg.toroidal,
            scaling,
        )
        return um.numpy()

    def activation_response(self, X):
        """How many samples each node wins: ``[m, n]`` float."""
        m, n = self._grid_shape()
        counts = np.bincount(self._winners(X), minlength=m * n)
        return counts.reshape(m, n).astype(np.float64)

    def win_map(self, X, return_indices=False):
        """Dict ``(i, j) -> list`` of the samples (or their indices) each node wins."""
        rows = np.asarray(X)
        labels = self._winners(X)
        out = defaultdict(list)
        m, n = self._grid_shape()
        for idx, k in enumerate(labels):
            out[(int(k // n), int(k % n))].append(idx if return_indices else rows[idx])
        return out

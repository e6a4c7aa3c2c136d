"""Gaussian mixture fitted by expectation-maximisation: GaussianMixture.

A thin shell: it validates, centres the data, runs the compiled EM loop of
``tfcluster.ops.mixture`` over the data's batches and stores the fitted
attributes, with scikit-learn's names, shapes and convergence rule.

The compiled programs take the components padded to ``bucket(k)`` (masked
beyond ``k``) and every size or hyperparameter (``k``, ``n_samples``,
``max_iter``, ``tol``, ``reg_covar``) as a tensor: one trace per
(covariance type, dtype, n_features, bucket, chunk), whatever the sweep.
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
    check_dtype,
    check_is_fitted,
    check_positive_int,
    convergence_warning,
    make_seed,
    split_seed,
)
from tfcluster._constraints import DType, Int, Options, Real
from tfcluster._engine import Program, bucket, chunk_size
from tfcluster._engine.checkpoint import fit_settings
from tfcluster._engine.driver import as_data, attribute_dtype, call, map_rows, moments
from tfcluster._validation import check_n_features
from tfcluster.mixture import _units as units
from tfcluster.mixture._em_loop import EM_PROGRAM, run_em
from tfcluster.mixture._init import (
    check_means_init,
    check_precisions_init,
    check_weights_init,
    covariance_shape,
    em_chunk,
    fit_bucket,
    initial_parameters,
)
from tfcluster.mixture._outputs import MixtureOutputs
from tfcluster.ops import mixture as ops
from tfcluster.ops.batching import map_chunks, reduce_batches

__all__ = ["GaussianMixture"]

_COVARIANCE_TYPES = ops.COVARIANCE_TYPES
_INIT_PARAMS = ("kmeans", "k-means++", "random", "random_from_data")


# The compiled programs: in-memory data are ``(x [n, d], w [n])`` with a free
# row dimension, cut into static padded chunks; the parameters are padded to
# ``K = bucket(k)`` components with ``k`` a scalar tensor.


def _score_fn(x, params, k, *, covariance_type, chunk):
    dtype, size = x.dtype, params[1].shape[0]
    spec = (
        tf.TensorSpec([None], dtype),
        tf.TensorSpec([None, size], dtype),
        tf.TensorSpec([None], tf.int32),
    )

    def rows(xb):
        return ops.score_and_resp(xb, *params, covariance_type, k)

    return map_chunks(rows, x, chunk, spec, padded=True)


def _log_likelihood_fn(source, params, k, *, covariance_type, chunk, padded):
    def stats(x, w):
        # summed in float64: far rows have log-likelihoods whose float32 sum rounds badly
        norm, _ = ops.log_resp(x, *params, covariance_type, k)
        norm, w = tf.cast(norm, tf.float64), tf.cast(w, tf.float64)  # float32 sums drift
        return tf.reduce_sum(tf.math.multiply_no_nan(norm, w)), tf.reduce_sum(w)

    zero = tf.zeros([], tf.float64)
    return reduce_batches(stats, (zero, zero), source, chunk, padded=padded)


_SCORE = Program(_score_fn, "mixture.score", rows=(0,), free_shapes=True)
_LOG_LIKELIHOOD = Program(
    _log_likelihood_fn, "mixture.log_likelihood", rows=(0,), free_shapes=True
)
# the EM program of each covariance type (a dict: tests interrupt one of them)
_EM = {ct: functools.partial(EM_PROGRAM, covariance_type=ct) for ct in ops.COVARIANCE_TYPES}


class GaussianMixture(MixtureOutputs, BaseEstimator):
    """Gaussian mixture model fitted by EM, compiled and on device.

    The E step (log-sum-exp stable; batched Cholesky factors and one GEMM per
    chunk for full covariances) and the M-step statistics run chunk by chunk
    inside one ``tf.function`` holding the whole EM loop, so memory is bounded
    by a chunk and a ``tf.data.Dataset`` gives exactly the in-memory EM.
    Results match ``sklearn.mixture.GaussianMixture`` from the same
    initialisation, including its convergence rule, ``lower_bound_`` and
    ``n_iter_``; ``fit`` also accepts ``sample_weight`` (weighted EM).

    Args:
        n_components: number of mixture components ``k``.
        covariance_type: "full" (one matrix per component), "tied" (one matrix
            shared), "diag" (one diagonal per component) or "spherical" (one
            variance per component).
        tol: stop when the mean log-likelihood changes by less than ``tol``.
        reg_covar: non-negative value added to the diagonal of covariances.
        max_iter: most EM iterations per initialisation (0: only initialise).
        n_init: number of initialisations; the best lower bound is kept.
        init_params: "kmeans" (tfcluster's KMeans labels), "k-means++" (one
            seed row per component), "random" (random responsibilities) or
            "random_from_data" (random distinct rows as components).
        weights_init: ``[k]`` initial weights summing to 1, or None.
        means_init: ``[k, n_features]`` initial means, or None.
        precisions_init: initial precisions (inverse covariances), shaped as
            ``covariances_``, or None. What is not given comes from ``init_params``.
        warm_start: start each ``fit`` from the previous solution (one init).
        random_state: int, None, or a numpy RandomState or Generator; the
            same int gives the same result.
        dtype: "float32" or "float64".
        verbose: print the outcome of each initialisation.

    Attributes:
        weights_: ``[k]`` mixing weights.
        means_: ``[k, n_features]``.
        covariances_: ``[k, d, d]`` full, ``[d, d]`` tied, ``[k, d]`` diag,
            ``[k]`` spherical (``d = n_features``).
        precisions_: inverse covariances, same shape.
        precisions_cholesky_: upper ``U`` with ``precisions_ = U @ U.T``, same shape.
        converged_: whether the kept initialisation met ``tol``.
        n_iter_: EM iterations of the kept initialisation.
        lower_bound_: mean log-likelihood of the training data at the last E step.
        lower_bounds_: ``[n_iter_]`` the lower bound of each iteration.
        n_features_in_: number of features seen in ``fit``.

    Examples:
        >>> import numpy as np
        >>> from tfcluster.mixture._gaussian_mixture import GaussianMixture
        >>> X = np.array([[1, 2], [1, 4], [1, 0], [10, 2], [10, 4], [10, 0]])
        >>> gm = GaussianMixture(2, means_init=[[1, 2], [10, 2]], dtype="float64").fit(X)
        >>> gm.means_.round(6).tolist()
        [[1.0, 2.0], [10.0, 2.0]]
        >>> gm.predict([[0, 0], [12, 3]]).tolist()
        [0, 1]
    """

    _constraints = {
        "n_components": Int(1),
        "covariance_type": Options(_COVARIANCE_TYPES),
        "init_params": Options(_INIT_PARAMS),
        "tol": Real(),
        "max_iter": Int(0),
        "n_init": Int(1),
        "dtype": DType(),
        "reg_covar": Real(),
    }

    def __init__(
        self,
        n_components=1,
        *,
        covariance_type="full",
        tol=1e-3,
        reg_covar=1e-6,
        max_iter=100,
        n_init=1,
        init_params="kmeans",
        weights_init=None,
        means_init=None,
        precisions_init=None,
        warm_start=False,
        random_state=None,
        dtype="float32",
        verbose=0,
    ):
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.weights_init = weights_init
        self.means_init = means_init
        self.precisions_init = precisions_init
        self.warm_start = warm_start
        self.random_state = random_state
        self.dtype = dtype
        self.verbose = verbose

    def _check_params(self) -> tf.DType:
        params = self._validate_params()
        dtype = params.dtype
        # a variance beyond 1 / tiny has a precision that underflows to zero
        limit = 1.0 / float(np.finfo(dtype.as_numpy_dtype).tiny)
        if params.reg_covar > limit:
            raise ValueError(
                f"reg_covar={self.reg_covar!r} is too large for {dtype.name}: its precision "
                f"underflows to zero. Use a value up to {limit:.3g} (typically 1e-6)."
            )
        return dtype

    def _user_init(self, d, dtype):
        k, ct = self.n_components, self.covariance_type
        return {
            "weights": None
            if self.weights_init is None
            else check_weights_init(self.weights_init, k, dtype),
            "means": None
            if self.means_init is None
            else check_means_init(self.means_init, k, d, dtype),
            "precisions": None
            if self.precisions_init is None
            else check_precisions_init(self.precisions_init, ct, k, d, dtype),
        }

    def fit(
        self, X, y=None, sample_weight=None, *, checkpoint_dir=None, checkpoint_every=10
    ) -> GaussianMixture:
        """Estimate the parameters with EM (``n_init`` times, the best kept).

        Args:
            X: ``[n_samples, n_features]`` array, nested list or tf.Tensor, or a
                ``tf.data.Dataset`` of ``[batch, n_features]`` batches (or tuples
                ``(x, y)`` / ``(x, y, sample_weight)``).
            y: ignored.
            sample_weight: ``[n_samples]`` non-negative weights, or None. Integer
                weights give the same fit as repeated rows.
            checkpoint_dir: if given, the parameters are saved there with
                ``tf.train.Checkpoint`` every ``checkpoint_every`` EM iterations;
                a fit started again with the same directory continues from the
                last save to the same result (another fit's checkpoint is refused).
            checkpoint_every: EM iterations between saves.

        Returns:
            self.

        Raises:
            ValueError, TypeError: bad parameters or input (see the messages);
                ValueError if a covariance is not positive definite even after
                adding ``reg_covar``.
        """
        dtype = self._check_params()
        data = as_data(X, sample_weight, dtype=dtype)
        k, ct = self.n_components, self.covariance_type
        warm = bool(self.warm_start) and hasattr(self, "converged_")
        if warm:  # the previous solution is the initialisation
            check_n_features(data.n_features, self.n_features_in_)
            expected = covariance_shape(ct, k, data.n_features)
            if self.means_.shape[0] != k or self.covariances_.shape != expected:
                raise ValueError(
                    "warm_start continues the previous fit, which had "
                    f"{self.means_.shape[0]} components and covariances of shape "
                    f"{self.covariances_.shape}; n_components={k} with covariance_type={ct!r} "
                    "needs a new fit: set warm_start=False."
                )
        else:
            user = self._user_init(data.n_features, dtype)
        mean, var, total, n_samples = moments(data)
        if n_samples < k:
            raise ValueError(
                f"n_samples={n_samples} should be >= n_components={k}; fewer "
                "components or more data are needed."
            )
        if warm:
            mean = data.frame.to_internal(self.weights_ @ np.asarray(self.means_, np.float64))
        centered = data.shifted(mean)
        frame = centered.frame  # the compute units: reg_covar and the parameters in them
        n_init = 1 if warm else self.n_init
        seeds = split_seed(make_seed(self.random_state), n_init)
        args = (
            tf.constant(total, dtype),
            tf.constant(self.tol, tf.float64),  # the lower bound is float64
            tf.constant(self.reg_covar / frame.scale**2, dtype),
            em_chunk(data, k, self.covariance_type),
            not data.streamed,
            fit_bucket(data, k, self.covariance_type),
        )
        if checkpoint_dir is not None:
            check_positive_int("checkpoint_every", checkpoint_every)
        best = None
        for run in range(n_init):
            if warm:
                means, cov0, prec_chol, _ = units.to_internal(
                    frame, self.means_, self.covariances_, self.precisions_cholesky_
                )
                params = tuple(tf.constant(p, dtype) for p in (self.weights_, means, prec_chol))
                cov0 = tf.constant(cov0, dtype)
                lb0 = self.lower_bound_ + units.log_scale(frame, data.n_features)
            else:
                weights, means, prec_chol, cov0 = initial_parameters(
                    self, centered, n_samples, total, seeds[run], user
                )
                params, lb0 = (weights, means, prec_chol), -np.inf
            checkpoint = None
            if checkpoint_dir is not None:
                settings = fit_settings(self, seeds[run])
                fingerprint = repr((mean.tolist(), total, n_samples, settings, run))
                checkpoint = (os.path.join(checkpoint_dir, f"run-{run}"), fingerprint)
            source, every = centered.source, checkpoint_every
            out = run_em(self, _EM[ct], source, params, lb0, cov0, args, checkpoint, every)
            if self.verbose:
                print(
                    f"Initialization {run}: {out['n_iter']} iterations, lower bound "
                    f"{out['lower_bound']:.6f}, converged={bool(out['converged'])}"
                )
            if best is None or out["lower_bound"] > best["lower_bound"]:
                best = out
        out_dtype = attribute_dtype(frame, var, dtype)
        out_dtype = units.means_dtype(frame, out_dtype, best["covariances"], ct)
        self._store(best, frame, out_dtype, data.n_features)
        if not self.converged_ and self.max_iter > 0:
            warnings.warn(
                "Best performing initialization did not converge. Try different init "
                "parameters, or increase max_iter, tol, or check for degenerate data.",
                convergence_warning(),
                stacklevel=2,
            )
        return self

    def _store(self, out, frame, means_dtype, n_features):
        """The fitted attributes, from compute units (``frame``) to the user's."""
        means, cov, prec_chol = units.to_user(
            frame, out["means"], out["covariances"], out["prec_chol"]
        )
        prec = ops.precisions_from_cholesky(tf.constant(prec_chol), self.covariance_type).numpy()
        dtype = out["prec_chol"].dtype
        self.weights_ = out["weights"]
        self.means_ = means.astype(means_dtype)
        self.covariances_ = cov.astype(units.wide_enough(cov, dtype))
        self.precisions_cholesky_ = prec_chol.astype(units.wide_enough(prec_chol, dtype))
        self.precisions_ = prec.astype(units.wide_enough(prec, dtype))
        self.converged_ = bool(out["converged"])
        self.n_iter_ = int(out["n_iter"])
        shift = units.log_scale(frame, n_features)  # user log-densities are lower by this
        self.lower_bound_ = float(out["lower_bound"]) - shift
        self.lower_bounds_ = [float(v) - shift for v in out["lower_bounds"]]
        self.n_features_in_ = int(n_features)

    # ------------------------------------------------------------------ inference

    def _params(self, frame=None, dtype=None):
        """``(weights, means, prec_chol)`` in ``dtype`` (None: the compute dtype),
        in ``frame``'s units (None: the user's)."""
        dtype = check_dtype(self.dtype) if dtype is None else dtype
        means, prec_chol = self.means_, self.precisions_cholesky_
        if frame is not None:
            means, _, prec_chol, _ = units.to_internal(frame, means, None, prec_chol)
        return tuple(tf.constant(p, dtype) for p in (self.weights_, means, prec_chol))

    def _padded_params(self, frame):
        """The parameters padded to ``bucket(k)`` components, and ``k`` as a tensor."""
        k = int(self.means_.shape[0])
        padded = ops.pad_components(*self._params(frame), self.covariance_type, bucket(k))
        return padded, tf.constant(k, tf.int32)

    def _frame(self):
        """The compute units of inference (see ``_mixture_units.inference_frame``)."""
        check_is_fitted(self, "means_")
        return units.inference_frame(
            self.weights_, self.means_, self.covariances_, self.covariance_type
        )

    def _per_row(self, X):
        """Log-likelihood ``[n]``, responsibilities ``[n, k]`` and labels ``[n]``.

        ``X`` may be an array or a ``tf.data.Dataset`` (read batch by batch).
        """
        frame = self._frame()
        dtype = check_dtype(self.dtype)
        params, k_t = self._padded_params(frame)
        k, columns = int(k_t), int(params[1].shape[0]) * self.n_features_in_
        shift = units.log_scale(frame, self.n_features_in_)

        def rows(x):
            chunk = chunk_size(int(x.shape[0]), columns)
            out = call(_SCORE, x, params, k_t, covariance_type=self.covariance_type, chunk=chunk)
            norm, resp, labels = (t.numpy() for t in out)
            return (norm - norm.dtype.type(shift) if shift else norm), resp[:, :k], labels

        return map_rows(rows, X, dtype=dtype, n_features=self.n_features_in_, frame=frame)

    def _log_likelihood(self, X):
        """(sum of log-likelihoods, number of rows) of an array or a dataset."""
        frame = self._frame()
        dtype = check_dtype(self.dtype)
        data = as_data(X, dtype=dtype, n_features=self.n_features_in_, frame=frame)
        params, k = self._padded_params(frame)
        total, n = call(
            _LOG_LIKELIHOOD,
            data.source,
            params,
            k,
            covariance_type=self.covariance_type,
            chunk=em_chunk(data, int(k), self.covariance_type),
            padded=not data.streamed,
        )
        if float(n) == 0:
            raise ValueError("X is empty; at least 1 sample is required.")
        return float(total) - float(n) * units.log_scale(frame, data.n_features), float(n)

    def score(self, X, y=None) -> float:
        """Mean log-likelihood of ``X`` (an array or a ``tf.data.Dataset``)."""
        total, n = self._log_likelihood(X)
        return total / n

    def _n_parameters(self) -> int:
        k, d = self.means_.shape
        cov = {
            "full": k * d * (d + 1) / 2.0,
            "diag": k * d,
            "tied": d * (d + 1) / 2.0,
            "spherical": k,
        }[self.covariance_type]
        return int(cov + k * d + k - 1)

    def bic(self, X) -> float:
        """Bayesian information criterion on ``X`` (lower is better)."""
        total, n = self._log_likelihood(X)
        return -2.0 * total + self._n_parameters() * math.log(n)

    def aic(self, X) -> float:
        """Akaike information criterion on ``X`` (lower is better)."""
        total, _ = self._log_likelihood(X)
        return -2.0 * total + 2.0 * self._n_parameters()

    def sample(self, n_samples=1):
        """Draw ``n_samples`` rows from the fitted model (stateless, from ``random_state``).

        Returns:
            ``(X [n_samples, n_features], y [n_samples] int64)``, rows grouped by
            component; X in the dtype of the fitted attributes (float64 where
            they are, far from the origin or at extreme scales).
        """
        check_is_fitted(self, "means_")
        n = check_positive_int("n_samples", n_samples)
        params = self._params(dtype=self._attribute_dtype())
        x, y = ops.sample(n, make_seed(self.random_state), *params, self.covariance_type)
        return x.numpy(), y.numpy()

    def _attribute_dtype(self) -> tf.DType:
        """The widest dtype of the fitted attributes: float64 where the model sits
        far from the origin or at scales the compute dtype cannot hold."""
        wide = np.result_type(self.means_.dtype, self.precisions_cholesky_.dtype)
        return tf.as_dtype(np.result_type(wide, check_dtype(self.dtype).as_numpy_dtype))

    @property
    def distribution(self):
        """The fitted model as ``tfp.distributions.MixtureSameFamily``.

        Categorical mixing over ``MultivariateNormalTriL`` ("full", "tied") or
        ``MultivariateNormalDiag`` ("diag", "spherical") components; its
        ``log_prob`` equals ``score_samples``. Built in the dtype of the fitted
        attributes: float64 where they are (far from the origin, extreme
        scales), so that it holds the model's digits.
        """
        check_is_fitted(self, "means_")
        params = self._params(dtype=self._attribute_dtype())
        return ops.to_distribution(*params, self.covariance_type)

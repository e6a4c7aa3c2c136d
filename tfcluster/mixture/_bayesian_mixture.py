"""BayesianGaussianMixture: a Gaussian mixture fitted by variational inference.

A thin shell, as ``tfcluster.mixture._gaussian_mixture``: it validates, centres the data, takes
the initial responsibilities from GaussianMixture's initialisations
(``tfcluster.mixture._init``), runs the compiled variational EM of
``tfcluster.ops.bayesian`` (on the Gaussian mixture's batch statistics) and
stores scikit-learn's fitted attributes. The compiled programs and the padding
of statistics and posteriors to a bucket live in ``_bayesian_programs``.
"""

from __future__ import annotations

import os
import warnings

import numpy as np
import tensorflow as tf

from tfcluster._base import (
    BaseEstimator,
    ConvergenceWarning,
    check_dtype,
    check_is_fitted,
    check_positive_int,
    make_seed,
    split_seed,
)
from tfcluster._constraints import Options
from tfcluster._engine import bucket, chunk_size
from tfcluster._engine.checkpoint import fit_settings, resume_loop
from tfcluster._engine.driver import (
    Frame,
    as_data,
    attribute_dtype,
    call,
    map_rows,
    moments,
)
from tfcluster._validation import check_n_features
from tfcluster.mixture import _units as units
from tfcluster.mixture._bayesian_prior import check_prior_params, prior_for
from tfcluster.mixture._bayesian_programs import (  # tests replace them in this module
    _initial_statistics,
    _log_scale,
    _pad_posterior,
    _pad_statistics,
    _score,
    _vem,
)
from tfcluster.mixture._em_loop import iterations
from tfcluster.mixture._gaussian_mixture import GaussianMixture
from tfcluster.mixture._init import covariance_shape, em_chunk, fit_bucket
from tfcluster.mixture._outputs import MixtureOutputs
from tfcluster.ops import bayesian as ops
from tfcluster.ops import mixture as gm_ops

__all__ = ["BayesianGaussianMixture"]

_PRIOR_TYPES = {"dirichlet_process": True, "dirichlet_distribution": False}


_ILL_DEFINED = (
    "Fitting the mixture model failed: a covariance is not positive definite even "
    "after adding reg_covar={reg_covar} and the covariance prior. Increase reg_covar "
    "or covariance_prior, or scale the input data."
)


class BayesianGaussianMixture(MixtureOutputs, BaseEstimator):
    """Variational Bayesian estimation of a Gaussian mixture, as scikit-learn's.

    The mixing weights have a Dirichlet process (stick breaking) or a
    Dirichlet distribution prior, the means a Gaussian prior and the
    precisions a Wishart prior; variational EM fits the posterior. With a
    small ``weight_concentration_prior`` unneeded components get weights near
    zero, so ``n_components`` is an upper bound on the number used.

    The E step runs chunk by chunk inside one compiled loop on the same
    batch statistics as GaussianMixture, so a ``tf.data.Dataset`` gives the
    in-memory result; ``fit`` also accepts ``sample_weight`` (integer weights
    act as repeated rows). The components are padded to a bucket (masked
    beyond ``k``), so a sweep over ``n_components`` reuses its programs.

    Args:
        n_components: upper bound on the number of components ``k``.
        covariance_type: "full", "tied", "diag" or "spherical".
        tol: stop when the lower bound changes by less than ``tol``.
        reg_covar: non-negative value added to the diagonal of the covariances.
        max_iter: most EM iterations per initialisation (0: only initialise).
        n_init: initialisations; the one with the best lower bound is kept.
        init_params: "kmeans", "k-means++", "random" or "random_from_data"
            (as GaussianMixture).
        weight_concentration_prior_type: "dirichlet_process" or
            "dirichlet_distribution".
        weight_concentration_prior: the prior's concentration ``> 0``
            (None: ``1 / n_components``).
        mean_precision_prior: ``> 0`` (None: 1).
        mean_prior: ``[n_features]`` (None: the weighted mean of X).
        degrees_of_freedom_prior: ``> n_features - 1`` (None: ``n_features``).
        covariance_prior: ``[d, d]`` ("full", "tied"), ``[d]`` ("diag") or a
            number ("spherical"); None: the weighted covariance of X (``ddof=1``).
        random_state: int, None, or a numpy RandomState or Generator.
        warm_start: start each ``fit`` from the previous solution (one init).
        verbose: print the outcome of each initialisation.
        dtype: "float32" or "float64".

    Attributes:
        weights_: ``[k]`` expected mixing weights.
        means_: ``[k, n_features]`` posterior means.
        covariances_: ``[k, d, d]`` full, ``[d, d]`` tied, ``[k, d]`` diag,
            ``[k]`` spherical (``d = n_features``).
        precisions_, precisions_cholesky_: same shapes (``P = U @ U.T``).
        weight_concentration_: ``([k], [k])`` Beta parameters of the sticks
            (Dirichlet process) or ``[k]`` Dirichlet parameters.
        mean_precision_: ``[k]``; degrees_of_freedom_: ``[k]`` (a number for "tied").
        weight_concentration_prior_, mean_precision_prior_, mean_prior_
            ``[n_features]``, degrees_of_freedom_prior_, covariance_prior_: the
            priors used.
        converged_, n_iter_: of the kept initialisation.
        lower_bound_: its final evidence lower bound; lower_bounds_ ``[n_iter_]``.
        n_features_in_: number of features seen in ``fit``.

    ``as_layer`` gives a Keras head (``tfcluster.layers.BayesianGaussianMixtureHead``)
    predicting as ``predict_proba``/``score_samples``/``predict``.

    Examples:
        >>> import numpy as np
        >>> from tfcluster import BayesianGaussianMixture
        >>> rng = np.random.default_rng(0)
        >>> X = np.concatenate([rng.normal(0, 1, (100, 2)), rng.normal(8, 1, (100, 2))])
        >>> bgm = BayesianGaussianMixture(n_components=5, random_state=0).fit(X)
        >>> int(np.sum(bgm.weights_ > 0.1))
        2
    """

    _constraints = {
        **GaussianMixture._constraints,
        "weight_concentration_prior_type": Options(_PRIOR_TYPES),
    }
    _layer = "bgm_layer"

    def __init__(
        self,
        *,
        n_components=1,
        covariance_type="full",
        tol=1e-3,
        reg_covar=1e-6,
        max_iter=100,
        n_init=1,
        init_params="kmeans",
        weight_concentration_prior_type="dirichlet_process",
        weight_concentration_prior=None,
        mean_precision_prior=None,
        mean_prior=None,
        degrees_of_freedom_prior=None,
        covariance_prior=None,
        random_state=None,
        warm_start=False,
        verbose=0,
        dtype="float32",
    ):
        self.n_components = n_components
        self.covariance_type = covariance_type
        self.tol = tol
        self.reg_covar = reg_covar
        self.max_iter = max_iter
        self.n_init = n_init
        self.init_params = init_params
        self.weight_concentration_prior_type = weight_concentration_prior_type
        self.weight_concentration_prior = weight_concentration_prior
        self.mean_precision_prior = mean_precision_prior
        self.mean_prior = mean_prior
        self.degrees_of_freedom_prior = degrees_of_freedom_prior
        self.covariance_prior = covariance_prior
        self.random_state = random_state
        self.warm_start = warm_start
        self.verbose = verbose
        self.dtype = dtype

    def _check_params(self) -> tf.DType:
        dtype = self._validate_params().dtype
        check_prior_params(self)  # the priors' shapes and ranges, tied to each other
        return dtype

    @property
    def _process(self) -> bool:
        return _PRIOR_TYPES[self.weight_concentration_prior_type]

    def fit(
        self, X, y=None, sample_weight=None, *, checkpoint_dir=None, checkpoint_every=10
    ) -> BayesianGaussianMixture:
        """Fit the variational posterior (``n_init`` times, the best lower bound kept).

        Args:
            X: ``[n_samples, n_features]`` array, nested list or tf.Tensor, or a
                ``tf.data.Dataset`` of batches (or ``(x, y[, sample_weight])`` tuples).
            y: ignored.
            sample_weight: ``[n_samples]`` non-negative weights, or None.
            checkpoint_dir: if given, the posterior is saved there with
                ``tf.train.Checkpoint`` every ``checkpoint_every`` iterations; a
                fit started again with the same directory continues from the last
                save to the same result (another fit's checkpoint is refused).
            checkpoint_every: variational EM iterations between saves.

        Returns:
            self.

        Raises:
            ValueError, TypeError: bad parameters or input (see the messages).
        """
        dtype = self._check_params()
        # shifted (and scaled) in the input's precision before the cast, as GaussianMixture
        data = as_data(X, sample_weight, dtype=dtype, min_samples=2)
        k, ct = self.n_components, self.covariance_type
        warm = bool(self.warm_start) and hasattr(self, "converged_")
        if warm:
            check_n_features(data.n_features, self.n_features_in_)
            if self.means_.shape[0] != k or self.covariances_.shape != covariance_shape(
                ct, k, data.n_features
            ):
                raise ValueError(
                    "warm_start continues the previous fit, whose n_components or "
                    "covariance_type differ; set warm_start=False for a new fit."
                )
        mean, var, total, n_samples = moments(data)
        if n_samples < k:
            raise ValueError(
                f"Expected n_samples >= n_components but got n_components = {k}, "
                f"n_samples = {n_samples}."
            )
        centered = data.shifted(mean)
        frame = centered.frame  # the compute units: priors, reg_covar, parameters in them
        prior, stored = prior_for(self, centered, frame, total, dtype)
        out_dtype = attribute_dtype(frame, var, dtype)
        stored["mean_prior_"] = stored["mean_prior_"].astype(out_dtype)
        # a user lower bound is the compute one minus this (see ``_log_scale``)
        shift = _log_scale(frame, data.n_features, k, float(prior[3]), total)
        reg = tf.constant(self.reg_covar / frame.scale**2, dtype)
        chunk, padded = em_chunk(data, k, ct), not data.streamed
        size, k_t = fit_bucket(data, k, ct), tf.constant(k, tf.int32)
        seeds = split_seed(make_seed(self.random_state), 1 if warm else self.n_init)
        if checkpoint_dir is not None:
            check_positive_int("checkpoint_every", checkpoint_every)
        vem = (centered.source, prior, k_t, reg, chunk, padded)
        best = None
        for run in range(len(seeds)):
            if warm:
                post = self._stored_posterior(frame, dtype, size)
                lb0 = self.lower_bound_ + shift
            else:
                nk, sx, s2, centers = _initial_statistics(
                    self, centered, frame.offset, n_samples, seeds[run]
                )
                stats = _pad_statistics((nk, sx, s2, centers), ct, size)
                post, ok = self._posterior(*stats, reg, prior, k_t)
                if not bool(ok):
                    raise ValueError(_ILL_DEFINED.format(reg_covar=self.reg_covar))
                lb0 = -np.inf
            checkpoint = None
            if checkpoint_dir is not None:
                settings = fit_settings(self, seeds[run])
                fingerprint = repr((mean.tolist(), total, n_samples, settings, run))
                checkpoint = (os.path.join(checkpoint_dir, f"run-{run}"), fingerprint)
            out = self._vem(vem, post, lb0, checkpoint, checkpoint_every)
            if self.verbose:
                print(
                    f"Initialization {run}: {int(out['n_iter'])} iterations, lower bound "
                    f"{float(out['lower_bound']) - shift:.6f}, "
                    f"converged={bool(out['converged'])}"
                )
            if best is None or float(out["lower_bound"]) > float(best["lower_bound"]):
                best = out
        self._store(best, frame, shift, stored, out_dtype, data.n_features)
        if not self.converged_ and self.max_iter > 0:
            warnings.warn(
                "Best performing initialization did not converge. Try different init "
                "parameters, or increase max_iter, tol, or check for degenerate data.",
                ConvergenceWarning,
                stacklevel=2,
            )
        return self

    def _posterior(self, nk, sx, s2, centers, reg, prior, k):
        """The posterior of initial statistics (about ``centers``): M step, then priors."""
        ct, process = self.covariance_type, self._process
        nk, xk, sk, _, _ = gm_ops.m_step(nk, sx, s2, centers, reg, ct, k)
        return ops.posterior(nk, xk, sk, prior, ct, process, k)  # only its covariances must be PD

    def _vem(self, args, post, lb0, checkpoint, every):
        """Up to ``max_iter`` variational EM iterations from ``post``; with a
        ``checkpoint`` ``(directory, fingerprint)``, in segments of ``every``
        iterations, saved after each and resumed from the last save. An
        iteration depends only on the posterior and the last lower bound, so
        segments give the uninterrupted result."""
        source, prior, k_t, reg, chunk, padded = args
        dtype = post.means.dtype
        start = {name: v.numpy() for name, v in post._asdict().items()}
        start.update(lower_bound=float(lb0), lower_bounds=np.zeros([0]), n_iter=0, converged=False)

        def segment(out, steps):
            post = ops.Posterior(*(tf.constant(out[n], dtype) for n in ops.Posterior._fields))
            seg = call(
                _vem,
                source,
                post,
                prior,
                tf.constant(out["lower_bound"], dtype),
                k_t,
                tf.constant(int(steps), tf.int32),
                tf.constant(self.tol, dtype),
                reg,
                covariance_type=self.covariance_type,
                process=self._process,
                chunk=chunk,
                padded=padded,
            )
            if not bool(seg["ok"]):
                raise ValueError(_ILL_DEFINED.format(reg_covar=self.reg_covar))
            posterior = {name: v.numpy() for name, v in seg["posterior"]._asdict().items()}
            return {**posterior, **iterations(out, seg)}

        every = None if checkpoint is None else every
        out = resume_loop(segment, start, self.max_iter, every=every, checkpoint=checkpoint)
        out["posterior"] = ops.Posterior(*(out[name] for name in ops.Posterior._fields))
        return out

    def _stored_posterior(self, frame: Frame, dtype, size: int) -> ops.Posterior:
        """The fitted posterior in ``frame``'s compute units, padded to ``size`` components."""
        k = self.n_components
        conc = self.weight_concentration_
        a, b = conc if self._process else (conc, np.zeros(k))
        nu = np.broadcast_to(self.degrees_of_freedom_, (k,))
        means, cov, prec_chol, _ = units.to_internal(
            frame, self.means_, self.covariances_, self.precisions_cholesky_
        )
        values = (a, b, self.mean_precision_, means, nu, cov, prec_chol)
        post = ops.Posterior(*(tf.constant(np.asarray(v), dtype) for v in values))
        return _pad_posterior(post, self.covariance_type, size)

    def _store(self, out, frame: Frame, shift: float, stored, means_dtype, n_features):
        """The fitted attributes, from compute units (``frame``) to the user's."""
        k, tied = self.n_components, self.covariance_type == "tied"
        post = ops.Posterior(
            *(
                np.asarray(v)
                if tied and name in ("covariances", "prec_chol")
                else np.asarray(v)[:k]
                for name, v in zip(ops.Posterior._fields, out["posterior"], strict=True)
            )
        )
        a, b = post.concentration_a, post.concentration_b
        if self._process:
            self.weight_concentration_ = (a, b)
            stick = np.concatenate([[1.0], np.cumprod(b / (a + b))[:-1]])
            weights = a / (a + b) * stick
        else:
            self.weight_concentration_ = a
            weights = a
        self.weights_ = weights / np.sum(weights)
        self.mean_precision_ = post.mean_precision
        nu = post.degrees_of_freedom
        self.degrees_of_freedom_ = nu[0] if self.covariance_type == "tied" else nu
        dtype = post.means.dtype
        means, cov, prec_chol = units.to_user(frame, post.means, post.covariances, post.prec_chol)
        self.means_ = means.astype(
            units.means_dtype(frame, means_dtype, post.covariances, self.covariance_type)
        )
        self.covariances_ = cov.astype(units.wide_enough(cov, dtype))
        self.precisions_cholesky_ = prec_chol.astype(units.wide_enough(prec_chol, dtype))
        prec = gm_ops.precisions_from_cholesky(tf.constant(prec_chol), self.covariance_type)
        self.precisions_ = prec.numpy().astype(units.wide_enough(prec.numpy(), dtype))
        for name, value in stored.items():
            setattr(self, name, value)
        self.converged_ = bool(out["converged"])
        self.n_iter_ = int(out["n_iter"])
        self.lower_bound_ = float(out["lower_bound"]) - shift
        self.lower_bounds_ = [float(v) - shift for v in np.asarray(out["lower_bounds"])]
        self.n_features_in_ = int(n_features)

    # ------------------------------------------------------------------ inference

    def _frame(self) -> Frame:
        """The compute units of inference (``_mixture_units.inference_frame``)."""
        check_is_fitted(self, "means_")
        return units.inference_frame(
            self.weights_, self.means_, self.covariances_, self.covariance_type
        )

    def _per_row(self, X):
        """``(log-likelihood [n], responsibilities [n, k], labels [n])`` of ``X``."""
        frame = self._frame()
        dtype = check_dtype(self.dtype)
        k = self.n_components
        post = self._stored_posterior(frame, dtype, bucket(k))
        columns, k_t = bucket(k) * self.n_features_in_, tf.constant(k, tf.int32)
        log_scale = units.log_scale(frame, self.n_features_in_)

        def rows(x):
            chunk = chunk_size(int(x.shape[0]), columns)
            out = call(
                _score,
                x,
                post,
                k_t,
                covariance_type=self.covariance_type,
                process=self._process,
                chunk=chunk,
            )
            norm, resp, labels = (t.numpy() for t in out)
            return norm - log_scale, resp[:, :k], labels

        return map_rows(rows, X, dtype=dtype, n_features=self.n_features_in_, frame=frame)

    def score(self, X, y=None) -> float:
        """Mean of ``score_samples(X)``."""
        return float(np.mean(self.score_samples(X)))

    def _log_weight_bias(self) -> np.ndarray:
        """``[k]`` what the E step adds to each component's log density
        (``ops.bayesian.log_weight_bias``), in the estimator's dtype, as ``_per_row``."""
        dtype, k = check_dtype(self.dtype), self.n_components
        post = self._stored_posterior(self._frame(), dtype, bucket(k))
        k_t = tf.constant(k, tf.int32)
        return ops.log_weight_bias(post, self._process, self.n_features_in_, k_t).numpy()[:k]

    @property
    def distribution(self):
        """The point-estimate mixture (``weights_``, ``means_``, ``precisions_``) as
        ``tfp.distributions.MixtureSameFamily``; its ``log_prob`` is that of the
        plug-in Gaussian mixture, not ``score_samples``' variational expectation."""
        check_is_fitted(self, "means_")
        dtype = check_dtype(self.dtype)
        params = (self.weights_, self.means_, self.precisions_cholesky_)
        params = tuple(tf.constant(p, dtype) for p in params)
        return gm_ops.to_distribution(*params, self.covariance_type)

"""BayesianGaussianMixture's priors: parameter checks and the defaults from the data.

Private helpers of ``tfcluster.mixture._bayesian_mixture``. The defaults are
scikit-learn's, weighted by the sample weights: the mean prior is the weighted
mean of X, the covariance prior its weighted covariance with ``ddof=1``
(divided by ``sum(w) - 1``, as ``numpy.cov`` of the rows repeated by integer
weights), one pass over the data with the mixture's batch statistics.
"""

from __future__ import annotations

import numbers

import numpy as np
import tensorflow as tf

from tfcluster._engine import Program, chunk_size
from tfcluster._engine.driver import Data, call
from tfcluster._validation import _to_numpy
from tfcluster.mixture import _units as units
from tfcluster.ops.batching import reduce_batches, source_spec
from tfcluster.ops.mixture import resp_statistics

__all__ = ["check_prior_params", "prior_for"]


def _scatter_fn(source, *, full, chunk, padded):
    """``(sum w [1], sum w x [1, d], sum w x x^T [1, d, d] or sum w x**2 [1, d])``."""
    d, dtype = source_spec(source)
    origin = tf.zeros([1, d], dtype)
    kind = "full" if full else "diag"
    zero = (
        tf.zeros([1], dtype),
        tf.zeros([1, d], dtype),
        tf.zeros([1, d, d] if full else [1, d], dtype),
    )
    return reduce_batches(
        lambda x, w: resp_statistics(x, w, w[:, None], origin, kind), zero, source, chunk,
        padded=padded,
    )  # fmt: skip


_scatter = Program(_scatter_fn, "bayesian.scatter", rows=(0,), free_shapes=True, autograph=False)


def _positive_or_none(name, value):
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be None or a real number > 0, got {value!r}.")
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be None or a finite number > 0, got {value!r}.")


def check_prior_params(est) -> None:
    """The scalar priors, before any data is read."""
    _positive_or_none("weight_concentration_prior", est.weight_concentration_prior)
    _positive_or_none("mean_precision_prior", est.mean_precision_prior)
    dof = est.degrees_of_freedom_prior
    if dof is not None and (isinstance(dof, bool) or not isinstance(dof, numbers.Real)):
        raise TypeError(f"degrees_of_freedom_prior must be None or a real number, got {dof!r}.")


def _covariance_prior(est, d, dtype):
    ct, value = est.covariance_type, est.covariance_prior
    if ct == "spherical":
        _positive_or_none("covariance_prior", value)
        return np.asarray(value, dtype)
    shape = (d, d) if ct in ("full", "tied") else (d,)
    arr = np.asarray(_to_numpy(value, "covariance_prior"), np.float64)
    if arr.shape != shape:
        raise ValueError(
            f"covariance_prior for covariance_type={ct!r} must have shape {shape}; "
            f"got {arr.shape}."
        )
    if not np.all(np.isfinite(arr)):
        raise ValueError("covariance_prior contains NaN or infinity.")
    if ct == "diag" and np.any(arr <= 0):
        raise ValueError("covariance_prior for covariance_type='diag' must be positive.")
    if ct != "diag" and (not np.allclose(arr, arr.T) or np.any(np.linalg.eigvalsh(arr) <= 0)):
        raise ValueError(
            f"covariance_prior for covariance_type={ct!r} must be symmetric and positive definite."
        )
    return arr.astype(dtype)


def prior_for(est, data: Data, frame, total: float, dtype):
    """The prior ``(alpha0, beta0, m0 [d], nu0, psi0)`` as tensors for ``data`` in the
    compute units of ``frame`` (a ``_engine.frame.Frame``: a given ``mean_prior`` is moved
    and a given ``covariance_prior`` divided by ``frame.scale ** 2``), and the fitted
    prior attributes in the user's units (``mean_prior_`` float64).

    Raises:
        ValueError: a prior of the wrong shape or value (the message names it).
    """
    k, d, ct = est.n_components, data.n_features, est.covariance_type
    np_dtype = dtype.as_numpy_dtype
    alpha0 = 1.0 / k if est.weight_concentration_prior is None else est.weight_concentration_prior
    beta0 = 1.0 if est.mean_precision_prior is None else est.mean_precision_prior
    dof = est.degrees_of_freedom_prior
    if dof is None:
        nu0 = float(d)
    elif dof > d - 1.0:
        nu0 = float(dof)
    else:
        raise ValueError(
            f"The parameter 'degrees_of_freedom_prior' should be greater than {d - 1}, "
            f"but got {dof:.3f}."
        )
    need_data = est.mean_prior is None or est.covariance_prior is None
    if need_data:
        chunk = chunk_size(data.n_samples, d * d if ct in ("full", "tied") else d)
        w, s1, s2 = (
            v.numpy()[0].astype(np.float64)
            for v in call(
                _scatter, data.source, full=ct in ("full", "tied"), chunk=chunk,
                padded=not data.streamed,
            )
        )  # fmt: skip
        mean = s1 / w
    if est.mean_prior is None:
        m0 = mean
    else:
        m0 = np.asarray(_to_numpy(est.mean_prior, "mean_prior"), np.float64)
        if m0.shape != (d,):
            raise ValueError(f"mean_prior must have shape ({d},); got {m0.shape}.")
        if not np.all(np.isfinite(m0)):
            raise ValueError("mean_prior contains NaN or infinity.")
        m0 = frame.to_internal(m0)
    if est.covariance_prior is None:
        ddof = w - 1.0 if w > 1.0 else w
        if ct in ("full", "tied"):
            psi0 = (s2 - w * np.outer(mean, mean)) / ddof
        else:
            psi0 = (s2 - w * mean**2) / ddof
            psi0 = psi0.mean() if ct == "spherical" else psi0
        psi0 = np.asarray(psi0, np_dtype)
    else:
        psi0 = (_covariance_prior(est, d, np.float64) / frame.scale**2).astype(np_dtype)
    prior = tuple(
        tf.constant(np.asarray(v), dtype) for v in (alpha0, beta0, m0.astype(np_dtype), nu0, psi0)
    )
    stored = {
        "weight_concentration_prior_": alpha0,
        "mean_precision_prior_": beta0,
        "mean_prior_": frame.to_user(m0),
        "degrees_of_freedom_prior_": nu0,
        "covariance_prior_": (np.asarray(psi0, np.float64) * frame.scale**2).astype(
            units.wide_enough(psi0 * frame.scale**2, np_dtype)
        ),
    }
    return prior, stored

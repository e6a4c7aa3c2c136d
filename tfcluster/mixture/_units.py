"""GaussianMixture parameters between the user's units and the compute units.

The EM runs on ``(x - frame.offset) / frame.scale`` (see ``_engine.frame.Frame``):
there a mean is ``(mean - offset) / scale``, a covariance ``cov / scale**2``,
a precision Cholesky factor ``prec_chol * scale`` and a log-density
``log p + n_features * log(scale)``. These helpers move the parameters both
ways, in float64, so every fitted attribute and score is in the user's units.
"""

from __future__ import annotations

import math

import numpy as np

from tfcluster._engine.driver import Frame, frame_of
from tfcluster._engine.frame import _FAR

__all__ = ["inference_frame", "log_scale", "means_dtype", "to_internal", "to_user", "wide_enough"]


def log_scale(frame: Frame, n_features: int) -> float:
    """``n_features * log(scale)``: a user log-density is the compute one minus this."""
    return n_features * math.log(frame.scale)


def to_internal(frame: Frame, means=None, covariances=None, prec_chol=None, precisions=None):
    """User parameters in compute units (float64 numpy; None stays None)."""
    s = frame.scale
    return (
        None if means is None else frame.to_internal(means),
        None if covariances is None else np.asarray(covariances, np.float64) / s**2,
        None if prec_chol is None else np.asarray(prec_chol, np.float64) * s,
        None if precisions is None else np.asarray(precisions, np.float64) * s**2,
    )


def to_user(frame: Frame, means, covariances, prec_chol):
    """Compute-unit ``(means, covariances, prec_chol)`` in the user's units (float64)."""
    s = frame.scale
    return (
        frame.to_user(means),
        np.asarray(covariances, np.float64) * s**2,
        np.asarray(prec_chol, np.float64) / s,
    )


def means_dtype(frame: Frame, dtype, covariances, covariance_type: str) -> np.dtype:
    """The dtype of ``means_``: ``dtype`` (the numpy dtype ``attribute_dtype`` gives
    the other attributes), or float64 where a float32 mean would sit, in some
    column, further from its value than ~1/4096 of the narrowest component's
    standard deviation there (``covariances`` in compute units). A column that
    barely varies (its variance is ``reg_covar``) weighs with a precision of
    ``1 / reg_covar``: on the digits shifted by 1e4, float32 means of the
    constant columns were off by 5e-4, a Mahalanobis term of 0.24, and 5% of
    the rows changed component."""
    if np.dtype(dtype) == np.float64:
        return np.dtype(np.float64)
    variances = _column_variances(covariances, covariance_type, len(frame.offset), np.min)
    std = np.sqrt(np.maximum(variances, 0.0)) * frame.scale  # [d], the user's units
    far = np.any(np.abs(frame.offset) > _FAR * std)
    return np.dtype(np.float64) if far else np.dtype(dtype)


def wide_enough(values: np.ndarray, dtype) -> np.dtype:
    """``dtype``, or float64 if ``values`` would overflow or underflow in ``dtype``."""
    dtype = np.dtype(dtype)
    if dtype == np.float64:
        return dtype
    info = np.finfo(dtype)
    big = np.abs(values)
    nonzero = big[big > 0]
    fits = np.all(big <= info.max) and (nonzero.size == 0 or nonzero.min() >= info.tiny)
    return dtype if fits else np.dtype(np.float64)


def inference_frame(weights, means, covariances, covariance_type: str) -> Frame:
    """The compute units of a fitted mixture: about its weighted mean, scaled
    by the power of two nearest its spread (of the means and of the components)."""
    var = _column_variances(covariances, covariance_type, np.shape(means)[-1], np.max)
    return frame_of(means, weights=weights, spread=np.sqrt(np.maximum(var, 0.0)))


def _column_variances(covariances, covariance_type: str, d: int, reduce) -> np.ndarray:
    """Each column's component variances ``[d]`` (float64), reduced over the
    components by ``reduce`` (np.min: the narrowest, np.max: the widest)."""
    cov = np.asarray(covariances, np.float64)
    if covariance_type == "full":
        return reduce(np.diagonal(cov, axis1=1, axis2=2), axis=0)
    if covariance_type == "tied":
        return np.diagonal(cov)
    if covariance_type == "diag":
        return reduce(cov, axis=0)
    return np.full(d, reduce(cov))

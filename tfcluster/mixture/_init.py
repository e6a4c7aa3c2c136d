"""GaussianMixture: checks of user-given initial parameters, and initialisation.

Private helpers of ``tfcluster.mixture._gaussian_mixture``. Every initialisation is one pass of
``ops.mixture.init_statistics`` over the data (a hard or random assignment of
rows to components) followed by the same M step as EM, as scikit-learn does.

The components are padded to ``bucket(k)`` (masked beyond ``k``) and every
size goes in as a tensor, so a sweep over k or n_samples reuses one compiled
program per (assignment kind, covariance type, dtype, n_features, bucket, chunk).
"""

from __future__ import annotations

import warnings

import numpy as np
import tensorflow as tf

from tfcluster._base import ConvergenceWarning
from tfcluster._engine import XLA_MIN_ROWS, Program, bucket, chunk_size, pad_rows
from tfcluster._engine.driver import Data, call
from tfcluster._validation import _to_numpy, largest_value
from tfcluster.ops import mixture as ops
from tfcluster.ops.batching import gather_rows
from tfcluster.ops.mixture import covariance_shape

__all__ = [
    "ILL_DEFINED",
    "ill_defined",
    "check_weights_init",
    "check_means_init",
    "check_precisions_init",
    "covariance_shape",
    "initial_parameters",
    "em_chunk",
]

ILL_DEFINED = (
    "Fitting the mixture model failed because some components have ill-defined "
    "empirical covariance (for instance caused by singleton or collapsed samples): a "
    "covariance is not positive definite even after adding reg_covar={reg_covar}. "
    "Increase reg_covar, decrease the number of components, or scale the input data."
)


def ill_defined(reg_covar, dtype) -> str:
    """The ill-defined covariance message; in float32 it names float64 too."""
    message = ILL_DEFINED.format(reg_covar=reg_covar)
    if tf.as_dtype(dtype) == tf.float32:
        message += (
            " In float32, covariances finer than about 1e-7 of the data's spread are lost: "
            "dtype='float64' may fit these data."
        )
    return message


def _checked(value, name, shape, dtype, limit=None) -> np.ndarray:
    """``value`` of ``shape``, finite, and within ``limit`` in magnitude if given."""
    arr = _to_numpy(value, name)
    if arr.shape != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}; got {arr.shape}.")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinity; only finite values are accepted.")
    largest = float(np.max(np.abs(arr))) if arr.size else 0.0
    if limit is not None and largest > limit:
        raise ValueError(
            f"{name} has values up to {largest:.3g} in magnitude; with {dtype.name} they "
            f"must stay within {limit:.3g} (beyond it squared distances overflow). Scale "
            "the data and the initial parameters, or use dtype='float64'."
        )
    return arr.astype(dtype.as_numpy_dtype)


def check_weights_init(weights_init, k: int, dtype) -> np.ndarray:
    """``[k]`` weights in [0, 1] summing to 1 (within 1e-6 in float32, 1e-8 in float64)."""
    w = _checked(weights_init, "weights_init", (k,), dtype)
    if np.any(w < 0) or np.any(w > 1):
        raise ValueError(
            f"weights_init must be in [0, 1]; got min {w.min():.5g}, max {w.max():.5g}."
        )
    atol = 1e-6 if dtype == tf.float32 else 1e-8
    if abs(1.0 - float(np.sum(w, dtype=np.float64))) > atol:
        raise ValueError(f"weights_init must sum to 1; got sum {np.sum(w):.8g}.")
    return w


def check_means_init(means_init, k: int, d: int, dtype) -> np.ndarray:
    """``[k, d]`` initial means, float64 (moved into compute units before the cast)."""
    _checked(means_init, "means_init", (k, d), dtype, largest_value(dtype, d))
    return _checked(means_init, "means_init", (k, d), tf.float64)


def check_precisions_init(precisions_init, covariance_type: str, k: int, d: int, dtype):
    """Initial precisions of ``covariance_shape``: symmetric positive definite or > 0."""
    shape = covariance_shape(covariance_type, k, d)
    p = _checked(precisions_init, "precisions_init", shape, dtype, largest_value(dtype, d))
    if covariance_type in ("full", "tied"):
        mats = p.reshape(-1, d, d).astype(np.float64)
        symmetric = np.allclose(mats, np.swapaxes(mats, 1, 2))
        if not symmetric or np.any(np.linalg.eigvalsh(mats) <= 0):
            raise ValueError(
                f"precisions_init for covariance_type={covariance_type!r} must be "
                "symmetric and positive definite."
            )
    elif np.any(p <= 0):
        raise ValueError(
            f"precisions_init for covariance_type={covariance_type!r} must be positive."
        )
    return p


def fit_bucket(data: Data, k: int, covariance_type: str) -> int:
    """The component bucket of a fit on ``data``: ``bucket(k)``, or ``k`` to a
    multiple of 8 when one EM pass outweighs a trace (its work per row and
    component is ``d`` for "diag"/"spherical", ``d * d`` for "full"/"tied").
    On small data (no XLA kernels, see ``_engine.XLA_MIN_ROWS``) ``k`` itself:
    the programs' shapes are free, so nothing is traced or compiled per k, and
    padded components would only cost work."""
    if data.n_samples is None:
        return bucket(k)
    if data.n_samples < XLA_MIN_ROWS:
        return int(k)
    d = data.n_features
    per_row = d * d if covariance_type in ("full", "tied") else d
    return bucket(k, data.n_samples * per_row)


def em_chunk(data: Data, k: int, covariance_type: str) -> int:
    """Rows per chunk of the mixture programs: blocks ``[chunk, K * d]``.

    On small data (exact ``k``, no XLA) 1024 rows whenever ``k * d <= 2**14``
    (blocks of at most 128 MiB in float64): the chunk is part of the programs'
    key, so it must not change with ``k`` or ``n_features`` in a sweep.
    """
    if data.n_samples is not None and data.n_samples < XLA_MIN_ROWS:
        if k * data.n_features <= 2**14:
            return 1024
        return chunk_size(data.n_samples, k * data.n_features)
    return chunk_size(data.n_samples, fit_bucket(data, k, covariance_type) * data.n_features)


def _init_params_fn(
    source, centers, arg, total, reg_covar, k, *, kind, covariance_type, chunk, padded
):
    """Initial ``(weights [K], means [K, d], covariances, prec_chol, ok)``, padded to ``K``."""
    stats = assignment_statistics(source, centers, arg, k, kind, covariance_type, chunk, padded)
    nk, means, cov, prec_chol, ok = ops.m_step(*stats, reg_covar, covariance_type, k)
    return nk / total, means, cov, prec_chol, ok


def assignment_statistics(source, centers, arg, k, kind, covariance_type, chunk, padded):
    """``(nk [K], sx [K, d], s2, centers [K, d])`` of an initial assignment (``_assignment``),
    inside a program: the statistics about ``centers``, which for ``kind == "rows"`` are
    the chosen rows, gathered here (index -1: a zero row)."""
    if kind == "rows":
        centers = gather_rows(source, arg, chunk)  # [K, d]
    stats = ops.init_statistics(source, kind, centers, arg, covariance_type, chunk, k, padded)
    return (*stats, centers)


_init_params = Program(_init_params_fn, "mixture.init_params", rows=(0,), free_shapes=True)


def _random_state(seed) -> int:
    return int(seed[0].numpy()) % (2**31 - 1)


def _assignment(est, data: Data, n_samples: int, seed):
    """(kind, centers [K, d], arg) of ``est.init_params`` on centred ``data``, padded to ``K``."""
    k, d, dtype = est.n_components, data.n_features, data.dtype
    size = fit_bucket(data, k, est.covariance_type)
    name = est.init_params
    if name == "kmeans":
        from tfcluster.cluster._kmeans import KMeans

        km = KMeans(k, n_init=1, random_state=_random_state(seed), dtype=dtype.name)
        with warnings.catch_warnings():  # duplicate points: fewer distinct clusters
            warnings.simplefilter("ignore", ConvergenceWarning)
            # on the rows in compute units: KMeans's own shift is then none
            if data.streamed:
                km.fit(data.source.map(lambda x, w: (x, w, w)))
            else:
                km.fit(data.x, sample_weight=data.w)
        centers = tf.constant(km.cluster_centers_, dtype)
        return "centers", pad_rows(centers, size), tf.zeros([2], tf.int64)
    if name == "random":
        return "random", tf.zeros([size, d], dtype), seed
    if name == "k-means++":
        if data.streamed:
            raise ValueError(
                "init_params='k-means++' needs in-memory X; with a tf.data.Dataset use "
                "'kmeans', 'random' or 'random_from_data'."
            )
        from tfcluster.cluster._kmeans import kmeans_plusplus

        _, idx = kmeans_plusplus(
            data.x, k, sample_weight=data.w, random_state=_random_state(seed), dtype=dtype.name
        )
        indices = tf.constant(np.asarray(idx), tf.int64)
    else:  # random_from_data: k distinct rows, uniformly
        u = tf.random.stateless_uniform([n_samples], seed, dtype=tf.float32)
        indices = tf.cast(tf.math.top_k(u, k).indices, tf.int64)
    indices = tf.pad(indices, [[0, size - k]], constant_values=-1)  # [K]: -1 matches no row
    return "rows", tf.zeros([size, d], dtype), indices


def call_on_assignment(program, est, data: Data, n_samples: int, seed, *args):
    """``program(source, centers, arg, *args, k)`` on the initial assignment of
    ``est.init_params`` (``_assignment``), with the options every initial program takes."""
    k, ct = est.n_components, est.covariance_type
    kind, centers, arg = _assignment(est, data, n_samples, seed)
    return call(
        program,
        data.source,
        centers,
        arg,
        *args,
        tf.constant(k, tf.int32),
        kind=kind,
        covariance_type=ct,
        chunk=em_chunk(data, k, ct),
        padded=not data.streamed,
    )


def initial_parameters(est, data: Data, n_samples, total, seed, user):
    """Initial ``(weights, means, prec_chol, covariances)`` on centred ``data``, in
    its compute units (``data.frame``).

    Args:
        est: the GaussianMixture.
        data: the data, centred, in compute units.
        n_samples: number of rows; ``total``: their total weight.
        seed: stateless seed ``[2]`` of this initialisation.
        user: dict of the checked ``weights``/``means``/``precisions`` inits (or None).

    Returns:
        The ``k`` real components (not padded).

    Raises:
        ValueError: the initial covariances are not positive definite.
    """
    ct, dtype, k = est.covariance_type, data.dtype, est.n_components
    reg = tf.constant(est.reg_covar / data.frame.scale**2, dtype)
    if any(v is None for v in user.values()):
        weights, means, cov, prec_chol, ok = call_on_assignment(
            _init_params, est, data, n_samples, seed, tf.constant(total, dtype), reg
        )
        if not bool(ok):
            raise ValueError(ill_defined(est.reg_covar, dtype))
        weights, means = weights[:k], means[:k]
        cov, prec_chol = (t if ct == "tied" else t[:k] for t in (cov, prec_chol))
    else:
        weights = means = cov = prec_chol = None
    if user["weights"] is not None:
        weights = tf.constant(user["weights"])
    if user["means"] is not None:
        means = tf.constant(data.frame.to_internal(user["means"]), dtype)
    if user["precisions"] is not None:
        precisions = tf.constant(data.frame.scale**2 * user["precisions"], dtype)
        prec_chol = ops.precision_cholesky_from_precisions(precisions, ct)
        cov = _inverse(precisions, ct)
    return weights, means, prec_chol, cov


def _inverse(precisions, covariance_type):
    if covariance_type in ("full", "tied"):
        return tf.linalg.inv(precisions)
    return 1.0 / precisions

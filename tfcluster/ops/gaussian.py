"""Gaussian components per covariance type: densities, E- and M-step statistics, Cholesky.

Pure TensorFlow, safe inside ``tf.function``; the maths of ``tfcluster.ops.mixture``
(whose EM loop, initial statistics and sampling use it, and which exports
every public name here). The parametrisation is scikit-learn's: ``weights
[k]``, ``means [k, d]`` and the Cholesky factor of each precision matrix,
``prec_chol``, an upper-triangular ``U`` with ``precision = U @ U.T``. Its
shape depends on ``covariance_type``:

    "full"       [k, d, d]     "tied"       [d, d]
    "diag"       [k, d]        "spherical"  [k]

(the same shapes as the covariances). The E step of a batch gives the
sufficient statistics ``(log_likelihood, nk [k], sx [k, d], s2)``; the M step
turns their sums into new parameters. ``s2`` is ``sum r x x^T`` per component
``[k, d, d]`` for "full", ``sum w x x^T`` ``[d, d]`` for "tied", ``sum r
x**2`` ``[k, d]`` for "diag" and "spherical".

Components may be padded to a bucket ``K >= k`` (``k`` a scalar tensor, the
padded ones masked): a padded component has log weight ``-inf`` (its
responsibilities are exactly 0), zero mean and identity precision, and its
M-step statistics are ignored, so nothing non-finite ever appears and the
real components get the unpadded results. In-memory chunks may be padded
with zero rows of zero weight: every sum here is weighted by ``w``.
"""

from __future__ import annotations

import math

import tensorflow as tf

from tfcluster._engine.compile import xla_active

__all__ = [
    "COVARIANCE_TYPES",
    "covariance_shape",
    "component_mask",
    "pad_components",
    "log_gaussian_prob",
    "log_resp",
    "resp_statistics",
    "e_step_statistics",
    "zero_statistics",
    "m_step",
    "precision_cholesky",
    "precision_cholesky_from_precisions",
    "precisions_from_cholesky",
    "scale_tril",
]


COVARIANCE_TYPES = ("full", "tied", "diag", "spherical")


def covariance_shape(covariance_type: str, k: int, d: int) -> tuple:
    """Shape of the covariances, precisions and their Cholesky factors of ``k``
    components in ``d`` dimensions (pure Python: usable outside TensorFlow too)."""
    return {"full": (k, d, d), "tied": (d, d), "diag": (k, d), "spherical": (k,)}[covariance_type]


def component_mask(k, size):
    """``[size]`` bool: True for the ``k`` real components of a padded bucket."""
    return tf.range(size) < k


def pad_components(weights, means, prec_chol, covariance_type, size: int):
    """Parameters of ``k`` components padded to ``size``: weight 0, mean 0, identity precision.

    ``weights [k] -> [size]``, ``means [k, d] -> [size, d]``, ``prec_chol`` as
    its covariance type (``[size, d, d]``, ``[size, d]``, ``[size]``; "tied"
    ``[d, d]`` unchanged).
    """
    extra = size - int(means.shape[0])
    d = int(means.shape[1])
    weights = tf.pad(weights, [[0, extra]])
    means = tf.pad(means, [[0, extra], [0, 0]])
    if covariance_type == "full":
        eye = tf.eye(d, batch_shape=[extra], dtype=prec_chol.dtype)
        prec_chol = tf.concat([prec_chol, eye], 0)
    elif covariance_type in ("diag", "spherical"):
        pad = [[0, extra]] + [[0, 0]] * (prec_chol.shape.rank - 1)
        prec_chol = tf.pad(prec_chol, pad, constant_values=1)
    return weights, means, prec_chol


def _log_det_cholesky(prec_chol, covariance_type, d):
    """Log-determinant of each precision Cholesky factor -> ``[k]`` (scalar for "tied")."""
    if covariance_type in ("full", "tied"):
        return tf.reduce_sum(tf.math.log(tf.linalg.diag_part(prec_chol)), axis=-1)
    if covariance_type == "diag":
        return tf.reduce_sum(tf.math.log(prec_chol), axis=1)
    return tf.cast(d, prec_chol.dtype) * tf.math.log(prec_chol)


def log_gaussian_prob(x, means, prec_chol, covariance_type, expanded=False):
    """Log density of every row under every component: ``x [b, d]`` -> ``[b, k]``.

    Every type takes the difference ``x - means_j`` first (``[b, k, d]``, the
    size of a chunk's block), then the product with ``U_j`` ("tied": the
    difference of ``x @ U`` and ``means_j @ U``, one shared ``U``): the GEMM
    expansion ``x @ U_j - means_j @ U_j`` (or ``|x|^2 - 2 x.m + |m|^2``)
    cancels in float32 when a component is narrow (a near-constant feature
    gives ``U`` entries of 1e3), and its rounding depends on the batch size
    and the padding of the components, so a Keras head would not equal the
    estimator.

    ``expanded`` (float64 "full" only, the fit's E step): scikit-learn's form,
    ``x @ U_j - means_j @ U_j``, every component's product in one ``[b, d] @
    [d, K d]`` GEMM instead of ``K`` products with ``[b, d]`` blocks (100,000 x
    16, K=8: the E step 5.7 -> 3.6 ms a chunk of 8,192 rows through XLA).
    """
    d = tf.shape(x)[1]
    if expanded and covariance_type == "full" and x.dtype == tf.float64:
        n_comp = tf.shape(means)[0]
        u = tf.reshape(tf.transpose(prec_chol, [1, 0, 2]), [d, n_comp * d])  # [d, K d]
        mapped_means = tf.einsum("ki,kij->kj", means, prec_chol)  # [K, d]
        y = tf.reshape(tf.matmul(x, u), [-1, n_comp, d]) - mapped_means[None]  # [b, K, d]
        maha = tf.reduce_sum(tf.square(y), axis=-1)  # [b, K]
    elif covariance_type == "full":
        diff = x[:, None, :] - means[None, :, :]  # [b, k, d]
        y = tf.einsum("bki,kij->bkj", diff, prec_chol)  # [b, k, d]
        maha = tf.reduce_sum(tf.square(y), axis=-1)  # [b, k]
    elif covariance_type == "tied":
        # one shared U: the rows and the means mapped once, then their differences
        # (not |a|^2 - 2 a.b + |b|^2); (x - m) @ U per component costs k times more
        y = tf.matmul(x, prec_chol)[:, None, :] - tf.matmul(means, prec_chol)[None]  # [b, k, d]
        maha = tf.reduce_sum(tf.square(y), axis=-1)  # [b, k]
    elif covariance_type == "diag":
        # the difference before the square, not the expansion x^2 p - 2 x m p + m^2 p,
        # whose cancellation with huge precisions (near-constant features) makes the
        # float32 lower bound jitter; [b, k, d] fits the chunk budget and fuses
        scaled = (x[:, None, :] - means[None, :, :]) * prec_chol[None, :, :]  # [b, k, d]
        maha = tf.reduce_sum(tf.square(scaled), axis=2)  # [b, k]
    else:
        diff = x[:, None, :] - means[None, :, :]  # [b, k, d]
        maha = tf.reduce_sum(tf.square(diff), axis=2) * tf.square(prec_chol)  # [b, k]
    const = tf.cast(d, x.dtype) * math.log(2.0 * math.pi)
    return -0.5 * (const + maha) + _log_det_cholesky(prec_chol, covariance_type, d)


def log_resp(x, weights, means, prec_chol, covariance_type, k=None, expanded=False):
    """Per-row log-likelihood and log responsibilities (log-sum-exp stable).

    A row so far from every component that all its densities underflow
    (log-likelihood -inf in this dtype) gets equal responsibilities, not NaN.
    With ``k`` (a scalar tensor), only the first ``k`` components are real:
    the others get log responsibility ``-inf``. ``expanded``: as ``log_gaussian_prob``.

    Returns:
        ``(log_prob_norm [b], log_resp [b, K])``.
    """
    log_prob = log_gaussian_prob(x, means, prec_chol, covariance_type, expanded)
    weighted = log_prob + tf.math.log(weights)
    return _normalise(weighted, k)


def _normalise(weighted, k=None):
    """``(log-sum-exp [b], log responsibilities [b, K])`` of weighted log densities."""
    minus_inf = tf.constant(-math.inf, weighted.dtype)
    if k is None:
        fill = -tf.math.log(tf.cast(tf.shape(weighted)[1], weighted.dtype))
    else:
        mask = component_mask(k, tf.shape(weighted)[1])  # [K]
        weighted = tf.where(mask[None, :], weighted, minus_inf)  # [b, K]
        fill = tf.where(mask, -tf.math.log(tf.cast(k, weighted.dtype)), minus_inf)  # [K]
    norm = tf.reduce_logsumexp(weighted, axis=1)  # [b]
    lr = weighted - norm[:, None]  # NaN only where norm is -inf: -inf - -inf
    return norm, tf.where(tf.math.is_nan(lr), fill, lr)


def resp_statistics(x, w, resp, centers, covariance_type):
    """M-step statistics of one batch, taken about reference ``centers``.

    Args:
        x: ``[b, d]`` samples.
        w: ``[b]`` sample weights (used by "tied" for ``sum w x x^T``).
        resp: ``[b, k]`` responsibilities already multiplied by the weights.
        centers: ``[k, d]`` reference points, near the component means.
        covariance_type: one of ``COVARIANCE_TYPES``.

    Returns:
        ``(nk [k], sx [k, d], s2)``: ``sx = sum r (x - c)``; ``s2`` is
        ``sum r (x - c)(x - c)^T`` ``[k, d, d]`` for "full", its diagonal
        ``sum r (x - c)**2`` ``[k, d]`` for "diag" and "spherical" (centred, so
        that float32 keeps a collapsed component's tiny variance), and
        ``sum w x x^T`` ``[d, d]`` for "tied" (raw, as scikit-learn).
    """
    nk = tf.reduce_sum(resp, axis=0)  # [k]
    if covariance_type == "tied":
        sx = tf.matmul(resp, x, transpose_a=True) - nk[:, None] * centers  # [k, d]
        return nk, sx, tf.matmul(w[:, None] * x, x, transpose_a=True)  # [d, d]
    if covariance_type == "full" and x.dtype == tf.float64:
        # components first, [k, b, d]: k batched products (100,000 x 16, k=8: 6.4 -> 4.5
        # ms a chunk of 8,192 rows through XLA; in float32 the [b, k, d] form is faster)
        diff = x[None, :, :] - centers[:, None, :]  # [k, b, d]
        rdiff = tf.transpose(resp)[:, :, None] * diff  # [k, b, d]
        return nk, tf.reduce_sum(rdiff, axis=1), tf.matmul(rdiff, diff, transpose_a=True)
    diff = x[:, None, :] - centers[None, :, :]  # [b, k, d]
    rdiff = resp[:, :, None] * diff  # [b, k, d]
    sx = tf.reduce_sum(rdiff, axis=0)  # [k, d]
    if covariance_type == "full":
        return nk, sx, tf.einsum("bki,bkj->kij", rdiff, diff)  # [k, d, d]
    return nk, sx, tf.reduce_sum(rdiff * diff, axis=0)  # [k, d]


def _diag_e_step_gemm(x, w, weights, means, prec_chol, covariance_type, k):
    """The "diag"/"spherical" E step of ``e_step_statistics`` as GEMMs, in float64.

    scikit-learn's expanded form ``x**2 @ p - 2 x @ (m p)^T + sum(m**2 p)``
    and ``sum r x``, ``sum r x**2`` as matmuls, with no ``[b, K, d]`` block:
    several times faster than the differences on a CPU. Computed in float64
    whatever the dtype (float32 cancels in the expansion), results cast back.
    """
    dtype = x.dtype
    x, w, weights, means, prec_chol = (
        tf.cast(t, tf.float64) for t in (x, w, weights, means, prec_chol)
    )
    prec = tf.square(prec_chol)  # [K, d] or [K]
    if covariance_type == "spherical":
        prec = prec[:, None] * tf.ones_like(means)  # [K, d]
    x2 = tf.square(x)  # [b, d]
    maha = (
        tf.matmul(x2, prec, transpose_b=True)
        - 2.0 * tf.matmul(x, means * prec, transpose_b=True)
        + tf.reduce_sum(tf.square(means) * prec, axis=1)[None, :]
    )  # [b, K]
    d = tf.cast(tf.shape(x)[1], tf.float64)
    log_prob = -0.5 * (d * math.log(2.0 * math.pi) + maha) + _log_det_cholesky(
        prec_chol, covariance_type, d
    )
    norm, lr = _normalise(log_prob + tf.math.log(weights), k)
    resp = tf.exp(lr) * w[:, None]  # [b, K]
    log_lik = tf.reduce_sum(tf.math.multiply_no_nan(norm, w))  # float64, as the objective
    nk = tf.reduce_sum(resp, axis=0)  # [K]
    rx = tf.matmul(resp, x, transpose_a=True)  # [K, d]
    rx2 = tf.matmul(resp, x2, transpose_a=True)  # [K, d]
    sx = rx - nk[:, None] * means  # about the means, as resp_statistics
    s2 = rx2 - 2.0 * means * rx + nk[:, None] * tf.square(means)
    return (log_lik,) + tuple(tf.cast(t, dtype) for t in (nk, sx, s2))


def e_step_statistics(x, w, weights, means, prec_chol, covariance_type, k=None):
    """E step of one batch: ``(sum w log p(x), nk [K], sx [K, d], s2)`` about ``means``.

    The log-likelihood is summed over the rows in float64 whatever the dtype
    (the per-row values in the dtype): it is the reported objective and the
    convergence test. Rows of zero weight (padding) add exactly nothing, even
    where their log-likelihood is not finite. "diag" and "spherical" run as
    GEMMs in float64 (``_diag_e_step_gemm``) on small data (outside XLA) and on
    float64 data of any size (as BayesianGaussianMixture's E step: 100,000 x
    16, K=8, a 30-iteration fit 1.52 -> 0.66 s); float64 "full" maps the rows by
    one GEMM (``log_gaussian_prob``'s ``expanded``). Large float32 data take
    the differences.
    """
    if covariance_type in ("diag", "spherical") and (not xla_active() or x.dtype == tf.float64):
        return _diag_e_step_gemm(x, w, weights, means, prec_chol, covariance_type, k)
    norm, lr = log_resp(x, weights, means, prec_chol, covariance_type, k, expanded=True)
    resp = tf.exp(lr) * w[:, None]  # [b, K]
    log_lik = tf.reduce_sum(tf.cast(tf.math.multiply_no_nan(norm, w), tf.float64))  # [b] summed
    return (log_lik,) + resp_statistics(x, w, resp, means, covariance_type)


def zero_statistics(k, d, covariance_type, dtype):
    """The zero of the E-step statistics."""
    s2_shape = {"full": [k, d, d], "tied": [d, d]}.get(covariance_type, [k, d])
    return (
        tf.zeros([], dtype),
        tf.zeros([k], dtype),
        tf.zeros([k, d], dtype),
        tf.zeros(s2_shape, dtype),
    )


def _symmetric(a):
    return 0.5 * (a + tf.linalg.matrix_transpose(a))


def m_step(nk_raw, sx, s2, centers, reg_covar, covariance_type, k=None):
    """Parameters from summed statistics (taken about ``centers``), as scikit-learn.

    ``nk = sum r + 10 eps``; ``means = sum r x / nk``; covariances are the
    responsibility-weighted scatter about the new means over ``nk``, plus
    ``reg_covar`` on the diagonal ("tied": the pooled scatter over ``sum nk``).
    With ``k``, components from ``k`` on are padding: ``nk`` 0, mean 0 and
    identity covariance (never part of ``ok``).

    Returns:
        ``(nk [K], means [K, d], covariances, prec_chol, ok)``; ``ok`` is a bool
        scalar, False when a covariance is not positive definite. The mixing
        weights are ``nk / sum(nk)``.
    """
    dtype = sx.dtype
    # float64's 10 eps in every dtype, as scikit-learn's float64: float32's would
    # move a one-row component's mean off its row by 1e-6 of its norm, a scatter
    # that a reg_covar small next to the data's scale cannot make positive definite
    nk = nk_raw + tf.constant(10.0 * _finfo_eps(tf.float64), dtype)  # [K]
    mask = None if k is None else component_mask(k, tf.shape(nk)[0])  # [K]
    if mask is not None:
        nk = tf.where(mask, nk, tf.zeros_like(nk))
        divisor = tf.where(mask, nk, tf.ones_like(nk))  # padded: 0 / 1, not 0 / 0
    else:
        divisor = nk
    means = (sx + nk_raw[:, None] * centers) / divisor[:, None]  # [K, d]
    if mask is not None:
        means = tf.where(mask[:, None], means, tf.zeros_like(means))
    d = tf.shape(sx)[1]
    eye = tf.eye(d, dtype=dtype)
    if covariance_type == "full":
        shift = means - centers  # [K, d]
        outer = shift[:, :, None] * sx[:, None, :]  # [K, d, d]
        scatter = (
            s2
            - outer
            - tf.linalg.matrix_transpose(outer)
            + nk_raw[:, None, None] * shift[:, :, None] * shift[:, None, :]
        )
        cov = _symmetric(scatter / divisor[:, None, None]) + reg_covar * eye
        if mask is not None:
            cov = tf.where(mask[:, None, None], cov, eye)
    elif covariance_type == "tied":
        avg_means2 = tf.matmul(nk[:, None] * means, means, transpose_a=True)  # [d, d]
        cov = _symmetric((s2 - avg_means2) / tf.reduce_sum(nk)) + reg_covar * eye
    else:
        shift = means - centers  # [K, d]
        scatter = s2 - 2.0 * shift * sx + nk_raw[:, None] * tf.square(shift)
        cov = scatter / divisor[:, None] + reg_covar  # [K, d]
        if covariance_type == "spherical":
            cov = tf.reduce_mean(cov, axis=1)  # [K]
        if mask is not None:
            real = mask if covariance_type == "spherical" else mask[:, None]
            cov = tf.where(real, cov, tf.ones_like(cov))
    prec_chol, ok = precision_cholesky(cov, covariance_type)
    return nk, means, cov, prec_chol, ok


def _finfo_eps(dtype):
    return 2.220446049250313e-16 if dtype == tf.float64 else 1.1920928955078125e-07


def precision_cholesky(cov, covariance_type):
    """Upper Cholesky factor of the precisions from covariances, and an ok flag.

    Full/tied: ``U = inv(cholesky(cov)).T`` by a triangular solve. Never NaN: a
    covariance that is not positive definite gives ``ok = False`` and an
    identity factor in its place.
    """
    if covariance_type in ("full", "tied"):
        eye = tf.eye(tf.shape(cov)[-1], batch_shape=tf.shape(cov)[:-2], dtype=cov.dtype)
        chol = tf.linalg.cholesky(cov)
        diag = tf.linalg.diag_part(chol)
        good = tf.reduce_all(tf.math.is_finite(chol), axis=[-2, -1]) & tf.reduce_all(
            diag > 0, axis=-1
        )
        chol = tf.where(good[..., None, None], chol, eye)
        prec_chol = tf.linalg.matrix_transpose(tf.linalg.triangular_solve(chol, eye, lower=True))
        return prec_chol, tf.reduce_all(good)
    good = cov > 0
    prec_chol = tf.math.rsqrt(tf.where(good, cov, tf.ones_like(cov)))
    return prec_chol, tf.reduce_all(good)


def _flip(a):
    return tf.reverse(a, axis=[-2, -1])


def precision_cholesky_from_precisions(precisions, covariance_type):
    """``U`` upper with ``U U^T = precisions`` (scikit-learn's flipped Cholesky)."""
    if covariance_type in ("full", "tied"):
        return _flip(tf.linalg.cholesky(_flip(precisions)))
    return tf.sqrt(precisions)


def precisions_from_cholesky(prec_chol, covariance_type):
    """``precisions = U U^T`` (full/tied) or ``U**2``."""
    if covariance_type in ("full", "tied"):
        return tf.matmul(prec_chol, prec_chol, transpose_b=True)
    return tf.square(prec_chol)


def scale_tril(prec_chol, covariance_type, k):
    """Lower Cholesky factor of every covariance, ``[k, d, d]``: ``inv(U).T``."""
    if covariance_type in ("full", "tied"):
        eye = tf.eye(tf.shape(prec_chol)[-1], dtype=prec_chol.dtype)
        inv_u = tf.linalg.triangular_solve(prec_chol, eye, lower=False)
        tril = tf.linalg.matrix_transpose(inv_u)
        return tf.broadcast_to(tril, [k] + tril.shape.as_list()[-2:])
    return None

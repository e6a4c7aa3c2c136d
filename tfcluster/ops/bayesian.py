"""Variational Bayesian Gaussian mixture maths (pure TensorFlow), as scikit-learn's.

The batch statistics are the Gaussian mixture's (``ops.mixture.resp_statistics``
of the responsibilities, summed with ``reduce_batches``) plus the weighted
entropy term ``sum w r log r``; ``ops.mixture.m_step`` turns them into
``(nk, xk, sk)`` and ``posterior`` into the variational parameters:

    weight_concentration  "dirichlet_process": (a [k], b [k]) of the stick
                          breaking Beta posteriors; "dirichlet_distribution":
                          a [k] (b unused, zeros)
    mean_precision [k], means [k, d], degrees_of_freedom [k] (the same value
    k times for "tied"), covariances and prec_chol shaped as the covariance
    type ([k, d, d], [d, d], [k, d], [k]).

Components may be padded to a bucket ``K >= k`` (``k`` a scalar tensor): the
padded ones get zero responsibilities and statistics, benign posterior values,
and are left out of every sum over components (the Dirichlet's total, the lower
bound), so the real ``k`` get the unpadded results.

The prior is ``(weight_concentration_prior, mean_precision_prior,
mean_prior [d], degrees_of_freedom_prior, covariance_prior)``, the last
shaped as one covariance of the type.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import tensorflow as tf

from tfcluster._engine.compile import kernel
from tfcluster.ops.batching import reduce_batches
from tfcluster.ops.gaussian import _diag_e_step_gemm, _log_det_cholesky
from tfcluster.ops.mixture import (
    log_resp,
    m_step,
    precision_cholesky,
    resp_statistics,
    zero_statistics,
)

__all__ = [
    "Posterior",
    "posterior",
    "log_weight_bias",
    "e_step_statistics",
    "lower_bound",
    "variational_em",
    "score_and_resp",
]


class Posterior(NamedTuple):
    """The variational parameters (shapes in the module docstring)."""

    concentration_a: tf.Tensor
    concentration_b: tf.Tensor
    mean_precision: tf.Tensor
    means: tf.Tensor
    degrees_of_freedom: tf.Tensor
    covariances: tf.Tensor
    prec_chol: tf.Tensor


def _real(post_or_nk, k):
    """``[K]`` bool: True for the real components (all when ``k`` is None)."""
    size = tf.shape(post_or_nk)[0]
    return tf.range(size) < (size if k is None else k)


def posterior(nk, xk, sk, prior, covariance_type, process: bool, k=None) -> tuple:
    """The variational posterior from ``(nk [K], xk [K, d], sk)`` (``ops.mixture.m_step``,
    padded components with ``nk = 0``; ``k`` the real count, None for all).

    Returns:
        ``(Posterior, ok)``: ``ok`` False when a covariance is not positive definite.
    """
    alpha0, beta0, m0, nu0, psi0 = prior
    size = tf.shape(nk)[0]
    dtype = nk.dtype
    if process:
        tail = tf.concat([tf.cumsum(nk, reverse=True)[1:], tf.zeros([1], dtype)], 0)  # [k]
        a, b = 1.0 + nk, alpha0 + tail
    else:
        a, b = alpha0 + nk, tf.zeros_like(nk)
    beta = beta0 + nk  # [k]
    means = (beta0 * m0[None, :] + nk[:, None] * xk) / beta[:, None]  # [k, d]
    diff = xk - m0[None, :]  # [k, d]
    shrink = beta0 / beta  # [k]
    if covariance_type == "full":
        nu = nu0 + nk
        outer = diff[:, :, None] * diff[:, None, :]  # [k, d, d]
        cov = psi0 + nk[:, None, None] * (sk + shrink[:, None, None] * outer)
        cov = cov / nu[:, None, None]
    elif covariance_type == "tied":
        total = tf.reduce_sum(nk)
        kf = tf.cast(size if k is None else k, dtype)
        nu_tied = nu0 + total / kf
        scatter = tf.matmul((nk / beta)[:, None] * diff, diff, transpose_a=True)  # [d, d]
        cov = (psi0 + sk * total / kf + beta0 / kf * scatter) / nu_tied
        nu = tf.fill([size], nu_tied)
    elif covariance_type == "diag":
        nu = nu0 + nk
        cov = (psi0 + nk[:, None] * (sk + shrink[:, None] * tf.square(diff))) / nu[:, None]
    else:
        nu = nu0 + nk
        cov = (psi0 + nk * (sk + shrink * tf.reduce_mean(tf.square(diff), 1))) / nu
    prec_chol, ok = precision_cholesky(cov, covariance_type)
    return Posterior(a, b, beta, means, nu, cov, prec_chol), ok


def _expected_log_weights(post: Posterior, process: bool, real):
    """``E[log pi_j]`` ``[K]`` under the Dirichlet (process) posterior; ``real [K]``
    marks the components that count (padded ones come last)."""
    a, b = post.concentration_a, post.concentration_b
    if process:
        dg_sum = tf.math.digamma(a + b)
        dg_b = tf.math.digamma(b) - dg_sum  # [k]
        before = tf.concat([tf.zeros([1], a.dtype), tf.cumsum(dg_b)[:-1]], 0)
        return tf.math.digamma(a) - dg_sum + before
    return tf.math.digamma(a) - tf.math.digamma(tf.reduce_sum(tf.where(real, a, tf.zeros_like(a))))


def log_weight_bias(post: Posterior, process: bool, d: int, k=None):
    """Per component, what the variational E step adds to the Gaussian log density
    ``log N(x | means, precisions)``: ``E[log pi] - d/2 log nu + (E[log |Lambda|]
    from the Wishart - d / beta) / 2`` ``[k]``."""
    nu = post.degrees_of_freedom
    d = tf.cast(d, nu.dtype)  # a tensor when a kernel relaxed the shapes
    steps = tf.range(d)[:, None]  # [d, 1]
    log_lambda = d * math.log(2.0) + tf.reduce_sum(tf.math.digamma(0.5 * (nu - steps)), 0)
    extra = -0.5 * d * tf.math.log(nu) + 0.5 * (log_lambda - d / post.mean_precision)
    return _expected_log_weights(post, process, _real(nu, k)) + extra


def _variational_weights(post: Posterior, process: bool, d, k=None):
    """``(weights [K], top)``: ``exp(log_weight_bias - top)`` in (0, 1] for the real
    components (no overflow), one for the padded ones, and the ``top`` taken out."""
    bias = log_weight_bias(post, process, d, k)
    real = _real(bias, k)
    top = tf.reduce_max(
        tf.where(real, bias, tf.fill(tf.shape(bias), tf.constant(-math.inf, bias.dtype)))
    )
    return tf.where(real, tf.exp(bias - top), tf.ones_like(bias)), top


def _log_resp(x, post: Posterior, covariance_type, process: bool, k=None, expanded=False):
    """``(log_prob_norm [b], log_resp [b, K])`` of the variational E step (``expanded``:
    as ``ops.gaussian.log_gaussian_prob``)."""
    weights, top = _variational_weights(post, process, x.shape[1] or tf.shape(x)[1], k)
    norm, lr = log_resp(x, weights, post.means, post.prec_chol, covariance_type, k, expanded)
    return norm + top, lr


def _diag_e_step(x, w, post: Posterior, covariance_type, process: bool, k=None):
    """``e_step_statistics`` of float64 "diag" and "spherical" rows as GEMMs
    (``ops.gaussian._diag_e_step_gemm``, scikit-learn's expanded form), no
    ``[b, K, d]`` block. The entropy term comes from the sums: with
    ``log r_ij = log p_ij + log u_j - norm_i`` (``u`` the variational weights)
    and ``s2`` the scatter about the means,

        sum_i w_i sum_j r_ij log r_ij = sum_j nk_j (log u_j + log|P_j|^(1/2)
            - d/2 log(2 pi)) - 1/2 sum_j,f prec_jf s2_jf - sum_i w_i norm_i.

    Where a row's density underflows everywhere (norm -inf) the difference
    form ``_diff_e_step`` runs instead."""
    d = x.shape[1] or tf.shape(x)[1]
    weights, _ = _variational_weights(post, process, d, k)
    log_lik, nk, sx, s2 = _diag_e_step_gemm(
        x, w, weights, post.means, post.prec_chol, covariance_type, k
    )
    prec = tf.square(post.prec_chol)  # [K, d] "diag", [K] "spherical"
    if covariance_type == "spherical":
        prec = prec[:, None]
    d = tf.cast(d, x.dtype)
    log_det = _log_det_cholesky(post.prec_chol, covariance_type, d)  # [K]
    per_component = nk * (tf.math.log(weights) + log_det - 0.5 * d * math.log(2.0 * math.pi))
    neg_entropy = tf.reduce_sum(per_component) - 0.5 * tf.reduce_sum(prec * s2) - log_lik
    return tf.cond(
        tf.math.is_finite(log_lik),
        lambda: (neg_entropy, nk, sx, s2),
        lambda: _diff_e_step(x, w, post, covariance_type, process, k),
    )


def _diff_e_step(x, w, post: Posterior, covariance_type, process: bool, k=None):
    """``e_step_statistics`` from the differences ``x - means`` (every type; float64
    "full" maps the rows by one GEMM, as GaussianMixture's E step)."""
    _, lr = _log_resp(x, post, covariance_type, process, k, expanded=True)
    resp = tf.exp(lr) * w[:, None]  # [b, k]
    neg_entropy = tf.reduce_sum(tf.math.multiply_no_nan(lr, resp))  # 0 log 0 = 0
    return (neg_entropy,) + resp_statistics(x, w, resp, post.means, covariance_type)


def e_step_statistics(x, w, post: Posterior, covariance_type, process: bool, k=None):
    """One batch: ``(sum w r log r, nk [K], sx [K, d], s2)``, the sums about ``means``.

    float64 "diag" and "spherical" run as GEMMs (``_diag_e_step``), the rest
    from the differences."""
    if covariance_type in ("diag", "spherical") and x.dtype == tf.float64:
        return _diag_e_step(x, w, post, covariance_type, process, k)
    return _diff_e_step(x, w, post, covariance_type, process, k)


_e_step_xla = kernel(e_step_statistics, name="bayesian.e_step")


def _log_wishart_norm(nu, log_det_chol, d: int):
    steps = tf.range(tf.cast(d, nu.dtype))[:, None]  # [d, 1]
    gammas = tf.reduce_sum(tf.math.lgamma(0.5 * (nu - steps)), 0)  # [k]
    return -(nu * log_det_chol + nu * d * 0.5 * math.log(2.0) + gammas)


def lower_bound(neg_entropy, post: Posterior, covariance_type, process: bool, d: int, k=None):
    """The evidence lower bound (up to scikit-learn's constant) after an M step."""
    nu = post.degrees_of_freedom  # [K]
    real = _real(nu, k)
    d = tf.cast(d, nu.dtype)  # a tensor under free shapes

    def total(v):  # the sum over the real components
        return tf.reduce_sum(tf.where(real, v, tf.zeros_like(v)))

    log_det = _log_det_cholesky(post.prec_chol, covariance_type, d) - 0.5 * d * tf.math.log(nu)
    log_wishart = total(_log_wishart_norm(nu, log_det, d))  # "tied": k equal terms
    a, b = post.concentration_a, post.concentration_b
    if process:
        betaln = tf.math.lgamma(a) + tf.math.lgamma(b) - tf.math.lgamma(a + b)
        log_norm_weight = -total(betaln)
    else:
        log_norm_weight = tf.math.lgamma(total(a)) - total(tf.math.lgamma(a))
    return (
        -neg_entropy
        - log_wishart
        - log_norm_weight
        - 0.5 * d * total(tf.math.log(post.mean_precision))
    )


def variational_em(
    source, post, lb, max_iter, tol, reg_covar, prior, covariance_type, process, chunk, padded,
    k=None,
):  # fmt: skip
    """Variational EM until ``|change of the lower bound| < tol`` or ``max_iter``.

    As scikit-learn: each iteration takes the E step with the current
    posterior, the M step, then the lower bound from the E step's
    responsibilities and the new posterior.

    Returns:
        dict: ``posterior`` (a ``Posterior``), ``n_iter``, ``lower_bound``,
        ``converged``, ``ok`` and ``lower_bounds [n_iter]``.
    """
    size = post.means.shape[0] or tf.shape(post.means)[0]  # static unless free shapes
    d = post.means.shape[1] or tf.shape(post.means)[1]
    zero = zero_statistics(size, d, covariance_type, post.means.dtype)
    bounds = tf.TensorArray(post.means.dtype, size=0, dynamic_size=True, element_shape=[])

    def cond(i, lb, converged, ok, post, bounds):
        return (i < max_iter) & ~converged & ok

    def body(i, lb, converged, ok, post, bounds):
        stats = reduce_batches(
            lambda x, w: _e_step_xla(x, w, post, covariance_type, process, k),
            zero,
            source,
            chunk,
            padded=padded,
        )
        # sk need not be positive definite (float32 cancellation on a near-constant
        # feature): as scikit-learn, only the posterior's covariances, prior added, must be
        nk, xk, sk, _, _ = m_step(*stats[1:], post.means, reg_covar, covariance_type, k)
        new, ok = posterior(nk, xk, sk, prior, covariance_type, process, k)
        new_lb = lower_bound(stats[0], new, covariance_type, process, d, k)
        converged = tf.abs(new_lb - lb) < tol
        return i + 1, new_lb, converged, ok, new, bounds.write(i, new_lb)

    state = (tf.constant(0), lb, tf.constant(False), tf.constant(True), post, bounds)
    i, lb, converged, ok, post, bounds = tf.while_loop(cond, body, state)
    return {
        "posterior": post,
        "n_iter": i,
        "lower_bound": lb,
        "converged": converged,
        "ok": ok,
        "lower_bounds": bounds.stack(),
    }


def score_and_resp(x, post: Posterior, covariance_type, process: bool, k=None):
    """Per-row ``log sum_j exp(weighted log prob)`` ``[b]``, responsibilities ``[b, k]``
    and labels ``[b]`` (the first largest responsibility), as scikit-learn's."""
    norm, lr = _log_resp(x, post, covariance_type, process, k)
    labels = tf.argmax(lr, axis=1, output_type=tf.int32)
    resp = tf.exp(lr)
    return norm, resp / tf.reduce_sum(resp, axis=1, keepdims=True), labels

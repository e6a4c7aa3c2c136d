"""Gaussian mixture maths: the EM loop, initial statistics, sampling, TFP.

Pure TensorFlow, safe inside ``tf.function``. The per-covariance-type maths
(densities, E- and M-step statistics, Cholesky factors and their shapes) is
``tfcluster.ops.gaussian``; every public name of it is importable from here
too. The E-step statistics of each batch are summed with
``ops.batching.reduce_batches``, then the M step turns the sums into new
parameters, so a streamed ``tf.data.Dataset`` gives the same EM as
in-memory data. Components may be padded to a bucket ``K >= k`` and
in-memory chunks with zero-weight rows (see ``tfcluster.ops.gaussian``).
"""

from __future__ import annotations

from typing import NamedTuple

import tensorflow as tf

from tfcluster._engine.compile import kernel
from tfcluster.ops import gaussian
from tfcluster.ops.batching import fold_batches, reduce_batches, source_spec, tree_add
from tfcluster.ops.distances import first_argmin, masked_norms, nearest
from tfcluster.ops.gaussian import *  # noqa: F403  (every name of ops.gaussian is public here too)
from tfcluster.ops.gaussian import (
    _log_det_cholesky,  # noqa: F401  (ops.bayesian imports it from here)
    e_step_statistics,
    log_resp,
    m_step,
    resp_statistics,
    scale_tril,
    zero_statistics,
)

__all__ = [
    *gaussian.__all__,
    "init_statistics",
    "MixtureParams",
    "EMState",
    "em",
    "score_and_resp",
    "sample",
    "to_distribution",
]

_e_step_xla = kernel(e_step_statistics, name="mixture.e_step")


def init_statistics(source, kind, centers, arg, covariance_type, chunk_size, k=None, padded=False):
    """Statistics of an initial hard or random assignment, one pass over ``source``.

    Args:
        source: ``(x, w)`` or a dataset of ``(x, w)`` batches.
        kind: "centers" (each row to its nearest of ``centers``, times its
            weight), "rows" (component ``j`` is the single row ``arg[j]``,
            ``arg`` int64 global row indices, -1 for padded components,
            ``centers`` those rows) or "random" (uniform responsibilities per
            row, normalised, times the weight; ``arg`` a stateless seed ``[2]``).
        centers: ``[K, d]`` reference points of the statistics.
        covariance_type: one of ``COVARIANCE_TYPES``.
        chunk_size: rows per in-memory chunk.
        k: the number of real components (a scalar tensor), or None for all ``K``.
        padded: static in-memory chunks, the last padded with zero-weight rows.

    Returns:
        ``(nk [K], sx [K, d], s2)`` as ``resp_statistics``, about ``centers``;
        padded components get zero statistics.
    """
    size = centers.shape[0] or tf.shape(centers)[0]  # static when known: fixed loop shapes
    real = size if k is None else k

    def step(acc, x, w):
        offset, stats = acc
        b = tf.shape(x)[0]
        if kind == "centers":
            centers_sq = None if k is None else masked_norms(centers, k)
            labels, _ = nearest(x, centers, centers_sq)
            resp = tf.one_hot(labels, size, dtype=x.dtype) * w[:, None]
        elif kind == "rows":
            rows = offset + tf.range(tf.cast(b, tf.int64), dtype=tf.int64)  # [b]
            resp = tf.cast(rows[:, None] == arg[None, :], x.dtype)  # [b, K]
        else:
            seed = tf.random.experimental.stateless_fold_in(arg, offset)
            # [b, k] then padded: the same random stream for every bucket
            u = tf.random.stateless_uniform([b, real], seed, dtype=x.dtype)
            u = tf.pad(u, [[0, 0], [0, size - real]])  # [b, K]
            resp = u / tf.reduce_sum(u, axis=1, keepdims=True) * w[:, None]
        new = resp_statistics(x, w, resp, centers, covariance_type)
        return offset + tf.cast(b, tf.int64), tree_add(stats, new)

    d, dtype = source_spec(source)
    zero = zero_statistics(size, d, covariance_type, dtype)[1:]

    def init(first):  # the row offset of the first batch (the "rows" and "random" kinds)
        return tf.cast(first, tf.int64) * chunk_size, zero

    def merge(a, b):
        return b[0], tree_add(a[1], b[1])

    return fold_batches(step, init, source, chunk_size, padded=padded, merge=merge)[1]


class MixtureParams(NamedTuple):
    """The parameters of a Gaussian mixture as the EM loop carries them."""

    weights: tf.Tensor  # [k]
    means: tf.Tensor  # [k, d]
    covariances: tf.Tensor  # the covariances' shape (zeros before the first M step)
    prec_chol: tf.Tensor  # the covariances' shape


class EMState(NamedTuple):
    """The state of the EM loop (``em``)."""

    n_iter: tf.Tensor  # int32, iterations done
    lower_bound: tf.Tensor  # float64, the last iteration's mean log-likelihood
    converged: tf.Tensor  # bool, the lower bound changed by less than tol
    ok: tf.Tensor  # bool, every covariance still positive definite
    params: MixtureParams  # after the last M step
    lower_bounds: tf.TensorArray  # float64 [n_iter]


def em(
    source,
    weights,
    means,
    prec_chol,
    lower_bound,
    total_weight,
    max_iter,
    tol,
    reg_covar,
    covariance_type,
    chunk_size,
    xla=True,
    *,
    k=None,
    padded=False,
):
    """EM iterations until ``|change of lower bound| < tol`` or ``max_iter``.

    scikit-learn's rule: the lower bound of an iteration is the mean
    log-likelihood of the parameters *before* its M step; the returned
    parameters are those after the last M step. With ``xla`` the per-chunk E
    step is XLA-compiled (about 2x faster on CPU, measured on 100,000 x 16 rows).
    ``k`` (a scalar tensor) is the number of real components of a padded
    bucket; ``padded`` gives static in-memory chunks (the last one padded with
    zero-weight rows), so the XLA E step compiles once per chunk shape. The
    lower bound is summed, stored and tested against ``tol`` in float64
    whatever the dtype of the parameters.

    Returns:
        dict with ``weights, means, covariances, prec_chol`` (after the last M
        step), ``n_iter``, ``lower_bound``, ``converged``, ``ok`` (False if a
        covariance stopped being positive definite) and ``lower_bounds``
        ``[n_iter]``.
    """
    size = means.shape[0] or tf.shape(means)[0]
    d = means.shape[1] or tf.shape(means)[1]
    dtype = means.dtype
    zero = zero_statistics(size, d, covariance_type, dtype)
    zero = (tf.zeros([], tf.float64),) + zero[1:]  # the log-likelihood summed in float64
    e_step = _e_step_xla if xla else e_step_statistics
    cov0 = tf.zeros([size], dtype) if covariance_type == "spherical" else tf.zeros_like(zero[3])
    bounds = tf.TensorArray(tf.float64, size=0, dynamic_size=True, element_shape=[])
    total_weight = tf.cast(total_weight, tf.float64)
    tol = tf.cast(tol, tf.float64)  # the test on the float64 lower bound
    ct = covariance_type

    def cond(state):
        return (state.n_iter < max_iter) & tf.logical_not(state.converged) & state.ok

    def body(state):
        params = state.params
        stats = reduce_batches(
            lambda x, w: e_step(x, w, params.weights, params.means, params.prec_chol, ct, k),
            zero,
            source,
            chunk_size,
            padded=padded,
        )
        new_lb = stats[0] / total_weight
        nk, new_m, new_c, new_u, new_ok = m_step(*stats[1:], params.means, reg_covar, ct, k)
        return (
            EMState(
                n_iter=state.n_iter + 1,
                lower_bound=new_lb,
                converged=tf.abs(new_lb - state.lower_bound) < tol,
                ok=new_ok,
                params=MixtureParams(nk / tf.reduce_sum(nk), new_m, new_c, new_u),
                lower_bounds=state.lower_bounds.write(state.n_iter, new_lb),
            ),
        )

    state = EMState(
        n_iter=tf.constant(0),
        lower_bound=tf.cast(lower_bound, tf.float64),
        converged=tf.constant(False),
        ok=tf.constant(True),
        params=MixtureParams(weights, means, cov0, prec_chol),
        lower_bounds=bounds,
    )
    (state,) = tf.while_loop(cond, body, (state,))
    return {
        **state.params._asdict(),
        "n_iter": state.n_iter,
        "lower_bound": state.lower_bound,
        "converged": state.converged,
        "ok": state.ok,
        "lower_bounds": state.lower_bounds.stack(),
    }


def score_and_resp(x, weights, means, prec_chol, covariance_type, k=None):
    """Per-row log-likelihood ``[b]``, responsibilities ``[b, K]`` and labels ``[b]``.

    With ``k``, components from ``k`` on are padding (responsibility 0, never a label).
    """
    norm, lr = log_resp(x, weights, means, prec_chol, covariance_type, k)
    labels, _ = first_argmin(-lr)  # first index of the largest responsibility
    resp = tf.exp(lr)  # [b, k]
    # renormalised: for a far outlier, norm cannot resolve log(k) next to the
    # huge log-likelihoods, and exp(lr) would not sum to one
    return norm, resp / tf.reduce_sum(resp, axis=1, keepdims=True), labels


def sample(n, seed, weights, means, prec_chol, covariance_type):
    """``n`` draws from the mixture with a stateless ``seed`` ``[2]``.

    Rows come grouped by component, as scikit-learn's ``sample``.

    Returns:
        ``(x [n, d], y [n] int64)``.
    """
    seeds = tf.random.experimental.stateless_split(seed, 2)
    k, d = tf.shape(means)[0], tf.shape(means)[1]
    logits = tf.math.log(weights)[None, :]
    y = tf.sort(tf.random.stateless_categorical(logits, n, seeds[0], dtype=tf.int64)[0])
    z = tf.random.stateless_normal([n, d], seeds[1], dtype=means.dtype)  # [n, d]
    if covariance_type in ("full", "tied"):
        tril = scale_tril(prec_chol, covariance_type, k)  # [k, d, d]
        noise = tf.einsum("nij,nj->ni", tf.gather(tril, y), z)
    else:
        scale = 1.0 / prec_chol  # [k, d] or [k]
        scale = scale if covariance_type == "diag" else scale[:, None]
        noise = z * tf.gather(scale, y)
    return tf.gather(means, y) + noise, y


def to_distribution(weights, means, prec_chol, covariance_type):
    """The mixture as ``tfp.distributions.MixtureSameFamily``."""
    import tensorflow_probability as tfp

    tfd = tfp.distributions
    k, d = means.shape[0], means.shape[1]
    if covariance_type in ("full", "tied"):
        comp = tfd.MultivariateNormalTriL(
            loc=means, scale_tril=scale_tril(prec_chol, covariance_type, k)
        )
    else:
        scale = 1.0 / prec_chol
        if covariance_type == "spherical":
            scale = tf.broadcast_to(scale[:, None], [k, d])
        comp = tfd.MultivariateNormalDiag(loc=means, scale_diag=scale)
    return tfd.MixtureSameFamily(tfd.Categorical(probs=weights), comp)

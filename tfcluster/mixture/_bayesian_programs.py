"""The compiled programs of BayesianGaussianMixture and the padding of its
statistics and posterior to a bucket of components.

``_bayesian_mixture`` (the estimator shell) calls these; they hold no
parameter checks and no fitted attributes. ``_initial_statistics`` is looked
up through the shell's module, where tests replace it to start from given
responsibilities.
"""

from __future__ import annotations

import math

import tensorflow as tf

from tfcluster._engine import Program, pad_rows
from tfcluster._engine.driver import Data, Frame
from tfcluster.mixture._init import assignment_statistics, call_on_assignment
from tfcluster.ops import bayesian as ops
from tfcluster.ops import mixture as gm_ops
from tfcluster.ops.batching import map_chunks

__all__ = [
    "_init_stats",
    "_vem",
    "_score",
    "_initial_statistics",
    "_pad_statistics",
    "_pad_posterior",
    "_log_scale",
]


def _init_stats_fn(source, centers, arg, k, *, kind, covariance_type, chunk, padded):
    """Statistics ``(nk [K], sx [K, d], s2)`` of an initial assignment about ``centers [K, d]``."""
    return assignment_statistics(source, centers, arg, k, kind, covariance_type, chunk, padded)


def _vem_fn(source, post, prior, lb, k, max_iter, tol, reg_covar, **static):
    """Variational EM from ``post`` (padded to ``K``); ``static``: covariance_type,
    process, chunk, padded (they select code, so they key the traces)."""
    ct, process = static["covariance_type"], static["process"]
    bound = (lb, max_iter, tol, reg_covar, prior, ct, process)
    return ops.variational_em(source, post, *bound, static["chunk"], static["padded"], k=k)


def _score_fn(x, post, k, *, covariance_type, process, chunk):
    size, dtype = post.means.shape[0], x.dtype
    spec = (
        tf.TensorSpec([None], dtype),
        tf.TensorSpec([None, size], dtype),
        tf.TensorSpec([None], tf.int32),
    )
    return map_chunks(
        lambda xb: ops.score_and_resp(xb, post, covariance_type, process, k),
        x,
        chunk,
        spec,
        padded=True,
    )


# free shapes: one trace per (dtype, options) whatever n_features or k
_init_stats = Program(
    _init_stats_fn, "bayesian.init", rows=(0,), free_shapes=True, autograph=False
)
_vem = Program(_vem_fn, "bayesian.em", rows=(0,), free_shapes=True, autograph=False)
_score = Program(_score_fn, "bayesian.score", rows=(0,), free_shapes=True, autograph=False)


def _initial_statistics(est, data: Data, offset, n_samples: int, seed):
    """``(nk, sx, s2, centers)`` of ``est.init_params``'s responsibilities on centred
    ``data`` (the statistics about ``centers``), padded to the fit's bucket; tests
    replace it to start from given responsibilities."""
    return call_on_assignment(_init_stats, est, data, n_samples, seed)


def _pad_statistics(stats, covariance_type, size: int):
    """``(nk, sx, s2, centers)`` of ``k`` components padded with zeros to ``size``."""
    nk, sx, s2, centers = (tf.convert_to_tensor(v) for v in stats)
    if covariance_type != "tied":
        s2 = pad_rows(s2, size)
    return pad_rows(nk, size), pad_rows(sx, size), s2, pad_rows(centers, size)


def _pad_posterior(post: ops.Posterior, covariance_type, size: int) -> ops.Posterior:
    """``post`` of ``k`` components padded to ``size`` with benign values (masked later)."""
    k, d = int(post.means.shape[0]), int(post.means.shape[1])
    extra = size - k
    if extra == 0:
        return post
    dtype = post.means.dtype

    def ones(v):
        return tf.concat([v, tf.ones([extra], dtype)], 0)

    _, means, cov = gm_ops.pad_components(
        tf.ones([k], dtype), post.means, post.covariances, covariance_type, size
    )
    _, _, prec_chol = gm_ops.pad_components(
        tf.ones([k], dtype), post.means, post.prec_chol, covariance_type, size
    )
    nu = tf.concat([post.degrees_of_freedom, tf.fill([extra], tf.constant(d + 1.0, dtype))], 0)
    return ops.Posterior(
        ones(post.concentration_a),
        ones(post.concentration_b),
        ones(post.mean_precision),
        means,
        nu,
        cov,
        prec_chol,
    )


def _log_scale(frame: Frame, n_features: int, k: int, nu0: float, total: float) -> float:
    """What the compute units add to the lower bound: its Wishart terms hold
    ``nu_j log|prec_chol_j|``, each ``n_features * log(scale)`` larger in compute
    units, and ``sum_j nu_j = k * nu0 + total`` (the responsibilities sum to the
    total weight) whatever the iteration."""
    return n_features * math.log(frame.scale) * (k * nu0 + total)

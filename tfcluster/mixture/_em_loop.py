"""The EM loop of GaussianMixture: its compiled program and its run in resumable segments."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from tfcluster._engine import Program
from tfcluster._engine.checkpoint import resume_loop
from tfcluster._engine.driver import call
from tfcluster.mixture._init import ill_defined
from tfcluster.ops import mixture as ops

__all__ = ["EM_PROGRAM", "run_em", "iterations"]


def _em_fn(source, params, lower_bound, total, k, max_iter, tol, reg_covar, **static):
    """EM from ``params = (weights, means, prec_chol)``; ``static``: covariance_type,
    chunk, padded (they select code, so they key the traces)."""
    ct, chunk, padded = static["covariance_type"], static["chunk"], static["padded"]
    bound = (lower_bound, total, max_iter, tol, reg_covar)
    return ops.em(source, *params, *bound, ct, chunk, k=k, padded=padded)


EM_PROGRAM = Program(_em_fn, "mixture.em", rows=(0,), free_shapes=True)


def run_em(est, program, source, params, lb0, cov0, args, checkpoint, every) -> dict:
    """Up to ``est.max_iter`` EM iterations of ``program`` (``EM_PROGRAM`` of
    ``est.covariance_type``) from ``params = (weights, means, prec_chol)``; with a ``checkpoint``
    ``(directory, fingerprint)``, in segments of ``every`` iterations, saved
    after each and resumed from the last save. EM depends only on the parameters and the
    last lower bound, so segments give the uninterrupted result."""
    total, tol, reg_covar, chunk, padded, size = args
    dtype, k, ct = total.dtype, est.n_components, est.covariance_type
    weights, means, prec_chol = params
    start = {
        "weights": weights.numpy(),
        "means": means.numpy(),
        "prec_chol": prec_chol.numpy(),
        "covariances": cov0.numpy(),
        "lower_bound": float(lb0),
        "lower_bounds": np.zeros([0]),
        "n_iter": 0,
        "converged": False,
    }

    def segment(out, steps):
        params = tuple(tf.constant(out[key], dtype) for key in ("weights", "means", "prec_chol"))
        lb = tf.constant(out["lower_bound"], tf.float64)
        seg = call(
            program,
            source,
            ops.pad_components(*params, ct, size),
            lb,
            total,
            tf.constant(k, tf.int32),
            tf.constant(int(steps), tf.int32),
            tol,
            reg_covar,
            chunk=chunk,
            padded=padded,
        )
        if not bool(seg["ok"]):
            raise ValueError(ill_defined(est.reg_covar, dtype))
        seg = {key: value.numpy() for key, value in seg.items()}
        for key in ("weights", "means", "prec_chol", "covariances"):  # the real k
            if ct != "tied" or key in ("weights", "means"):
                seg[key] = seg[key][:k]
        return {
            **{key: seg[key] for key in ("weights", "means", "prec_chol", "covariances")},
            **iterations(out, seg),
        }

    every = None if checkpoint is None else every
    return resume_loop(segment, start, est.max_iter, every=every, checkpoint=checkpoint)


def iterations(out: dict, seg: dict) -> dict:
    """The loop entries after a segment ``seg`` of (variational) EM that followed ``out``."""
    return {
        "lower_bound": float(seg["lower_bound"]),
        "lower_bounds": np.concatenate([out["lower_bounds"], np.asarray(seg["lower_bounds"])]),
        "n_iter": out["n_iter"] + int(seg["n_iter"]),
        "converged": bool(seg["converged"]),
    }

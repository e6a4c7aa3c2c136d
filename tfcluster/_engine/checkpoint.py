"""Resumable fits: the state of an iterative loop saved with ``tf.train.Checkpoint``."""

from __future__ import annotations

import hashlib
import os

import numpy as np
import tensorflow as tf

__all__ = ["LoopCheckpoint", "fit_settings", "resume_loop"]


def fit_settings(estimator, seed, **overrides) -> list:
    """The settings that identify a fit, for a checkpoint's fingerprint.

    The estimator's parameters (with ``overrides``) as ``(name, text)`` pairs
    that are the same in another process: a given ``random_state`` is replaced
    by the ``seed`` drawn from it (a RandomState's repr holds its address), arrays by
    a hash of their bytes, callables by their qualified name; ``verbose`` is
    left out.
    """
    params = {**estimator.get_params(deep=False), **overrides}
    params.pop("verbose", None)
    if params.get("random_state") is not None:  # None: any seed continues the fit
        params["random_state"] = np.asarray(seed).tolist()
    settings = []
    for name, value in sorted(params.items()):
        if isinstance(value, np.ndarray) or tf.is_tensor(value):
            data = np.ascontiguousarray(np.asarray(value))
            value = f"array{data.shape}:{hashlib.sha1(data.tobytes()).hexdigest()}"
        elif callable(value) and not hasattr(value, "get_params"):
            value = getattr(value, "__qualname__", type(value).__qualname__)
        settings.append((name, value if isinstance(value, str) else repr(value)))
    return settings


class LoopCheckpoint:
    """Saves and restores named loop state in a directory, for one fit only.

    Args:
        directory: where the checkpoints go (created if missing).
        template: name -> value giving each state entry's dtype (shapes may change).
        fingerprint: a string that identifies the fit (data, settings, seed); a
            checkpoint written by a fit with another fingerprint is refused.
    """

    def __init__(self, directory, template: dict, fingerprint: str):
        os.makedirs(directory, exist_ok=True)
        self._directory = os.fspath(directory)
        self._fingerprint = fingerprint
        state = {"fingerprint": fingerprint, **template}
        self._vars = {
            k: tf.Variable(v, trainable=False, shape=tf.TensorShape(None))
            for k, v in state.items()
        }
        self._checkpoint = tf.train.Checkpoint(**self._vars)
        self._manager = tf.train.CheckpointManager(
            self._checkpoint, self._directory, max_to_keep=2
        )

    def restore(self) -> dict | None:
        """The saved state as numpy values, or None if the directory holds none.

        Raises:
            ValueError: the checkpoint was written by another fit.
        """
        latest = self._manager.latest_checkpoint
        if latest is None:
            return None
        try:
            self._checkpoint.restore(latest).assert_existing_objects_matched()
            same = self._vars["fingerprint"].numpy().decode() == self._fingerprint
        except (ValueError, AssertionError, tf.errors.InvalidArgumentError):
            same = False
        if not same:
            raise ValueError(
                f"The checkpoint in {self._directory!r} was written by another fit (other "
                "data, estimator or settings). Use an empty checkpoint_dir for a new fit."
            )
        return {k: np.asarray(v.numpy()) for k, v in self._vars.items() if k != "fingerprint"}

    def save(self, state: dict) -> None:
        """Write ``state`` (the names of the template)."""
        for name, value in state.items():
            self._vars[name].assign(value)
        self._manager.save()


def resume_loop(checkpoint, state: dict):
    """``(saver, state)`` for a loop of ``state`` (with ``n_iter``, ``converged`` and
    ``lower_bound`` entries): ``checkpoint`` is None (no saver, ``state`` as given)
    or ``(directory, fingerprint)``, whose last save, if any, replaces ``state``.

    Raises:
        ValueError: the checkpoint was written by another fit.
    """
    if checkpoint is None:
        return None, state
    saver = LoopCheckpoint(checkpoint[0], state, checkpoint[1])
    restored = saver.restore()
    if restored is not None:
        state = {key: restored[key] for key in state}
        state["n_iter"], state["converged"] = int(state["n_iter"]), bool(state["converged"])
        state["lower_bound"] = float(state["lower_bound"])
    return saver, state

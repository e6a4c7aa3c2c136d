"""Resumable fits: the state of an iterative loop saved with ``tf.train.Checkpoint``."""

from __future__ import annotations

import os

import numpy as np
import tensorflow as tf

__all__ = ["LoopCheckpoint"]


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

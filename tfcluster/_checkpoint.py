"""Resumable fits: the state of an iterative loop saved with ``tf.train.Checkpoint``."""

from __future__ import annotations

import os

import tensorflow as tf

__all__ = ["LoopCheckpoint"]


class LoopCheckpoint:
    """Saves and restores named loop state (tensors of fixed shapes) in a directory.

    Args:
        directory: where the checkpoints go (created if missing).
        template: name -> tensor giving each state entry's dtype (shapes may change).
    """

    def __init__(self, directory, template: dict):
        os.makedirs(directory, exist_ok=True)
        self._vars = {
            k: tf.Variable(v, trainable=False, shape=tf.TensorShape(None))
            for k, v in template.items()
        }
        self._checkpoint = tf.train.Checkpoint(**self._vars)
        self._manager = tf.train.CheckpointManager(self._checkpoint, str(directory), max_to_keep=2)

    def restore(self) -> dict | None:
        """The saved state, or None if the directory holds no checkpoint.

        Raises:
            ValueError: the checkpoint was written by a fit of another shape.
        """
        latest = self._manager.latest_checkpoint
        if latest is None:
            return None
        try:
            self._checkpoint.restore(latest).assert_existing_objects_matched()
        except (ValueError, AssertionError, tf.errors.InvalidArgumentError) as exc:
            raise ValueError(
                f"The checkpoint in {os.path.dirname(latest)!r} does not match this fit "
                f"(another data shape or estimator?): {str(exc).splitlines()[0]} "
                "Use an empty checkpoint_dir for a new fit."
            ) from None
        return {k: v.value() for k, v in self._vars.items()}

    def save(self, **state) -> None:
        """Write ``state`` (same names and shapes as the template)."""
        for name, value in state.items():
            self._vars[name].assign(value)
        self._manager.save()

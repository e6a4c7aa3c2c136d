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


def resume_loop(
    segment, state, total, *, every=None, checkpoint=None, count="n_iter", stop="converged"
):
    """Run a loop of ``total`` iterations in segments, resumable from a checkpoint.

    Restores the last save of ``checkpoint`` if there is one (another fit's is
    refused), then calls ``state = segment(state, n)`` with ``n`` at most
    ``every`` until ``state[count]`` reaches ``total``, ``state[stop]`` is true or
    a segment runs fewer iterations than asked (converged, or a dataset ran
    out), saving ``state`` after each segment. A loop that depends only on its
    state thus ends with the result of an uninterrupted one.

    Args:
        segment: ``segment(state, n) -> state``, up to ``n`` more iterations
            (a compiled call), ``count`` advanced by those run.
        state: the state at the start, a dict or NamedTuple: its names are the
            checkpoint's keys, its values (tensors, numpy arrays, Python
            scalars) the types of the restored ones.
        total: the number of iterations in all.
        every: iterations per segment; None: one segment.
        checkpoint: None (nothing saved) or ``(directory, fingerprint)``.
        count: the name of the iterations done in ``state``, or a function of
            its values giving them (e.g. from the size of a growing tree).
        stop: the name of a flag of ``state`` that ends the loop, or None.

    Returns:
        The final state, of the type of ``state``.

    Raises:
        ValueError: the checkpoint was written by another fit.
    """
    named = hasattr(state, "_asdict")  # a NamedTuple
    values = state._asdict() if named else dict(state)
    saver = None
    if checkpoint is not None:
        saver = LoopCheckpoint(checkpoint[0], values, checkpoint[1])
        saved = saver.restore()
        if saved is not None:
            values = {name: _like(value, saved[name]) for name, value in values.items()}
            state = type(state)(**values) if named else values

    def done_of(values):
        return int(count(values) if callable(count) else values[count])

    while done_of(values) < total and not (stop is not None and bool(values[stop])):
        done = done_of(values)
        n = total - done if every is None else min(every, total - done)
        state = segment(state, n)
        values = state._asdict() if named else state
        if saver is not None:
            saver.save(values)
        if done_of(values) - done < n:  # converged, or the dataset ran out
            break
    return state


def _like(value, saved):
    """``saved`` (numpy) as the type of the start state's ``value``."""
    if tf.is_tensor(value):
        return tf.cast(saved, value.dtype)
    if isinstance(value, (bool, int, float)):
        return type(value)(saved)
    return saved

"""MiniSom's extras of SelfOrganizingMap: fixed points, distortion, labels map.

Private helpers of ``tfcluster.som._som``, kept apart so that ``som.py`` stays one
responsibility (training and inference): ``fixed_points`` as MiniSom's
``train`` takes them, ``distortion_measure`` and ``labels_map`` with MiniSom's
definitions, and ``fit_transform``.
"""

from __future__ import annotations

import numbers
from collections import Counter, defaultdict

import numpy as np
import tensorflow as tf

from tfcluster._validation import check_array
from tfcluster.ops import som as ops
from tfcluster.ops.distances import squared_distances

__all__ = ["MiniSomMethods", "check_fixed_points", "check_activation_distance"]


def check_fixed_points(fixed_points, n_samples: int, shape: tuple[int, int]) -> np.ndarray:
    """MiniSom's ``fixed_points`` ``{sample index: (i, j)}`` as the flat node forced
    as winner of each sample ``[n_samples]`` int32 (-1: the best-matching unit).

    Raises:
        TypeError: not a dict, an index that is not an integer, or a position
            that is not two integers.
        ValueError: an index outside ``[0, n_samples)``, a position off the map.
    """
    if not isinstance(fixed_points, dict):
        raise TypeError(
            "fixed_points must be a dict {sample index: (i, j)}; "
            f"got {type(fixed_points).__name__}."
        )
    m, n = shape
    fixed = np.full(n_samples, -1, np.int32)
    for k, position in fixed_points.items():
        if isinstance(k, bool) or not isinstance(k, numbers.Integral):
            raise TypeError(f"fixed points indexes must be integers; got {k!r}.")
        if not 0 <= k < n_samples:
            raise ValueError(
                f"fixed point index {k} is out of range: it must be in [0, {n_samples}) "
                "(a row of X)."
            )
        try:
            i, j = position
        except (TypeError, ValueError):
            raise TypeError(
                f"fixed point {k} must be a grid position (i, j); got {position!r}."
            ) from None
        if any(isinstance(v, bool) or not isinstance(v, numbers.Integral) for v in (i, j)):
            raise TypeError(f"fixed point {k} must be two integers (i, j); got {position!r}.")
        if not (0 <= i < m and 0 <= j < n):
            raise ValueError(
                f"coordinates {position!r} of fixed point {k} are out of the {m} x {n} map "
                "(they cannot be negative either)."
            )
        fixed[k] = i * n + j
    return fixed


def check_activation_distance(fn, x: tf.Tensor, w: np.ndarray) -> None:
    """Call a user ``activation_distance(x, w)`` once on a few rows and check that
    it gives ``[b, K]`` real distances, so that a mistake is a clear error and
    not one from deep inside a compiled loop.

    Raises:
        TypeError: it raised on TensorFlow tensors, or did not return a tensor of
            real numbers.
        ValueError: the result is not ``[b, K]``.
    """
    rows = x[:2]
    flat = tf.constant(w.reshape(-1, w.shape[-1]), x.dtype)
    try:
        out = fn(rows, flat)
    except Exception as exc:
        raise TypeError(
            "activation_distance(x, w) failed on tensors x [b, n_features] and "
            f"w [m * n, n_features] ({type(exc).__name__}: {exc}); it must be written with "
            "TensorFlow ops (it runs inside compiled code)."
        ) from exc
    if not tf.is_tensor(out) or not (out.dtype.is_floating or out.dtype.is_integer):
        raise TypeError(
            "activation_distance(x, w) must return a tensor of real numbers [b, m * n]; "
            f"got {type(out).__name__}."
        )
    expected = (int(rows.shape[0]), int(flat.shape[0]))
    if tuple(out.shape) != expected:
        raise ValueError(
            "activation_distance(x, w) must return the distances [b, m * n] of x "
            f"[b, n_features] to the {expected[1]} nodes; got shape {tuple(out.shape)} "
            f"for b={expected[0]}."
        )


def distortion(x, w, winners, grid, neighborhood: str, sigma):
    """MiniSom's distortion of a batch: ``sum h(winner, sigma) * ||x - w||``.

    Args:
        x: samples ``[b, d]``; w: codebook ``[K, d]``; winners: ``[b]`` int32.
        grid: ``ops.som.Grid`` of the map; neighborhood: a name of
            ``ops.som.NEIGHBORHOODS``; sigma: the spread.

    Returns:
        a scalar: the distortion of the batch (Euclidean distances, not squared,
        as MiniSom computes it).
    """
    h = ops.NEIGHBORHOODS[neighborhood](grid, winners, sigma)  # [b, K]
    dist = tf.sqrt(tf.maximum(squared_distances(x, w), 0.0))  # [b, K]
    return tf.reduce_sum(h * dist)


class MiniSomMethods:
    """MiniSom's ``distortion_measure`` and ``labels_map``, and ``fit_transform``,
    for ``SelfOrganizingMap`` (which provides ``_fitted``, ``_winners`` and
    ``_grid_shape``)."""

    def fit_transform(self, X, y=None, **fit_params):
        """Fit, then return ``transform(X)``: ``[n_samples, m * n]`` distances."""
        return self.fit(X, **fit_params).transform(X)

    def distortion_measure(self, X) -> float:
        """MiniSom's distortion: ``sum_i sum_c h(winner(x_i), sigma)[c] * ||x_i - w_c||``.

        ``h`` is the map's neighbourhood function with the initial ``sigma``
        (as MiniSom's ``distortion_measure``), the winners those of
        ``predict``; the distances are Euclidean (not squared), in float64.

        Args:
            X: ``[n_samples, n_features]``.

        Returns:
            float.
        """
        cfg, w = self._fitted()
        x = check_array(X, dtype=tf.float64, n_features=w.shape[-1])
        winners = tf.constant(self._winners(X), tf.int32)
        m, n = self._grid_shape()
        grid = ops.Grid(m, n, cfg.topology, cfg.toroidal, tf.float64)
        flat = tf.constant(w.reshape(-1, w.shape[-1]), tf.float64)
        chunk = cfg.chunk(w.shape[-1], int(x.shape[0]))
        sigma = tf.constant(cfg.sigma, tf.float64)
        total = 0.0
        for start in range(0, int(x.shape[0]), chunk):  # memory [chunk, m * n]
            rows = slice(start, start + chunk)
            total += float(distortion(x[rows], flat, winners[rows], grid, cfg.neighborhood, sigma))
        return total

    def labels_map(self, X, labels) -> defaultdict:
        """Dict ``(i, j) -> Counter`` of the ``labels`` of the samples each node wins.

        Each label is kept as given, as MiniSom keeps it: ``[1, "a"]`` stay an
        int and a str, a tuple is one label; any hashable value is accepted
        (numpy scalars become the Python number they hold).

        Raises:
            ValueError: ``labels`` and ``X`` differ in length.
            TypeError: a label is not hashable.
        """
        winners = self._winners(X)
        if isinstance(labels, (str, bytes)) or not hasattr(labels, "__len__"):
            raise TypeError(f"labels must be a sequence of labels; got {type(labels).__name__}.")
        if len(labels) != len(winners):
            raise ValueError(
                f"labels must have one label per sample: {len(winners)} sample(s) but "
                f"{len(labels)} label(s)."
            )
        groups = defaultdict(list)
        m, n = self._grid_shape()
        for k, label in zip(winners, labels, strict=True):
            label = label.item() if isinstance(label, np.generic) else label
            try:
                hash(label)
            except TypeError:
                raise TypeError(
                    f"labels must be hashable (numbers, strings, tuples...); got {label!r}."
                ) from None
            groups[(int(k // n), int(k % n))].append(label)
        return defaultdict(list, {pos: Counter(v) for pos, v in groups.items()})

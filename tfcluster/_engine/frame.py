"""Frames: where the compute dtype's origin and unit sit in the user's units.

Data far from the origin are shifted, and tiny or huge spreads scaled by a
power of two, in the input's own precision before the cast to the compute
dtype (``driver.as_data``); fitted attributes go back through the same
``Frame``.
"""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import tensorflow as tf

__all__ = ["Frame", "PLAIN", "frame_of", "attribute_dtype"]


@dataclasses.dataclass(frozen=True)
class Frame:
    """Where the compute dtype's origin and unit sit in the user's units.

    A row ``x`` of the user is computed on as ``(x - offset) / scale``: the
    shift is taken in the input's own precision (float64 for float64 and
    integer input) before the cast to the compute dtype, so far from the
    origin float32 keeps the digits that matter; ``scale`` is a power of two
    (exact both ways) that brings tiny or huge spreads near 1, where squares
    neither underflow nor overflow.

    Attributes:
        offset: ``[n_features]`` float64, in the user's units.
        scale: a power of two (1.0 when the magnitudes need none).
    """

    offset: np.ndarray
    scale: float = 1.0

    def to_user(self, points) -> np.ndarray:
        """Points ``[..., n_features]`` computed on, back in the user's units (float64)."""
        return np.asarray(points, np.float64) * self.scale + self.offset

    def to_internal(self, points) -> np.ndarray:
        """Points ``[..., n_features]`` of the user, in the compute units (float64)."""
        return (np.asarray(points, np.float64) - self.offset) / self.scale

    def moved(self, shift) -> Frame:
        """This frame with the compute origin moved by ``shift`` (compute units)."""
        shift = np.asarray(shift, np.float64)
        return Frame(self.offset + shift * self.scale, self.scale)


PLAIN = Frame(np.zeros([1]))  # the plain cast, for any n_features (the offset broadcasts)

_FAR = 2.0**12  # offset / spread past which float32 attributes lose the data's digits
_SHIFT = 8.0  # mean / spread of a column past which it is shifted before the cast


def frame_of(points, weights=None, spread=None) -> Frame:
    """The frame of a fitted model's ``points [m, n_features]`` (centers, means,
    codebook): as for data, each column shifted by the points' (weighted) mean
    where it is large next to their spread, and scaled by the power of two
    nearest the spread. ``spread [n_features]`` (e.g. the components' standard
    deviations) is added to the points' own."""
    points = np.asarray(points, np.float64).reshape(-1, np.shape(points)[-1])
    extra = np.zeros(points.shape[1]) if spread is None else np.asarray(spread, np.float64)
    return _frame_from_head(points, tf.float64, weights=weights, extra=extra)


def _power_of_two(spread: float) -> float:
    """1.0, or the power of two nearest ``spread`` when it is far from 1."""
    if not np.isfinite(spread) or spread <= 0 or 2.0**-20 <= spread <= 2.0**20:
        return 1.0
    return float(2.0 ** np.round(np.log2(spread)))


def attribute_dtype(frame: Frame, var, dtype) -> np.dtype:
    """The numpy dtype of fitted attributes: ``dtype``'s, or float64 where the data
    sit so far from the origin (offset > 4096 x spread) that float32 attributes
    would lose the digits that tell the clusters apart."""
    np_dtype = np.dtype(tf.as_dtype(dtype).as_numpy_dtype)
    spread = float(np.sqrt(np.mean(np.asarray(var, np.float64)))) * frame.scale
    far = float(np.max(np.abs(frame.offset))) > _FAR * spread
    return np.dtype(np.float64) if np_dtype == np.float32 and far else np_dtype


def _frame_from_head(head: np.ndarray, precision, weights=None, extra=0.0) -> Frame:
    """The frame of data whose first rows are ``head`` (a float numpy array).

    A column is shifted by its mean where that mean is large next to its
    spread (more than 8 times), the only case where the cast loses digits:
    data near the origin keep their values, bit for bit. The offset is
    rounded to the input's ``precision``, so that for float32 input the
    float64 subtraction is exact; the scale is the power of two nearest the
    largest spread.
    """
    if not head.shape[0]:
        return Frame(np.zeros([head.shape[1]]))
    if weights is None:  # summed in float64 as np.average of the float64 head, without the copy
        mean = _column_mean(head)
    else:
        mean = np.average(np.asarray(head, np.float64), axis=0, weights=weights)
    spread = _largest_deviation(head, mean) + extra  # [d]
    offset = np.where(np.abs(mean) > _SHIFT * spread, mean, 0.0)
    offset = offset.astype(np.dtype(precision.as_numpy_dtype)).astype(np.float64)
    return Frame(offset, _power_of_two(float(np.max(spread))))


def _largest_deviation(head: np.ndarray, center: np.ndarray) -> np.ndarray:
    """``max(|head - center|)`` per column in float64 ``[d]``, from the column's
    extremes: the same numbers (a rounded difference grows with its operand), and
    no ``[n, d]`` temporary."""
    low = _column_reduce(head, np.minimum).astype(np.float64)
    high = _column_reduce(head, np.maximum).astype(np.float64)
    return np.maximum(high - center, center - low)


def _column_mean(head: np.ndarray) -> np.ndarray:
    """``np.mean(head, axis=0, dtype=np.float64)`` through ``_column_reduce``
    (65,536 x 16 float32: 0.43 ms against 1.7), equal up to the order of the
    float64 sums (the offset is then rounded to the input's precision)."""
    return _column_reduce(head, np.add, np.float64) / head.shape[0]


def _column_reduce(head: np.ndarray, op, dtype=None) -> np.ndarray:
    """``op.reduce(head, axis=0, dtype=dtype)`` (``op`` np.minimum, np.maximum: exactly;
    np.add: up to the order of the sums) with the rows folded into ~1,024-wide
    blocks first: numpy reduces a narrow C-ordered array down its columns an
    element at a time (65,536 x 16 float32 min: 2.3 ms against 0.16)."""
    n, d = head.shape
    fold = max(1, 1024 // max(d, 1))  # rows per block
    m = n - n % fold
    if m == 0:
        return op.reduce(head, axis=0, dtype=dtype)
    blocks = op.reduce(head[:m].reshape(-1, fold * d), axis=0, dtype=dtype)
    out = op.reduce(blocks.reshape(fold, d), axis=0)
    return op(out, op.reduce(head[m:], axis=0, dtype=dtype)) if m < n else out


def _warn_lost_columns(head: np.ndarray, frame: Frame, dtype) -> None:
    """Warn when a column varies, but by so little next to the others that its
    squares underflow ``dtype`` in the common scale."""
    if tf.as_dtype(dtype) != tf.float32 or not head.shape[0]:
        return
    spread = _largest_deviation(head, frame.offset) / frame.scale  # [d]
    lost = np.flatnonzero((spread > 0) & (spread < np.sqrt(np.finfo(np.float32).tiny)))
    if lost.size:
        warnings.warn(
            f"X column(s) {lost[:5].tolist()} vary by about {float(spread[lost[0]]):.3g} "
            "of the common scale, too little for float32 to represent next to the other "
            "columns; their variation is lost. Use dtype='float64'.",
            UserWarning,
            stacklevel=4,
        )
